//! The parameters of an OAuth2 request body, sent as a form or as JSON, and the
//! Content-Type that says which.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::Value;

use crate::error::ApiError;

/// The media type without parameters, lowercased; `none` when the header is absent.
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    match headers.get(CONTENT_TYPE).map(|v| v.to_str()) {
        None => "none".to_owned(),
        Some(Ok(v)) => v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
        Some(Err(_)) => "invalid".to_owned(),
    }
}

/// Reads the body as JSON or as a form, by Content-Type (a form when absent). Empty
/// values count as absent, as they do for the PHP server.
pub(crate) fn parse_params(
    content_type: &str,
    body: &[u8],
) -> Result<HashMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = if content_type == "application/json"
        || content_type.ends_with("+json")
    {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid_request(format!("Invalid JSON body: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ApiError::invalid_request(
                "Invalid JSON body: expected an object",
            ));
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (key, value) in map {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Null => continue,
                _ => {
                    return Err(ApiError::invalid_request(format!(
                        "Invalid value for {key:?}: expected a string or a number"
                    )));
                }
            };
            pairs.push((key, text));
        }
        pairs
    } else if content_type == "application/x-www-form-urlencoded" || content_type == "none" {
        url::form_urlencoded::parse(body).into_owned().collect()
    } else {
        return Err(ApiError::invalid_request(format!(
            "Unsupported Content-Type {content_type:?}: send application/x-www-form-urlencoded or application/json"
        )));
    };
    Ok(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_form_params() {
        let json = parse_params(
            "application/json",
            br#"{"grant_type":"password","n":7,"e":"","z":null}"#,
        )
        .unwrap();
        assert_eq!(json.get("grant_type").map(String::as_str), Some("password"));
        assert_eq!(json.get("n").map(String::as_str), Some("7"));
        assert!(!json.contains_key("e") && !json.contains_key("z"));
        let form = parse_params("application/x-www-form-urlencoded", b"scope=a+b&x=%41").unwrap();
        assert_eq!(form.get("scope").map(String::as_str), Some("a b"));
        assert_eq!(form.get("x").map(String::as_str), Some("A"));
        for (ct, body) in [
            ("application/json", &b"[1]"[..]),
            ("application/json", b"{"),
            ("application/json", br#"{"a":[1]}"#),
            ("text/plain", b"a=b"),
        ] {
            assert_eq!(parse_params(ct, body).unwrap_err().error, "invalid_request");
        }
    }
}
