//! The `.http`/`.rest` dialect (JetBrains HTTP Client, VS Code REST Client, httpyac,
//! Kulala) read into requests: `###` separators (their text a name), `# @name`,
//! `@var = value` file variables, the request line (with `?`/`&` continuation
//! lines), headers, the body, and the scripts (`< {% %}` before, `> {% %}` after),
//! which are kept as text, never run.

/// One `.http` file, parsed.
#[derive(Debug, Default)]
pub struct HttpFile {
    /// `@name = value`, in file order, with their lines.
    pub vars: Vec<(String, String, usize)>,
    pub requests: Vec<HttpRequest>,
}

/// One request of a `.http` file.
#[derive(Debug, Default)]
pub struct HttpRequest {
    /// `# @name x`, else the separator's text.
    pub name: Option<String>,
    /// The request line's number (1-based).
    pub line: usize,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The body's lines (trailing blank lines removed), `None` when there is none.
    pub body: Option<Vec<String>>,
    /// Pre-request and response-handler scripts: (`pre-request`|`response handler`, text).
    pub scripts: Vec<(&'static str, String)>,
    /// `# @directive` lines other than `@name` (`@no-redirect`…), and lines not read.
    pub notes: Vec<String>,
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
];

#[derive(PartialEq)]
enum State {
    Before,
    RequestLine,
    Headers,
    Body,
}

struct Block {
    state: State,
    req: HttpRequest,
    body: Vec<String>,
    /// An open script: its kind and lines, until `%}`.
    script: Option<(&'static str, String)>,
}

impl Block {
    fn new(separator: Option<String>) -> Block {
        Block {
            state: State::Before,
            req: HttpRequest {
                name: separator.filter(|s| !s.is_empty()),
                ..HttpRequest::default()
            },
            body: Vec::new(),
            script: None,
        }
    }

    fn finish(mut self, out: &mut HttpFile) {
        if let Some((kind, text)) = self.script.take() {
            self.req.scripts.push((kind, text));
        }
        if self.state == State::Before {
            return;
        }
        while self.body.last().is_some_and(|l| l.trim().is_empty()) {
            self.body.pop();
        }
        if !self.body.is_empty() {
            self.req.body = Some(self.body);
        }
        out.requests.push(self.req);
    }
}

/// Parses a `.http` file's text.
pub fn parse(text: &str) -> HttpFile {
    let mut out = HttpFile::default();
    let mut block = Block::new(None);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(sep) = line.strip_prefix("###") {
            std::mem::replace(&mut block, Block::new(Some(sep.trim().to_string())))
                .finish(&mut out);
            continue;
        }
        if let Some((_, text)) = &mut block.script {
            text.push('\n');
            text.push_str(&line[..line.find("%}").unwrap_or(line.len())]);
            if line.contains("%}") {
                let (kind, text) = block.script.take().unwrap_or_default();
                block.req.scripts.push((kind, text));
            }
            continue;
        }
        block.line(line, i + 1, &mut out);
    }
    block.finish(&mut out);
    out
}

impl Block {
    fn line(&mut self, line: &str, number: usize, out: &mut HttpFile) {
        let t = line.trim();
        match self.state {
            State::Before => self.before(t, number, out),
            State::RequestLine if t.starts_with('?') || t.starts_with('&') => {
                self.req.url.push_str(t);
            }
            State::RequestLine | State::Headers => {
                self.state = State::Headers;
                if t.is_empty() {
                    self.state = State::Body;
                } else if t.starts_with('#') || t.starts_with("//") {
                } else if let Some((name, value)) = t.split_once(':') {
                    self.req
                        .headers
                        .push((name.trim().to_string(), value.trim().to_string()));
                } else {
                    self.req.notes.push(format!("line {number} not read: {t}"));
                }
            }
            State::Body => self.body_line(line, t),
        }
    }

    fn before(&mut self, t: &str, number: usize, out: &mut HttpFile) {
        if t.is_empty() {
            return;
        }
        let comment = t
            .strip_prefix("//")
            .or_else(|| t.strip_prefix('#'))
            .map(str::trim);
        if let Some(c) = comment {
            if let Some(name) = c.strip_prefix("@name") {
                let name = name.trim_start_matches([' ', '=']).trim();
                if !name.is_empty() {
                    self.req.name = Some(name.to_string());
                }
            } else if c.starts_with('@') {
                self.req.notes.push(format!("directive {c}: not imported"));
            }
            return;
        }
        if let Some(v) = t.strip_prefix('@')
            && let Some((name, value)) = v.split_once('=')
        {
            out.vars
                .push((name.trim().to_string(), value.trim().to_string(), number));
            return;
        }
        if let Some(rest) = t.strip_prefix("< {%") {
            self.open_script("pre-request", rest);
            return;
        }
        let mut words = t.split_whitespace();
        let first = words.next().unwrap_or_default();
        let (method, url) = if METHODS.contains(&first) && t.len() > first.len() {
            (first, t[first.len()..].trim())
        } else {
            ("GET", t)
        };
        let url = match url.rsplit_once(' ') {
            Some((u, v)) if v.starts_with("HTTP/") => u.trim(),
            _ => url,
        };
        self.req.method = method.to_string();
        self.req.url = url.to_string();
        self.req.line = number;
        self.state = State::RequestLine;
    }

    fn body_line(&mut self, line: &str, t: &str) {
        if let Some(rest) = t.strip_prefix("> {%") {
            self.open_script("response handler", rest);
        } else if let Some(path) = t.strip_prefix("> ") {
            self.req
                .scripts
                .push(("response handler", format!("file {}", path.trim())));
        } else if t.starts_with("<> ") {
            // A reference to an earlier response, for the editor's diff view.
        } else {
            self.body.push(line.to_string());
        }
    }

    fn open_script(&mut self, kind: &'static str, rest: &str) {
        if let Some(end) = rest.find("%}") {
            self.req
                .scripts
                .push((kind, rest[..end].trim().to_string()));
        } else {
            self.script = Some((kind, rest.trim().to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_names_variables_and_scripts() {
        let f = parse(
            "@host = https://x.test\n\n### List users\nGET {{host}}/users\n    ?page=2\n    &size=10\nAccept: application/json\n\n###\n# @name create\nPOST {{host}}/users HTTP/1.1\nContent-Type: application/json\n\n{\"a\": 1}\n\n> {%\n  client.global.set(\"id\", response.body.id);\n%}\n\n### \nhttps://x.test/ping\n",
        );
        assert_eq!(f.vars, vec![("host".into(), "https://x.test".into(), 1)]);
        assert_eq!(f.requests.len(), 3);
        let r = &f.requests[0];
        assert_eq!(r.name.as_deref(), Some("List users"));
        assert_eq!(r.url, "{{host}}/users?page=2&size=10");
        assert_eq!(
            r.headers,
            vec![("Accept".into(), "application/json".into())]
        );
        assert_eq!(r.body, None);
        let r = &f.requests[1];
        assert_eq!(
            (r.method.as_str(), r.name.as_deref()),
            ("POST", Some("create"))
        );
        assert_eq!(r.url, "{{host}}/users");
        assert_eq!(r.body, Some(vec!["{\"a\": 1}".to_string()]));
        assert_eq!(r.scripts.len(), 1);
        assert!(r.scripts[0].1.contains("client.global.set"));
        let r = &f.requests[2];
        assert_eq!(
            (r.method.as_str(), r.url.as_str(), r.line),
            ("GET", "https://x.test/ping", 21)
        );
    }
}
