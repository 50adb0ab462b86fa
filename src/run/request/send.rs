//! Sending one rendered request: with the profile's credential (an OAuth2 session's
//! token through [`Session::send_authorized`](crate::auth::Session::send_authorized),
//! its one 401 → refresh → retry), within an interrupt's grace period, logged.

use crate::auth::{Answer, AuthError};
use crate::env::{Auth, Env};
use crate::error::Error;
use crate::http::{Credential, Exchange, HttpError, Incoming, ProofSource, RenderedRequest};
use crate::run::preview::format;
use crate::run::{explain, interrupt};
use crate::secret::Secret;

/// Sends `req` with the profile's authentication and reads the whole answer.
/// A body cut short is retried like a failed connection: for idempotent methods only
/// (the request was sent), within the request's retries.
pub async fn send(env: &Env, req: &RenderedRequest, use_auth: bool) -> Result<Exchange, Error> {
    let mut cut = 0u32;
    loop {
        let incoming = open(env, req, use_auth).await?;
        match within_grace(req, std::pin::pin!(incoming.read())).await {
            Err(Error::Http(e @ HttpError::BodyCut { .. }))
                if cut < req.retries && crate::http::is_idempotent(&req.method) =>
            {
                cut += 1;
                let wait = crate::http::backoff(cut, None);
                tracing::info!(
                    "{e}; retrying in {} ms (attempt {} of {})",
                    wait.as_millis(),
                    cut + 1,
                    req.retries.saturating_add(1)
                );
                tokio::time::sleep(wait).await;
            }
            result => {
                let ex = result?;
                log_response(&ex);
                return Ok(ex);
            }
        }
    }
}

/// Sends `req` with the profile's authentication, up to the head of the answer,
/// refreshing the token on a 401 from a host that was sent it. After an interrupt
/// nothing new is sent.
pub async fn open(env: &Env, req: &RenderedRequest, use_auth: bool) -> Result<Incoming, Error> {
    if let Some(signal) = interrupt::requested() {
        return Err(Error::Interrupted {
            signal,
            cut: false,
            message: format!("interrupted: {} {} was not sent", req.method, req.url),
        });
    }
    let auth_header = match (&env.auth, use_auth) {
        (Auth::Static { header, .. }, true) => Some(header.as_str()),
        (Auth::OAuth { header, .. }, true) => Some(header.name.as_str()),
        (Auth::AwsSigv4 { .. }, true) => Some("Authorization"),
        _ => None,
    };
    log_request(req, auth_header);
    let incoming = match (&env.auth, use_auth) {
        (Auth::None, _) | (_, false) => open_within_grace(env, req, None).await?,
        (
            Auth::Static {
                header,
                value,
                in_query,
            },
            true,
        ) => {
            let credential = Credential {
                name: header,
                value,
                in_query: *in_query,
                signer: None,
                proof: None,
            };
            open_within_grace(env, req, Some(credential)).await?
        }
        (Auth::AwsSigv4 { signer, marker }, true) => {
            let credential = Credential {
                name: "Authorization",
                value: marker,
                in_query: false,
                signer: Some(signer),
                proof: None,
            };
            open_within_grace(env, req, Some(credential)).await?
        }
        (Auth::OAuth { session, header }, true) => {
            // Not cut by an interrupt: a refresh in flight must be saved.
            let answer = session
                .send_authorized(|token: &Secret| {
                    let value = session.header_value(header, token);
                    let token = token.clone();
                    async move {
                        let proofs = session.proofs(&token);
                        if proofs.is_some() {
                            // A proof per hop, never shown: only this fixed line.
                            tracing::debug!("> DPoP: ***");
                        }
                        let mut credential = Credential::header(&header.name, &value);
                        credential.proof = proofs.as_ref().map(|p| p as &dyn ProofSource);
                        let incoming = open_within_grace(env, req, Some(credential)).await?;
                        // A 401 from a host that was not sent the token says nothing of it.
                        Ok::<_, Error>(if incoming.head.status == 401 && incoming.head.auth_sent {
                            Answer::Unauthorized(incoming)
                        } else {
                            Answer::Final(incoming)
                        })
                    }
                })
                .await?;
            match answer {
                Answer::Final(incoming) => incoming,
                Answer::Unauthorized(_) => return Err(AuthError::StillUnauthorized.into()),
            }
        }
    };
    Ok(incoming)
}

/// The client's answer to `req` with `credential`, unless an interrupt's grace period
/// runs out first.
async fn open_within_grace(
    env: &Env,
    req: &RenderedRequest,
    credential: Option<Credential<'_>>,
) -> Result<Incoming, Error> {
    within_grace(req, std::pin::pin!(env.client.open(req, credential))).await
}

/// `fut`, unless an interrupt's grace period runs out first.
///
/// The future is pinned where the caller keeps it (`std::pin::pin!`), not moved in: an
/// `async fn` keeps its argument and `select!` a second copy, so a request's future
/// (kilobytes) was held twice and copied along (B4 in BENCHMARKS.md, tenth session).
pub(super) async fn within_grace<T, E: Into<Error>, F>(
    req: &RenderedRequest,
    fut: std::pin::Pin<&mut F>,
) -> Result<T, Error>
where
    F: std::future::Future<Output = Result<T, E>>,
{
    tokio::select! {
        biased;
        out = fut => out.map_err(Into::into),
        () = interrupt::grace_over() => Err(Error::Interrupted {
            signal: interrupt::requested().unwrap_or(2),
            cut: true,
            message: format!(
                "interrupted: {} {} was cut {} s after the signal, its outcome unknown",
                req.method,
                req.url,
                interrupt::GRACE.as_secs()
            ),
        }),
    }
}

fn log_request(req: &RenderedRequest, auth_header: Option<&str>) {
    if !tracing::enabled!(tracing::Level::INFO) {
        return;
    }
    tracing::info!("> {} {}", req.method, req.url);
    if tracing::enabled!(tracing::Level::DEBUG) {
        for h in &req.headers {
            if format::is_sensitive_header(&h.name) {
                tracing::debug!("> {}: ***", h.name);
            } else {
                tracing::debug!("> {}: {}", h.name, h.value);
            }
        }
        if let Some(name) = auth_header {
            tracing::debug!("> {name}: ***");
        }
    }
    if let Some(text) = explain::request_body_text(&req.body) {
        explain::log_body('>', &text);
    }
}

pub(super) fn log_response(ex: &Exchange) {
    if !tracing::enabled!(tracing::Level::INFO) {
        return;
    }
    tracing::info!(
        "< {} ({} ms, {} bytes{})",
        ex.status_line(),
        ex.elapsed.as_millis(),
        ex.size,
        if ex.attempts > 1 {
            format!(", {} attempts", ex.attempts)
        } else {
            String::new()
        }
    );
    for (k, v) in &ex.headers {
        if format::is_sensitive_header(k.as_str()) {
            tracing::debug!("< {k}: ***");
        } else {
            tracing::debug!("< {k}: {}", crate::http::header::text(v));
        }
    }
    if !ex.body.is_empty() {
        // A body larger than what -vv shows is not parsed to be shown.
        let head = &ex.body[..ex.body.len().min(256 * 1024)];
        explain::log_body('<', &explain::body_text(head, usize::MAX));
    }
}
