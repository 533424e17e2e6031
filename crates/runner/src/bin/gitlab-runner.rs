//! `gitlab-runner`: the runner process of the chart's Deployment (register, run, unregister).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harness_error_chain::Chain;
use harness_runner::commands::register::RegisterArgs;
use harness_runner::commands::run::RunArgs;
use harness_runner::commands::unregister::{UnregisterArgs, VerifyArgs};
use harness_runner::multi::Shutdown;

const LONG_VERSION: &str = "Version:      12.8.0\nGit revision: e0218c92\nGit branch:   12-8-stable\nGO version:   none (harness-runner, written in Rust)\nBuilt:        harness stand-in\nOS/Arch:      linux/amd64";

#[derive(Parser)]
#[command(name = "gitlab-runner", version = "12.8.0", long_version = LONG_VERSION)]
struct Cli {
    /// Debug logging.
    #[arg(long = "debug", global = true)]
    debug: bool,
    /// Log level (`debug`, `info`, `warn`, `error`).
    #[arg(long = "log-level", short = 'l', global = true, env = "LOG_LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register a runner with GitLab and add it to config.toml.
    Register(Box<RegisterArgs>),
    /// Run the runners of config.toml.
    Run(RunArgs),
    /// Unregister runners and remove them from config.toml.
    Unregister(UnregisterArgs),
    /// Check the runners' tokens with GitLab.
    Verify(VerifyArgs),
}

fn main() -> ExitCode {
    harness_runner::install_crypto_provider();
    let cli = Cli::parse();
    let level = if cli.debug {
        "debug".to_string()
    } else {
        cli.log_level.clone().unwrap_or_else(|| "info".into())
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    tracing::info!(
        version = "12.8.0",
        revision = "e0218c92",
        arch = "amd64",
        os = "linux",
        pid = std::process::id(),
        "Runtime platform (harness-runner)"
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Register(args) => args.execute().await.map(|_| ()),
            Command::Run(args) => {
                let shutdown = Shutdown::default();
                spawn_signal_handlers(shutdown.clone());
                args.execute(shutdown).await
            }
            Command::Unregister(args) => args.execute().await.map(|_| ()),
            Command::Verify(args) => args.execute().await.map(|_| ()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{}", Chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// SIGQUIT: finish running jobs, then exit. SIGTERM/SIGINT: fail running jobs, then exit.
fn spawn_signal_handlers(shutdown: Shutdown) {
    use tokio::signal::unix::{SignalKind, signal};
    let kinds = [
        (SignalKind::quit(), false),
        (SignalKind::terminate(), true),
        (SignalKind::interrupt(), true),
    ];
    for (kind, abort) in kinds {
        let shutdown = shutdown.clone();
        match signal(kind) {
            Ok(mut s) => {
                tokio::spawn(async move {
                    while s.recv().await.is_some() {
                        if abort {
                            tracing::warn!("termination signal: aborting running jobs");
                            shutdown.abort.cancel();
                        } else {
                            tracing::warn!("SIGQUIT: finishing running jobs, no new ones");
                            shutdown.graceful.cancel();
                        }
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot install a signal handler"),
        }
    }
}
