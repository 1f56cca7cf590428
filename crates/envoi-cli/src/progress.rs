//! The progress bar on stderr: bytes, rate and time left when the size is known, a spinner
//! with bytes and rate when it is not. Shown only when stderr is a terminal and neither
//! `-s` nor `--no-progress-meter` is given, and never over a body written to that terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display, or nothing when it is off.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Whether a bar may be drawn: stderr is a terminal, the user did not ask for silence,
    /// and the body does not go to the same terminal.
    pub fn wanted(silent: bool, body_to_stdout: bool) -> bool {
        !silent
            && std::io::stderr().is_terminal()
            && !(body_to_stdout && std::io::stdout().is_terminal())
    }

    /// No display.
    pub fn off() -> Self {
        Progress { bar: None }
    }

    /// A bar for `total` bytes (a spinner when unknown), labelled `what`.
    pub fn start(what: &str, total: Option<u64>) -> Self {
        let bar = match total {
            Some(n) => {
                let bar = ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} {spinner} {bytes} {binary_bytes_per_sec} {elapsed}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            }
        };
        bar.set_message(what.to_owned());
        Progress { bar: Some(bar) }
    }

    /// `n` more bytes moved.
    pub fn add(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
