//! Stop requests: Ctrl-C (SIGINT) and SIGTERM (what CI systems and `kill` send) both make the
//! harness stop the current step and tear its environment down. A second one while that teardown
//! runs ends the process at once (exit code 130): the way out of a teardown that hangs, with
//! `harness down` to remove what it left.

use std::sync::{Mutex, PoisonError};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// How many stop signals arrived, shared by every [`stop_requested`] of the process.
static STOPS: Mutex<Option<watch::Receiver<u32>>> = Mutex::new(None);

/// Handles SIGINT and SIGTERM from now on (as [`stop_requested`] does on first use), for a
/// command that stops on them: call it before telling the user that Ctrl-C stops it.
pub fn handle_stops() {
    let _ = stops();
}

/// Resolves when SIGINT or SIGTERM arrives (at once when one already did). From the first call
/// on, the process handles both signals itself, and a second one exits it.
pub async fn stop_requested() {
    match stops() {
        Some(mut stops) => {
            if stops.wait_for(|count| *count > 0).await.is_err() {
                // The listener's runtime is shutting down: no stop can be reported any more.
                std::future::pending::<()>().await;
            }
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The process's stop counter, starting its listener on first use (again after the runtime that
/// ran it ended). `None` when the signal handlers cannot be installed.
fn stops() -> Option<watch::Receiver<u32>> {
    let mut slot = STOPS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(stops) = slot.as_ref()
        && stops.has_changed().is_ok()
    {
        return Some(stops.clone());
    }
    // Installed here, before anything waits, so that no signal falls between the first call and
    // the listener's first poll.
    let installed = signal(SignalKind::interrupt()).and_then(|interrupt| {
        signal(SignalKind::terminate()).map(|terminate| (interrupt, terminate))
    });
    let (interrupt, terminate) = match installed {
        Ok(signals) => signals,
        Err(e) => {
            tracing::warn!(error = %e, "cannot handle SIGINT/SIGTERM; Ctrl-C only");
            return None;
        }
    };
    let (count, stops) = watch::channel(0);
    tokio::spawn(listen(interrupt, terminate, count));
    *slot = Some(stops.clone());
    Some(stops)
}

async fn listen(mut interrupt: Signal, mut terminate: Signal, count: watch::Sender<u32>) {
    loop {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        if *count.borrow() > 0 {
            eprintln!(
                "\ninterrupted again: exiting now, without finishing the teardown \
                 (`harness down` removes what is left)"
            );
            std::process::exit(i32::from(crate::exit::INTERRUPTED));
        }
        count.send_modify(|count| *count += 1);
    }
}
