//! The `.bru` markup: top-level blocks, each a dictionary (`headers { k: v }`), a
//! text block (`body:json { … }`, scripts, docs) or a list (`vars:secret [ a, b ]`).
//! A pair starting with `~` is disabled; a value `'''` opens a multi-line value
//! that a line `'''` closes (its lines indented by four spaces); `@annotation` lines
//! before a pair are skipped. Every block ends at a `}` (or `]`) in column one.

/// One pair of a dictionary block.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub key: String,
    pub value: String,
    pub enabled: bool,
}

#[derive(Debug, PartialEq)]
pub enum Content {
    Dict(Vec<Pair>),
    Text(String),
    List(Vec<String>),
}

#[derive(Debug)]
pub struct Block {
    pub name: String,
    pub content: Content,
}

/// A problem at a line (1-based) and column.
#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Blocks whose content is text, not pairs.
fn is_text_block(name: &str) -> bool {
    (name.starts_with("body")
        && !matches!(
            name,
            "body:form-urlencoded" | "body:multipart-form" | "body:file"
        ))
        || name.starts_with("script")
        || name == "tests"
        || name == "docs"
}

/// Parses a whole `.bru` file.
pub fn parse(text: &str) -> Result<Vec<Block>, ParseError> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        let err = |message: String| ParseError {
            line: i + 1,
            column: 1,
            message,
        };
        let head = line.trim_end();
        let (name, open) = if let Some(n) = head.strip_suffix('{') {
            (n.trim(), '{')
        } else if let Some(n) = head.strip_suffix('[') {
            (n.trim(), '[')
        } else if let Some((n, rest)) = head.split_once('[')
            && rest.trim_end().ends_with(']')
        {
            // `vars:secret [a, b]` on one line.
            let items = rest.trim_end().trim_end_matches(']');
            blocks.push(Block {
                name: n.trim().to_string(),
                content: Content::List(list_items(items.split(','))),
            });
            i += 1;
            continue;
        } else {
            return Err(err(format!(
                "expected a block (`name {{` or `name [`), found `{}`",
                crate::import::text::one_line(head, 60)
            )));
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(err(format!("`{}` is not a block name", name)));
        }
        let close = if open == '{' { "}" } else { "]" };
        let end = lines[i + 1..]
            .iter()
            .position(|l| l.trim_end() == close)
            .map(|p| i + 1 + p)
            .ok_or_else(|| {
                err(format!(
                    "block `{name}` is never closed (no `{close}` line)"
                ))
            })?;
        let body = &lines[i + 1..end];
        let content = if open == '[' {
            Content::List(list_items(body.iter().copied()))
        } else if is_text_block(name) {
            Content::Text(outdent(body))
        } else {
            Content::Dict(pairs(body, i + 2)?)
        };
        blocks.push(Block {
            name: name.to_string(),
            content,
        });
        i = end + 1;
    }
    Ok(blocks)
}

fn list_items<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    items
        .map(|l| l.trim().trim_end_matches(',').trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// A text block's lines without their two-space indent.
fn outdent(body: &[&str]) -> String {
    body.iter()
        .map(|l| l.strip_prefix("  ").unwrap_or(l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A dictionary block's pairs; `first` is the line number of `body[0]`.
fn pairs(body: &[&str], first: usize) -> Result<Vec<Pair>, ParseError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let raw = body[i];
        let line = raw.trim();
        let indent = raw.len() - raw.trim_start().len();
        i += 1;
        if line.is_empty() || line.starts_with('@') {
            continue;
        }
        let (enabled, line) = match line.strip_prefix('~') {
            Some(rest) => (false, rest),
            None => (true, line),
        };
        let (key, value) = if let Some(rest) = line.strip_prefix('"') {
            let close = rest.find('"').ok_or_else(|| ParseError {
                line: first + i - 1,
                column: indent + 1,
                message: "a quoted key is never closed".to_string(),
            })?;
            let after = rest[close + 1..].trim_start();
            (
                rest[..close].to_string(),
                after.strip_prefix(':').unwrap_or(after).trim(),
            )
        } else {
            match line.split_once(':') {
                Some((k, v)) => (k.trim().to_string(), v.trim()),
                None => {
                    return Err(ParseError {
                        line: first + i - 1,
                        column: indent + 1,
                        message: format!(
                            "expected `name: value`, found `{}`",
                            crate::import::text::one_line(line, 60)
                        ),
                    });
                }
            }
        };
        let value = if value == "'''" || value.starts_with("''' ") {
            let start = i;
            let end = body[i..]
                .iter()
                .position(|l| l.trim().starts_with("'''"))
                .map(|p| i + p)
                .ok_or_else(|| ParseError {
                    line: first + start - 1,
                    column: indent + 1,
                    message: format!("the multi-line value of `{key}` is never closed (`'''`)"),
                })?;
            let text: Vec<&str> = body[start..end]
                .iter()
                .map(|l| l.get(4..).unwrap_or(l.trim_start()))
                .collect();
            i = end + 1;
            text.join("\n")
        } else {
            value.to_string()
        };
        out.push(Pair {
            key,
            value,
            enabled,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_pairs_text_and_lists() {
        let src = "meta {\n  name: Create user\n  seq: 2\n}\n\npost {\n  url: {{base}}/users?a=1\n  body: json\n}\n\nheaders {\n  ~X-Off: 1\n  Accept: a:b\n  @description('x')\n  \"odd key\": v\n  note: '''\n    line one\n      two\n  '''\n}\n\nbody:json {\n  {\n    \"a\": 1\n  }\n}\n\nvars:secret [\n  token,\n  password\n]\nvars:x [a, b]\n";
        let b = parse(src).unwrap();
        assert_eq!(b.len(), 6);
        assert_eq!(b[0].name, "meta");
        let Content::Dict(h) = &b[2].content else {
            panic!()
        };
        assert_eq!(
            h.iter()
                .map(|p| (p.key.as_str(), p.value.as_str(), p.enabled))
                .collect::<Vec<_>>(),
            vec![
                ("X-Off", "1", false),
                ("Accept", "a:b", true),
                ("odd key", "v", true),
                ("note", "line one\n  two", true)
            ]
        );
        assert_eq!(b[3].content, Content::Text("{\n  \"a\": 1\n}".into()));
        assert_eq!(
            b[4].content,
            Content::List(vec!["token".into(), "password".into()])
        );
        assert_eq!(b[5].content, Content::List(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("meta {\n  name: x\n\nget {\n  url: y\n}\n").unwrap_err();
        assert_eq!((e.line, e.column), (4, 1));
        let e = parse("headers {\n  a: b\n").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (1, "block `headers` is never closed (no `}` line)")
        );
        let e = parse("oops\n").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
