//! What the client gets when a request is not forwarded, or forwarding it failed: a
//! status and a JSON body `{"error": code, "message": ...}`, masked like every message.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::auth::AuthError;

/// Why a request was not forwarded, or what went wrong forwarding it: the client
/// gets `status` and a JSON body `{"error": code, "message": ...}`.
#[derive(Debug)]
pub(super) struct Refusal {
    status: StatusCode,
    code: &'static str,
    pub(super) message: String,
}

impl Refusal {
    pub(super) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Refusal {
        Refusal {
            status,
            code,
            message: crate::secret::redact(&message.into()),
        }
    }

    pub(super) fn response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "message": self.message});
        let mut r = Response::new(Body::from(body.to_string()));
        *r.status_mut() = self.status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            r.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
            );
        }
        r
    }
}

/// A token the session could not get: the client is told, as a 502.
impl From<AuthError> for Refusal {
    fn from(e: AuthError) -> Refusal {
        token_refusal(&e)
    }
}

pub(super) fn foreign_origin(origin: &str) -> Refusal {
    Refusal::new(
        StatusCode::FORBIDDEN,
        "forbidden_origin",
        format!("{origin} is not an origin of the profile (base_url, auth.origins)"),
    )
}

/// A target naming credentials of its own (`user:password@`): the gateway adds the
/// profile's, and sends no other.
pub(super) fn userinfo() -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "userinfo_refused",
        "the target carries user:password@; runner serve sends the profile's credentials only",
    )
}

fn token_refusal(e: &AuthError) -> Refusal {
    Refusal::new(
        StatusCode::BAD_GATEWAY,
        "token_error",
        format!("no access token: {e}"),
    )
}
