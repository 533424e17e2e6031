//! The real components built from Go modules: checked, and with `--fix` built (once per version).

use std::time::Instant;

use super::CheckLine;
use crate::toolchain::{self, Tool};

/// One line per tool; with `fix`, builds what is missing (with progress on the terminal).
pub(super) async fn check(fix: bool) -> Vec<CheckLine> {
    let mut lines = vec![];
    for tool in Tool::ALL {
        let started = Instant::now();
        let (ok, detail, action) = match toolchain::installed(tool, None).await {
            Some(built) => (true, format!("{} built", built.version), None),
            None if fix => match crate::commands::build_with_progress(tool, None).await {
                Ok(line) => (
                    true,
                    format!("{} built", tool.default_version()),
                    Some(line),
                ),
                Err(e) => (false, e.to_string(), Some(format!("harness build {tool}"))),
            },
            None => (
                false,
                format!(
                    "{} not built: `harness build {tool}`",
                    tool.default_version()
                ),
                None,
            ),
        };
        lines.push(CheckLine {
            name: format!("build {tool}"),
            ok,
            detail,
            action,
            elapsed: started.elapsed(),
            tests_only: false,
        });
    }
    lines
}
