//! One line for an error and its causes.
//!
//! The workspace's error messages do not repeat their cause (it is their `source()`), so that
//! anyhow's `{:#}` shows each cause once. Where an error becomes text without anyhow — a pod
//! status, an event, a job trace, a `tracing` field — [`Chain`] keeps the causes.
#![warn(missing_docs)]

use std::error::Error;
use std::fmt;

/// Displays an error followed by each of its causes, `: `-separated: what `{:#}` of an
/// `anyhow::Error` shows, for a borrowed error of any type.
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading {path}")]
    struct Read {
        path: String,
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("starting the service")]
    struct Start(#[source] Read);

    fn start() -> Start {
        Start(Read {
            path: "/etc/app.toml".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        })
    }

    #[test]
    fn shows_every_cause_once_like_anyhow() {
        let error = start();
        let line = Chain(&error).to_string();
        assert_eq!(
            line,
            "starting the service: reading /etc/app.toml: no such file"
        );
        assert_eq!(line, format!("{:#}", anyhow::Error::new(start())));
    }

    #[test]
    fn an_error_without_causes_is_its_message() {
        let error = std::io::Error::other("boom");
        assert_eq!(Chain(&error).to_string(), "boom");
    }
}
