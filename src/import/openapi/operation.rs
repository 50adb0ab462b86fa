//! One operation as a request file: its parameters as template variables (or
//! comments), its body, what to expect of its response, its auth, and where the file
//! goes (`requests/<tag>/<operationId>.yaml`).

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::body::request_body;
use super::document::resolve;
use super::paging::paginate;
use super::responses::{Schemas, expect};
use crate::import::mirror::{Literal, LiteralValue, RequestOut};
use crate::import::plan::yaml_file;
use crate::import::text::{ident, literal, plain_text, snake, var_template};

/// What one operation is imported with.
pub(super) struct Context<'a> {
    pub(super) doc: &'a Value,
    pub(super) global_security: Option<&'a Value>,
    /// The JSON Pointer to the operation in `doc` (empty when unknown).
    pub(super) op_ptr: &'a str,
    /// The name of the document's copy under `openapi/`.
    pub(super) document: &'a str,
    pub(super) schemas: &'a std::cell::RefCell<Schemas>,
}

/// One operation's request file: its path under the output folder and its text.
pub(super) fn operation(
    ctx: &Context,
    path: &str,
    method: &str,
    item: &Map<String, Value>,
    op: &Value,
) -> Result<(PathBuf, String), String> {
    let Some(opm) = op.as_object() else {
        return Err("not an operation object".to_string());
    };
    let mut comments = Vec::new();
    let mut req = RequestOut {
        method: method.to_ascii_uppercase(),
        description: description(opm),
        ..RequestOut::default()
    };
    if opm.get("deprecated").and_then(Value::as_bool) == Some(true) {
        comments.push("deprecated in the OpenAPI document".to_string());
    }
    let params = parameters(ctx.doc, item, opm);
    let path_vars = apply_parameters(ctx.doc, &params, &mut req, &mut comments);
    req.url = url_template(path, &path_vars);
    let mut optional = Vec::new();
    match opm.get("requestBody") {
        // GET, HEAD and DELETE carry no body, whatever the document says.
        Some(_) if matches!(method, "get" | "head" | "delete") => comments.push(format!(
            "the document gives {} a request body; it is not sent",
            method.to_ascii_uppercase()
        )),
        Some(body) => {
            optional = apply_body(ctx.doc, resolve(ctx.doc, body, 0), &mut req, &mut comments)
        }
        None => {}
    }
    let rel = file_path(opm, method, path);
    req.expect = expect(ctx, op, &rel, &mut comments);
    let query: Vec<&str> = params
        .keys()
        .filter(|(_, place)| place == "query")
        .map(|(name, _)| name.as_str())
        .collect();
    req.paginate = paginate(ctx.doc, op, &query);
    req.query_style = query_style(&params);
    // `security: []` on the operation (or globally, with none of its own): no
    // credentials.
    let security = opm.get("security").or(ctx.global_security);
    if security
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        req.auth = Some("none");
    }
    let text = yaml_file(&comments, &req).map_err(|e| e.to_string())?;
    Ok((rel, under_body(text, &optional)))
}

/// The operation's `summary`, else its `description`, on one line.
fn description(opm: &Map<String, Value>) -> Option<String> {
    opm.get("summary")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .or_else(|| opm.get("description").and_then(Value::as_str))
        .map(|s| plain_text(s, 200))
        .filter(|s| !s.is_empty())
}

/// Path-level parameters, overridden by the operation's own (same name and `in`),
/// by `(name, in)`.
fn parameters<'a>(
    doc: &'a Value,
    item: &'a Map<String, Value>,
    opm: &'a Map<String, Value>,
) -> IndexMap<(String, String), &'a Value> {
    let mut params: IndexMap<(String, String), &Value> = IndexMap::new();
    for list in [item.get("parameters"), opm.get("parameters")]
        .into_iter()
        .flatten()
    {
        for p in list.as_array().map(Vec::as_slice).unwrap_or_default() {
            let p = resolve(doc, p, 0);
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            let place = p.get("in").and_then(Value::as_str).unwrap_or_default();
            if !name.is_empty() {
                params.insert((name.to_string(), place.to_string()), p);
            }
        }
    }
    params
}

