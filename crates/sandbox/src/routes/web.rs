//! A web application's login, kept in a cookie: `GET /web/login` starts a session
//! (cookie `sandbox_session`) and gives the CSRF token its form must carry, `POST
//! /web/login` (form `username`, `password`, `csrf`) logs in and sets a new session
//! cookie, `GET /web/me` says who is logged in. For clients that keep cookies.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::accounts::{PASSWORD, USER_EMAIL, USERNAME};
use crate::error::ApiError;
use crate::state::web::LoginRefusal;
use crate::state::{AppState, lock};

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "sandbox_session";

fn session_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={id}; Path=/web; HttpOnly; SameSite=Lax"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sandbox_session=; Path=/web"))
}

/// The session id the request's `Cookie` headers carry.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_string())
}

/// `GET /web/login`: a new session and its CSRF token.
pub(crate) async fn show(State(state): State<AppState>) -> Response {
    let (id, csrf) = lock(&state.web).start();
    let mut resp =
        Json(json!({"csrf": csrf, "fields": ["username", "password", "csrf"]})).into_response();
    resp.headers_mut().insert(SET_COOKIE, session_cookie(&id));
    resp
}

/// `POST /web/login`: the form, checked against the session's CSRF token.
pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let forbidden = |d: &str| ApiError::new(StatusCode::FORBIDDEN, "forbidden", d).into_response();
    let Some(id) = session_id(&headers) else {
        return forbidden("No session cookie: GET /web/login first");
    };
    if field("username") != USERNAME || field("password") != PASSWORD {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Wrong user name or password",
        )
        .into_response();
    }
    match lock(&state.web).login(&id, field("csrf"), USERNAME) {
        Ok(new_id) => {
            let mut resp = Json(json!({"logged_in": USERNAME})).into_response();
            resp.headers_mut()
                .insert(SET_COOKIE, session_cookie(&new_id));
            resp
        }
        Err(LoginRefusal::NoSession) => forbidden("Unknown session: GET /web/login first"),
        Err(LoginRefusal::Csrf) => forbidden("The csrf field is not this session's token"),
    }
}

/// `GET /web/me`: who the session cookie belongs to.
pub(crate) async fn me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = session_id(&headers).and_then(|id| lock(&state.web).user(&id).map(String::from));
    match user {
        Some(u) => Json(json!({"username": u, "email": USER_EMAIL})).into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "login_required",
            "No logged-in session cookie: POST /web/login first",
        )
        .into_response(),
    }
}
