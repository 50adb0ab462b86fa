//! Authorization codes (RFC 6749 §4.1) and their PKCE check (RFC 7636, S256 only):
//! random, single use, short-lived, bound to the client, the redirect URI and the
//! code challenge. No HTTP.

use std::collections::HashMap;

use oauth2::{PkceCodeChallenge, PkceCodeVerifier};

use super::tokens::{Family, random_token};

/// How long a code may wait for its exchange.
pub(crate) const CODE_TTL_MS: u64 = 60_000;
/// Spent codes are remembered this long after they expire, so that a reuse is
/// recognised (and its tokens revoked) rather than called unknown.
const REMEMBER_SPENT_MS: u64 = 10 * 60_000;
/// Above this many stored codes, forgotten ones are dropped on the next issue.
const PRUNE_ABOVE: usize = 10_000;

/// What the user approved: everything the exchange must match or hand on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: Option<String>,
    /// OpenID Connect's `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    pub username: String,
}

/// What the client presents at the token endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exchange<'a> {
    pub code: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: &'a str,
}

/// Why an exchange was refused. Every refusal of a known, unexpired code spends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeRefusal {
    Unknown,
    /// Presented again; the family of the tokens it bought, if it bought any.
    Spent(Option<Family>),
    Expired,
    OtherClient,
    OtherRedirectUri,
    /// `code_verifier` is not 43 to 128 unreserved characters (RFC 7636 §4.1).
    MalformedVerifier,
    /// S256(code_verifier) is not the code challenge.
    VerifierMismatch,
}

struct StoredCode {
    request: CodeRequest,
    expires_at_ms: u64,
    spent: bool,
    family: Option<Family>,
}

#[derive(Default)]
pub(crate) struct CodeStore {
    codes: HashMap<String, StoredCode>,
}

impl CodeStore {
    /// A new code for an approved request.
    pub(crate) fn issue(&mut self, now_ms: u64, request: CodeRequest) -> String {
        if self.codes.len() > PRUNE_ABOVE {
            self.codes
                .retain(|_, c| now_ms < c.expires_at_ms.saturating_add(REMEMBER_SPENT_MS));
        }
        let code = random_token();
        self.codes.insert(
            code.clone(),
            StoredCode {
                request,
                expires_at_ms: now_ms.saturating_add(CODE_TTL_MS),
                spent: false,
                family: None,
            },
        );
        code
    }

    /// Checks an exchange and spends the code, whatever the outcome once the code is
    /// known and live: a client gets one attempt (RFC 6749 §4.1.2).
    pub(crate) fn redeem(
        &mut self,
        exchange: Exchange<'_>,
        now_ms: u64,
    ) -> Result<CodeRequest, CodeRefusal> {
        let Some(stored) = self.codes.get_mut(exchange.code) else {
            return Err(CodeRefusal::Unknown);
        };
        if stored.spent {
            return Err(CodeRefusal::Spent(stored.family));
        }
        if now_ms >= stored.expires_at_ms {
            return Err(CodeRefusal::Expired);
        }
        stored.spent = true;
        let request = &stored.request;
        if request.client_id != exchange.client_id {
            return Err(CodeRefusal::OtherClient);
        }
        if request.redirect_uri != exchange.redirect_uri {
            return Err(CodeRefusal::OtherRedirectUri);
        }
        let challenge = s256(exchange.code_verifier).ok_or(CodeRefusal::MalformedVerifier)?;
        if challenge != request.code_challenge {
            return Err(CodeRefusal::VerifierMismatch);
        }
        Ok(request.clone())
    }

    /// Remembers which tokens a code bought, to revoke them if it comes back.
    pub(crate) fn record_family(&mut self, code: &str, family: Family) {
        if let Some(stored) = self.codes.get_mut(code) {
            stored.family = Some(family);
        }
    }
}

