//! Issue 23 against oidc-provider 9.13.3 (see interop_oidc.rs for how it is started):
//! DPoP with the token endpoint's nonce required (client `runner-dpop`, whose tokens
//! must be bound), and a resource route that checks the proof, `ath` and the token's
//! `cnf.jkt`, and asks for its own nonce.

use crate::support::{Project, http_json, http_text};

fn issuer() -> Option<String> {
    match std::env::var("RUNNER_OIDC_ISSUER") {
        Ok(u) if !u.is_empty() => Some(u.trim_end_matches('/').to_string()),
        _ => {
            assert!(
                std::env::var("RUNNER_REQUIRE_INTEROP").as_deref() != Ok("1"),
                "RUNNER_REQUIRE_INTEROP=1 but RUNNER_OIDC_ISSUER is not set"
            );
            eprintln!("SKIPPED oidc-provider DPoP interop test: RUNNER_OIDC_ISSUER is not set");
            None
        }
    }
}

/// Successful client-credentials grants so far: requests less `use_dpop_nonce` answers
/// (only runner-dpop uses this grant, and only it is asked for nonces).
fn grants(issuer: &str) -> u64 {
    let (_, v) = http_json("GET", &format!("{issuer}/_stats"), None);
    let requests = v["token_requests"]["client_credentials"]
        .as_u64()
        .unwrap_or(0);
    let nonces = v["token_errors"]["use_dpop_nonce"].as_u64().unwrap_or(0);
    requests - nonces
}

#[test]
fn oidc_provider_binds_tokens_to_runners_dpop_key_across_processes() {
    let Some(iss) = issuer() else { return };
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {iss}\nauth:\n  type: oauth2_client_credentials\n  token_url: {iss}/token\n  revocation_url: {iss}/token/revocation\n  client_id: runner-dpop\n  client_secret: dpop-secret-1\n  dpop: true\n"
        ),
    );
    p.write(
        "requests/me.yaml",
        "url: /api/dpop\nextract: {client: $.client_id, jkt: $.jkt}\n",
    );
    let before = grants(&iss);
    let r = p.run(&["-v", "exec", "requests/me.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for asked in [
        "the token endpoint asked for a DPoP nonce: sending again with it",
        "the server asked for a DPoP nonce: sending again with it",
    ] {
        assert!(r.stderr.contains(asked), "{asked}: {}", r.stderr);
    }
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["client"], "runner-dpop");
    let cache = p.assert_cache_intact();
    assert_eq!(cache["token_type"], "DPoP");
    // The key the server bound the token to (cnf.jkt), as its resource reports it.
    let jkt = out["jkt"].as_str().unwrap().to_string();
    let token = cache["access_token"].as_str().unwrap().to_string();
    assert_eq!(grants(&iss) - before, 1);
    // Bound: without a proof the resource refuses the token.
    let (status, body) = http_text(
        "GET",
        &format!("{iss}/api/dpop"),
        None,
        &[("Authorization", &format!("DPoP {token}"))],
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_dpop_proof"), "{body}");
    // Across an expiry, 8 processes at once: one new token, the same key.
    p.expire_access_tokens();
    for r in p.run_at_once(8, &["exec", "requests/me.yaml"], &[]) {
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(
            v["jkt"],
            jkt.as_str(),
            "every process proves the session's key"
        );
    }
    assert_eq!(grants(&iss) - before, 2, "one grant for the 8 processes");
    assert_ne!(p.cache()["access_token"], token.as_str());
    let out = p.run(&["logout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(p.cache_files().is_empty());
}
