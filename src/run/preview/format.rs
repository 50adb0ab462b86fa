//! Seeing before sending: a rendered request as text (`--dry-run`) or as a curl
//! command (`--curl`). Credentials show as `***` unless the caller unmasks them.

use crate::http::{CredentialPolicy, PartValue, RenderedBody, RenderedRequest};
use crate::secret;

pub use crate::http::is_sensitive_header;

/// The headers to show and the names of those left out: the request's, then the
/// authentication header, with the origin rule applied exactly as `http::Client` applies
/// it on the first hop (a credential of the profile goes only to the profile's
/// origins; a request file's own also to the origin of the URL that file names), and every header
/// the profile calls sensitive masked unless `show_secrets`.
fn shown_headers(
    req: &RenderedRequest,
    auth: Option<(&str, &str)>,
    policy: &CredentialPolicy,
    show_secrets: bool,
) -> (Vec<(String, String)>, Vec<String>) {
    let trusted = policy.trusts(&req.url);
    let file_trusted = req.url.origin() == req.file_origin;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    let mut add = |k: &str, v: &str, from_profile: bool| {
        out.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        let sensitive = policy.is_sensitive(k);
        let allowed = !sensitive || trusted || (!from_profile && file_trusted);
        if !allowed {
            dropped.push(k.to_string());
            return;
        }
        // A credential that holds an unset variable shows its placeholders alone.
        let unset = secret::placeholders_in(v);
        let v = if !show_secrets && sensitive && !unset.is_empty() {
            unset.join(" ")
        } else if !show_secrets && sensitive {
            "***".to_string()
        } else {
            v.to_string()
        };
        out.push((k.to_string(), v));
    };
    for h in &req.headers {
        add(&h.name, &h.value, h.from_profile);
    }
    if let Some((k, v)) = auth {
        add(k, v, true);
    }
    let has_ct = out
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if !has_ct {
        let ct = match &req.body {
            RenderedBody::Json(_) => Some("application/json"),
            RenderedBody::Form(_) => Some("application/x-www-form-urlencoded"),
            _ => None,
        };
        if let Some(ct) = ct {
            out.push(("Content-Type".into(), ct.into()));
        }
    }
    (out, dropped)
}

/// One comment line per header left out by the origin rule.
fn dropped_notes(req: &RenderedRequest, dropped: &[String]) -> String {
    dropped
        .iter()
        .map(|name| {
            format!(
                "# not sent: {name} ({} is not an origin the profile names)\n",
                req.url.origin().ascii_serialization()
            )
        })
        .collect()
}

fn mask(text: &str, show_secrets: bool) -> String {
    if show_secrets {
        text.to_string()
    } else {
        secret::redact(text)
    }
}

