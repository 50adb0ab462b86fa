//! What the `auth:` block needs for signed assertions (`private_key_jwt`,
//! `client_secret_jwt`, `oauth2_jwt_bearer`) and token exchange, and the keys those
//! use that other types refuse.

use super::Spanned;
use super::profile::{AuthConfig, AuthType, ClientAuth, Keys, SigningAlg};

impl AuthConfig {
    /// Whether the block signs with a private key of its own.
    pub fn signs_with_private_key(&self) -> bool {
        self.client_auth == ClientAuth::PrivateKeyJwt
            || (self.kind == AuthType::Oauth2JwtBearer && self.key_file.is_none())
    }

    /// Problems of the signing and exchange keys, beside the ones every type has.
    pub(super) fn jwt_problems(&self, sandbox: bool) -> Vec<String> {
        let mut out = Vec::new();
        let alg = self.signing_alg.as_ref().map(|a| a.value);
        match self.client_auth {
            ClientAuth::PrivateKeyJwt if self.private_key.is_none() => {
                out.push("`client_auth: private_key_jwt` needs `private_key`".to_string());
            }
            ClientAuth::ClientSecretJwt if self.client_secret.is_none() => {
                out.push("`client_auth: client_secret_jwt` needs `client_secret`".to_string());
            }
            _ => {}
        }
        match (self.client_auth, alg) {
            (ClientAuth::ClientSecretJwt, Some(a)) if a != SigningAlg::HS256 => out.push(format!(
                "`client_auth: client_secret_jwt` signs with HS256, not {}",
                a.name()
            )),
            (_, Some(SigningAlg::HS256)) if self.client_auth != ClientAuth::ClientSecretJwt => {
                out.push(
                    "`signing_alg: HS256` signs with the client secret: it goes with `client_auth: client_secret_jwt`"
                        .to_string(),
                )
            }
            _ => {}
        }
        if self.kind == AuthType::Oauth2TokenExchange
            && self.subject_profile.is_some() == self.subject_token.is_some()
        {
            out.push(
                "auth type `oauth2_token_exchange` needs one of `subject_profile` or `subject_token`"
                    .to_string(),
            );
        }
        // The sandbox, like Google and Entra ID, finds the public key by its `kid`.
        if sandbox && self.signs_with_private_key() && self.key_id.is_none() {
            out.push(
                "the sandbox finds a client's public key by its `kid`: set `key_id` (the sandbox's demo key is `sandbox-key-1`)"
                    .to_string(),
            );
        }
        out
    }

    /// The keys of signing and exchange that this block's type and client
    /// authentication do not use, each with whether the block has it.
    pub(super) fn jwt_unused_keys(&self) -> Keys {
        let has = |v: &Option<Spanned<String>>| v.is_some();
        let kind = self.kind;
        let bearer = kind == AuthType::Oauth2JwtBearer;
        let exchange = kind == AuthType::Oauth2TokenExchange;
        let jwt_client = self.client_auth.is_jwt() && kind.is_oauth2() && !bearer;
        let mut unused = Vec::new();
        if !bearer && !jwt_client {
            unused.extend([
                ("private_key", has(&self.private_key)),
                ("key_id", has(&self.key_id)),
                ("signing_alg", self.signing_alg.is_some()),
            ]);
        }
        if !jwt_client {
            unused.push(("assertion_audience", has(&self.assertion_audience)));
        }
        if !bearer {
            unused.extend([
                ("subject", has(&self.subject)),
                ("key_file", has(&self.key_file)),
            ]);
        }
        if !bearer && !exchange {
            unused.push(("audience", has(&self.audience)));
        }
        if !exchange {
            unused.extend([
                ("subject_profile", has(&self.subject_profile)),
                ("subject_token", has(&self.subject_token)),
                ("subject_token_type", has(&self.subject_token_type)),
                ("resource", has(&self.resource)),
                ("requested_token_type", has(&self.requested_token_type)),
                ("actor_token", has(&self.actor_token)),
                ("actor_token_type", has(&self.actor_token_type)),
            ]);
        }
        if kind != AuthType::Oauth2AuthorizationCode {
            unused.push(("par", self.par));
        }
        unused
    }
}
