//! Secrets, and the one masking point every message goes through.
//!
//! [`Secret`] prints as `***` through `Debug` and `Display`; only [`Secret::expose`]
//! gives the value, and only the code that puts it on the wire or in the token store
//! calls it. Every secret is also registered, the moment it exists, in a process-wide
//! list, so that [`redact`] masks it in any text about to be written: raw, and in each
//! form it can take on the way out (percent-encoded with either space form, JSON- or
//! HTML/XML-escaped, and, for a `user:password` pair, base64). Messages reach stderr
//! through the crate's `eprintln!`/`eprint!` (defined in `lib.rs`, shadowing std's),
//! logs through [`log`], reports and access logs through [`redact`]: masking happens
//! before any escaping a writer adds.

pub mod log;
mod pattern;
mod query;

use std::fmt;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;

pub use self::query::{is_credential_param, mask_query};

/// A string that must not be shown. Cloning keeps it registered for redaction, and
/// copies nothing (the text is shared: a token goes with every request of a run).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(std::sync::Arc<str>);

impl Secret {
    /// Wraps `value` and registers it for [`redact`].
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Secret(value.into())
    }

    /// Wraps `value` without registering it: for a value a registered prefix
    /// ([`register_prefix`]) already masks, made too often to register one by one (a
    /// DPoP proof per request would grow the list without bound).
    pub fn under_prefix(value: String) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the wire or the token store only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// A registered secret and, compiled the first time a text is masked, the pattern of
/// all its forms (compiling lazily keeps the cost off runs that print no message).
struct Entry {
    value: String,
    /// [`register_prefix`]: the value and the token characters that follow it.
    prefix: bool,
    /// Text every match of the pattern contains verbatim (see [`literal_core`]): a
    /// message without it cannot hold the secret, and needs no pattern compiled.
    literal: String,
    pattern: OnceLock<Option<regex::Regex>>,
}

/// The part of `value` that each of its written forms keeps verbatim: for a prefix
/// entry the whole prefix (it has one form); otherwise its longest run of ASCII
/// letters and digits, which no form encodes (`pattern::forms` keeps each such
/// character as itself, so a run of them stays one run). Empty when `value` has no
/// such character: then every text is searched with the pattern.
fn literal_core(value: &str, prefix: bool) -> String {
    if prefix {
        return value.to_string();
    }
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .max_by_key(|run| run.len())
        .unwrap_or("")
        .to_string()
}

/// The registered secrets, longest first.
fn registry() -> &'static Mutex<Vec<Entry>> {
    static SECRETS: OnceLock<Mutex<Vec<Entry>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// The masking list, even after a panic elsewhere held its lock: masking fails closed,
