use super::*;

#[test]
fn debug_and_display_hide_the_value() {
    let s = Secret::new("hunter2-very-secret");
    assert_eq!(format!("{s:?} {s}"), "*** ***");
    assert_eq!(s.expose(), "hunter2-very-secret");
}

#[test]
fn redact_masks_registered_values_longest_first() {
    let _a = Secret::new("abcd-token");
    let _b = Secret::new("abcd-token-and-more");
    assert_eq!(
        redact("x abcd-token-and-more y abcd-token z"),
        "x *** y *** z"
    );
    assert_eq!(redact("abc"), "abc");
}

/// A secret with every character a writer may encode, in each form it takes.
#[test]
fn every_form_of_a_punctuated_secret_is_masked() {
    let secret = "pw&<v>\"q'\\%+/=: é-Zk9";
    register(secret);
    let json = serde_json::to_string(secret).unwrap();
    let json = &json[1..json.len() - 1];
    let forms = [
        secret.to_string(),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
        secret
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect::<String>(),
        json.to_string(),
        json.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;"),
        secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&#34;")
            .replace('\'', "&apos;"),
    ];
    for form in forms {
        assert_eq!(
            redact(&format!("before {form} after")),
            "before *** after",
            "form {form}"
        );
    }
}

#[test]
fn basic_credentials_are_masked_as_base64_too() {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    register_basic("alice", "p&ss<w>\"rd?~~");
    let pair = "alice:p&ss<w>\"rd?~~";
    for text in [STANDARD.encode(pair), URL_SAFE_NO_PAD.encode(pair)] {
        assert_eq!(redact(&format!("Basic {text}")), "Basic ***");
    }
    assert_eq!(redact("user alice"), "user alice");
}

#[test]
fn ordinary_text_is_left_alone() {
    register("plain-token-123");
    assert_eq!(
        redact("plain-token-12 and plain_token_123"),
        "plain-token-12 and plain_token_123"
    );
}

/// The userinfo of a URL is a credential: its password (or a lone user name, a
/// token), decoded, in every form, and the base64 of the pair a client sends.
#[test]
fn the_userinfo_of_a_url_is_registered_decoded_with_its_basic_pair() {
    use base64::Engine as _;
    register_userinfo("https://ann:pw%26ui%3Cx%3E%20%C3%A9-Zq7@host.example/path?q=1");
    let pair = base64::engine::general_purpose::STANDARD.encode("ann:pw&ui<x> é-Zq7");
    assert_eq!(
        redact(&format!(
            "a pw&ui<x> é-Zq7 b pw%26ui%3Cx%3E+%C3%A9-Zq7 c Basic {pair}"
        )),
        "a *** b *** c Basic ***"
    );
    register_userinfo("https://ghp-T0kenOnlyUser@host.example/");
    assert_eq!(redact("x ghp-T0kenOnlyUser y"), "x *** y");
    // No userinfo, or an `@` after the authority: nothing is registered.
    register_userinfo("https://host.example/a@b-not-a-secret");
    assert_eq!(redact("b-not-a-secret"), "b-not-a-secret");
}

/// A secret inside a longer text that is then base64-encoded (an echo's
/// `body_base64`) is masked at whichever of the three alignments it lands on.
#[test]
fn a_secret_inside_a_base64_blob_is_masked_at_any_alignment() {
    use base64::engine::general_purpose::STANDARD;
    let secret = "tok-Zk9+q/Wx3s=-4fVE-aligned";
    register(secret);
    for prefix in ["", "a", "ab", "cursor=Bearer+"] {
        let blob = STANDARD.encode(format!("{prefix}{secret}&next=1"));
        let masked = redact(&blob);
        assert!(masked.contains("***"), "{prefix:?}: {masked}");
        let core_len = secret.len() / 3 * 4 - 4;
        for window in blob.as_bytes().windows(core_len) {
            let w = std::str::from_utf8(window).unwrap();
            if STANDARD.encode(secret).contains(w) {
                assert!(!masked.contains(w), "{prefix:?}: {w} survived in {masked}");
            }
        }
    }
}

/// A text without a secret's longest run of letters and digits cannot hold any form
/// of it: the pattern is not compiled for it, and a text with the run is still masked
/// in every form.
#[test]
fn the_pattern_is_compiled_only_for_a_text_that_may_hold_the_secret() {
    let secret = "lit-core/Run7xQ&more";
    register(secret);
    assert_eq!(literal_core(secret, false), "Run7xQ");
    assert_eq!(
        redact("nothing to see: lit-core more"),
        "nothing to see: lit-core more"
    );
    let compiled = |v: &str| {
        let list = entries();
        list.iter()
            .any(|e| e.value == v && e.pattern.get().is_some())
    };
    assert!(!compiled(secret));
    assert_eq!(redact("a lit-core%2FRun7xQ%26more b"), "a *** b");
    assert!(compiled(secret));
    assert_eq!(literal_core("&&//", false), "");
    assert_eq!(
        literal_core("eyJhbGciOiJFUzI1NiJ9.x", true),
        "eyJhbGciOiJFUzI1NiJ9.x"
    );
}

#[test]
fn json_is_masked_in_keys_and_values_its_order_kept() {
    let s = Secret::new("json-secret-Qx81");
    let mut v = serde_json::json!({
        "b": "has json-secret-Qx81 in it",
        "a": ["x", {"k": "json-secret-Qx81"}],
        "c": 1,
    });
    redact_json(&mut v);
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"b":"has *** in it","a":["x",{"k":"***"}],"c":1}"#
    );
    let mut v = serde_json::json!({"z": "json-secret-Qx81", "json-secret-Qx81": 2, "a": 3});
    redact_json(&mut v);
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"z":"***","***":2,"a":3}"#
    );
    assert!(matches!(
        redact_cow("nothing here"),
        std::borrow::Cow::Borrowed(_)
    ));
    drop(s);
}

/// A panic while the masking list was locked (a poisoned lock) does not turn masking
/// off: what was registered is still masked, and more can be registered.
#[test]
fn masking_holds_after_a_panic_poisoned_its_lock() {
    register("poisoned-lock-secret-1");
    let poisoner = std::thread::spawn(|| {
        let _held = registry().lock();
        panic!("on purpose, with the masking list locked");
    });
    assert!(poisoner.join().is_err());
    assert!(registry().is_poisoned());
    assert_eq!(redact("a poisoned-lock-secret-1 b"), "a *** b");
    register("poisoned-lock-secret-2");
    assert_eq!(redact("c poisoned-lock-secret-2 d"), "c *** d");
}
