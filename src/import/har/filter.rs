//! What a HAR capture holds that is not the API: static assets, tracking hosts,
//! the headers a browser adds itself; and the path segments that are ids.

/// Why an entry is not imported, `None` when it is.
pub fn skip_reason(url: &url::Url, response_mime: &str) -> Option<&'static str> {
    if !matches!(url.scheme(), "http" | "https") {
        return Some("not http(s)");
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if TRACKERS
        .iter()
        .any(|t| host == *t || host.ends_with(&format!(".{t}")))
    {
        return Some("tracking");
    }
    let path = url.path().to_ascii_lowercase();
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    let mime = response_mime.to_ascii_lowercase();
    if ASSET_EXTENSIONS.contains(&ext)
        || [
            "image/",
            "font/",
            "text/css",
            "text/html",
            "javascript",
            "video/",
            "audio/",
        ]
        .iter()
        .any(|m| mime.contains(m))
    {
        return Some("asset");
    }
    None
}

const ASSET_EXTENSIONS: &[&str] = &[
    "js", "mjs", "css", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "woff",
    "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "html", "htm",
];

const TRACKERS: &[&str] = &[
    "google-analytics.com",
    "googletagmanager.com",
    "doubleclick.net",
    "googlesyndication.com",
    "facebook.net",
    "connect.facebook.net",
    "segment.io",
    "segment.com",
    "hotjar.com",
    "mixpanel.com",
    "amplitude.com",
    "sentry.io",
    "datadoghq.com",
    "nr-data.net",
    "newrelic.com",
    "clarity.ms",
    "bat.bing.com",
    "intercom.io",
    "fullstory.com",
    "heapanalytics.com",
    "plausible.io",
];

/// Headers a browser or the transport sets: never imported.
pub fn is_browser_header(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.starts_with(':')
        || l.starts_with("sec-")
        || [
            "host",
            "connection",
            "content-length",
            "accept-encoding",
            "user-agent",
            "origin",
            "referer",
            "upgrade-insecure-requests",
            "dnt",
            "pragma",
            "cache-control",
            "priority",
            "te",
            "if-none-match",
            "if-modified-since",
            "keep-alive",
            "accept-language",
        ]
        .contains(&l.as_str())
}

/// Whether a path segment is an id: a number, a UUID, or a long hex string.
pub fn is_id(seg: &str) -> bool {
    let hex = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit());
    let uuid = {
        let parts: Vec<&str> = seg.split('-').collect();
        parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| hex(p))
    };
    (!seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()))
        || uuid
        || (seg.len() >= 16 && hex(seg) && seg.chars().any(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_assets_and_trackers() {
        for s in [
            "42",
            "0b9c8a2e-0f3e-4c4e-9d6e-1c2b3a4d5e6f",
            "5f2b9c0e1a3d4e5f6a7b",
        ] {
            assert!(is_id(s), "{s}");
        }
        for s in ["users", "v2", "abc", ""] {
            assert!(!is_id(s), "{s}");
        }
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            skip_reason(&u("https://x.test/app.js?v=1"), ""),
            Some("asset")
        );
        assert_eq!(
            skip_reason(&u("https://x.test/logo"), "image/png"),
            Some("asset")
        );
        assert_eq!(
            skip_reason(&u("https://www.google-analytics.com/g/collect"), ""),
            Some("tracking")
        );
        assert_eq!(
            skip_reason(&u("https://x.test/api/users"), "application/json"),
            None
        );
    }
}
