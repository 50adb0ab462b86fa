//! Every form a secret can take on its way out, and the search for them in a text.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// A secret the suite plants, and the name a failure calls it by.
#[derive(Clone, Debug)]
pub struct Planted {
    pub label: String,
    pub value: String,
    /// Whether a fragment of it counts: not for a pair whose parts are planted too.
    pub fragment: bool,
}

impl Planted {
    pub fn new(label: &str, value: &str) -> Planted {
        Planted {
            label: label.to_string(),
            value: value.to_string(),
            fragment: true,
        }
    }

    /// The `user:password` pair of HTTP Basic auth, whose base64 is a form of it; its
    /// fragment is the password's, which is planted on its own.
    pub fn basic_pair(label: &str, user: &str, password: &str) -> Planted {
        Planted {
            fragment: false,
            ..Planted::new(label, &format!("{user}:{password}"))
        }
    }

    /// [`forms`] of this secret.
    pub fn forms(&self) -> Vec<(String, String)> {
        let mut all = forms(&self.value);
        all.retain(|(name, _)| self.fragment || name != "fragment");
        all
    }
}

/// Whether a percent-encoder leaves a character alone.
type Keep = fn(char) -> bool;

/// Which characters a percent-encoder leaves alone: one per encoder a writer may use.
/// RFC 3986 unreserved; `application/x-www-form-urlencoded` (the `url` crate's
/// `form_urlencoded`); JavaScript's `encodeURIComponent`; and the WHATWG userinfo,
/// path and query sets (what `url::Url` does to a URL it parses).
const ENCODERS: &[(&str, Keep)] = &[
    ("unreserved", |c| {
        c.is_ascii_alphanumeric() || "-._~".contains(c)
    }),
    ("form", |c| c.is_ascii_alphanumeric() || "*-._".contains(c)),
    ("component", |c| {
        c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c)
    }),
    ("userinfo", |c| {
        c.is_ascii_graphic() && !"\"#<>?^`{}/:;=@[\\]|".contains(c)
    }),
    ("path", |c| {
        c.is_ascii_graphic() && !"\"#<>?^`{}".contains(c)
    }),
    ("query", |c| c.is_ascii_graphic() && !"\"#<>'".contains(c)),
];

/// `secret` percent-encoded, every character `keep` refuses as `%XX` (UTF-8 bytes),
/// a space as `+` when `plus`, hex digits in lower case when `lower`.
fn percent(secret: &str, keep: Keep, plus: bool, lower: bool) -> String {
    let mut out = String::new();
    for c in secret.chars() {
        if c == ' ' && plus {
            out.push('+');
        } else if keep(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&if lower {
                    format!("%{b:02x}")
                } else {
                    format!("%{b:02X}")
                });
            }
        }
    }
    out
}

