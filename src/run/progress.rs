//! Progress lines on stderr for long runs (pages followed, test files done), drawn
//! only when stderr is a terminal; elsewhere nothing is drawn and nothing is counted
//! but two integers.

use std::io::IsTerminal;

/// A line that says how far a run is. `Progress::off()` draws nothing.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn off() -> Progress {
        Progress { bar: None }
    }

    /// On a terminal (and `show`): a bar of `len` steps when the length is known,
    /// else a spinner; `template` is indicatif's.
    pub fn new(show: bool, len: Option<u64>, template: &str) -> Progress {
        if !show || !std::io::stderr().is_terminal() {
            return Progress::off();
        }
        let bar = match len {
            Some(n) => indicatif::ProgressBar::with_draw_target(
                Some(n),
                indicatif::ProgressDrawTarget::stderr(),
            ),
            None => indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            ),
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Progress { bar: Some(bar) }
    }

    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    pub fn set(&self, pos: u64, message: impl FnOnce() -> String) {
        if let Some(b) = &self.bar {
            b.set_position(pos);
            b.set_message(crate::secret::redact(&message()));
        }
    }

    /// Prints `text` above the line (or plainly, when nothing is drawn).
    pub fn print(&self, text: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprint!("{text}")),
            None => eprint!("{text}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