/// Required query and header parameters as template variables in `req`, optional
/// ones (and cookies) as comments. Returns the path parameters' variable names.
fn apply_parameters(
    doc: &Value,
    params: &IndexMap<(String, String), &Value>,
    req: &mut RequestOut,
    comments: &mut Vec<String>,
) -> IndexMap<String, String> {
    let mut path_vars: IndexMap<String, String> = IndexMap::new();
    for ((name, place), p) in params {
        let required = p.get("required").and_then(Value::as_bool) == Some(true);
        let kind = schema_type(doc, p.get("schema"));
        let var = ident(name);
        match place.as_str() {
            "path" => {
                path_vars.insert(name.clone(), var);
            }
            "query" if required => {
                req.query
                    .insert(name.clone(), LiteralValue::from(var_template(&var)));
                if kind.as_deref() == Some("array")
                    && p.get("explode").and_then(Value::as_bool) == Some(false)
                {
                    comments.push(format!(
                        "query parameter `{name}` is a list sent comma-separated: give it as one value (`a,b`)"
                    ));
                }
            }
            "header" if required => {
                if crate::http::header::name_problem(name).is_some() {
                    comments.push(format!(
                        "header parameter `{name}`: not a valid header name"
                    ));
                } else if !is_managed_header(name) {
                    req.headers.insert(name.clone(), var_template(&var));
                }
            }
            "query" | "header" | "cookie" => comments.push(format!(
                "optional {place} parameter: {name}{}{}",
                kind.map(|k| format!(" ({k})")).unwrap_or_default(),
                p.get("description")
                    .and_then(Value::as_str)
                    .map(|d| format!(": {}", plain_text(d, 120)))
                    .unwrap_or_default()
            )),
            _ => {}
        }
        if place == "cookie" && required {
            comments.push(format!(
                "required cookie `{name}`: send it in a Cookie header"
            ));
        }
    }
    path_vars
}

/// The (resolved) `requestBody` as `req`'s body, `Content-Type` and `form_style`,
/// or a comment saying why it was not imported. Returns the commented lines of
/// its optional fields, to go under the body.
fn apply_body(
    doc: &Value,
    body: &Value,
    req: &mut RequestOut,
    comments: &mut Vec<String>,
) -> Vec<String> {
    match request_body(doc, body) {
        Ok(Some(parts)) => {
            if let Some(ct) = parts.content_type {
                req.headers.insert("Content-Type".to_string(), literal(&ct));
            }
            req.body = Some(parts.body);
            req.form_style = parts.form_style;
            for p in parts.placeholders {
                comments.push(format!(
                    "required body field {p}: a placeholder, set it before sending"
                ));
            }
            optional_lines(&parts.optional)
        }
        Ok(None) => Vec::new(),
        Err(why) => {
            comments.push(format!("request body not imported: {why}"));
            Vec::new()
        }
    }
}

/// The optional body fields as commented lines that become the body's own when
/// the `#` is deleted (`#    name: value`); a long value is shown empty.
fn optional_lines(optional: &[(String, Value)]) -> Vec<String> {
    if optional.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![
        "# optional body fields: delete the `#` of those to send (and the `{}` above, if any)"
            .to_string(),
    ];
    for (name, value) in optional {
        let key = serde_json::to_string(&literal(name)).unwrap_or_default();
        let shown = LiteralValue::of(value);
        let mut text = serde_json::to_string(shown.as_value()).unwrap_or_default();
        if text.len() > 160 {
            text = match value {
                Value::Object(_) => "{}".into(),
                Value::Array(_) => "[]".into(),
                _ => "\"\"".into(),
            };
        }
        lines.push(format!("#    {key}: {text}"));
    }
    lines
}

/// `yaml` (a request file) with `lines` put right under its `body:` block.
fn under_body(yaml: String, lines: &[String]) -> String {
    if lines.is_empty() {
        return yaml;
    }
    let Some(start) = yaml.find("\nbody:") else {
        return yaml;
    };
    let after = start + "\nbody:".len();
    let end = yaml[after..]
        .match_indices('\n')
        .map(|(i, _)| after + i + 1)
        .find(|&i| {
            yaml[i..]
                .chars()
                .next()
                .is_some_and(|c| c != ' ' && c != '-')
        })
        .unwrap_or(yaml.len());
    let mut out = yaml[..end].to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&yaml[end..]);
    out
}

/// `requests/<first tag>/<operationId>.yaml` in snake_case; without a tag, the
/// path's first segment that is not a version (`/v1/customers/{id}` → `customers`)
/// names the folder; without an `operationId`, the method and path name the file.
fn file_path(opm: &Map<String, Value>, method: &str, path: &str) -> PathBuf {
    let tag = opm
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        .map(snake)
        .filter(|s| !s.is_empty())
        .or_else(|| path_folder(path));
    let name = opm
        .get("operationId")
        .and_then(Value::as_str)
        .map(snake)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            let s = snake(&format!("{method} {path}"));
            if s.is_empty() { method.to_string() } else { s }
        });
    let mut rel = PathBuf::from("requests");
    if let Some(t) = tag {
        rel.push(t);
    }
    rel.push(format!("{name}.yaml"));
    rel
}

