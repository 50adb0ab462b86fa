//! The authorization code grant with PKCE: the login form, auto-approval, refusals
//! on a page or at the redirect URI, code exchange, reuse, expiry and the ID token.

use reqwest::StatusCode;
use sandbox::{Clock, SandboxOptions};
use serde_json::json;

use crate::harness::{Harness, split, str_of};
use crate::login::{
    Pairs, REDIRECT, VERIFIER, auth_params, hidden_fields, id_token_claims, with_param,
};

#[tokio::test]
async fn authorization_code_with_pkce_through_the_login_form() {
    let h = Harness::start(SandboxOptions::default()).await;
    // A state with characters that HTML and URLs both care about.
    let state = "a b&c\"<d>'é";
    let params = auth_params("sandbox-public", state);
    let page = h.authorize_get(&params).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<form id=\"login\" method=\"post\" action=\"/oauth/v2/auth\">")
    );
    assert!(
        page.body
            .contains("<strong>sandbox-public</strong> asks to act for you")
    );
    assert!(page.body.contains("type=\"password\" name=\"password\""));
    assert!(page.body.contains("value=\"deny\">Deny</button>"));
    let hidden = hidden_fields(&page.body);
    let sent: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(hidden, sent, "the hidden fields carry the request as sent");

    let mut form: Vec<(&str, &str)> = hidden
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.push(("action", "approve"));
    let wrong = [form.clone(), vec![("password", "nope")]].concat();
    let page = h.authorize_post(&wrong).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location.is_none());
    assert!(
        page.body
            .contains("<p id=\"error\" role=\"alert\">Wrong password for demo.</p>")
    );
    assert_eq!(
        hidden_fields(&page.body),
        hidden,
        "the form again, as it was"
    );

    let right = [form, vec![("password", "demo")]].concat();
    let page = h.authorize_post(&right).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.target(), REDIRECT);
    let query = page.query();
    assert_eq!(query["state"], state);
    assert_eq!(query["iss"], h.sandbox.url());
    let code = &query["code"];
    assert_eq!(code.len(), 43);

    let (status, body) = h.exchange(code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["scope"], "read write");
    let access = str_of(&body["access_token"]);
    let claims = id_token_claims(&str_of(&body["id_token"]));
    assert_eq!(claims["aud"], "sandbox-public");
    assert_eq!(h.get("/api/v1/assets", &access).await.0, StatusCode::OK);

    // The public client refreshes with its id alone.
    let (status, refreshed) = h.refresh_public(&str_of(&body["refresh_token"])).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["scope"], "read write");
    assert!(refreshed.get("id_token").is_none());

    let stats = h.stats().await;
    assert_eq!(stats["token_requests"]["authorization_code"], 1);
    assert_eq!(stats["token_requests"]["refresh_token"], 1);
    assert_eq!(stats["authorization_codes_issued"], 1);
    assert_eq!(stats["token_errors"], 0);
}

#[tokio::test]
async fn auto_approve_redirects_at_once_keeping_the_redirect_query() {
    let opts = SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    };
    let h = Harness::start(opts).await;
    let redirect = "http://localhost:50000/cb?session=7";
    let params = with_param(
        &auth_params("sandbox", "xyz"),
        "redirect_uri",
        Some(redirect),
    );
    let page = h.authorize_get(&params).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    assert_eq!(page.target(), "http://localhost:50000/cb");
    let query = page.query();
    assert_eq!(query["session"], "7");
    assert_eq!(query["state"], "xyz");
    let code = query["code"].clone();

    // The confidential client must authenticate; a refused client does not spend the code.
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("code_verifier", VERIFIER),
    ];
    let without_secret = [exchange.to_vec(), vec![("client_id", "sandbox")]].concat();
    let (status, body) = h.post_form("/oauth/v2/token", &without_secret).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_client");
    let response = h
        .http
        .post(h.url("/oauth/v2/token"))
        .basic_auth("sandbox", Some("sandbox-secret"))
        .form(&exchange)
        .send()
        .await
        .unwrap();
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        id_token_claims(&str_of(&body["id_token"]))["aud"],
        "sandbox"
    );
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_the_state() {
    let h = Harness::start(SandboxOptions::default()).await;
    let mut form = auth_params("sandbox-public", "st8");
    form.push(("action", "deny"));
    let page = h.authorize_post(&form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.target(), REDIRECT);
    let query = page.query();
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["error_description"], "The user denied the request");
    assert_eq!(query["state"], "st8");
    assert!(!query.contains_key("code"));
    assert_eq!(h.stats().await["authorization_codes_issued"], 0);
}

