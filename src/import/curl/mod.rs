//! `runner import curl`: one request file that sends what a curl command sends.
//! Credentials (`-u`, an `Authorization` header) never reach the file: they become a
//! profile's auth with `env()` templates; a cookie becomes an `env()` template too.
//!
//! `args` reads the command line; this file makes the request of what it says.

mod args;

use indexmap::IndexMap;

use crate::error::InputError;
use crate::import::mirror::{AuthOut, BodyOut, LiteralValue, MultipartOut, ProfileOut, RequestOut};
use crate::import::text::{
    env_template, file_field, literal, mask_userinfo, register_userinfo, snake,
};
use args::options;
pub use args::words;

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

/// What the options say, before it becomes a request.
#[derive(Default)]
struct Flags {
    method: Option<String>,
    url: Option<String>,
    headers: Vec<(String, String)>,
    data: Vec<String>,
    data_file: Option<String>,
    json: bool,
    get: bool,
    head: bool,
    parts: IndexMap<String, MultipartOut>,
    auth: Option<AuthOut>,
}

/// The request a curl command sends.
pub fn import(args: &[String], prefix: &str) -> Result<Imported, InputError> {
    let opts = options(&words(args)?)?;
    let mut imp = Imported::default();
    let mut flags = Flags::default();
    for (name, value) in opts {
        flags.read(&name, value, prefix, &mut imp);
    }
    let Flags {
        method,
        url,
        headers,
        mut data,
        data_file,
        json,
        get,
        head,
        parts,
        mut auth,
    } = flags;
    let Some(url) = url else {
        return Err(InputError::usage("the curl command has no URL"));
    };
    let mut parsed = http_url(url)?;
    if let Some(a) = userinfo_auth(&mut parsed, prefix, &mut imp.comments) {
        // `-u` and an `Authorization` header win over the URL's, as in curl.
        auth = auth.or(Some(a));
    }
    set_url(&mut imp.request, &parsed, get, &mut data);
    let has_body = !data.is_empty() || data_file.is_some() || !parts.is_empty();
    imp.request.method = method.unwrap_or_else(|| {
        if head {
            "HEAD"
        } else if has_body {
            "POST"
        } else {
            "GET"
        }
        .to_string()
    });
    let content_type = set_headers(&mut imp, headers, prefix, &mut auth);
    if json {
        let req = &mut imp.request;
        req.headers
            .entry("Content-Type".to_string())
            .or_insert_with(|| literal("application/json"));
        req.headers
            .entry("Accept".to_string())
            .or_insert_with(|| literal("application/json"));
    }
    let form_type = content_type.is_none() && !json;
    set_body(&mut imp, parts, data_file, data, form_type);
    if let Some(a) = auth {
        let origin = parsed.origin().ascii_serialization();
        imp.profile = Some(ProfileOut {
            description: None,
            base_url: literal(&origin),
            vars: IndexMap::new(),
            auth: Some(a),
        });
    }
    Ok(imp)
}

impl Flags {
    /// Takes one option (by long name) into account; what is not understood goes to
    /// `imp.ignored`, notes to `imp.comments`.
    fn read(&mut self, name: &str, value: String, prefix: &str, imp: &mut Imported) {
        match name {
            "request" => self.method = Some(value.to_ascii_uppercase()),
            "url" => {
                if self.url.is_some() {
                    imp.ignored.push(format!(
                        "a second URL `{}` (one request per file)",
                        mask_userinfo(&value)
                    ));
                } else {
                    self.url = Some(value);
                }
            }
            "header" => match value.split_once(':') {
                Some((k, v)) => self
                    .headers
                    .push((k.trim().to_string(), v.trim().to_string())),
                None => match value.strip_suffix(';') {
                    Some(k) => self.headers.push((k.trim().to_string(), String::new())),
                    None => imp.ignored.push(format!("-H {value} (not `Name: value`)")),
                },
            },
            "data" | "data-ascii" | "data-raw" | "data-binary" | "json" => {
                self.read_data(name, value, imp)
            }
            "data-urlencode" => self.data.push(urlencode_arg(&value, &mut imp.ignored)),
            "form" | "form-string" => self.read_form(name, &value, imp),
            "user" => {
                let (user, password) = value.split_once(':').unwrap_or((&value, ""));
                crate::secret::register_basic(user, password);
                self.auth = Some(basic_auth(user, prefix));
            }
            "user-agent" => self.headers.push(("User-Agent".to_string(), value)),
            "referer" => self.headers.push(("Referer".to_string(), value)),
            "cookie" => {
                if value.contains('=') {
                    self.headers.push(("Cookie".to_string(), value));
                } else {
                    imp.ignored.push(format!("-b {value} (a cookie file)"));
                }
            }
            "oauth2-bearer" => self.auth = Some(bearer_auth(prefix, None)),
            "get" => self.get = true,
            "head" => self.head = true,
            other => imp.ignored.push(if other.starts_with('-') {
                other.to_string()
            } else if value.is_empty() {
                format!("--{other}")
            } else if other == "proxy" {
                // A proxy's user and password are credentials too.
                format!("--{other} {}", mask_userinfo(&value))
            } else {
                format!("--{other} {value}")
            }),
        }
    }

    /// `-d` and its kin: the bytes, or `@FILE`.
    fn read_data(&mut self, name: &str, value: String, imp: &mut Imported) {
        if name == "json" {
            self.json = true;
        }
        match value.strip_prefix('@') {
            Some(path) if name != "data-raw" => {
                if name != "data-binary" {
                    imp.comments.push(format!(
                        "curl {name} @{path} drops the file's line breaks; runner sends the file as it is"
                    ));
                }
                self.data_file = Some(path.to_string());
            }
            _ => self.data.push(value),
        }
    }