/// never open (a poisoned lock once let text through unmasked).
fn entries() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    registry()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Adds `value` to the values [`redact`] masks, in every form it can take on the way
/// out. Values shorter than 4 characters are not registered: masking them would
/// garble ordinary text.
pub fn register(value: &str) {
    if value.chars().count() < 4 || is_placeholder(value) {
        return;
    }
    let mut list = entries();
    if list.iter().any(|e| e.value == value) {
        return;
    }
    let mut forms = vec![value.to_string()];
    forms.extend(base64_cores(value));
    for form in forms {
        if !list.iter().any(|e| e.value == form) {
            list.push(Entry {
                literal: literal_core(&form, false),
                value: form,
                prefix: false,
                pattern: OnceLock::new(),
            });
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    list.sort_by_key(|e| std::cmp::Reverse(e.value.len()));
}

/// Masks `prefix` and the run of JWS characters (base64url and `.`) that follows it:
/// every compact JWS whose first part is `prefix` (each DPoP proof of one key starts
/// with the same protected header). One entry for all of them, however many are made.
/// `prefix` must be made of JWS characters (no escaper changes them, so the raw form
/// is the only form).
pub fn register_prefix(prefix: &str) {
    if prefix.len() < 16 {
        return;
    }
    let mut list = entries();
    if list.iter().any(|e| e.prefix && e.value == prefix) {
        return;
    }
    list.push(Entry {
        value: prefix.to_string(),
        literal: literal_core(prefix, true),
        prefix: true,
        pattern: OnceLock::new(),
    });
    list.sort_by_key(|e| std::cmp::Reverse(e.value.len()));
}

/// How many entries the masking list holds (for the tests that bound it).
pub fn registered_count() -> usize {
    entries().len()
}

/// The texts a preview shows in place of a value it does not have (`<unset: NAME>`):
/// never masked, so that the preview shows what is missing.
fn placeholders() -> &'static Mutex<Vec<String>> {
    static PLACEHOLDERS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    PLACEHOLDERS.get_or_init(|| Mutex::new(Vec::new()))
}

/// `text` stands for a value the preview does not have: [`register`] ignores it.
pub fn not_a_secret(text: &str) {
    if let Ok(mut list) = placeholders().lock()
        && !list.iter().any(|p| p == text)
    {
        list.push(text.to_string());
    }
}

fn is_placeholder(value: &str) -> bool {
    placeholders()
        .lock()
        .is_ok_and(|list| list.iter().any(|p| p == value))
}

/// The placeholders `value` holds, in order: what a preview shows of a credential
/// that holds one (its other parts stay hidden).
pub fn placeholders_in(value: &str) -> Vec<String> {
    let Ok(list) = placeholders().lock() else {
        return Vec::new();
    };
    let mut found: Vec<(usize, String)> = list
        .iter()
        .filter_map(|p| value.find(p.as_str()).map(|i| (i, p.clone())))
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// The part of `value`'s base64 that does not depend on its neighbours, at each of the
/// three alignments it can have inside a longer base64 text (a body shown at `-vv`,
/// an echo's `body_base64`), in both alphabets. Only for secrets long enough that the
/// part is distinctive.
fn base64_cores(value: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    const MIN_SECRET: usize = 8;
    let bytes = value.as_bytes();
    if bytes.len() < MIN_SECRET {
        return Vec::new();
    }
    let mut cores = Vec::new();
    for shift in 0..3usize {
        let mut buf = vec![0u8; shift];
        buf.extend_from_slice(bytes);
        // Characters before `head` carry the neighbour's bits; after `whole`, the next
        // neighbour's.
        let head = [0, 2, 3][shift];
        let whole = buf.len() / 3 * 4;
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            let text = engine.encode(&buf);
            if let Some(core) = text.get(head..whole)
                && core.len() >= MIN_SECRET
            {
                cores.push(core.to_string());
            }
        }
    }
    cores.sort();
    cores.dedup();
    cores
}

/// Registers a `user:password` pair as HTTP Basic sends it: the password alone, and
/// the base64 of the pair (standard and URL-safe alphabets, with and without padding),
/// in each of their forms. The user name alone is not a secret.
pub fn register_basic(user: &str, password: &str) {
    register(password);
    register_basic_pair(&format!("{user}:{password}"));
}

/// The base64 of `pair` (standard and URL-safe alphabets, with and without padding).
fn register_basic_pair(pair: &str) {
    if pair.chars().count() < 5 {
        return;
    }
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    for engine in [STANDARD, STANDARD_NO_PAD] {
        register(&engine.encode(pair));
    }
    for engine in [URL_SAFE, URL_SAFE_NO_PAD] {
        register(&engine.encode(pair));
    }
}

/// Registers the userinfo of the URL written as `text` (parsed or not: an error about
/// it may quote it): the password, or the user name when there is no password (a
/// token written as `https://TOKEN@host`), decoded, and the Basic pair an HTTP client
/// builds from it.
pub fn register_userinfo(text: &str) {
    let Some((_, rest)) = text.split_once("://") else {
        return;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return;
    };
    match userinfo.split_once(':') {
        Some((user, password)) if !password.is_empty() => {
            register_basic(&percent_decode(user), &percent_decode(password));
        }
        // A lone user name is the credential; a client sends it as `user:`.
        _ => {
            let user = percent_decode(userinfo.trim_end_matches(':'));
            register(&user);
            register_basic_pair(&format!("{user}:"));
        }
    }
}

/// `text` with each `%XX` replaced by its byte (the bytes read as UTF-8, lossily).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with every form of every registered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    redact_cow(text).into_owned()
}

/// [`redact`], borrowing `text` when it holds no secret (nearly always).
pub fn redact_cow(text: &str) -> std::borrow::Cow<'_, str> {
    let list = entries();
    let mut out = std::borrow::Cow::Borrowed(text);
    for entry in list.iter() {
        // Cheap and exact: no match is possible without the literal.
        if !out.contains(entry.literal.as_str()) {
            continue;
        }
        let pattern = entry.pattern.get_or_init(|| match entry.prefix {
            true => {
                regex::Regex::new(&format!("{}[A-Za-z0-9_.-]*", regex::escape(&entry.value))).ok()
            }
            false => pattern::forms(&entry.value),
        });
        match pattern {
            Some(re) => {
                if let std::borrow::Cow::Owned(s) = re.replace_all(&out, "***") {
                    out = std::borrow::Cow::Owned(s);
                }
            }
            // Too big for a pattern: the raw value is still masked.
            None => {
                if out.contains(entry.value.as_str()) {
                    out = std::borrow::Cow::Owned(out.replace(entry.value.as_str(), "***"));
                }
            }
        }
    }
    out
}

/// Whether [`redact`] changes `text`.
fn is_masked(text: &str) -> bool {
    matches!(redact_cow(text), std::borrow::Cow::Owned(_))
}

/// Every string in `value`, keys included, masked in place: for a JSON document
/// about to be written as a report or a message (not for response data).
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(masked) = redact_cow(s) {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        // The map is rebuilt only when a key holds a secret (its order kept).
        Value::Object(map) if map.keys().all(|k| !is_masked(k)) => {
            map.values_mut().for_each(redact_json);
        }
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut v) in old {
                redact_json(&mut v);
                map.insert(redact(&k), v);
            }
        }
        _ => {}
    }
}

/// Writes one message to stderr, masked. The crate's `eprintln!`/`eprint!` call this;
/// nothing else in the crate writes messages to stderr.
pub fn write_stderr(args: fmt::Arguments<'_>, newline: bool) {
    use std::io::Write as _;
    let mut text = redact(&fmt::format(args));
    if newline {
        text.push('\n');
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests;