#[tokio::test]
async fn authorization_requests_without_a_good_client_or_redirect_uri_get_a_page() {
    let h = Harness::start(SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    })
    .await;
    let good = auth_params("sandbox-public", "s");
    let repeated = [good.clone(), vec![("client_id", "sandbox")]].concat();
    let cases: Vec<(Pairs<'_>, &str)> = vec![
        (with_param(&good, "client_id", None), "client_id is missing"),
        (
            with_param(&good, "client_id", Some("other")),
            "Unknown client_id &quot;other&quot;",
        ),
        (
            with_param(&good, "redirect_uri", None),
            "redirect_uri is missing",
        ),
        (
            with_param(&good, "redirect_uri", Some("https://127.0.0.1:9/cb")),
            "its scheme is not http",
        ),
        (
            with_param(&good, "redirect_uri", Some("http://evil.example:9/cb")),
            "its host is not a loopback address",
        ),
        (
            with_param(&good, "redirect_uri", Some("http://127.0.0.1:9/cb#f")),
            "it has a fragment",
        ),
        (repeated, "client_id is repeated"),
    ];
    for (params, message) in &cases {
        let page = h.authorize_get(params).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{params:?}");
        assert!(page.location.is_none(), "{params:?}");
        assert!(page.body.contains("<p id=\"error\""), "{}", page.body);
        assert!(page.body.contains(message), "{message}: {}", page.body);
        let page = h.authorize_post(params).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{params:?}");
        assert!(page.location.is_none(), "{params:?}");
    }
    assert_eq!(h.stats().await["authorization_codes_issued"], 0);
}

#[tokio::test]
async fn authorization_requests_without_pkce_s256_are_redirected_with_invalid_request() {
    let h = Harness::start(SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    })
    .await;
    let good = auth_params("sandbox", "keep-me");
    let repeated_state = [good.clone(), vec![("state", "other")]].concat();
    let cases: Vec<(Pairs<'_>, &str, &str)> = vec![
        (
            with_param(&good, "code_challenge", None),
            "invalid_request",
            "code_challenge is missing: this server requires PKCE (RFC 7636)",
        ),
        (
            with_param(&good, "code_challenge_method", None),
            "invalid_request",
            "code_challenge_method is missing: it must be S256 (plain is not accepted)",
        ),
        (
            with_param(&good, "code_challenge_method", Some("plain")),
            "invalid_request",
            "code_challenge_method \"plain\" is not accepted: use S256",
        ),
        (
            with_param(&good, "code_challenge", Some("short")),
            "invalid_request",
            "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.2)",
        ),
        (
            with_param(&good, "response_type", Some("token")),
            "unsupported_response_type",
            "response_type \"token\" is not supported: use code",
        ),
        (
            with_param(&good, "response_type", None),
            "invalid_request",
            "response_type is missing",
        ),
        (repeated_state, "invalid_request", "state is repeated"),
    ];
    for (params, error, description) in &cases {
        let page = h.authorize_get(params).await;
        assert_eq!(page.status, StatusCode::FOUND, "{params:?}: {}", page.body);
        assert_eq!(page.target(), REDIRECT);
        let query = page.query();
        assert_eq!(query["error"], *error, "{params:?}");
        assert_eq!(query["error_description"], *description, "{params:?}");
        assert_eq!(query["state"], "keep-me", "{params:?}");
        assert!(!query.contains_key("code"), "{params:?}");
    }
    assert_eq!(h.stats().await["authorization_codes_issued"], 0);
}

#[tokio::test]
async fn code_exchanges_are_refused_unless_everything_matches() {
    let h = Harness::start(SandboxOptions::default()).await;
    mismatches_spend_the_code(&h).await;
    let code = h.code("sandbox-public").await;
    missing_parameters_do_not_spend_the_code(&h, &code).await;
    // None of these spent the code.
    assert_eq!(h.exchange(&code).await.0, StatusCode::OK);
    let (_, body) = h.exchange("not-a-code").await;
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Invalid authorization code"})
    );
    let stats = h.stats().await;
    assert_eq!(stats["code_reuse"], 4);
    assert_eq!(stats["token_requests"]["authorization_code"], 13);
}

/// A wrong verifier, redirect URI or client is refused, and spends the code.
async fn mismatches_spend_the_code(h: &Harness) {
    let wrong_verifier = "x".repeat(43);
    let cases: Vec<(Pairs<'_>, &str, &str)> = vec![
        (
            vec![("code_verifier", wrong_verifier.as_str())],
            "invalid_grant",
            "PKCE verification failed: S256(code_verifier) is not the code_challenge",
        ),
        (
            vec![("code_verifier", "too-short")],
            "invalid_grant",
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
        ),
        (
            vec![("redirect_uri", "http://127.0.0.1:10/callback")],
            "invalid_grant",
            "redirect_uri is not the one of the authorization request",
        ),
        (
            vec![
                ("client_id", "sandbox"),
                ("client_secret", "sandbox-secret"),
            ],
            "invalid_grant",
            "The authorization code was issued to another client",
        ),
    ];
    for (overrides, error, description) in &cases {
        let code = h.code("sandbox-public").await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "sandbox-public"),
        ];
        for (name, value) in overrides {
            form = with_param(&form, name, Some(value));
        }
        let (status, body) = h.post_form("/oauth/v2/token", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{overrides:?}");
        assert_eq!(
            body,
            json!({"error": error, "error_description": description}),
            "{overrides:?}"
        );
        // One attempt per code: the right verifier comes too late.
        let (status, body) = h.exchange(&code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["error_description"],
            "The authorization code was already used"
        );
    }
}

