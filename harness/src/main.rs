//! The `harness` command line: see `harness --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Test builds enable two rustls crypto providers; name the one every TLS client here uses.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = harness::cli::Cli::parse();
    harness::logging::init(cli.verbose, cli.quiet, cli.command.name());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(harness::exit::INTERNAL);
        }
    };
    let code = runtime.block_on(harness::commands::dispatch(cli));
    ExitCode::from(code)
}
