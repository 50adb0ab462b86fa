//! A document that schemas point into (an OpenAPI one, or any JSON or YAML holding
//! schemas), read once and shared: each schema in it is compiled once per
//! (document, pointer), however many files name it or reach it through `$ref`.
//!
//! jsonschema compiles a `$ref`'s target into every validator that reaches it, so
//! one response schema of Stripe's or GitHub's recompiled most of the document, once
//! per file. Here each local `$ref` becomes a keyword of runner's own
//! ([`REF_KEYWORD`]) that validates with the target's validator from the shared
//! cache: compiling a schema compiles itself only, and the schemas it reaches are
//! compiled once each, eagerly (so a schema that does not compile is found when the
//! file naming it is loaded, as before).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use jsonschema::{Keyword, ValidationError, Validator};
use serde_json::{Map, Value};

/// The keyword a local `$ref` becomes; its value is the target's JSON Pointer.
pub(crate) const REF_KEYWORD: &str = "x-runner-ref";
/// Separates the parts of a [`REF_KEYWORD`] error's message: the instance path
/// below the `$ref`, the rule's pointer in the document, and the message.
const SEP: char = '\u{1}';

/// A document registered once; see the module's comment.
pub struct SharedDocument {
    inner: Arc<Inner>,
}

struct Inner {
    /// The document, its local `$ref`s rewritten as [`REF_KEYWORD`].
    document: Value,
    /// Compiled schemas by pointer, with the pointers each one's `$ref`s name.
    compiled: Mutex<HashMap<String, Entry>>,
    this: Weak<Inner>,
}

#[derive(Clone)]
struct Entry {
    validator: Result<Arc<Validator>, String>,
    refs: Vec<String>,
}

impl SharedDocument {
    /// Registers `doc` (OpenAPI 3.0's `nullable` made JSON Schema first).
    pub fn new(mut doc: Value) -> Result<SharedDocument, String> {
        if doc
            .get("openapi")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("3.0"))
        {
            super::expect_schema::nullable_to_null_type(&mut doc, 0);
        }
        rewrite_refs(&mut doc, 0);
        let inner = Arc::new_cyclic(|this| Inner {
            document: doc,
            compiled: Mutex::default(),
            this: this.clone(),
        });
        Ok(SharedDocument { inner })
    }

    /// Whether the document holds a value at `ptr`.
    pub fn has(&self, ptr: &str) -> bool {
        self.inner.document.pointer(ptr).is_some()
    }

    /// The schema at `ptr` compiled, and every schema it reaches through `$ref`
    /// (each once per document): the first that does not compile is the error.
    pub fn compile(&self, ptr: &str) -> Result<Arc<Validator>, String> {
        let root = self.inner.entry(ptr).validator?;
        let mut seen = std::collections::HashSet::from([ptr.to_string()]);
        let mut todo = vec![ptr.to_string()];
        while let Some(p) = todo.pop() {
            let entry = self.inner.entry(&p);
            if let Err(e) = entry.validator {
                return Err(format!("#{p}: {e}"));
            }
            for r in entry.refs {
                if seen.insert(r.clone()) {
                    todo.push(r);
                }
            }
        }
        Ok(root)
    }
}

impl Inner {
    /// The schema at `ptr`, compiled on first use.
    fn entry(&self, ptr: &str) -> Entry {
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = compiled.get(ptr) {
            return e.clone();
        }
        let entry = match self.document.pointer(ptr) {
            None => Entry {
                validator: Err(format!("no schema at #{ptr}")),
                refs: Vec::new(),
            },
            Some(schema) => {
                let mut refs = Vec::new();
                ref_targets(schema, &mut refs, 0);
                let this = self.this.clone();
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .with_keyword(REF_KEYWORD, move |_, value, _| ref_keyword(&this, value))
                    .build(schema)
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                Entry { validator, refs }
            }
        };
        compiled.insert(ptr.to_string(), entry.clone());
        entry
    }
}

/// The keyword for one rewritten `$ref` (`value`: its target's pointer).
fn ref_keyword<'a>(
    doc: &Weak<Inner>,
    value: &'a Value,
) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
    let target = value.as_str().unwrap_or_default().to_string();
    let exists = doc
        .upgrade()
        .is_some_and(|d| d.document.pointer(&target).is_some());
    if !exists {
        return Err(ValidationError::custom(format!(
            "$ref #{target} points at nothing in the document"
        )));
    }
    Ok(Box::new(RefTo {
        doc: doc.clone(),
        target,
    }))
}

/// A `$ref` checked with its target's shared validator.
struct RefTo {
    doc: Weak<Inner>,
    target: String,
}

impl RefTo {
    fn validator(&self) -> Result<Arc<Validator>, String> {
        match self.doc.upgrade() {
            Some(d) => d.entry(&self.target).validator,
            None => Err("the document is gone".to_string()),
        }
    }

