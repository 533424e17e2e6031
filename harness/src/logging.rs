//! Log set-up: `tracing` to stderr, filtered by `RUST_LOG` or the `-v`/`-q` flags.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `verbose` raises and `quiet` lowers the default level; an
/// explicit `RUST_LOG` wins over both.
pub fn init(verbose: u8, quiet: bool) {
    // kube-client logs every failed request at ERROR from its HTTP layer, also the expected ones
    // while an environment is torn down; the errors still reach the caller as results.
    let default = match (quiet, verbose) {
        (true, _) => "warn,kube_client::client::builder=off",
        (false, 0) => "info,bollard=warn,hyper=warn,kube=warn,kube_client::client::builder=off",
        (false, 1) => "debug,bollard=info,hyper=info,h2=info,rustls=info,tower=info",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
