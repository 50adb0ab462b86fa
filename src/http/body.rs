//! Bodies on the wire: uploads streamed from disk or sent from memory, and answers
//! read whole (at most `http.max_body`) or streamed to a sink chunk by chunk.

use std::time::{Duration, Instant};

use super::wire::Resp;
use super::{Exchange, FileBody, HttpError, Part, PartValue};

/// Bytes read from an upload's file at a time.
const UPLOAD_CHUNK: usize = 256 * 1024;

impl FileBody {
    /// The body for one attempt: the held bytes, or the file streamed from disk.
    pub(super) fn body(&self) -> reqwest::Body {
        use futures_util::TryStreamExt;
        if let Some(bytes) = &self.held {
            return reqwest::Body::from(bytes.clone());
        }
        let path = self.path.clone();
        let chunks = futures_util::stream::once(tokio::fs::File::open(path))
            .map_ok(|f| tokio_util::io::ReaderStream::with_capacity(f, UPLOAD_CHUNK))
            .try_flatten();
        reqwest::Body::wrap_stream(chunks)
    }
}

/// The SHA-256 (hex) of an upload's bytes, read in chunks as they will be sent.
pub(super) async fn file_sha256(file: &FileBody) -> std::io::Result<String> {
    use tokio::io::AsyncReadExt;
    if let Some(bytes) = &file.held {
        return Ok(super::sigv4::sha256_hex(bytes));
    }
    let mut f = tokio::fs::File::open(&file.path).await?;
    let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; UPLOAD_CHUNK];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(super::sigv4::digest_hex(hasher.finish()))
}

/// Most of a body a response's `Content-Length` may reserve before the bytes arrive.
const MAX_PREALLOCATION: u64 = 1024 * 1024;

/// A response whose head has arrived and whose body has not been read yet.
pub struct Incoming {
    /// Status, headers and URL; the body is empty until read.
    pub head: Exchange,
    resp: Resp,
    started: Instant,
    max_body: u64,
    timeout: Duration,
}

/// Why streaming a body stopped.
#[derive(Debug)]
pub enum StreamError {
    Http(HttpError),
    /// The sink could not take the bytes (stdout closed, disk full).
    Write(std::io::Error),
}

impl Incoming {
    pub(super) fn new(
        resp: Resp,
        url: url::Url,
        started: Instant,
        attempts: u32,
        auth_sent: bool,
        max_body: u64,
        timeout: Duration,
    ) -> Incoming {
        let headers = resp
            .headers()
            .iter()
            // Shared, not copied: a standard name is a constant, any other name and
            // every value a count on the bytes the head was read into.
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let head = Exchange {
            url,
            status: resp.status().as_u16(),
            version: version_name(resp.version()),
            headers,
            body: bytes::Bytes::new(),
            size: 0,
            elapsed: started.elapsed(),
            attempts,
            auth_sent,
        };
        Incoming {
            head,
            resp,
            started,
            max_body,
            timeout,
        }
    }

    /// Reads the whole body, refusing one larger than `http.max_body`.
    pub async fn read(mut self) -> Result<Exchange, HttpError> {
        let too_large = |url: &url::Url| HttpError::TooLarge {
            url: url.to_string(),
            limit: self.max_body,
        };
        if let Some(len) = self.resp.content_length()
            && len > self.max_body
        {
            return Err(too_large(&self.head.url));
        }
        // A server's Content-Length is a claim, not bytes: reserve little up front.
        let reserve = self
            .resp
            .content_length()
            .unwrap_or(0)
            .min(MAX_PREALLOCATION)
            .min(self.max_body);
        // A body that came in one piece is kept as it came, not copied.
        let mut first: Option<bytes::Bytes> = None;
        let mut body = Vec::new();
        loop {
            match self.resp.chunk(&self.head.url, self.timeout).await {
                Ok(Some(chunk)) => {
                    let held = first.as_ref().map_or(body.len(), bytes::Bytes::len);
                    if held as u64 + chunk.len() as u64 > self.max_body {
                        return Err(too_large(&self.head.url));
                    }
                    if first.is_none() && body.is_empty() {
                        first = Some(chunk);
                        continue;
                    }
                    if let Some(first) = first.take() {
                        body.reserve(usize::try_from(reserve).unwrap_or(0).max(first.len()));
                        body.extend_from_slice(&first);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(e),
            }
        }
        let body = first.unwrap_or_else(|| body.into());
        let mut ex = self.head;
        ex.size = body.len() as u64;
        ex.body = body;
        ex.elapsed = self.started.elapsed();
        Ok(ex)
    }

    /// Hands the body to `sink` chunk by chunk as it arrives, holding none of it:
    /// `http.max_body` does not apply. The exchange's body stays empty; `size` counts.
    pub async fn stream(
        mut self,
        sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<Exchange, StreamError> {
        let mut size = 0u64;
        loop {
            match self.resp.chunk(&self.head.url, self.timeout).await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    sink(&chunk).map_err(StreamError::Write)?;
                }
                Ok(None) => break,
                Err(e) => return Err(StreamError::Http(e)),
            }
        }
        let mut ex = self.head;
        ex.size = size;
        ex.elapsed = self.started.elapsed();
        Ok(ex)
    }
}

fn version_name(v: reqwest::Version) -> &'static str {
    match v {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_2 => "HTTP/2.0",
        reqwest::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

pub(super) fn multipart_form(parts: &[Part]) -> Result<reqwest::multipart::Form, reqwest::Error> {
    let mut form = reqwest::multipart::Form::new();
    for p in parts {
        form = match &p.value {
            PartValue::Text(t) => form.text(p.name.clone(), t.clone()),
            PartValue::File {
                filename,
                content_type,
                file,
            } => {
                let mut part = reqwest::multipart::Part::stream_with_length(file.body(), file.len)
                    .file_name(filename.clone());
                if let Some(ct) = content_type {
                    part = part.mime_str(ct)?;
                }
                form.part(p.name.clone(), part)
            }
        };
    }
    Ok(form)
}