    /// An error of the target's validator as this keyword's: the path below the
    /// `$ref` and the rule's place in the document kept in its message.
    fn wrap(&self, e: &ValidationError<'_>) -> ValidationError<'static> {
        let below = e.instance_path().to_string();
        let (below, rule, message) = match e.kind() {
            jsonschema::error::ValidationErrorKind::Custom { keyword, message }
                if keyword == REF_KEYWORD =>
            {
                let (rest, rule, message) = split(message);
                (
                    format!("{below}{rest}"),
                    rule.to_string(),
                    message.to_string(),
                )
            }
            _ => (
                below,
                format!("#{}{}", self.target, e.schema_path()),
                e.to_string(),
            ),
        };
        ValidationError::custom(format!("{below}{SEP}{rule}{SEP}{message}"))
    }
}

impl<'i> Keyword<'i> for RefTo {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        let v = self.validator().map_err(|e| {
            ValidationError::custom(format!("{SEP}#{}{SEP}does not compile: {e}", self.target))
        })?;
        match v.iter_errors(instance).next() {
            Some(e) => Err(self.wrap(&e)),
            None => Ok(()),
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        self.validator().is_ok_and(|v| v.is_valid(instance))
    }

    fn iter_errors(
        &self,
        instance: &'i Value,
    ) -> Box<dyn Iterator<Item = ValidationError<'i>> + 'i> {
        match self.validator() {
            Ok(v) => {
                let all: Vec<_> = v.iter_errors(instance).map(|e| self.wrap(&e)).collect();
                Box::new(all.into_iter())
            }
            Err(_) => Box::new(self.validate(instance).err().into_iter()),
        }
    }
}

/// A [`REF_KEYWORD`] error's message as (instance path below the `$ref`, rule,
/// message); a message of another shape is all message.
pub(crate) fn split(message: &str) -> (&str, &str, &str) {
    let mut parts = message.splitn(3, SEP);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(below), Some(rule), Some(msg)) => (below, rule, msg),
        _ => ("", "", message),
    }
}

/// Every local `$ref` (`#…`) in `v` made a [`REF_KEYWORD`] holding the decoded
/// pointer; a property named `$ref` (whose value is a schema) is left alone.
fn rewrite_refs(v: &mut Value, depth: usize) {
    if depth > 512 {
        return;
    }
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref")
                && let Some(frag) = r.strip_prefix('#')
            {
                let ptr = percent_decode(frag);
                map.remove("$ref");
                map.insert(REF_KEYWORD.to_string(), Value::String(ptr));
            }
            for child in map.values_mut() {
                rewrite_refs(child, depth + 1);
            }
        }
        Value::Array(items) => {
            for child in items {
                rewrite_refs(child, depth + 1);
            }
        }
        _ => {}
    }
}

/// The pointers of the [`REF_KEYWORD`]s inside `v`.
fn ref_targets(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 512 {
        return;
    }
    match v {
        Value::Object(map) => ref_targets_in(map, out, depth),
        Value::Array(items) => {
            for child in items {
                ref_targets(child, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn ref_targets_in(map: &Map<String, Value>, out: &mut Vec<String>, depth: usize) {
    for (k, child) in map {
        match child {
            Value::String(p) if k == REF_KEYWORD => out.push(p.clone()),
            _ => ref_targets(child, out, depth + 1),
        }
    }
}

/// `%XX` sequences decoded (a `$ref`'s fragment is a URI fragment).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_shared_document_compiles_each_pointer_once_and_refs_through_the_cache() {
        let doc = SharedDocument::new(json!({"openapi": "3.0.3", "components": {"schemas": {
            "Id": {"type": "integer", "nullable": true},
            "Page": {"type": "object", "required": ["id"], "properties": {
                "id": {"$ref": "#/components/schemas/Id"},
                "next": {"$ref": "#/components/schemas/Page"},
                "$ref": {"type": "string"}
            }},
            "a b%": {"type": "string"},
            "Odd": {"$ref": "#/components/schemas/a%20b%25"},
            "Bad": {"properties": {"x": {"$ref": "#/components/schemas/Broken"}}},
            "Broken": {"pattern": "(unclosed"}
        }}}))
        .unwrap();
        let page = doc.compile("/components/schemas/Page").unwrap();
        assert!(page.is_valid(&json!({"id": 1})));
        assert!(page.is_valid(&json!({"id": null, "next": {"id": 2}, "$ref": "x"})));
        assert!(!page.is_valid(&json!({"id": "x"})));
        assert!(!page.is_valid(&json!({"id": 1, "next": {"id": "deep"}})));
        assert!(!page.is_valid(&json!({"id": 1, "$ref": 5})));
        assert!(!page.is_valid(&json!({})));
        let deep = json!({"id": 1, "next": {"id": 2, "next": {"id": "deep"}}});
        let e = page.iter_errors(&deep).next().unwrap();
        let jsonschema::error::ValidationErrorKind::Custom { message, .. } = e.kind() else {
            panic!("{e:?}");
        };
        assert_eq!(e.instance_path().to_string(), "/next");
        assert_eq!(
            split(message),
            (
                "/next/id",
                "#/components/schemas/Id/type",
                "\"deep\" is not of types \"null\", \"integer\""
            )
        );
        let odd = doc.compile("/components/schemas/Odd").unwrap();
        assert!(odd.is_valid(&json!("x")) && !odd.is_valid(&json!(1)));
        assert!(doc.has("/components/schemas/Id") && !doc.has("/components/schemas/No"));
        assert!(doc.compile("/components/schemas/No").is_err());
        let bad = doc.compile("/components/schemas/Bad").err().unwrap();
        assert!(bad.starts_with("#/components/schemas/Broken: "), "{bad}");
    }
}