/// `BASE64URL(SHA256(verifier))`, or `None` when the verifier is not 43 to 128
/// characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub(crate) fn s256(verifier: &str) -> Option<String> {
    if !is_pkce_text(verifier) {
        return None;
    }
    // oauth2 (already a dependency) computes the challenge; it asserts the length,
    // which is checked above.
    let verifier = PkceCodeVerifier::new(verifier.to_owned());
    Some(
        PkceCodeChallenge::from_code_verifier_sha256(&verifier)
            .as_str()
            .to_owned(),
    )
}

/// 43 to 128 unreserved characters: the syntax of a code verifier and of a code
/// challenge (RFC 7636 §4.1, §4.2).
pub(crate) fn is_pkce_text(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn request() -> CodeRequest {
        CodeRequest {
            client_id: "sandbox-public".into(),
            redirect_uri: "http://127.0.0.1:5000/callback".into(),
            code_challenge: CHALLENGE.into(),
            scope: Some("read".into()),
            nonce: None,
            username: "demo".into(),
        }
    }

    fn exchange(code: &str) -> Exchange<'_> {
        Exchange {
            code,
            client_id: "sandbox-public",
            redirect_uri: "http://127.0.0.1:5000/callback",
            code_verifier: VERIFIER,
        }
    }

    #[test]
    fn s256_is_the_rfc_7636_example() {
        assert_eq!(s256(VERIFIER).as_deref(), Some(CHALLENGE));
        let long = "a".repeat(128);
        assert!(s256(&long).is_some());
        for bad in [
            "short",
            &"a".repeat(129),
            &format!("{}+", &VERIFIER[..43]),
            "",
        ] {
            assert_eq!(s256(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_code_is_exchanged_once() {
        let mut store = CodeStore::default();
        let code = store.issue(0, request());
        assert_eq!(code.len(), 43);
        assert_eq!(store.redeem(exchange(&code), 59_999), Ok(request()));
        assert_eq!(
            store.redeem(exchange(&code), 59_999),
            Err(CodeRefusal::Spent(None))
        );
        store.record_family(&code, Family::for_tests(7));
        assert_eq!(
            store.redeem(exchange(&code), 1_000_000),
            Err(CodeRefusal::Spent(Some(Family::for_tests(7))))
        );
        assert_eq!(store.redeem(exchange("nope"), 0), Err(CodeRefusal::Unknown));
    }

    #[test]
    fn every_mismatch_is_refused_and_spends_the_code() {
        let wrong_verifier = "x".repeat(43);
        let cases: [(Exchange<'_>, CodeRefusal); 4] = [
            (
                Exchange {
                    client_id: "sandbox",
                    ..exchange("")
                },
                CodeRefusal::OtherClient,
            ),
            (
                Exchange {
                    redirect_uri: "http://127.0.0.1:5001/callback",
                    ..exchange("")
                },
                CodeRefusal::OtherRedirectUri,
            ),
            (
                Exchange {
                    code_verifier: "too-short",
                    ..exchange("")
                },
                CodeRefusal::MalformedVerifier,
            ),
            (
                Exchange {
                    code_verifier: &wrong_verifier,
                    ..exchange("")
                },
                CodeRefusal::VerifierMismatch,
            ),
        ];
        let mut store = CodeStore::default();
        for (attempt, want) in cases {
            let code = store.issue(0, request());
            let attempt = Exchange {
                code: &code,
                ..attempt
            };
            assert_eq!(store.redeem(attempt, 0), Err(want));
            assert_eq!(
                store.redeem(exchange(&code), 0),
                Err(CodeRefusal::Spent(None)),
                "{want:?}"
            );
        }
    }

    #[test]
    fn codes_expire_after_a_minute() {
        let mut store = CodeStore::default();
        let code = store.issue(1_000, request());
        assert_eq!(
            store.redeem(exchange(&code), 61_000),
            Err(CodeRefusal::Expired)
        );
    }
}
