//! The only module that writes data to stdout (SPEC §6). Messages go to stderr.

use std::io::{IsTerminal, Write};

use serde_json::Value;

use crate::http::{Exchange, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
/// What `-o` prints on stdout.
pub enum OutputMode {
    /// The response body (pretty JSON on a terminal), or the extracted values
    Body,
    /// One JSON object per request: status, headers, body, extract, elapsed_ms
    Json,
    /// Paginated items (or a JSON array's elements), one JSON value per line, streamed
    /// as pages arrive; `extract` does not apply (it shapes body, json and yaml)
    Jsonl,
    /// The body (or extracted values) as YAML
    Yaml,
    /// The body bytes as received
    Raw,
    /// Nothing
    None,
}

/// `Ok` for a write that succeeded or whose reader went away (`| head`: what it
/// wanted is written); any other failure is an error.
pub fn write_or_pipe(r: std::io::Result<()>) -> Result<(), crate::error::Error> {
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(crate::error::Error::io("cannot write to stdout", e))
        }
        _ => Ok(()),
    }
}

/// Whether a page's items are worth a write of their own rather than a copy into the
/// buffer: 16 KB and more (a system call costs about what copying that much does).
fn big(items: &[&[u8]]) -> bool {
    items.iter().map(|i| i.len()).sum::<usize>() >= 16 * 1024
}

/// Where data goes: stdout, buffered, pretty JSON only on a terminal.
pub struct Output {
    out: std::io::BufWriter<std::io::Stdout>,
    pretty: bool,
}

impl Default for Output {
    fn default() -> Self {
        Output::new()
    }
}

impl Output {
    pub fn new() -> Self {
        let stdout = std::io::stdout();
        let pretty = stdout.is_terminal();
        Output {
            out: std::io::BufWriter::with_capacity(64 * 1024, stdout),
            pretty,
        }
    }

    /// A line of text (e.g. a token, a URL, a listing).
    pub fn line(&mut self, text: &str) -> std::io::Result<()> {
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    /// Raw bytes, as they are.
    pub fn bytes(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.out.write_all(data)?;
        self.out.flush()
    }

    /// One JSON value on its own line, compact (for JSON lines).
    pub fn json_line(&mut self, value: &Value) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")
    }

