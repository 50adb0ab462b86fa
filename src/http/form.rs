//! `application/x-www-form-urlencoded` text as runner sends it, for a body or a
//! query: names keep the brackets of nested keys (`metadata[key]=v`,
//! `items[0][price]=p`), as Stripe's and Rails' documents write them; everything
//! else is encoded as the URL standard's form serializer does (space as `+`).

/// `pairs` as form text: `k=v&k2=v2`, in order, repeated names kept.
pub fn encode(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        component(k, true, &mut out);
        out.push('=');
        component(v, false, &mut out);
    }
    out
}

/// One name or value, encoded onto `out`; `name`: brackets stay as they are.
fn component(text: &str, name: bool, out: &mut String) {
    for &b in text.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b'[' | b']' if name => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// `url` with `name` set to `value` in its query: every pair of that name removed,
/// one appended; the other pairs kept byte for byte. Numbered pages call this once a
/// page, so the query is rebuilt in one string, and a pair's name is decoded only when
/// it has something to decode (B3 in BENCHMARKS.md: 8.2 K instructions a page before).
pub fn set_query_param(url: &url::Url, name: &str, value: &str) -> url::Url {
    let query = url.query().unwrap_or("");
    let mut text = String::with_capacity(query.len() + name.len() + value.len() + 2);
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        if !pair_named(pair, name) {
            text.push_str(pair);
            text.push('&');
        }
    }
    component(name, true, &mut text);
    text.push('=');
    component(value, false, &mut text);
    let mut out = url.clone();
    out.set_query(Some(&text));
    out
}

/// Whether the query pair `pair` (`k=v`, encoded) is named `name`.
fn pair_named(pair: &str, name: &str) -> bool {
    let raw = pair.split_once('=').map_or(pair, |(k, _)| k);
    if !raw.contains(['%', '+']) {
        return raw == name;
    }
    url::form_urlencoded::parse(pair.as_bytes())
        .next()
        .is_some_and(|(k, _)| k == name)
}

/// `url` with `pairs` appended to its query.
pub fn append_query(url: &mut url::Url, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        return;
    }
    let added = encode(pairs);
    let query = match url.query() {
        Some(q) if !q.is_empty() => format!("{q}&{added}"),
        _ => added,
    };
    url.set_query(Some(&query));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_brackets_and_values_are_encoded() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            encode(&pairs(&[
                ("metadata[key]", "v"),
                ("items[0][price]", "p"),
                ("q", "a b&c=d/é[]")
            ])),
            "metadata[key]=v&items[0][price]=p&q=a+b%26c%3Dd%2F%C3%A9%5B%5D"
        );
        assert_eq!(
            encode(&pairs(&[("MediaUrl", "a"), ("MediaUrl", "b")])),
            "MediaUrl=a&MediaUrl=b"
        );
    }

    #[test]
    fn query_parameters_are_set_or_appended() {
        let u = url::Url::parse("http://h/a?x[0]=1&cursor=old&cursor=older&y=%20").unwrap();
        assert_eq!(
            set_query_param(&u, "cursor", "n/1").as_str(),
            "http://h/a?x[0]=1&y=%20&cursor=n%2F1"
        );
        // A name is compared decoded: encoded spellings of it go too, and a pair
        // without `=` is a name.
        let u = url::Url::parse("http://h/a?cur%73or=1&cursor&a+b=2&cursorx=3").unwrap();
        assert_eq!(
            set_query_param(&u, "cursor", "2").as_str(),
            "http://h/a?a+b=2&cursorx=3&cursor=2"
        );
        assert_eq!(
            set_query_param(&u, "a b", "").as_str(),
            "http://h/a?cur%73or=1&cursor&cursorx=3&a+b="
        );
        let mut u = url::Url::parse("http://h/a").unwrap();
        append_query(&mut u, &[("a[b]".into(), "1".into())]);
        assert_eq!(u.as_str(), "http://h/a?a[b]=1");
    }
}
