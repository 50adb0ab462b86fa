//! The device grant (RFC 8628): polling, slowing down, approval through the form,
//! denial, expiry and auto-approval.

use reqwest::StatusCode;
use sandbox::{Clock, SandboxOptions};
use serde_json::{Value, json};

use crate::harness::{Harness, split, str_of};
use crate::login::id_token_claims;

#[tokio::test]
async fn device_flow_goes_pending_slows_down_and_is_approved_through_the_form() {
    let clock = Clock::manual(1_700_000_000_000);
    let h = Harness::with_clock(SandboxOptions::default(), clock.clone()).await;
    let started = start_for_the_public_client(&h).await;
    let user_code = str_of(&started["user_code"]);
    let device_code = str_of(&started["device_code"]);

    let (status, body) = h.poll(&device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_pending");
    let (_, body) = h.poll(&device_code).await;
    assert_eq!(
        body,
        json!({"error": "slow_down", "error_description": "Polling too fast: wait 6 s between requests"})
    );
    clock.advance_ms(6_000);
    assert_eq!(
        h.poll(&device_code).await.1["error"],
        "authorization_pending"
    );

    the_page_names_the_client(&h, &started, &user_code).await;
    approve_through_the_form(&h, &user_code).await;

    clock.advance_ms(6_000);
    let (status, tokens) = h.poll(&device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "read");
    let claims = id_token_claims(&str_of(&tokens["id_token"]));
    assert_eq!(claims["preferred_username"], "demo");
    assert_eq!(claims["aud"], "sandbox-public");
    assert_eq!(
        h.get("/api/v1/assets", &str_of(&tokens["access_token"]))
            .await
            .0,
        StatusCode::OK
    );
    clock.advance_ms(6_000);
    let (status, body) = h.poll(&device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "The device code was already used"})
    );
    let stats = h.stats().await;
    assert_eq!(stats["device_codes_issued"], 1);
    assert_eq!(stats["token_requests"]["device_code"], 5);
}

/// `POST /oauth/v2/device` for the public client: the codes and where to enter them.
async fn start_for_the_public_client(h: &Harness) -> Value {
    let response = h
        .http
        .post(h.url("/oauth/v2/device"))
        .form(&[("client_id", "sandbox-public"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, started) = split(response).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let user_code = str_of(&started["user_code"]);
    let device_code = str_of(&started["device_code"]);
    let verify = format!("{}/oauth/v2/device/verify", h.sandbox.url());
    assert_eq!(
        started,
        json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verify,
            "verification_uri_complete": format!("{verify}?user_code={user_code}"),
            "expires_in": 600,
            "interval": 1,
        })
    );
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    started
}

/// The page the complete verification URI opens: the code filled in, the client named.
async fn the_page_names_the_client(h: &Harness, started: &Value, user_code: &str) {
    let response = h
        .http
        .get(str_of(&started["verification_uri_complete"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&format!("name=\"user_code\" value=\"{user_code}\"")),
        "{page}"
    );
    assert!(page.contains("<strong>sandbox-public</strong> asks to act for you"));
}

/// The form approves a code with the demo password, typed in any case and punctuation,
/// once.
async fn approve_through_the_form(h: &Harness, user_code: &str) {
    let response = submit(h, "nope", user_code.to_owned()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("<p id=\"error\" role=\"alert\">Wrong password for demo.</p>"));
    let response = submit(h, "demo", "BCDF-GHJK".to_owned()).await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("No device is waiting for this code")
    );
    // People type codes in any case, with any punctuation.
    let typed = user_code.to_lowercase().replace('-', " ");
    let response = submit(h, "demo", typed.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("id=\"outcome\" data-outcome=\"approved\""),
        "{page}"
    );
    let response = submit(h, "demo", typed).await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This code was already used.")
    );
}

async fn submit(h: &Harness, password: &str, code: String) -> reqwest::Response {
    h.http
        .post(h.url("/oauth/v2/device/verify"))
        .form(&[
            ("user_code", code),
            ("password", password.to_owned()),
            ("action", "approve".to_owned()),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn device_codes_can_be_denied_and_expire() {
    let clock = Clock::manual(1_700_000_000_000);
    let opts = SandboxOptions {
        device_ttl: 30,
        ..SandboxOptions::default()
    };
    let h = Harness::with_clock(opts, clock.clone()).await;
    let public = [("client_id", "sandbox-public")];
    let denied = h.device(&public).await;
    let approve = |query: String| {
        h.http
            .post(h.url(&format!("/_sandbox/device/approve?{query}")))
            .send()
    };
    let response = approve(format!("user_code={}&deny=1", str_of(&denied["user_code"])))
        .await
        .unwrap();
    assert_eq!(
        split(response).await,
        (
            StatusCode::OK,
            json!({"user_code": denied["user_code"], "decision": "denied"})
        )
    );
    let (status, body) = h.poll(&str_of(&denied["device_code"])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "access_denied", "error_description": "The user denied the request"})
    );

    let late = h.device(&public).await;
    assert_eq!(late["expires_in"], 30);
    clock.advance_ms(30_000);
    let (_, body) = h.poll(&str_of(&late["device_code"])).await;
    assert_eq!(
        body,
        json!({"error": "expired_token", "error_description": "The device code has expired"})
    );
    let response = approve(format!("user_code={}", str_of(&late["user_code"])))
        .await
        .unwrap();
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "This code has expired: start again on the device."
    );
    let (status, _) = split(approve("user_code=BCDF-GHJK".into()).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = split(approve(String::new()).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, body) = h.poll("not-a-device-code").await;
    assert_eq!(body["error_description"], "Invalid device code");
}

#[tokio::test]
async fn auto_approve_lets_a_device_code_pend_once() {
    let clock = Clock::manual(1_700_000_000_000);
    let opts = SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    };
    let h = Harness::with_clock(opts, clock.clone()).await;
    let started = h.device(&[("client_id", "sandbox-public")]).await;
    let device_code = str_of(&started["device_code"]);
    assert_eq!(
        h.poll(&device_code).await.1["error"],
        "authorization_pending"
    );
    clock.advance_ms(1_000);
    let (status, body) = h.poll(&device_code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn device_authorization_needs_a_known_client() {
    let h = Harness::start(SandboxOptions::default()).await;
    for form in [
        vec![("client_id", "sandbox"), ("client_secret", "wrong")],
        vec![("client_id", "nobody")],
        vec![("scope", "read")],
    ] {
        let response = h
            .http
            .post(h.url("/oauth/v2/device"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Basic realm=\"sandbox\""
        );
        let (status, body) = split(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{form:?}");
        assert_eq!(body["error"], "invalid_client", "{form:?}");
    }
    let response = h
        .http
        .post(h.url("/oauth/v2/device"))
        .basic_auth("sandbox", Some("sandbox-secret"))
        .send()
        .await
        .unwrap();
    let (status, started) = split(response).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    // Another client's device code is no use to the public client.
    let (_, body) = h.poll(&str_of(&started["device_code"])).await;
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "The device code was issued to another client"})
    );
}
