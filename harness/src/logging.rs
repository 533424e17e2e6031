//! Log set-up. The terminal shows the harness's own progress; the components' logs (`tracing`)
//! go to a log file: `<cache dir>/logs/<command>.log` until an environment exists, then
//! `harness.log` in its state directory ([`log_to`]). `-v` (debug) and `-vv` (trace) bring them
//! to the terminal as well; `RUST_LOG` chooses the filter and brings them too.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// The name of an environment's log file in its state directory.
pub const LOG_FILE: &str = "harness.log";

/// Where log lines go now; opened on the first line, so that a command that logs nothing leaves
/// no file behind.
static DESTINATION: Mutex<Destination> = Mutex::new(Destination {
    path: None,
    file: None,
});

/// Whether log lines are also written to the terminal (progress spinners stay off then).
static ON_TERMINAL: AtomicBool = AtomicBool::new(false);

struct Destination {
    path: Option<PathBuf>,
    file: Option<File>,
}

/// Installs the global subscriber for `command` (names the log file before an environment
/// exists). `verbose` also sends logs to the terminal at debug (1) or trace (2+) level; `quiet`
/// keeps only warnings and errors in the file. An explicit `RUST_LOG` sets the filter and sends
/// logs to the terminal too.
pub fn init(verbose: u8, quiet: bool, command: &str) {
    let from_env = std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty());
    let default = default_filter(verbose, quiet);
    let filter = || {
        if from_env {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
        } else {
            EnvFilter::new(default)
        }
    };
    set_destination(Some(
        crate::paths::cache_dir()
            .join("logs")
            .join(format!("{command}.log")),
    ));
    let file = fmt::layer()
        .with_writer(LogFile)
        .with_ansi(false)
        .with_filter(filter());
    let on_terminal = verbose > 0 || from_env;
    ON_TERMINAL.store(on_terminal, Ordering::Relaxed);
    let terminal = on_terminal.then(|| {
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_filter(filter())
    });
    let _ = tracing_subscriber::registry()
        .with(file)
        .with(terminal)
        .try_init();
}

/// Sends the log from now on to `harness.log` in `dir` (an environment's state directory) and
/// returns that path.
pub fn log_to(dir: &Path) -> PathBuf {
    let path = dir.join(LOG_FILE);
    set_destination(Some(path.clone()));
    path
}

/// The file log lines go to now.
pub fn current_file() -> Option<PathBuf> {
    destination().path.clone()
}

/// Whether log lines also go to the terminal (`-v`, `RUST_LOG`): progress spinners would
/// interleave with them, so they stay hidden.
pub fn logs_on_terminal() -> bool {
    ON_TERMINAL.load(Ordering::Relaxed)
}

fn default_filter(verbose: u8, quiet: bool) -> &'static str {
    // kube-client logs every failed request at ERROR from its HTTP layer, also the expected ones
    // while an environment is torn down; the errors still reach the caller as results.
    match (quiet, verbose) {
        (true, _) => "warn,kube_client::client::builder=off",
        (false, 0) => "info,bollard=warn,hyper=warn,kube=warn,kube_client::client::builder=off",
        (false, 1) => "debug,bollard=info,hyper=info,h2=info,rustls=info,tower=info",
        (false, _) => "trace",
    }
}

fn destination() -> std::sync::MutexGuard<'static, Destination> {
    DESTINATION.lock().unwrap_or_else(PoisonError::into_inner)
}

fn set_destination(path: Option<PathBuf>) {
    destination().set(path);
}

impl Destination {
    fn set(&mut self, path: Option<PathBuf>) {
        self.path = path;
        self.file = None;
    }

    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() {
            let Some(path) = self.path.clone() else {
                return Ok(());
            };
            match open(&path) {
                Ok(file) => self.file = Some(file),
                Err(e) => {
                    // Nowhere to log that the log cannot be written: say it once, then drop lines.
                    eprintln!("cannot write the log file {}: {e}", path.display());
                    self.path = None;
                    return Ok(());
                }
            }
        }
        match self.file.as_mut() {
            Some(file) => file.write_all(line),
            None => Ok(()),
        }
    }
}

/// Writes each formatted line to the current destination.
struct LogFile;

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogFile;

    fn make_writer(&'a self) -> Self::Writer {
        LogFile
    }
}

impl Write for LogFile {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        destination().write_line(line)?;
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match destination().file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    File::create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_to_the_latest_destination_which_is_opened_on_the_first_line() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let mut destination = Destination {
            path: None,
            file: None,
        };
        destination.write_line(b"before any destination\n").unwrap();
        let path = first.path().join("logs").join(LOG_FILE);
        destination.set(Some(path.clone()));
        assert!(!path.exists(), "opened before the first line");
        destination.write_line(b"first environment\n").unwrap();
        let next = second.path().join(LOG_FILE);
        destination.set(Some(next.clone()));
        destination.write_line(b"second environment\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "first environment\n"
        );
        assert_eq!(
            std::fs::read_to_string(&next).unwrap(),
            "second environment\n"
        );
    }

    #[test]
    fn an_environment_logs_into_its_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(log_to(dir.path()), dir.path().join("harness.log"));
    }
}
