//! `runner import curl`: one request file that sends what a curl command sends.
//! Credentials (`-u`, an `Authorization` header) never reach the file: they become a
//! profile's auth with `env()` templates; a cookie becomes an `env()` template too.

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::InputError;
use crate::import::mirror::{AuthOut, BodyOut, MultipartOut, ProfileOut, RequestOut};
use crate::import::text::{env_template, literal, snake};

/// What the import made of the command.
#[derive(Debug, Default)]
pub struct Imported {
    pub request: RequestOut,
    /// Kept as `#` lines in the file.
    pub comments: Vec<String>,
    /// The profile the credentials call for (its auth), if any.
    pub profile: Option<ProfileOut>,
    /// Flags that were not understood (or are runner's business, e.g. `-s`).
    pub ignored: Vec<String>,
}

/// Options that take a value, by short and long name.
const VALUE_OPTIONS: &[(&str, &str)] = &[
    ("X", "request"),
    ("H", "header"),
    ("d", "data"),
    ("", "data-ascii"),
    ("", "data-raw"),
    ("", "data-binary"),
    ("", "data-urlencode"),
    ("", "json"),
    ("F", "form"),
    ("", "form-string"),
    ("u", "user"),
    ("A", "user-agent"),
    ("e", "referer"),
    ("b", "cookie"),
    ("", "url"),
    // Not understood, but their value must not be read as the URL.
    ("o", "output"),
    ("m", "max-time"),
    ("", "connect-timeout"),
    ("w", "write-out"),
    ("", "retry"),
    ("x", "proxy"),
    ("", "cacert"),
    ("E", "cert"),
    ("", "key"),
    ("T", "upload-file"),
    ("c", "cookie-jar"),
    ("r", "range"),
    ("", "resolve"),
    ("K", "config"),
    ("", "oauth2-bearer"),
    ("", "limit-rate"),
    ("", "max-redirs"),
    ("D", "dump-header"),
];

/// Flags without a value that change nothing runner sends: listed as ignored.
const BOOLEAN_OPTIONS: &[(&str, &str)] = &[
    ("G", "get"),
    ("I", "head"),
    ("s", "silent"),
    ("S", "show-error"),
    ("L", "location"),
    ("k", "insecure"),
    ("v", "verbose"),
    ("i", "include"),
    ("f", "fail"),
    ("g", "globoff"),
    ("", "compressed"),
    ("N", "no-buffer"),
    ("", "http1.1"),
    ("", "http2"),
    ("#", "progress-bar"),
];

fn long_of(short: &str) -> Option<&'static str> {
    VALUE_OPTIONS
        .iter()
        .chain(BOOLEAN_OPTIONS)
        .find(|(s, _)| !s.is_empty() && *s == short)
        .map(|(_, l)| *l)
}

fn takes_value(long: &str) -> bool {
    VALUE_OPTIONS.iter().any(|(_, l)| *l == long)
}

/// `(option, value)` pairs, options by their long name; positional words as `url`.
fn options(words: &[String]) -> Result<Vec<(String, String)>, InputError> {
    let mut out = Vec::new();
    let mut it = words.iter();
    let missing = |o: &str| InputError::usage(format!("curl option {o} needs a value"));
    while let Some(w) = it.next() {
        if w == "--" {
            for rest in it.by_ref() {
                out.push(("url".to_string(), rest.clone()));
            }
            break;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) if takes_value(n) => (n.to_string(), Some(v.to_string())),
                _ => (long.to_string(), None),
            };
            if takes_value(&name) {
                let value = match inline {
                    Some(v) => v,
                    None => it.next().ok_or_else(|| missing(w))?.clone(),
                };
                out.push((name, value));
            } else {
                out.push((name, String::new()));
            }
        } else if w.len() > 1 && w.starts_with('-') {
            // `-sSL`, `-XPOST`, `-H 'A: b'`.
            let letters: Vec<char> = w[1..].chars().collect();
            let mut i = 0;
            while i < letters.len() {
                let short = letters[i].to_string();
                match long_of(&short) {
                    Some(long) if takes_value(long) => {
                        let rest: String = letters[i + 1..].iter().collect();
                        let value = if rest.is_empty() {
                            it.next()
                                .ok_or_else(|| missing(&format!("-{short}")))?
                                .clone()
                        } else {
                            rest
                        };
                        out.push((long.to_string(), value));
                        break;
                    }
                    Some(long) => out.push((long.to_string(), String::new())),
                    None => out.push((format!("-{short}"), String::new())),
                }
                i += 1;
            }
        } else {
            out.push(("url".to_string(), w.clone()));
        }
    }
    Ok(out)
}

/// The words of the command: one quoted command line is split as a shell would.
pub fn words(args: &[String]) -> Result<Vec<String>, InputError> {
    let mut words = if args.len() == 1 {
        // Line continuations as copied from a terminal or the browser.
        let line = args[0].replace("\\\r\n", " ").replace("\\\n", " ");
        shell_words::split(&line)
            .map_err(|e| InputError::usage(format!("cannot split the curl command: {e}")))?
    } else {
        args.to_vec()
    };
    if words
        .first()
        .is_some_and(|w| w == "curl" || w.ends_with("/curl"))
    {
        words.remove(0);
    }
    Ok(words)
}

