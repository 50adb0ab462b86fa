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

/// A bar for work that is usually quick (an import, a check): drawn only on a
/// terminal, and only once the work has taken a second.
pub struct Delayed {
    start: std::time::Instant,
    show: bool,
    template: &'static str,
    bar: std::cell::RefCell<Option<Progress>>,
}

impl Delayed {
    /// `show`: false under `--quiet`; `template` is indicatif's.
    pub fn new(show: bool, template: &'static str) -> Delayed {
        Delayed {
            start: std::time::Instant::now(),
            show,
            template,
            bar: std::cell::RefCell::new(None),
        }
    }

    /// `done` of `total` steps.
    pub fn set(&self, done: usize, total: usize) {
        if !self.show || self.start.elapsed() < delay() {
            return;
        }
        let mut bar = self.bar.borrow_mut();
        let bar = bar.get_or_insert_with(|| Progress::new(true, Some(total as u64), self.template));
        bar.set(done as u64, String::new);
    }

    /// Clears the line, if one was drawn.
    pub fn finish(&self) {
        if let Some(b) = self.bar.borrow().as_ref() {
            b.finish();
        }
    }
}

/// How long [`Delayed`] waits before drawing: a second, or
/// `RUNNER_PROGRESS_DELAY_MS` (for tests, which cannot count on a run being slow).
fn delay() -> std::time::Duration {
    let ms = std::env::var("RUNNER_PROGRESS_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    std::time::Duration::from_millis(ms)
}