/// The request as an HTTP message: request line, headers, blank line, body.
pub fn dry_run(
    req: &RenderedRequest,
    auth: Option<(&str, &str)>,
    policy: &CredentialPolicy,
    show_secrets: bool,
) -> String {
    let mut s = format!("{} {}\n", req.method, req.url);
    let (headers, dropped) = shown_headers(req, auth, policy, show_secrets);
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\n"));
    }
    s.push_str(&dropped_notes(req, &dropped));
    let body = match &req.body {
        RenderedBody::Empty => None,
        RenderedBody::Json(json) => Some(json.pretty()),
        RenderedBody::Form(pairs) => Some(crate::http::form::encode(pairs)),
        RenderedBody::Text(t) => Some(t.clone()),
        RenderedBody::File(f) => Some(format!("<file {} ({} bytes)>", f.path.display(), f.len)),
        RenderedBody::Multipart(parts) => Some(
            parts
                .iter()
                .map(|p| match &p.value {
                    PartValue::Text(t) => format!("--part {}: {t}", p.name),
                    PartValue::File { filename, file, .. } => format!(
                        "--part {}: file {} as {filename} ({} bytes)",
                        p.name,
                        file.path.display(),
                        file.len
                    ),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    if let Some(b) = body {
        s.push('\n');
        s.push_str(&b);
        s.push('\n');
    }
    mask(&s, show_secrets)
}

/// A curl command that sends the same request, byte for byte: every argument is
/// quoted for a POSIX shell, bodies go as runner encodes them (a file as `@PATH`), and
/// what curl would add on its own (URL globbing, a form Content-Type, dropping an
/// empty header) is taken back.
pub fn curl(
    req: &RenderedRequest,
    auth: Option<(&str, &str)>,
    policy: &CredentialPolicy,
    show_secrets: bool,
) -> String {
    let mut args = vec!["curl".to_string()];
    let has_body = !matches!(req.body, RenderedBody::Empty);
    if req.method == reqwest::Method::HEAD && !has_body {
        args.push("--head".to_string());
    } else if req.method != reqwest::Method::GET || has_body {
        // With a body and no -X, curl would send a POST.
        args.push(format!("-X {}", word(req.method.as_str())));
    }
    if req.url.as_str().contains(['[', ']', '{', '}']) {
        args.push("--globoff".to_string());
    }
    args.push(quote(req.url.as_str()));
    let (headers, dropped) = shown_headers(req, auth, policy, show_secrets);
    let sends_type = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    for (k, v) in headers {
        // `-H 'Name:'` would remove the header from curl's request; `Name;` sends it
        // empty.
        let header = if v.is_empty() {
            format!("{k};")
        } else {
            format!("{k}: {v}")
        };
        args.push(format!("-H {}", quote(&header)));
    }
    if !sends_type && matches!(req.body, RenderedBody::Text(_) | RenderedBody::File(_)) {
        // runner sends these without a Content-Type; curl's --data-* would add one.
        args.push(format!("-H {}", quote("Content-Type:")));
    }
    body_args(&req.body, &mut args);
    args.push(format!("--max-time {}", req.timeout.as_secs_f64()));
    let text = dropped_notes(req, &dropped) + &args.join(" \\\n  ") + "\n";
    mask(&text, show_secrets)
}

/// curl's arguments for `body`, encoded as runner encodes it (a file as `@PATH`).
fn body_args(body: &RenderedBody, args: &mut Vec<String>) {
    match body {
        RenderedBody::Empty => {}
        RenderedBody::Json(json) => args.push(format!("--data-raw {}", quote(&json.compact()))),
        RenderedBody::Form(pairs) => {
            // Encoded here as runner encodes it: curl's --data-urlencode differs
            // (spaces, `~`, `*`) and leaves names as they are.
            let encoded = crate::http::form::encode(pairs);
            args.push(format!("--data-raw {}", quote(&encoded)));
        }
        RenderedBody::Text(t) => args.push(format!("--data-raw {}", quote(t))),
        RenderedBody::File(f) => args.push(format!(
            "--data-binary {}",
            quote(&format!("@{}", f.path.to_string_lossy()))
        )),
        RenderedBody::Multipart(parts) => {
            for p in parts {
                match &p.value {
                    // --form-string: a value starting with @ or < is not a file.
                    PartValue::Text(t) => args.push(format!(
                        "--form-string {}",
                        quote(&format!("{}={t}", p.name))
                    )),
                    PartValue::File {
                        filename,
                        content_type,
                        file,
                    } => {
                        let ty = content_type
                            .as_ref()
                            .map(|t| format!(";type={t}"))
                            .unwrap_or_default();
                        args.push(format!(
                            "-F {}",
                            quote(&format!(
                                "{}=@{};filename={filename}{ty}",
                                p.name,
                                file.path.to_string_lossy()
                            ))
                        ))
                    }
                }
            }
        }
    }
}

/// `command` (from [`curl`]) with curl's options for the connection: the client
/// certificate and key by path (never their text), and the proxy (its credentials
/// masked by the masking point unless shown).
pub fn curl_transport(
    command: String,
    tls: &crate::http::TlsOptions,
    show_secrets: bool,
) -> String {
    use crate::http::ProxySetting;
    let mut extra = Vec::new();
    if let Some(id) = &tls.client_identity {
        extra.extend(curl_identity(&id.source, show_secrets));
    }
    match &tls.proxy {
        ProxySetting::Environment => {}
        ProxySetting::Off => extra.push(format!("--noproxy {}", quote("*"))),
        ProxySetting::Url(u) => extra.push(format!("--proxy {}", quote(u.as_str()))),
    }
    if extra.is_empty() {
        return command;
    }
    let body = command.strip_suffix('\n').unwrap_or(&command);
    format!("{body} \\\n  {}\n", extra.join(" \\\n  "))
}

/// curl's options for a client certificate. A PKCS#12 file's password follows its
/// path (`--cert FILE:PASSWORD`, curl's form) only with `--show-secrets`; else `***`.
fn curl_identity(source: &crate::http::IdentitySource, show_secrets: bool) -> Vec<String> {
    use crate::http::IdentitySource;
    match source {
        IdentitySource::Pem {
            cert_file,
            key_file,
        } => vec![
            format!("--cert {}", quote(&cert_file.to_string_lossy())),
            format!("--key {}", quote(&key_file.to_string_lossy())),
        ],
        IdentitySource::Pkcs12 { file, password } => {
            // curl reads `:` as the end of the file name unless escaped.
            let mut arg = file.to_string_lossy().replace(':', "\\:");
            if !password.is_empty() {
                arg.push(':');
                arg.push_str(if show_secrets {
                    password.expose()
                } else {
                    "***"
                });
            }
            vec![
                "--cert-type P12".to_string(),
                format!("--cert {}", quote(&arg)),
            ]
        }
    }
}

/// `s` single-quoted for a POSIX shell: every byte but `'` stands for itself there.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `s` bare when the shell gives none of its characters a meaning, else quoted.
fn word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if plain { s.to_string() } else { quote(s) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn req() -> RenderedRequest {
        RenderedRequest {
            method: reqwest::Method::POST,
            url: url::Url::parse("https://api.example.com/a?x=1").unwrap(),
            headers: vec![crate::http::Header::new(
                "Accept",
                "application/json",
                false,
            )],
            body: RenderedBody::Json(crate::http::JsonBody::Tree(
                serde_json::json!({"name": "O'Brien"}),
            )),
            timeout: Duration::from_secs(30),
            retries: 0,
            file_origin: url::Url::parse("https://api.example.com/")
                .unwrap()
                .origin(),
        }
    }

    fn policy(origin: &str) -> CredentialPolicy {
        CredentialPolicy {
            origins: vec![url::Url::parse(origin).unwrap().origin()],
            sensitive: vec!["X-Tenant-Key".into()],
        }
    }

    #[test]
    fn dry_run_masks_the_authorization_header() {
        let p = policy("https://api.example.com");
        let text = dry_run(
            &req(),
            Some(("Authorization", "Bearer abc-123-xyz")),
            &p,
            false,
        );
        assert_eq!(
            text,
            "POST https://api.example.com/a?x=1\nAccept: application/json\nAuthorization: ***\nContent-Type: application/json\n\n{\n  \"name\": \"O'Brien\"\n}\n"
        );
        let shown = dry_run(
            &req(),
            Some(("Authorization", "Bearer abc-123-xyz")),
            &p,
            true,
        );
        assert!(shown.contains("Authorization: Bearer abc-123-xyz"));
    }

    /// A preview applies the origin rule as the client does: to an origin the profile
    /// does not name, neither the auth header nor a profile's sensitive header is
    /// shown (even with `--show-secrets`), and each is marked; the file's own header
    /// goes to the URL that file names.
    #[test]
    fn previews_drop_what_exec_would_not_send() {
        let mut r = req();
        r.headers
            .push(crate::http::Header::new("X-Tenant-Key", "tenant-k3y", true));
        r.headers
            .push(crate::http::Header::new("X-Api-Key", "file-k3y", false));
        let p = policy("https://other.example");
        let auth = Some(("Authorization", "Bearer abc-123-xyz"));
        for show in [false, true] {
            let text = curl(&r, auth, &p, show);
            assert!(
                !text.contains("abc-123-xyz") && !text.contains("tenant-k3y"),
                "{text}"
            );
            assert!(text.starts_with(
                "# not sent: X-Tenant-Key (https://api.example.com is not an origin the profile names)\n\
                 # not sent: Authorization (https://api.example.com is not an origin the profile names)\n\
                 curl "
            ), "{text}");
            let dry = dry_run(&r, auth, &p, show);
            assert!(dry.contains("# not sent: Authorization ("), "{dry}");
            assert!(!dry.contains("Authorization: "), "{dry}");
        }
        assert!(curl(&r, auth, &p, true).contains("X-Api-Key: file-k3y"));
        assert!(curl(&r, auth, &p, false).contains("X-Api-Key: ***"));
        let trusted = curl(&r, auth, &policy("https://api.example.com"), false);
        assert!(trusted.contains("X-Tenant-Key: ***") && !trusted.contains("# not sent"));
    }

    #[test]
    fn curl_sends_files_from_disk_and_takes_back_what_curl_adds() {
        let r = RenderedRequest {
            method: reqwest::Method::GET,
            url: url::Url::parse("https://h/a?x=[1]").unwrap(),
            headers: vec![crate::http::Header::new("X-Empty", "", false)],
            body: RenderedBody::File(crate::http::FileBody {
                path: "data/it's.bin".into(),
                len: 2,
                held: None,
            }),
            timeout: Duration::from_millis(1500),
            retries: 0,
            file_origin: url::Url::parse("https://h/").unwrap().origin(),
        };
        assert_eq!(
            curl(&r, None, &policy("https://h"), true),
            "curl \\\n  -X GET \\\n  --globoff \\\n  'https://h/a?x=[1]' \\\n  -H 'X-Empty;' \\\n  -H 'Content-Type:' \\\n  --data-binary '@data/it'\\''s.bin' \\\n  --max-time 1.5\n"
        );
    }

    #[test]
    fn curl_quotes_for_the_shell() {
        let text = curl(&req(), None, &policy("https://api.example.com"), false);
        assert_eq!(
            text,
            "curl \\\n  -X POST \\\n  'https://api.example.com/a?x=1' \\\n  -H 'Accept: application/json' \\\n  -H 'Content-Type: application/json' \\\n  --data-raw '{\"name\":\"O'\\''Brien\"}' \\\n  --max-time 30\n"
        );
    }
}
