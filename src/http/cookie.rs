//! Cookie sessions (`http.cookies`): one jar for the run, consulted at every hop.
//!
//! Cookies follow RFC 6265 (domain, path, `Secure`, expiry: the `cookie_store`
//! crate) and, on top of it, the origin rule: a hop to an origin the profile did not
//! name (`base_url`, `auth.origins`) is sent no cookie, and what it sets is not kept,
//! not even for itself. Every cookie value is registered with the masking point the
//! moment it arrives (from a response or from the persisted jar).

use std::io::BufReader;
use std::sync::Mutex;

use cookie_store::{CookieStore, RawCookie};
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE};

use super::cookie_file::JarFile;

/// The run's cookies, and where they persist (`http.cookies: persist`).
#[derive(Debug)]
pub struct CookieJar {
    store: Mutex<CookieStore>,
    file: Option<JarFile>,
}

impl CookieJar {
    /// A jar for this run only (`http.cookies: true`).
    pub fn in_memory() -> CookieJar {
        CookieJar {
            store: Mutex::new(CookieStore::new()),
            file: None,
        }
    }

    /// A jar loaded from `file` under its lock, and saved back to it as cookies
    /// arrive (`http.cookies: persist`).
    pub async fn persisted(file: JarFile) -> Result<CookieJar, String> {
        let store = {
            let _lock = file.lock().await?;
            file.load()?
        };
        for c in store.iter_any() {
            register_cookie(c.name(), c.value());
        }
        Ok(CookieJar {
            store: Mutex::new(store),
            file: Some(file),
        })
    }

    /// The `Cookie` header RFC 6265 sends to `url`, if any (marked sensitive).
    pub(super) fn request_header(&self, url: &url::Url) -> Option<HeaderValue> {
        let store = self.store.lock().ok()?;
        let mut cookies = store.matches(url);
        // RFC 6265 §5.4: longer paths first (the sort is stable: then as stored).
        cookies.sort_by_key(|c| std::cmp::Reverse(c.path.as_ref().len()));
        let text = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        if text.is_empty() {
            return None;
        }
        // As bytes: a value may hold non-ASCII text, which `from_str` refuses.
        let mut value = HeaderValue::from_bytes(text.as_bytes()).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Adds the jar's cookies for `url` to `headers`, after a `Cookie` header the
    /// request file set itself.
    pub(super) fn add_to(&self, headers: &mut HeaderMap, url: &url::Url) {
        let Some(jar) = self.request_header(url) else {
            return;
        };
        let merged = match headers.get(COOKIE).map(|v| v.as_bytes().to_vec()) {
            Some(own) => {
                let mut both = own;
                both.extend_from_slice(b"; ");
                both.extend_from_slice(jar.as_bytes());
                let mut v = HeaderValue::from_bytes(&both).unwrap_or(jar);
                v.set_sensitive(true);
                v
            }
            None => jar,
        };
        headers.insert(COOKIE, merged);
    }

    /// Keeps the cookies a response from `url` sets (registering each value with the
    /// masking point first), and saves them when the jar persists.
    pub(super) async fn store_from(&self, url: &url::Url, headers: &HeaderMap) {
        let cookies = response_cookies(headers);
        if cookies.is_empty() {
            return;
        }
        if let Ok(mut store) = self.store.lock() {
            store.store_response_cookies(cookies.clone().into_iter(), url);
        }
        if let Some(file) = &self.file
            && let Err(e) = file.merge(url, cookies).await
        {
            eprintln!("warning: cookies not saved: {e}");
        }
    }
}

/// The cookies `Set-Cookie` headers set, each value registered as a secret.
pub(super) fn response_cookies(headers: &HeaderMap) -> Vec<RawCookie<'static>> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
        .filter_map(|text| {
            // The whole header first: whatever of it parses or not, it is a secret.
            if let Some((_, rest)) = text.split_once('=') {
                crate::secret::register(rest.split(';').next().unwrap_or("").trim());
            }
            RawCookie::parse(text.to_string()).ok()
        })
        .inspect(|c| register_cookie(c.name(), c.value()))
        .collect()
}

/// A cookie's value, and its `name=value` pair, as secrets.
fn register_cookie(name: &str, value: &str) {
    crate::secret::register(value);
    crate::secret::register(&format!("{name}={value}"));
}

/// The jar in `bytes` (the format of `cookie_store::serde::json`), or an error.
pub(super) fn decode(bytes: &[u8]) -> Result<CookieStore, String> {
    cookie_store::serde::json::load_all(BufReader::new(bytes)).map_err(|e| e.to_string())
}

/// `store` as bytes, session cookies included: a persisted jar is the profile's
/// session across runs, and a login's session cookie usually has no expiry.
pub(super) fn encode(store: &CookieStore) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    cookie_store::serde::json::save_incl_expired_and_nonpersistent(store, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    fn set(headers: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in headers {
            h.append(SET_COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[tokio::test]
    async fn cookies_go_where_rfc_6265_sends_them() {
        let jar = CookieJar::in_memory();
        let h = set(&[
            "sid=s3cr%C3%A9t-cookie; Path=/web; HttpOnly",
            "pref=dark-mode; Path=/",
            "sec=only-over-tls; Secure",
        ]);
        jar.store_from(&url("http://api.example/web/login"), &h)
            .await;
        let header = |u: &str| {
            jar.request_header(&url(u))
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            header("http://api.example/web/me").as_deref(),
            Some("sid=s3cr%C3%A9t-cookie; pref=dark-mode")
        );
        assert_eq!(
            header("http://api.example/api").as_deref(),
            Some("pref=dark-mode")
        );
        // A `Secure` cookie set over plain http (not loopback) is refused.
        assert_eq!(
            header("https://api.example/api").as_deref(),
            Some("pref=dark-mode")
        );
        // Host-only cookies: another host gets nothing.
        assert_eq!(header("http://www.api.example/web/me"), None);
        assert!(crate::secret::redact("x s3cr%C3%A9t-cookie y").contains("***"));
    }

    #[test]
    fn the_jar_survives_encoding() {
        let mut store = CookieStore::new();
        let u = url("https://api.example/");
        store.store_response_cookies(response_cookies(&set(&["sid=abc-session"])).into_iter(), &u);
        let back = decode(&encode(&store).unwrap()).unwrap();
        assert_eq!(
            back.get_request_values(&u).collect::<Vec<_>>(),
            vec![("sid", "abc-session")]
        );
    }
}