/// The request a curl command sends.
pub fn import(args: &[String], prefix: &str) -> Result<Imported, InputError> {
    let opts = options(&words(args)?)?;
    let mut imp = Imported::default();
    let mut method: Option<String> = None;
    let mut url: Option<String> = None;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut data: Vec<String> = Vec::new();
    let mut data_file: Option<String> = None;
    let mut json = false;
    let mut get = false;
    let mut head = false;
    let mut parts: IndexMap<String, MultipartOut> = IndexMap::new();
    let mut auth: Option<AuthOut> = None;
    for (name, value) in opts {
        match name.as_str() {
            "request" => method = Some(value.to_ascii_uppercase()),
            "url" => {
                if url.is_some() {
                    imp.ignored
                        .push(format!("a second URL `{value}` (one request per file)"));
                } else {
                    url = Some(value);
                }
            }
            "header" => match value.split_once(':') {
                Some((k, v)) => headers.push((k.trim().to_string(), v.trim().to_string())),
                None => match value.strip_suffix(';') {
                    Some(k) => headers.push((k.trim().to_string(), String::new())),
                    None => imp.ignored.push(format!("-H {value} (not `Name: value`)")),
                },
            },
            "data" | "data-ascii" | "data-raw" | "data-binary" | "json" => {
                if name == "json" {
                    json = true;
                }
                match value.strip_prefix('@') {
                    Some(path) if name != "data-raw" => {
                        if name != "data-binary" {
                            imp.comments.push(format!(
                                "curl {name} @{path} drops the file's line breaks; runner sends the file as it is"
                            ));
                        }
                        data_file = Some(path.to_string());
                    }
                    _ => data.push(value),
                }
            }
            "data-urlencode" => data.push(urlencode_arg(&value, &mut imp.ignored)),
            "form" | "form-string" => {
                let Some((k, v)) = value.split_once('=') else {
                    imp.ignored.push(format!("-F {value} (not `name=value`)"));
                    continue;
                };
                let part = match v.strip_prefix('@') {
                    Some(path) if name == "form" => MultipartOut::File {
                        file: literal(path.split(';').next().unwrap_or(path)),
                    },
                    _ if name == "form" && v.starts_with('<') => {
                        imp.ignored
                            .push(format!("-F {k}=<FILE (a value read from a file)"));
                        continue;
                    }
                    _ => MultipartOut::Value(literal(v)),
                };
                parts.insert(literal(k), part);
            }
            "user" => {
                let (user, _password) = value.split_once(':').unwrap_or((&value, ""));
                auth = Some(basic_auth(user, prefix));
            }
            "user-agent" => headers.push(("User-Agent".to_string(), value)),
            "referer" => headers.push(("Referer".to_string(), value)),
            "cookie" => {
                if value.contains('=') {
                    headers.push(("Cookie".to_string(), value));
                } else {
                    imp.ignored.push(format!("-b {value} (a cookie file)"));
                }
            }
            "oauth2-bearer" => auth = Some(bearer_auth(prefix, None)),
            "get" => get = true,
            "head" => head = true,
            other => imp.ignored.push(if other.starts_with('-') {
                other.to_string()
            } else if value.is_empty() {
                format!("--{other}")
            } else {
                format!("--{other} {value}")
            }),
        }
    }
    let Some(url) = url else {
        return Err(InputError::usage("the curl command has no URL"));
    };
    let url = if url.contains("://") {
        url
    } else {
        format!("http://{url}")
    };
    let parsed = url::Url::parse(&url)
        .map_err(|e| InputError::usage(format!("the curl command's URL `{url}`: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(InputError::usage(format!(
            "`{url}` is not an http or https URL"
        )));
    }

    let req = &mut imp.request;
    let mut query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    if get {
        for d in &data {
            query.extend(url::form_urlencoded::parse(d.as_bytes()).into_owned());
        }
        data.clear();
    }
    let mut base = parsed.clone();
    base.set_query(None);
    base.set_fragment(None);
    req.url = literal(base.as_str());
    // Repeated names keep their order as a list.
    for (k, v) in query {
        let k = literal(&k);
        let v = Value::String(literal(&v));
        match req.query.get_mut(&k) {
            Some(Value::Array(list)) => list.push(v),
            Some(first) => *first = Value::Array(vec![first.clone(), v]),
            None => {
                req.query.insert(k, v);
            }
        }
    }
    let has_body = !data.is_empty() || data_file.is_some() || !parts.is_empty();
    req.method = method.unwrap_or_else(|| {
        if head {
            "HEAD"
        } else if has_body {
            "POST"
        } else {
            "GET"
        }
        .to_string()
    });
    let mut content_type = None;
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("authorization") {
            auth = Some(authorization_auth(&v, prefix));
            continue;
        }
        if k.eq_ignore_ascii_case("content-type") {
            content_type = Some(v.clone());
        }
        let value = if k.eq_ignore_ascii_case("cookie")
            || (crate::http::is_sensitive_header(&k) && !v.is_empty())
        {
            let var = format!("{prefix}_{}", snake(&k).to_ascii_uppercase());
            imp.comments
                .push(format!("{k}: set {var} to the value the curl command sent"));
            env_template(&var, None)
        } else {
            literal(&v)
        };
        req.headers.insert(k, value);
    }
    if json {
        req.headers
            .entry("Content-Type".to_string())
            .or_insert_with(|| "application/json".to_string());
        req.headers
            .entry("Accept".to_string())
            .or_insert_with(|| "application/json".to_string());
    }
    if !parts.is_empty() {
        if !data.is_empty() || data_file.is_some() {
            imp.ignored
                .push("-d with -F (curl refuses both)".to_string());
        }
        req.body = Some(BodyOut::Multipart(parts));
    } else if let Some(f) = data_file {
        if content_type.is_none() && !json {
            req.headers.insert(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            );
        }
        req.body = Some(BodyOut::File(literal(&f)));
    } else if !data.is_empty() {
        // The bytes exactly as curl sends them, with curl's default type.
        if content_type.is_none() && !json {
            req.headers.insert(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            );
        }
        req.body = Some(BodyOut::Text(literal(&data.join("&"))));
    }
    if let Some(a) = auth {
        let origin = parsed.origin().ascii_serialization();
        imp.profile = Some(ProfileOut {
            description: None,
            base_url: origin,
            vars: IndexMap::new(),
            auth: Some(a),
        });
    }
    Ok(imp)
}

