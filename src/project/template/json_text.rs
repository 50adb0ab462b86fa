//! A JSON body's template compiled once into its text: the literal JSON between the
//! strings that hold markup, and those strings. Rendering writes the body's compact
//! text straight from it, the bytes `serde_json::to_vec` would give for the tree
//! [`Renderer::render_value`] builds. A bulk run renders its body once per row; the
//! tree (a map whose keys are hashed with SipHash, each key and value allocated) was
//! built, serialised and dropped for every row: B4 spent ~9 K instructions per row
//! there.

use std::ops::Range;
use std::path::Path;

use serde_json::Value as Json;

use super::{Origin, Renderer, TemplateError, Vars, has_markup, lookup_path, single_expression};

/// A JSON value with templates in its strings, compiled (see the module's text).
#[derive(Debug)]
pub struct JsonTemplate {
    pieces: Vec<Piece>,
}

#[derive(Debug)]
enum Piece {
    /// JSON text written as it is.
    Text(String),
    /// A string that is exactly one `{{ expression }}`: its value, whatever its type.
    /// `plain`: the expression names a variable (or a member of one), looked up
    /// without MiniJinja, as `Renderer::plain_lookup` would, but checked here once.
    Expression {
        source: String,
        expr: Range<usize>,
        plain: bool,
    },
    /// Any other string with markup: rendered to a JSON string.
    Template(String),
}

impl JsonTemplate {
    /// `value` compiled; `None` when an object key holds markup (two keys may then
    /// render the same, and only the tree's map keeps one of them).
    pub fn compile(renderer: &Renderer, value: &Json) -> Option<JsonTemplate> {
        let mut compiler = Compiler {
            renderer,
            pieces: Vec::new(),
            text: String::new(),
        };
        compiler.value(value)?;
        if !compiler.text.is_empty() {
            compiler.pieces.push(Piece::Text(compiler.text));
        }
        Some(JsonTemplate {
            pieces: compiler.pieces,
        })
    }
}

struct Compiler<'r> {
    renderer: &'r Renderer,
    pieces: Vec<Piece>,
    /// Literal text not yet in `pieces`.
    text: String,
}

impl Compiler<'_> {
    fn value(&mut self, value: &Json) -> Option<()> {
        match value {
            Json::String(s) if has_markup(s) => {
                let piece = match single_expression(s) {
                    Some(expr) => {
                        // `expr` is a slice of `s`: its place in it.
                        let start = expr.as_ptr() as usize - s.as_ptr() as usize;
                        Piece::Expression {
                            source: s.clone(),
                            expr: start..start + expr.len(),
                            plain: self.renderer.is_plain_path(expr),
                        }
                    }
                    None => Piece::Template(s.clone()),
                };
                if !self.text.is_empty() {
                    self.pieces
                        .push(Piece::Text(std::mem::take(&mut self.text)));
                }
                self.pieces.push(piece);
            }
            Json::Array(items) => {
                self.text.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.text.push(',');
                    }
                    self.value(item)?;
                }
                self.text.push(']');
            }
            Json::Object(map) => {
                self.text.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if has_markup(key) {
                        return None;
                    }
                    if i > 0 {
                        self.text.push(',');
                    }
                    self.text.push_str(&Json::from(key.as_str()).to_string());
                    self.text.push(':');
                    self.value(item)?;
                }
                self.text.push('}');
            }
            literal => self.text.push_str(&literal.to_string()),
        }
        Some(())
    }
}

impl Renderer {
    /// `template` rendered with `vars` to compact JSON text: what `render_value` of
    /// the value it was compiled from, serialised, would be, with the same errors.
    pub fn render_json_text(
        &self,
        template: &JsonTemplate,
        vars: &Vars,
        dir: &Path,
        origin: Origin<'_>,
    ) -> Result<Vec<u8>, TemplateError> {
        let mut out = Vec::with_capacity(128);
        for piece in &template.pieces {
            match piece {
                Piece::Text(text) => out.extend_from_slice(text.as_bytes()),
                Piece::Expression {
                    source,
                    expr,
                    plain,
                } => {
                    let expr = &source[expr.clone()];
                    let value = match plain.then(|| lookup_path(expr, vars)).flatten() {
                        Some(value) => std::borrow::Cow::Borrowed(value),
                        // MiniJinja's value, or its error (a variable that is not set).
                        None => self.eval_cow(expr, source, vars, dir, origin)?,
                    };
                    write_json(&mut out, &*value, source, origin)?;
                }
                Piece::Template(source) => {
                    let text = self.render_str(source, vars, dir, origin)?;
                    write_json(&mut out, &text, source, origin)?;
                }
            }
        }
        Ok(out)
    }
}

/// `value` as compact JSON at the end of `out` (writing to memory fails only for a
/// value JSON cannot hold, which a [`Json`] or a string never is).
fn write_json(
    out: &mut Vec<u8>,
    value: &(impl serde::Serialize + ?Sized),
    source: &str,
    origin: Origin<'_>,
) -> Result<(), TemplateError> {
    serde_json::to_writer(out, value).map_err(|e| TemplateError {
        place: super::locate(origin, source, 1),
        message: format!("template value cannot be used as data: {e}"),
        secret_command: false,
    })
}