/// The folder for an untagged operation: the path's first literal segment that is
/// not a version (`v1`, `2010-04-01`, `api`).
fn path_folder(path: &str) -> Option<String> {
    path.split('/')
        .filter(|seg| !seg.is_empty() && !seg.contains('{'))
        .map(snake)
        .find(|seg| {
            let version = seg.strip_prefix('v').is_some_and(|n| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '_')
            });
            !seg.is_empty()
                && !version
                && seg != "api"
                && !seg.starts_with(|c: char| c.is_ascii_digit())
        })
}

/// `query_style: brackets` when a query parameter is a `deepObject` (`a[b]=1`);
/// lists are repeated by default (`explode`, OpenAPI's default for queries).
fn query_style(params: &IndexMap<(String, String), &Value>) -> Option<&'static str> {
    params
        .iter()
        .any(|((_, place), p)| {
            place == "query" && p.get("style").and_then(Value::as_str) == Some("deepObject")
        })
        .then_some("brackets")
}

/// Headers runner sets itself (a body's type) or that the profile's auth owns.
fn is_managed_header(name: &str) -> bool {
    ["content-type", "content-length", "authorization", "accept"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// The path with `{name}` as `{{ name }}` and anything else kept literal.
fn url_template(path: &str, vars: &IndexMap<String, String>) -> Literal {
    let mut out = Literal::default();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let (before, after) = rest.split_at(start);
        out.push_text(before);
        match after.find('}') {
            Some(end) => {
                let name = &after[1..end];
                let var = vars.get(name).cloned().unwrap_or_else(|| ident(name));
                out.push(&var_template(&var));
                rest = &after[end + 1..];
            }
            None => {
                out.push_text(after);
                rest = "";
            }
        }
    }
    out.push_text(rest);
    if out.is_empty() { literal("/") } else { out }
}

/// The first `type` of a schema, for comments.
fn schema_type(doc: &Value, schema: Option<&Value>) -> Option<String> {
    let s = resolve(doc, schema?, 0);
    match s.get("type")? {
        Value::String(t) => Some(t.clone()),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_templates() {
        let mut vars = IndexMap::new();
        vars.insert("petId".to_string(), "pet_id".to_string());
        let t = |p: &str, v: &IndexMap<String, String>| url_template(p, v).as_str().to_string();
        assert_eq!(t("/pets/{petId}", &vars), "/pets/{{ pet_id }}");
        assert_eq!(t("/a/{x-y}/b", &IndexMap::new()), "/a/{{ x_y }}/b");
        assert_eq!(t("/a/{open", &IndexMap::new()), "/a/{open");
        assert_eq!(t("/a/{{x}}/{%", &IndexMap::new()), "/a/{{ x }}}/{{ '{' }}%");
        assert_eq!(t("", &IndexMap::new()), "/");
    }

    #[test]
    fn optional_fields_are_commented_under_the_body_and_uncomment_to_inert_yaml() {
        let doc = serde_json::json!({});
        let body = serde_json::json!({"content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "required": ["To"], "properties": {
                "To": {"type": "string"},
                "MediaUrl": {"type": "array", "items": {"type": "string", "example": "{{ env('HOME') }}"}}
            }}
        }}});
        let mut req = RequestOut {
            method: "POST".into(),
            url: literal("/m"),
            ..RequestOut::default()
        };
        let mut comments = Vec::new();
        let optional = apply_body(&doc, &body, &mut req, &mut comments);
        assert_eq!(
            comments,
            ["required body field `To` (string): a placeholder, set it before sending"]
        );
        assert_eq!(req.form_style, Some("repeat"));
        let text = under_body(yaml_file(&[], &req).unwrap(), &optional);
        assert!(
            text.ends_with("  form:\n    To: string\n# optional body fields: delete the `#` of those to send (and the `{}` above, if any)\n#    \"MediaUrl\": [\"{{ '{' }}{ env('HOME') }}\"]\nform_style: repeat\n"),
            "{text}"
        );
        let uncommented = text.replace("\n#    ", "\n    ");
        let v: serde_json::Value = serde_saphyr::from_str(&uncommented).unwrap();
        assert_eq!(
            v["body"]["form"]["MediaUrl"],
            serde_json::json!(["{{ '{' }}{ env('HOME') }}"])
        );
    }

    #[test]
    fn untagged_operations_go_in_a_folder_named_by_their_path() {
        assert_eq!(
            path_folder("/v1/customers/{id}").as_deref(),
            Some("customers")
        );
        assert_eq!(
            path_folder("/2010-04-01/Accounts/{Sid}/Calls.json").as_deref(),
            Some("accounts")
        );
        assert_eq!(path_folder("/api/v2.1/{x}").as_deref(), None);
        assert_eq!(path_folder("/").as_deref(), None);
    }
}
