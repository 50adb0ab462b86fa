//! The HTTP side: every route and its handler. Handlers read and write the server's
//! data through [`AppState`]; nothing below them knows a route.

mod api;
mod authorize;
mod big;
mod control;
mod device;
mod dpop;
pub(crate) mod exchange;
mod faults;
mod metadata;
mod oauth;
mod openapi;
mod page;
mod paged;
mod params;
mod revoke;
mod web;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};

use crate::error::ApiError;
use crate::state::collection::Collection;
use crate::state::{AppState, read};

/// Every route. `/api/v1` sits behind the bearer check and, outside it, the fault and
/// counting layer; the OAuth2 endpoints and `/_sandbox` have neither.
pub(crate) fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for collection in &state.collections {
        api = collection_routes(api, collection);
    }
    let path = read(&state.assets).spec().path;
    api = api
        .route(read(&state.reports).spec().path, post(api::create_report))
        .route(
            read(&state.documents).spec().path,
            // Uploads of any size stream through: their bytes are counted, not kept.
            post(api::upload_document).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(path, post(api::create_asset))
        .route(&format!("{path}/search"), post(api::search_assets))
        .route("/api/v1/paged/{style}", any(paged::paged))
        .route(
            &format!("{path}/{{id}}"),
            axum::routing::put(api::update_asset)
                .patch(api::update_asset)
                .delete(api::delete_asset),
        )
        .layer(from_fn_with_state(state.clone(), oauth::require_bearer))
        .layer(from_fn_with_state(state.clone(), faults::faults));
    Router::new()
        .route("/oauth/v2/token", post(oauth::token))
        .route(
            "/oauth/v2/auth",
            get(authorize::show).post(authorize::submit),
        )
        .route("/oauth/v2/device", post(device::authorize))
        .route(device::VERIFY_PATH, get(device::show).post(device::submit))
        .route("/oauth/v2/revoke", post(revoke::revoke))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/.well-known/openid-configuration", get(metadata::metadata))
        .route("/_sandbox/device/approve", post(control::approve_device))
        .route("/_sandbox/stats", get(control::stats))
        .route("/_sandbox/revoke", post(control::revoke))
        .route("/_sandbox/fail", post(control::fail))
        .route("/_sandbox/clock", post(control::clock))
        .route("/_sandbox/big", get(big::big))
        .route("/_sandbox/redirect", any(control::redirect))
        .route("/_sandbox/bytes", get(control::bytes))
        .route(
            "/_sandbox/sink",
            any(control::sink).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/openapi.json", get(openapi::document))
        .route("/web/login", get(web::show).post(web::submit))
        .route("/web/me", get(web::me))
        .route("/_sandbox/echo", any(control::echo))
        .route("/_sandbox/echo/{*rest}", any(control::echo))
        .merge(api)
        .fallback(|| async { ApiError::not_found("No route for this path").into_response() })
        .with_state(state)
}

/// `GET {path}` and `GET {path}/{id}` for one collection.
fn collection_routes(
    api: Router<AppState>,
    collection: &Arc<RwLock<Collection>>,
) -> Router<AppState> {
    let path = read(collection).spec().path;
    let for_list = Arc::clone(collection);
    let for_get = Arc::clone(collection);
    api.route(
        path,
        get(move |RawQuery(query): RawQuery| {
            std::future::ready(api::list(&for_list, query.as_deref()))
        }),
    )
    .route(
        &format!("{path}/{{id}}"),
        get(move |Path(id): Path<String>| std::future::ready(api::get_one(&for_get, &id))),
    )
}