    /// `-F name=value`, `-F name=@FILE`.
    fn read_form(&mut self, name: &str, value: &str, imp: &mut Imported) {
        let Some((k, v)) = value.split_once('=') else {
            imp.ignored.push(format!("-F {value} (not `name=value`)"));
            return;
        };
        let part = match v.strip_prefix('@') {
            Some(path) if name == "form" => MultipartOut::File {
                file: file_field(
                    path.split(';').next().unwrap_or(path),
                    &format!("{}_file", crate::import::text::ident(k)),
                    &mut imp.comments,
                    &mut imp.ignored,
                ),
            },
            _ if name == "form" && v.starts_with('<') => {
                imp.ignored
                    .push(format!("-F {k}=<FILE (a value read from a file)"));
                return;
            }
            _ => MultipartOut::Value(literal(v)),
        };
        self.parts.insert(k.to_string(), part);
    }
}

/// The command's URL (`http://` when it names no scheme), which must be http(s).
fn http_url(url: String) -> Result<url::Url, InputError> {
    let url = if url.contains("://") {
        url
    } else {
        format!("http://{url}")
    };
    let shown = mask_userinfo(&url);
    let parsed = url::Url::parse(&url)
        .map_err(|e| InputError::usage(format!("the curl command's URL `{shown}`: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(InputError::usage(format!(
            "`{shown}` is not an http or https URL"
        )));
    }
    Ok(parsed)
}

/// The URL's user and password, taken out of it, as a basic auth with `env()`
/// templates (the values are registered with the masking point, never written).
fn userinfo_auth(url: &mut url::Url, prefix: &str, comments: &mut Vec<String>) -> Option<AuthOut> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    register_userinfo(&format!(
        "{}:{}",
        url.username(),
        url.password().unwrap_or_default()
    ));
    // Neither fails on an http(s) URL with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    comments.push(format!(
        "the URL's user and password are the profile's basic auth: set {prefix}_USERNAME and {prefix}_PASSWORD"
    ));
    Some(AuthOut {
        kind: "basic",
        username: Some(env_template(&format!("{prefix}_USERNAME"), None)),
        password: Some(env_template(&format!("{prefix}_PASSWORD"), None)),
        ..AuthOut::default()
    })
}

/// `req.url` without the query, and `req.query` from it (with `-G`, from the data
/// too, which is then sent no more).
fn set_url(req: &mut RequestOut, parsed: &url::Url, get: bool, data: &mut Vec<String>) {
    let mut query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    if get {
        for d in data.iter() {
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
        let v = LiteralValue::from(literal(&v));
        match req.query.shift_remove_full(&k) {
            Some((i, _, first)) => {
                let mut items = first.into_items();
                items.push(v);
                req.query.shift_insert(i, k, LiteralValue::list(items));
            }
            None => {
                req.query.insert(k, v);
            }
        }
    }
}

/// The headers into the request: an `Authorization` header becomes the profile's
/// auth, a cookie or other sensitive value an `env()` template. Returns the
/// `Content-Type` the command set.
fn set_headers(
    imp: &mut Imported,
    headers: Vec<(String, String)>,
    prefix: &str,
    auth: &mut Option<AuthOut>,
) -> Option<String> {
    let mut content_type = None;
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("authorization") {
            *auth = Some(authorization_auth(&v, prefix));
            continue;
        }
        if crate::http::header::name_problem(&k).is_some() {
            imp.ignored
                .push(format!("-H {k}: (not a valid header name)"));
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
        imp.request.headers.insert(k, value);
    }
    content_type
}

/// The body: multipart, a file, or the data joined as curl joins it. `form_type`:
/// whether to say `application/x-www-form-urlencoded` as curl does.
fn set_body(
    imp: &mut Imported,
    parts: IndexMap<String, MultipartOut>,
    data_file: Option<String>,
    data: Vec<String>,
    form_type: bool,
) {
    let req = &mut imp.request;
    if !parts.is_empty() {
        if !data.is_empty() || data_file.is_some() {
            imp.ignored
                .push("-d with -F (curl refuses both)".to_string());
        }
        req.body = Some(BodyOut::Multipart(parts));
    } else if let Some(f) = data_file {
        if form_type {
            req.headers.insert(
                "Content-Type".to_string(),
                literal("application/x-www-form-urlencoded"),
            );
        }
        let file = file_field(&f, "file_path", &mut imp.comments, &mut imp.ignored);
        req.body = Some(BodyOut::File(file));
    } else if !data.is_empty() {
        // The bytes exactly as curl sends them, with curl's default type.
        if form_type {
            req.headers.insert(
                "Content-Type".to_string(),
                literal("application/x-www-form-urlencoded"),
            );
        }
        req.body = Some(BodyOut::Text(literal(&data.join("&"))));
    }
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
        assert_eq!(i.request.url.as_str(), "https://h.example/a");
        assert_eq!(
            i.request.query["x"].as_value(),
            &serde_json::json!(["1", "2"])
        );
        assert_eq!(i.request.headers["Accept"].as_str(), "text/plain");
        assert!(matches!(&i.request.body, Some(BodyOut::Text(t)) if t.as_str() == "a=1&b=2"));
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
        assert_eq!(i.request.query["q"].as_value(), "a b");
        assert_eq!(i.request.query["n"].as_value(), "1");
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
