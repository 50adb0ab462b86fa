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
/// one appended; the other pairs kept byte for byte.
pub fn set_query_param(url: &url::Url, name: &str, value: &str) -> url::Url {
    let mut parts: Vec<String> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .is_none_or(|(k, _)| k != name)
        })
        .map(str::to_string)
        .collect();
    parts.push(encode(&[(name.to_string(), value.to_string())]));
    let mut out = url.clone();
    out.set_query(Some(&parts.join("&")));
    out
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
        let mut u = url::Url::parse("http://h/a").unwrap();
        append_query(&mut u, &[("a[b]".into(), "1".into())]);
        assert_eq!(u.as_str(), "http://h/a?a[b]=1");
    }
}