/// `secret` with `& < > " '` replaced as `table` says (`None`: left as is).
fn entities(secret: &str, table: [Option<&str>; 5]) -> String {
    let mut out = String::new();
    for c in secret.chars() {
        let i = "&<>\"'".find(c);
        match i.and_then(|i| table[i]) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out
}

/// JSON string contents as serde_json writes them (no quotes).
fn json(secret: &str) -> String {
    let quoted = serde_json::to_string(secret).unwrap();
    quoted[1..quoted.len() - 1].to_string()
}

/// JSON string contents with every non-ASCII character as `\uXXXX` (Python, JS).
fn json_ascii(secret: &str) -> String {
    let mut out = String::new();
    for c in json(secret).chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The longest run of ASCII letters and digits in `secret`, when it is long enough to
/// be distinctive: it catches the forms no list foresees (an encoding of an encoding,
/// a secret cut short).
fn fragment(secret: &str) -> Option<String> {
    let longest = secret
        .split(|c: char| !c.is_ascii_alphanumeric())
        .max_by_key(|run| run.len())?;
    (longest.len() >= 10 && longest.len() < secret.len()).then(|| longest.to_string())
}

/// Every form of `secret` a writer may print, as (form name, text), most specific
/// first, without duplicates: raw; percent-encoded by each encoder, with `%20` or `+`
/// for a space, hex in upper or lower case; base64 (standard and URL-safe, with and
/// without padding: for a Basic pair `user:password` this is the header's value);
/// JSON-escaped (as serde_json, and ASCII-only), and JSON-escaped twice (a message
/// holding a JSON value, inside a JSON report); HTML/XML-escaped (`&#39;`, `&#x27;` or
/// `&apos;`; text-only escaping of `& < >`), and HTML of the JSON form; shell
/// single-quoted (`'\''`); and last a distinctive fragment of it.
pub fn forms(secret: &str) -> Vec<(String, String)> {
    let mut all = vec![("raw".to_string(), secret.to_string())];
    for (name, keep) in ENCODERS {
        for (plus, space) in [(false, "%20"), (true, "+")] {
            for (lower, case) in [(false, "upper"), (true, "lower")] {
                let text = percent(secret, *keep, plus, lower);
                all.push((
                    format!("percent-encoded ({name}, {space} for a space, {case}-case hex)"),
                    text,
                ));
            }
        }
    }
    for (name, engine) in [
        ("base64", &STANDARD),
        ("base64, unpadded", &STANDARD_NO_PAD),
        ("base64url", &URL_SAFE),
        ("base64url, unpadded", &URL_SAFE_NO_PAD),
    ] {
        all.push((name.to_string(), engine.encode(secret)));
    }
    all.push(("JSON-escaped".into(), json(secret)));
    all.push(("JSON-escaped, ASCII only".into(), json_ascii(secret)));
    all.push(("JSON-escaped twice".into(), json(&json(secret))));
    let html = |apos: &'static str| {
        [
            Some("&amp;"),
            Some("&lt;"),
            Some("&gt;"),
            Some("&quot;"),
            Some(apos),
        ]
    };
    for apos in ["&#39;", "&#x27;", "&apos;"] {
        all.push((
            format!("HTML-escaped (' as {apos})"),
            entities(secret, html(apos)),
        ));
    }
    let text_only = [Some("&amp;"), Some("&lt;"), Some("&gt;"), None, None];
    all.push((
        "HTML-escaped, & < > only".into(),
        entities(secret, text_only),
    ));
    for apos in ["&#39;", "&#x27;", "&apos;"] {
        all.push((
            format!("HTML-escaped JSON (' as {apos})"),
            entities(&json(secret), html(apos)),
        ));
    }
    all.push(("shell single-quoted".into(), secret.replace('\'', "'\\''")));
    all.push(("YAML single-quoted".into(), secret.replace('\'', "''")));
    if let Some(f) = fragment(secret) {
        all.push(("fragment".into(), f));
    }
    let mut seen = std::collections::HashSet::new();
    all.retain(|(_, text)| seen.insert(text.clone()));
    all
}

/// One occurrence of a secret in an output.
#[derive(Debug)]
pub struct Hit {
    pub secret: String,
    pub form: String,
    pub at: usize,
    pub context: String,
}

/// Every secret found in `text`, each with the first form that hits (the fragment only
/// when no full form does) and 60 characters of context either side.
pub fn find_leaks(text: &str, secrets: &[Planted]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in secrets {
        for (form, needle) in s.forms() {
            if needle.is_empty() {
                continue;
            }
            if let Some(at) = text.find(&needle) {
                hits.push(Hit {
                    secret: s.label.clone(),
                    form,
                    at,
                    context: context(text, at, needle.len()),
                });
                break;
            }
        }
    }
    hits
}

fn context(text: &str, at: usize, len: usize) -> String {
    let mut start = at.saturating_sub(60);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + len + 60).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    format!("{:?}", &text[start..end])
}

/// One line per hit: which secret, in which form, in which channel, and where.
pub fn describe(channel: &str, hits: &[Hit]) -> String {
    hits.iter()
        .map(|h| {
            format!(
                "LEAK in {channel}: secret {} as {} at byte {}: …{}…",
                h.secret, h.form, h.at, h.context
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fails, naming the channel, the secret, its form and the context, when any form of
/// any of `secrets` is in `text`.
pub fn assert_no_secret(channel: &str, text: &str, secrets: &[Planted]) {
    let hits = find_leaks(text, secrets);
    assert!(hits.is_empty(), "{}", describe(channel, &hits));
}

/// The negative control of the checker itself: each form of each planted secret, put
/// in an ordinary line, is found and named; the ordinary line alone is not.
#[test]
fn the_checker_finds_every_form_of_every_secret() {
    let secrets = super::planted();
    let line = |s: &str| format!("error: expected \"x\", got \"Bearer {s}\" (200 ms)\n");
    assert_no_secret("a clean line", &line("***"), &secrets);
    for s in &secrets {
        let all = s.forms();
        let punctuated = s.value.contains('&');
        assert!(
            !punctuated || all.len() > 20,
            "{}: {} forms",
            s.label,
            all.len()
        );
        for (form, text) in all {
            let hits = find_leaks(&line(&text), std::slice::from_ref(s));
            assert_eq!(hits.len(), 1, "{} as {form} `{text}` not found", s.label);
        }
    }
    // The forms the issue names, spelled out once.
    let key = forms("Zk9+q/Wx3s= é");
    let has = |t: &str| key.iter().any(|(_, f)| f == t);
    assert!(has("Zk9%2Bq%2FWx3s%3D+%C3%A9") && has("Zk9%2bq%2fWx3s%3d%20%c3%a9"));
    let html = forms("s3cr3t&t0ken<value\"'");
    assert!(
        html.iter()
            .any(|(_, f)| f == "s3cr3t&amp;t0ken&lt;value&quot;&#39;")
    );
    let pair = forms("alice:p&ss<w>\"rd");
    assert!(pair.iter().any(|(_, f)| f == "YWxpY2U6cCZzczx3PiJyZA=="));
}
