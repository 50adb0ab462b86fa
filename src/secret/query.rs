//! Credentials a URL carries in the open: values of query (and fragment) parameters
//! whose names say they are credentials, and a userinfo password. They are nobody's
//! registered secret (a client of `runner serve` sent them, a server wrote them in a
//! link), so [`redact`](super::redact) cannot know them: [`mask_query`] masks them
//! by name, in whatever encoding they came, before a URL is written anywhere.

/// `url` (absolute, or a path with a query) with the value of every credential-like
/// parameter of its query and fragment, and the password of its userinfo, replaced
/// by `***`. Names are compared decoded (`api%5Fkey` is `api_key`), in any case, `-`
/// as `_`; values are masked whole, however they were encoded. Everything else is
/// kept byte for byte. Writers still pass the result through [`redact`](super::redact).
pub fn mask_query(url: &str) -> String {
    let (before, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (head, query) = match before.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (before, None),
    };
    let mut out = mask_userinfo(head);
    if let Some(q) = query {
        out.push('?');
        out.push_str(&mask_pairs(q));
    }
    if let Some(f) = fragment {
        out.push('#');
        // `#access_token=…` (the implicit grant) is a query in all but name.
        out.push_str(&mask_pairs(f));
    }
    out
}

/// Whether a query parameter named `name` (as written, percent-encoded or not)
/// carries a credential.
pub fn is_credential_param(name: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default();
    let n: String = decoded
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            '-' | ' ' | '.' => '_',
            c => c,
        })
        .collect();
    const EXACT: &[&str] = &[
        "code",
        "device_code",
        "auth",
        "authorization",
        "pass",
        "pwd",
        "pin",
        "otp",
        "sig",
        "jwt",
        "assertion",
        "client_assertion",
        "code_verifier",
        "sid",
    ];
    const PARTS: &[&str] = &[
        "token",
        "secret",
        "passw",
        "credential",
        "signature",
        "session",
    ];
    EXACT.contains(&n.as_str())
        || PARTS.iter().any(|p| n.contains(p))
        // `key`, `api_key`, `apikey`, `access_key`, `subscription-key`, …
        || n.ends_with("key")
}

/// `a=1&b=2` with the values of credential-like names masked.
fn mask_pairs(query: &str) -> String {
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_credential_param(name) => format!("{name}=***"),
            _ => pair.to_string(),
        })
        .collect();
    masked.join("&")
}

/// `scheme://user:password@host/path` with `***` for the password (the user name
/// stays: it says whose the URL is). Anything without userinfo is kept as is.
fn mask_userinfo(head: &str) -> String {
    let Some((scheme, rest)) = head.split_once("://") else {
        return head.to_string();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return head.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => head.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_values_are_masked_in_any_encoding() {
        for (url, want) in [
            (
                "/a?api_key=Zk9%2Bq%2FWx3s%3D&page=2",
                "/a?api_key=***&page=2",
            ),
            (
                "/a?password=p%26ss%3Cw%3E%22rd%20%C3%A9&x",
                "/a?password=***&x",
            ),
            ("/a?Api-Key=k&key=v&KEY=w", "/a?Api-Key=***&key=***&KEY=***"),
            ("/a?api%5Fkey=v&token=t", "/a?api%5Fkey=***&token=***"),
            (
                "/cb?code=abc&state=s&client_secret=c+d",
                "/cb?code=***&state=s&client_secret=***",
            ),
            (
                "/a?access_token=t&X-Amz-Signature=s&X-Amz-Credential=c",
                "/a?access_token=***&X-Amz-Signature=***&X-Amz-Credential=***",
            ),
            (
                "/cb#access_token=t&token_type=bearer",
                "/cb#access_token=***&token_type=***",
            ),
            ("/a?sort=name&limit=10", "/a?sort=name&limit=10"),
            ("/a?token", "/a?token"),
            ("/plain/path", "/plain/path"),
        ] {
            assert_eq!(mask_query(url), want, "{url}");
        }
    }

    #[test]
    fn a_userinfo_password_is_masked_and_the_user_kept() {
        assert_eq!(
            mask_query("https://bob:hunter2@api.example/x?a=1&secret=s"),
            "https://bob:***@api.example/x?a=1&secret=***"
        );
        assert_eq!(
            mask_query("https://api.example/x@y"),
            "https://api.example/x@y"
        );
        assert_eq!(
            mask_query("https://bob@api.example/"),
            "https://bob@api.example/"
        );
    }
}
