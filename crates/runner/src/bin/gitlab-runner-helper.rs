//! `gitlab-runner-helper`: runs inside the job pod's helper container.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harness_error_chain::Chain;
use harness_runner::helper::artifacts::{DownloaderArgs, UploaderArgs};
use harness_runner::helper::git::GitSourcesArgs;

#[derive(Parser)]
#[command(
    name = "gitlab-runner-helper",
    version = "12.8.0 (harness-runner helper)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch or clone the project at the job's commit.
    GitSources(GitSourcesArgs),
    /// Archive files and upload them as the job's artifacts.
    ArtifactsUploader(UploaderArgs),
    /// Download a job's artifacts and extract them here.
    ArtifactsDownloader(DownloaderArgs),
}

fn main() -> ExitCode {
    harness_runner::install_crypto_provider();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ERROR: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let mut out = std::io::stdout();
    let result = match cli.command {
        Command::GitSources(args) => args.execute(&mut out),
        Command::ArtifactsUploader(args) => {
            runtime.block_on(args.execute(&cwd, &mut out)).map(|_| ())
        }
        Command::ArtifactsDownloader(args) => {
            runtime.block_on(args.execute(&cwd, &mut out)).map(|_| ())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\x1b[31;1mERROR: {}\x1b[0;m", Chain(&e));
            ExitCode::FAILURE
        }
    }
}
