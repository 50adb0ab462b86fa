//! Reading what an import starts from: an OpenAPI document from a file or an
//! http(s) URL, a Postman collection and environment, all within one size limit.

use std::path::Path;

use serde_json::Value;

use super::openapi;
use crate::error::{Error, InputError};
use crate::http::HttpError;

/// Largest document or collection read (a URL's body included).
const MAX_SOURCE: u64 = 256 * 1024 * 1024;

const SOURCE_LIMIT: crate::project::limits::ReadLimit = crate::project::limits::ReadLimit {
    bytes: MAX_SOURCE,
    kind: "imported documents",
};

/// The bytes of the file at `path`, within the limit; `what` names it in errors
/// (`the collection x.json`).
pub fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, InputError> {
    crate::project::limits::read(path, SOURCE_LIMIT)
        .map_err(|e| InputError::usage(e.describe(what)))
}

/// A Postman environment: a JSON file.
pub fn read_environment(path: &Path) -> Result<Value, Error> {
    let what = path.display().to_string();
    let text = read_file(path, &format!("the environment {what}"))?;
    Ok(serde_json::from_slice::<Value>(&text)
        .map_err(|e| InputError::usage(format!("{what}: not valid JSON: {e}")))?)
}

/// A document from a file or an http(s) URL.
pub async fn read_source(spec: &str) -> Result<openapi::Source, Error> {
    if spec.starts_with("http://") || spec.starts_with("https://") {
        let url = url::Url::parse(spec)
            .map_err(|e| InputError::usage(format!("invalid URL `{spec}`: {e}")))?;
        let text = fetch(&url).await?;
        let file_name = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty())
            .map(sanitize_file_name)
            .unwrap_or_else(|| "openapi.json".to_string());
        return Ok(openapi::Source {
            text,
            file_name,
            url: Some(url),
        });
    }
    let path = Path::new(spec);
    let text = read_file(path, &format!("the document {spec}"))?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(sanitize_file_name)
        .unwrap_or_else(|| "openapi.json".to_string());
    Ok(openapi::Source {
        text,
        file_name,
        url: None,
    })
}

/// A file name safe on every system.
fn sanitize_file_name(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() {
        "openapi.json".to_string()
    } else {
        clean
    }
}

/// GETs `url` (TLS verified, redirects followed, at most [`MAX_SOURCE`] bytes).
async fn fetch(url: &url::Url) -> Result<Vec<u8>, Error> {
    let transport = |e: reqwest::Error| {
        Error::Http(HttpError::Other {
            url: url.to_string(),
            detail: e.to_string(),
        })
    };
    let builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60));
    let client = crate::http::TlsOptions::default()
        .apply(builder)
        .map_err(|detail| {
            Error::Http(HttpError::Other {
                url: url.to_string(),
                detail,
            })
        })?
        .build()
        .map_err(transport)?;
    let mut resp = client.get(url.as_str()).send().await.map_err(transport)?;
    if !resp.status().is_success() {
        return Err(Error::Http(HttpError::Protocol {
            url: url.to_string(),
            detail: format!("HTTP {} fetching the document", resp.status()),
        }));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > MAX_SOURCE {
            return Err(InputError::usage(format!("{url}: larger than {MAX_SOURCE} bytes")).into());
        }
    }
    Ok(body)
}
