//! A sandbox on a loopback port, the two clients the tests talk to it with, and
//! the helpers every topic uses.

use reqwest::StatusCode;
use sandbox::{Clock, Sandbox, SandboxOptions};
use serde_json::{Value, json};

pub(crate) struct Harness {
    pub(crate) sandbox: Sandbox,
    pub(crate) http: reqwest::Client,
    /// Follows no redirects: the authorization endpoint's answers are looked at as sent.
    pub(crate) browser: reqwest::Client,
}

/// reqwest is built without a crypto provider (runner uses `ring` for everything):
/// the tests' clients take the process default, installed here once.
pub(crate) fn install_crypto() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
}

impl Harness {
    pub(crate) async fn start(opts: SandboxOptions) -> Harness {
        Harness::with_clock(opts, Clock::System).await
    }

    pub(crate) async fn with_clock(opts: SandboxOptions, clock: Clock) -> Harness {
        install_crypto();
        let sandbox = Sandbox::start_with_clock(opts, clock).await.unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let browser = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Harness {
            sandbox,
            http,
            browser,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.url())
    }

    pub(crate) async fn token_json(&self, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/oauth/v2/token"))
            .json(&body)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    /// A password grant that must succeed; returns (access, refresh).
    pub(crate) async fn login(&self) -> (String, String) {
        let (status, body) = self
            .token_json(json!({
                "grant_type": "password", "client_id": "sandbox", "client_secret": "sandbox-secret",
                "username": "demo", "password": "demo"
            }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (
            str_of(&body["access_token"]),
            str_of(&body["refresh_token"]),
        )
    }

    pub(crate) async fn refresh(&self, refresh: &str) -> (StatusCode, Value) {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "sandbox"),
            ("client_secret", "sandbox-secret"),
        ];
        let response = self
            .http
            .post(self.url("/oauth/v2/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    pub(crate) async fn stats(&self) -> Value {
        let response = self
            .http
            .get(self.url("/_sandbox/stats"))
            .send()
            .await
            .unwrap();
        split(response).await.1
    }
}

pub(crate) async fn split(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {bytes:?}"))
    };
    (status, body)
}

pub(crate) fn str_of(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

pub(crate) fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| str_of(&i["id"]))
        .collect()
}

pub(crate) fn asset_id(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}