/// `--data-urlencode` as curl encodes it: `name=content`, `=content`, `content`.
fn urlencode_arg(value: &str, ignored: &mut Vec<String>) -> String {
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    if let Some((name, content)) = value.split_once('=') {
        if name.is_empty() {
            enc(content)
        } else {
            format!("{name}={}", enc(content))
        }
    } else if value.contains('@') {
        ignored.push(format!(
            "--data-urlencode {value} (content read from a file)"
        ));
        String::new()
    } else {
        enc(value)
    }
}

fn basic_auth(user: &str, prefix: &str) -> AuthOut {
    AuthOut {
        kind: "basic",
        username: Some(if user.is_empty() {
            env_template(&format!("{prefix}_USERNAME"), None)
        } else {
            literal(user)
        }),
        password: Some(env_template(&format!("{prefix}_PASSWORD"), None)),
        ..AuthOut::default()
    }
}

fn bearer_auth(prefix: &str, scheme: Option<&str>) -> AuthOut {
    AuthOut {
        kind: "bearer",
        token: Some(env_template(&format!("{prefix}_TOKEN"), None)),
        scheme: scheme.map(str::to_string),
        ..AuthOut::default()
    }
}

/// An `Authorization` header's auth: Basic, Bearer, or another scheme's token.
fn authorization_auth(value: &str, prefix: &str) -> AuthOut {
    let (scheme, _) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        basic_auth("", prefix)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        bearer_auth(prefix, None)
    } else if value.contains(' ') {
        bearer_auth(prefix, Some(scheme))
    } else {
        bearer_auth(prefix, Some(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> Imported {
        import(&[line.to_string()], "API").unwrap()
    }

    #[test]
    fn flags_are_read_as_curl_reads_them() {
        let i = run(
            "curl -sSL -XPUT 'https://h.example/a?x=1&x=2' -HAccept:\\ text/plain -d a=1 -d b=2 --frobnicate",
        );
        assert_eq!(i.request.method, "PUT");
        assert_eq!(i.request.url, "https://h.example/a");
        assert_eq!(i.request.query["x"], serde_json::json!(["1", "2"]));
        assert_eq!(i.request.headers["Accept"], "text/plain");
        assert!(matches!(&i.request.body, Some(BodyOut::Text(t)) if t == "a=1&b=2"));
        assert_eq!(
            i.ignored,
            ["silent", "show-error", "location", "frobnicate"].map(|s| format!("--{s}"))
        );
    }

    #[test]
    fn credentials_never_reach_the_file() {
        let i = run("curl -u bob:hunter2 -H 'Authorization: Bearer abc' https://h.example/");
        let text = crate::import::plan::yaml_file(&i.comments, &i.request).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("abc"), "{text}");
        let p = i.profile.unwrap();
        assert_eq!(p.auth.unwrap().kind, "bearer");
    }

    #[test]
    fn get_moves_data_to_the_query() {
        let i = run("curl -G https://h.example/s --data-urlencode 'q=a b' -d n=1");
        assert_eq!(i.request.method, "GET");
        assert_eq!(i.request.query["q"], "a b");
        assert_eq!(i.request.query["n"], "1");
        assert!(i.request.body.is_none());
    }

    #[test]
    fn bad_commands_are_errors_not_panics() {
        for line in [
            "curl",
            "curl -H",
            "curl 'unclosed",
            "curl ftp://x/",
            "curl --",
        ] {
            assert!(import(&[line.to_string()], "API").is_err(), "{line}");
        }
    }
}
