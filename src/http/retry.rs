//! Retries (SPEC §7): which answers and failures are retried, for which methods, and
//! how long to wait between attempts.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use super::redirect::Hop;
use super::{Client, Credential, HttpError, RenderedRequest};

impl Client {
    /// One hop, retried as SPEC §7 allows: the response and how many attempts it took.
    pub(super) async fn send_hop(
        &self,
        req: &RenderedRequest,
        auth: Option<Credential<'_>>,
        hop: &Hop,
    ) -> Result<(super::wire::Resp, u32), HttpError> {
        let mut attempt = 0u32;
        let mut nonce_retried = false;
        loop {
            attempt += 1;
            let outcome = self.send_once(req, auth, hop).await;
            // A DPoP server that asks for a nonce gets the request once more with it.
            if let (Ok(resp), Some(proof)) = (&outcome, auth.and_then(|c| c.proof))
                && hop.profile_creds
                && proof.answered(&hop.url, resp.status().as_u16(), resp.headers())
                && !nonce_retried
            {
                nonce_retried = true;
                attempt -= 1;
                tracing::info!("the server asked for a DPoP nonce: sending again with it");
                continue;
            }
            let retry_after = match &outcome {
                Ok(resp) if is_retryable_status(resp.status()) => {
                    // 429 says the request was not processed: safe for any method.
                    let allowed = resp.status() == StatusCode::TOO_MANY_REQUESTS
                        || is_idempotent(&hop.method);
                    if allowed && attempt <= req.retries {
                        Some(retry_after(resp.headers()))
                    } else {
                        None
                    }
                }
                Ok(_) => None,
                Err(e) => {
                    let allowed = e.is_connect() || is_idempotent(&hop.method);
                    if allowed && attempt <= req.retries && !e.is_tls() {
                        Some(None)
                    } else {
                        None
                    }
                }
            };
            if let Some(hint) = retry_after {
                let wait = backoff(attempt, hint);
                tracing::info!(
                    "retrying {} {} in {} ms (attempt {} of {})",
                    hop.method,
                    hop.url,
                    wait.as_millis(),
                    attempt.saturating_add(1),
                    req.retries.saturating_add(1)
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            return outcome
                .map(|resp| (resp, attempt))
                .map_err(|e| e.classify(&hop.url, req.timeout));
        }
    }
}

pub fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

fn is_retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 502 | 503 | 504)
}

/// The delay `Retry-After` asks for: seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Exponential backoff with jitter; a server's `Retry-After` wins, capped at a minute.
pub fn backoff(attempt: u32, hint: Option<Duration>) -> Duration {
    if let Some(h) = hint {
        return h.min(Duration::from_secs(60));
    }
    let base = 200u64.saturating_mul(1 << attempt.min(6));
    let capped = base.min(10_000);
    let jitter = rand::random_range(0..=capped / 2);
    Duration::from_millis(capped / 2 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        for attempt in 1..5 {
            let d = backoff(attempt, None).as_millis() as u64;
            let base = (200u64 << attempt).min(10_000);
            assert!(d >= base / 2 && d <= base, "{attempt}: {d}");
        }
        assert_eq!(
            backoff(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            backoff(1, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }
}
