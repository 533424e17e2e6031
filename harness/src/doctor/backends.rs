//! Which cluster backends can run here, and why not — informational: a backend that cannot run
//! here does not make the doctor fail.

use std::time::Instant;

use super::CheckLine;
use crate::backends::cluster;
use crate::scenario::model::Backend;

/// One line per cluster backend.
pub(super) async fn check() -> Vec<CheckLine> {
    let mut lines = vec![];
    for backend in Backend::ALL {
        let started = Instant::now();
        let detail = match cluster::availability(backend).await {
            Ok(detail) => format!("usable: {detail}"),
            Err(e) => format!("not usable: {e}"),
        };
        lines.push(CheckLine {
            name: format!("backend {backend}"),
            ok: true,
            detail,
            action: None,
            elapsed: started.elapsed(),
            tests_only: false,
        });
    }
    lines
}
