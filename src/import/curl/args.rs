//! The curl command line as curl reads it: one quoted line split as a shell would,
//! then `(option, value)` pairs by long name (`-sSL`, `-XPOST`, `--data=x` included).

use crate::error::InputError;

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
pub(super) fn options(words: &[String]) -> Result<Vec<(String, String)>, InputError> {
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
