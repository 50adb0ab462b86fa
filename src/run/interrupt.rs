//! Interrupts (SIGINT, SIGTERM, SIGHUP): the first asks the run to stop starting
//! requests and lets those in flight finish for a grace period; the second ends the
//! process at once. Everything that sends asks [`requested`] first.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::watch;

/// How long requests in flight may finish after the first signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// The signal number received first, 0 while none was.
fn channel() -> &'static (watch::Sender<i32>, watch::Receiver<i32>) {
    static CHANNEL: OnceLock<(watch::Sender<i32>, watch::Receiver<i32>)> = OnceLock::new();
    CHANNEL.get_or_init(|| watch::channel(0))
}

/// Starts listening for the three signals. Call once, inside the runtime; a platform
/// without them simply never reports one.
pub fn install() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            (SignalKind::interrupt(), 2),
            (SignalKind::terminate(), 15),
            (SignalKind::hangup(), 1),
        ];
        for (kind, number) in kinds {
            let Ok(mut stream) = signal(kind) else {
                continue;
            };
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    received(number);
                }
            });
        }
    }
}

fn received(number: i32) {
    let (tx, _) = channel();
    let first = *tx.borrow() == 0;
    if !first {
        // A second signal: the user means it.
        std::process::exit(128 + number);
    }
    tx.send_replace(number);
    eprintln!(
        "interrupted: no new request starts; those in flight finish (up to {} s; again to stop at once)",
        GRACE.as_secs()
    );
}

/// The first signal received, if any.
pub fn requested() -> Option<i32> {
    let n = *channel().1.borrow();
    (n != 0).then_some(n)
}

/// Resolves once a signal has arrived and the grace period after it has passed.
pub async fn grace_over() {
    let mut rx = channel().1.clone();
    if rx.wait_for(|n| *n != 0).await.is_err() {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(GRACE).await;
}

/// The exit code a signal asks for: 128 + its number (130 for SIGINT, 143 for SIGTERM).
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(130)
}
