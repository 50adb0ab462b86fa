//! Just enough of `multipart/form-data` (RFC 7578) for the document upload route:
//! the boundary from the Content-Type, then each part's name, file name, type and
//! bytes. Whole bodies only (axum has already read them), no nested multiparts.

use super::error::ApiError;

/// One part of a `multipart/form-data` body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: &'a [u8],
}

/// The `boundary` parameter of a `multipart/form-data` Content-Type.
pub(crate) fn boundary(content_type: &str) -> Result<String, ApiError> {
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Err(ApiError::invalid_request(format!(
            "Expected a multipart/form-data body, got {essence:?}"
        )));
    }
    params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| unquote(v.trim()))
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or_else(|| ApiError::invalid_request("The multipart Content-Type has no boundary"))
}

/// Splits `body` into its parts.
pub(crate) fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, ApiError> {
    let malformed =
        |what: &str| ApiError::invalid_request(format!("Malformed multipart body: {what}"));
    let delimiter = format!("--{boundary}").into_bytes();
    // Every delimiter after the first follows a CRLF, which belongs to it.
    let next_delimiter = [b"\r\n".as_slice(), &delimiter].concat();
    let start = find(body, &delimiter).ok_or_else(|| malformed("no boundary"))?;
    let mut rest = &body[start + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or_else(|| malformed("a boundary is not followed by CRLF"))?;
        let head_end =
            find(rest, b"\r\n\r\n").ok_or_else(|| malformed("a part has no header end"))?;
        let head = std::str::from_utf8(&rest[..head_end])
            .map_err(|_| malformed("part headers are not UTF-8"))?;
        let content = &rest[head_end + 4..];
        let end = find(content, &next_delimiter).ok_or_else(|| malformed("no closing boundary"))?;
        parts.push(part(head, &content[..end])?);
        rest = &content[end + next_delimiter.len()..];
    }
}

fn part<'a>(head: &str, data: &'a [u8]) -> Result<Part<'a>, ApiError> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        if key.eq_ignore_ascii_case("content-disposition") {
            for param in params(value).into_iter().skip(1) {
                match param {
                    (k, v) if k.eq_ignore_ascii_case("name") => name = Some(v),
                    (k, v) if k.eq_ignore_ascii_case("filename") => filename = Some(v),
                    _ => {}
                }
            }
        } else if key.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned()).filter(|t| !t.is_empty());
        }
    }
    let name = name
        .ok_or_else(|| ApiError::invalid_request("Malformed multipart body: a part has no name"))?;
    Ok(Part {
        name,
        filename,
        content_type,
        data,
    })
}

/// `form-data; name="file"; filename="a; b.txt"` as (key, value) pairs, the first
/// being the disposition itself with an empty value. Semicolons inside quotes stay.
fn params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' if quoted => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                current.push(c);
                quoted = !quoted;
            }
            ';' if !quoted => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out.into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), unquote(v.trim())),
            None => (p.trim().to_owned(), String::new()),
        })
        .collect()
}

fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => value.to_owned(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_read_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc123").unwrap(),
            "abc123"
        );
        assert_eq!(
            boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b\"").unwrap(),
            "a b"
        );
        for bad in [
            "application/json",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/mixed; boundary=x",
        ] {
            assert_eq!(boundary(bad).unwrap_err().error, "invalid_request", "{bad}");
        }
    }

    #[test]
    fn parts_keep_their_names_types_and_exact_bytes() {
        let body = b"preamble\r\n--XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"a; \\\"b\\\".txt\"\r\n\
            Content-Type: text/plain\r\n\r\n\
            line 1\r\nx --XyZ is no boundary without a CRLF before it\r\n\
            --XyZ\r\n\
            content-disposition: form-data; name=note\r\n\r\n\
            \r\n\
            --XyZ--\r\n";
        let parts = parse(body, "XyZ").unwrap();
        assert_eq!(
            parts,
            vec![
                Part {
                    name: "file".into(),
                    filename: Some("a; \"b\".txt".into()),
                    content_type: Some("text/plain".into()),
                    data: b"line 1\r\nx --XyZ is no boundary without a CRLF before it",
                },
                Part {
                    name: "note".into(),
                    filename: None,
                    content_type: None,
                    data: b"",
                },
            ]
        );
        assert_eq!(parse(b"--b--", "b").unwrap(), vec![]);
    }

    #[test]
    fn malformed_bodies_are_invalid_requests() {
        for body in [
            &b""[..],
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end",
            b"--b\r\nContent-Disposition: form-data; name=\"x\"",
            b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
            b"--bX",
            b"--b\r\n\xff: x\r\n\r\nx\r\n--b--",
        ] {
            let err = parse(body, "b").unwrap_err();
            assert_eq!(err.error, "invalid_request", "{body:?}");
            assert!(
                err.description.starts_with("Malformed multipart body: "),
                "{}",
                err.description
            );
        }
    }
}