/// A missing `code`, `redirect_uri` or `code_verifier` is refused as a bad request.
async fn missing_parameters_do_not_spend_the_code(h: &Harness, code: &str) {
    for (missing, description) in [
        ("code", "No \"code\" parameter found"),
        ("redirect_uri", "No \"redirect_uri\" parameter found"),
        ("code_verifier", "No \"code_verifier\" parameter found"),
    ] {
        let form = with_param(
            &vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", "sandbox-public"),
            ],
            missing,
            None,
        );
        let (status, body) = h.post_form("/oauth/v2/token", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            json!({"error": "invalid_request", "error_description": description})
        );
    }
}

#[tokio::test]
async fn a_reused_code_revokes_the_tokens_it_bought() {
    let h = Harness::start(SandboxOptions::default()).await;
    let code = h.code("sandbox-public").await;
    let (status, first) = h.exchange(&code).await;
    assert_eq!(status, StatusCode::OK);
    let access = str_of(&first["access_token"]);
    // A refresh keeps the family: its tokens go too.
    let (_, refreshed) = h.refresh_public(&str_of(&first["refresh_token"])).await;
    let refreshed_access = str_of(&refreshed["access_token"]);
    assert_eq!(
        h.get("/api/v1/assets", &refreshed_access).await.0,
        StatusCode::OK
    );

    let (status, body) = h.exchange(&code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant",
               "error_description": "The authorization code was already used: the tokens issued for it are revoked"})
    );
    for token in [&access, &refreshed_access] {
        assert_eq!(
            h.get("/api/v1/assets", token).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, body) = h.refresh_public(&str_of(&refreshed["refresh_token"])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(h.stats().await["code_reuse"], 1);
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let clock = Clock::manual(1_700_000_000_000);
    let h = Harness::with_clock(SandboxOptions::default(), clock.clone()).await;
    let code = h.code("sandbox-public").await;
    clock.advance_ms(60_000);
    let (status, body) = h.exchange(&code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "The authorization code has expired"})
    );
    let code = h.code("sandbox-public").await;
    clock.advance_ms(59_999);
    assert_eq!(h.exchange(&code).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_id_token_names_the_demo_user() {
    let clock = Clock::manual(1_700_000_000_000);
    let opts = SandboxOptions {
        access_ttl: 300,
        ..SandboxOptions::default()
    };
    let h = Harness::with_clock(opts, clock).await;
    let mut form = auth_params("sandbox-public", "s");
    form.push(("nonce", "n-0S6_WzA2Mj"));
    form.push(("password", "demo"));
    let page = h.authorize_post(&form).await;
    let code = page.query()["code"].clone();
    let (_, body) = h.exchange(&code).await;
    let claims = id_token_claims(&str_of(&body["id_token"]));
    assert_eq!(
        claims,
        json!({
            "iss": h.sandbox.url(),
            "sub": "00000000-0000-4000-8001-000000000000",
            "aud": "sandbox-public",
            "iat": 1_700_000_000u64,
            "exp": 1_700_000_300u64,
            "preferred_username": "demo",
            "email": "demo@example.com",
            "nonce": "n-0S6_WzA2Mj",
        })
    );
}

#[tokio::test]
async fn public_clients_may_not_use_the_secret_grants() {
    let h = Harness::start(SandboxOptions::default()).await;
    for grant in ["password", "client_credentials"] {
        let (status, body) = h
            .post_form(
                "/oauth/v2/token",
                &[
                    ("grant_type", grant),
                    ("client_id", "sandbox-public"),
                    ("username", "demo"),
                    ("password", "demo"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{grant}");
        assert_eq!(
            body,
            json!({"error": "unauthorized_client",
                   "error_description": format!("The client sandbox-public is public: it may not use the {grant} grant")})
        );
    }
    // A public client's tokens are its own: the confidential client cannot refresh them.
    let code = h.code("sandbox-public").await;
    let (_, tokens) = h.exchange(&code).await;
    let (status, body) = h.refresh(&str_of(&tokens["refresh_token"])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "The refresh token was issued to another client"
    );
    assert_eq!(
        h.refresh_public(&str_of(&tokens["refresh_token"])).await.0,
        StatusCode::OK,
        "the refused attempt did not spend it"
    );
}
