//! Progress on the terminal: a spinner with the elapsed time for what may take long (starting an
//! environment, a step, an image build), replaced by the line that reports how it went. Drawn only
//! on a terminal and while the logs stay off it (`-v` would interleave with it).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner on stderr: `⠋ <message> (12s)`.
pub struct Spinner(ProgressBar);

impl Spinner {
    /// Starts spinning with `message`, indented by `indent` spaces.
    pub fn start(indent: usize, message: impl Into<String>) -> Self {
        let target = if crate::logging::logs_on_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        let template = format!("{:indent$}{{spinner}} {{msg}} ({{elapsed}})", "");
        bar.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }

    /// Changes what it says it is doing.
    pub fn set_message(&self, message: impl Into<String>) {
        self.0.set_message(message.into());
    }

    /// Prints `line` on stderr above the spinner (as is, when the spinner is not drawn).
    pub fn println(&self, line: &str) {
        self.0.suspend(|| eprintln!("{line}"));
    }

    /// Removes the spinner, leaving the terminal as it was before it started.
    pub fn finish(self) {
        self.0.finish_and_clear();
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if !self.0.is_finished() {
            self.0.finish_and_clear();
        }
    }
}
