//! Running a secret's command: the program and its arguments as the user
//! configuration lists them (no shell), stdin and stderr closed to it, bounded by
//! its timeout (then killed). Its output, the trailing newline cut, is registered
//! with the masking point before anything else sees it, and kept for the process.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{DEFAULT_SECRET_TIMEOUT, SecretCommand};

/// The most a secret's command may print.
const MAX_OUTPUT: u64 = 64 * 1024;

/// A secret's command could not give the value: it did not start, failed, timed out
/// or printed nothing usable. An authentication failure (exit 3). Never holds the
/// command's output.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CommandFailed(pub String);

/// Why `secret('NAME')` has no value.
#[derive(Debug)]
pub enum SecretError {
    /// Not configured, or the user configuration is invalid (exit 2).
    Config(String),
    Failed(CommandFailed),
}

/// The value of secret `name`, from this process's cache or its command.
pub fn secret_value(name: &str) -> Result<String, SecretError> {
    static CACHE: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().ok().and_then(|c| c.get(name).cloned()) {
        return Ok(v);
    }
    let found = super::load().map_err(|e| {
        SecretError::Config(match e.place() {
            Some(place) => format!("user configuration {place}: {e}"),
            None => e.to_string(),
        })
    })?;
    let command = found.secret(name).map_err(SecretError::Config)?;
    let value =
        run(name, command, &found.path.display().to_string()).map_err(SecretError::Failed)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(name.to_string(), value.clone());
    }
    Ok(value)
}

/// The template function `secret(NAME)`. A failed command's error carries
/// [`CommandFailed`] as its source, which makes it exit 3.
pub fn template_function(name: String) -> Result<String, minijinja::Error> {
    use minijinja::ErrorKind::InvalidOperation;
    secret_value(&name).map_err(|e| match e {
        SecretError::Config(m) => minijinja::Error::new(InvalidOperation, m),
        SecretError::Failed(f) => {
            minijinja::Error::new(InvalidOperation, f.0.clone()).with_source(f)
        }
    })
}

/// Runs `command` and returns what it printed, registered as a secret.
fn run(name: &str, command: &SecretCommand, config: &str) -> Result<String, CommandFailed> {
    let program = command.command.first().map(String::as_str).unwrap_or("");
    let secs = command.timeout.unwrap_or(DEFAULT_SECRET_TIMEOUT);
    let fail = |what: String| {
        CommandFailed(format!(
            "secret `{name}`: the command `{program}` (secrets.{name} in {config}) {what}"
        ))
    };
    let mut child = Command::new(program)
        .args(&command.command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Its messages could quote the secret: they are not shown.
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("could not be started: {e}")))?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let Some(stdout) = child.stdout.take() else {
        stop(&mut child);
        return Err(fail("gave no output pipe".to_string()));
    };
    let (tx, rx) = mpsc::channel();
    // A reader thread, so that waiting for the output can be bounded; a command that
    // leaves a child holding the pipe leaves this thread behind, not the run.
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let read = stdout.take(MAX_OUTPUT + 1).read_to_end(&mut buf);
        let _ = tx.send(read.map(|_| buf));
    });
    let timed_out = || {
        fail(format!(
            "did not finish within {secs} s (secrets.{name}.timeout) and was stopped"
        ))
    };
    let output = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Ok(buf)) => buf,
        Ok(Err(e)) => {
            stop(&mut child);
            return Err(fail(format!("could not be read: {e}")));
        }
        Err(_) => {
            stop(&mut child);
            return Err(timed_out());
        }
    };
    if output.len() as u64 > MAX_OUTPUT {
        stop(&mut child);
        return Err(fail(format!("printed more than {MAX_OUTPUT} bytes")));
    }
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                stop(&mut child);
                return Err(timed_out());
            }
            Err(e) => return Err(fail(format!("could not be waited for: {e}"))),
        }
    };
    if !status.success() {
        return Err(fail(format!(
            "failed ({status}); its output is not shown: run it yourself to see why"
        )));
    }
    let Ok(mut text) = String::from_utf8(output) else {
        return Err(fail("printed something that is not UTF-8".to_string()));
    };
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    crate::secret::register(&text);
    if text.is_empty() {
        return Err(fail("printed nothing".to_string()));
    }
    Ok(text)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