    /// A page's items as JSON lines. Raw items are written as the server sent them,
    /// unless they span lines.
    pub fn items(&mut self, page: crate::run::paginate::PageItems<'_>) -> std::io::Result<()> {
        match page {
            crate::run::paginate::PageItems::Values(items) => {
                for item in &items {
                    self.json_line(item)?;
                }
            }
            crate::run::paginate::PageItems::Raw(raw) if raw.one_line && big(&raw.items) => {
                self.lines_from_page(&raw.items)?;
            }
            crate::run::paginate::PageItems::Raw(raw) => {
                for text in raw.items {
                    let spans_lines =
                        !raw.one_line && memchr::memchr2(b'\n', b'\r', text).is_some();
                    if spans_lines {
                        let v: Value =
                            serde_json::from_slice(text).map_err(std::io::Error::other)?;
                        self.json_line(&v)?;
                    } else {
                        self.out.write_all(text)?;
                        self.out.write_all(b"\n")?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Items that are each one line, written from their page as they lie there: what
    /// is buffered goes first, then `item`, `\n`, `item`, … in vectored writes, so the
    /// items are not copied into the buffer (B3 in BENCHMARKS.md: 26 MB a run).
    fn lines_from_page(&mut self, items: &[&[u8]]) -> std::io::Result<()> {
        self.out.flush()?;
        let mut slices = Vec::with_capacity(items.len() * 2);
        for item in items {
            slices.push(std::io::IoSlice::new(item));
            slices.push(std::io::IoSlice::new(b"\n"));
        }
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            match self.out.get_mut().write_vectored(rest) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => std::io::IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn json(&mut self, value: &Value) -> std::io::Result<()> {
        if self.pretty {
            serde_json::to_writer_pretty(&mut self.out, value)?;
        } else {
            serde_json::to_writer(&mut self.out, value)?;
        }
        self.out.write_all(b"\n")
    }

    fn yaml(&mut self, value: &Value) -> std::io::Result<()> {
        let text = serde_saphyr::to_string(value).map_err(std::io::Error::other)?;
        self.out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Whether stdout is a terminal (JSON is then pretty-printed).
    pub fn is_terminal(&self) -> bool {
        self.pretty
    }

    /// Part of a body, as it arrives; flushed by [`Output::flush`].
    pub fn chunk(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.out.write_all(data)
    }

    /// The status line and headers, then a blank line (`-i`).
    pub fn head(&mut self, ex: &Exchange) -> std::io::Result<()> {
        writeln!(self.out, "{}", ex.status_line())?;
        for (k, v) in &ex.headers {
            writeln!(
                self.out,
                "{k}: {}",
                shown_header(k.as_str(), &header::text(v))
            )?;
        }
        writeln!(self.out)
    }

    /// Prints one response as `mode` says. `body` is the parsed JSON body (or the
    /// concatenated items of a paginated request); `extracted` the `extract` object.
    pub fn exchange(
        &mut self,
        mode: OutputMode,
        include: bool,
        ex: &Exchange,
        body: Option<&Value>,
        extracted: Option<&Value>,
    ) -> std::io::Result<()> {
        if include && !matches!(mode, OutputMode::Json | OutputMode::None) {
            self.head(ex)?;
        }
        let shown = extracted.or(body);
        match mode {
            OutputMode::None => {}
            OutputMode::Raw => self.out.write_all(&ex.body)?,
            OutputMode::Body => match shown {
                Some(v) => self.json(v)?,
                None => {
                    self.out.write_all(&ex.body)?;
                    if !ex.body.is_empty() && !ex.body.ends_with(b"\n") && self.pretty {
                        self.out.write_all(b"\n")?;
                    }
                }
            },
            OutputMode::Yaml => match shown {
                Some(v) => self.yaml(v)?,
                None => self.yaml(&Value::String(String::from_utf8_lossy(&ex.body).into()))?,
            },
            OutputMode::Json => {
                let v = exchange_json(ex, body, extracted);
                self.json(&v)?;
            }
            // JSON lines are the items (or the body), never the extract object.
            OutputMode::Jsonl => match body {
                Some(Value::Array(items)) => {
                    for item in items {
                        self.json_line(item)?;
                    }
                }
                Some(v) => self.json_line(v)?,
                None => self.json_line(&Value::String(String::from_utf8_lossy(&ex.body).into()))?,
            },
        }
        self.out.flush()
    }
}

/// A response header's value as printed: a credential header's (`Set-Cookie`, …)
/// masked like a message, its registered secrets replaced, its attributes kept.
fn shown_header(name: &str, value: &str) -> String {
    if crate::http::is_sensitive_header(name) {
        crate::secret::redact(value)
    } else {
        value.to_string()
    }
}

/// The `-o json` object of one exchange.
pub fn exchange_json(ex: &Exchange, body: Option<&Value>, extracted: Option<&Value>) -> Value {
    let mut headers = serde_json::Map::new();
    for (k, v) in &ex.headers {
        headers.insert(
            k.to_string(),
            Value::String(shown_header(k.as_str(), &header::text(v))),
        );
    }
    let body = match body {
        Some(v) => v.clone(),
        None if ex.body.is_empty() => Value::Null,
        None => Value::String(String::from_utf8_lossy(&ex.body).into()),
    };
    serde_json::json!({
        "status": ex.status,
        "headers": headers,
        "body": body,
        "extract": extracted.cloned().unwrap_or(Value::Null),
        "elapsed_ms": ex.elapsed.as_millis() as u64,
    })
}
