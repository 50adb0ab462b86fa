//! Templates: MiniJinja, strict about undefined values, no auto-escaping (SPEC §5).
//!
//! Values come from YAML: a string that is exactly one `{{ expression }}` keeps the
//! expression's type (a number stays a number in a JSON body); any other string is
//! rendered to a string. Errors name the file and the line of the YAML value.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde_json::Value as Json;

use crate::project::place::Place;

mod json_text;
mod scope;
mod variables;

pub use json_text::JsonTemplate;
pub use scope::Vars;

/// How much work one template may do before it is stopped (loops, huge ranges).
const FUEL: u64 = 2_000_000;

/// The variable a single expression's value is captured in.
const RESULT_VAR: &str = "__runner_value__";

/// The name of the hidden variable holding the directory `file()` resolves against.
const DIR_VAR: &str = "__runner_dir__";

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub place: Place,
    pub message: String,
    /// A `secret()` command failed: an authentication failure, not bad input.
    pub secret_command: bool,
}

/// Where a template string came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub path: &'a Path,
    /// The whole file, to find the line of a value nested inside the spanned node.
    pub source: &'a str,
    pub line: u32,
    pub column: u32,
}

/// The one MiniJinja environment of a run.
pub struct Renderer {
    env: Environment<'static>,
    /// The names of the environment's globals and functions, which a variable of
    /// the same name does not reach through [`Renderer::plain_lookup`].
    globals: Vec<String>,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl Renderer {
    /// One renderer for the whole process, for syntax checks while loading files
    /// (`runner check` loads thousands).
    pub fn shared() -> &'static Renderer {
        static SHARED: std::sync::OnceLock<Renderer> = std::sync::OnceLock::new();
        SHARED.get_or_init(Renderer::new)
    }

    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_fuel(Some(FUEL));
        // A template's name is its source: the environment compiles each distinct
        // template string once and keeps it, so a bulk run renders, not parses, per row.
        env.set_loader(|source| Ok(Some(source.to_string())));
        env.set_recursion_limit(64);
        env.add_function("env", env_fn);
        env.add_function("file", file_fn);
        env.add_function("secret", secret_fn);
        env.add_function("uuid", || uuid::Uuid::new_v4().to_string());
        env.add_function("now", now_fn);
        env.add_function("timestamp", || crate::clock::now_unix().to_string());
        env.add_function("random_int", random_int_fn);
        let globals = env.globals().map(|(name, _)| name.to_string()).collect();
        Renderer { env, globals }
    }

    /// Renders `source` to a string.
    pub fn render_str(
        &self,
        source: &str,
        vars: &Vars,
        dir: &Path,
        origin: Origin<'_>,
    ) -> Result<String, TemplateError> {
        if !has_markup(source) {
            return Ok(source.to_string());
        }
        if let Some(expr) = single_expression(source) {
            let v = self.eval(expr, source, vars, dir, origin)?;
            return Ok(match v {
                Json::String(s) => s,
                Json::Null => String::new(),
                other => other.to_string(),
            });
        }
        let tmpl = self
            .env
            .get_template(source)
            .map_err(|e| self.error(e, source, vars, origin, None))?;
        let rendered = tmpl
            .render(vars.context(dir))
            .map_err(|e| self.error(e, source, vars, origin, Some(&tmpl)));
        warn_unset(origin, source);
        rendered
    }

    /// [`Renderer::render_str`], borrowing `source` when it holds no markup.
    pub fn render_cow<'s>(
        &self,
        source: &'s str,
        vars: &Vars,
        dir: &Path,
        origin: Origin<'_>,
    ) -> Result<std::borrow::Cow<'s, str>, TemplateError> {
        if !has_markup(source) {
            return Ok(std::borrow::Cow::Borrowed(source));
        }
        self.render_str(source, vars, dir, origin)
            .map(std::borrow::Cow::Owned)
    }

    /// Renders every string inside `value`; single-expression strings keep their type.
    pub fn render_value(
        &self,
        value: &Json,
        vars: &Vars,
        dir: &Path,
        origin: Origin<'_>,
    ) -> Result<Json, TemplateError> {
        Ok(match value {
            Json::String(s) => {
                if let Some(expr) = single_expression(s) {
                    self.eval(expr, s, vars, dir, origin)?
                } else {
                    Json::String(self.render_str(s, vars, dir, origin)?)
                }
            }
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|v| self.render_value(v, vars, dir, origin))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    let key = self.render_str(k, vars, dir, origin)?;
                    out.insert(key, self.render_value(v, vars, dir, origin)?);
                }
                Json::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Checks the syntax of every string inside `value` without rendering.
    pub fn check_value(&self, value: &Json, origin: Origin<'_>) -> Result<(), TemplateError> {
        match value {
            Json::String(s) => self.check_str(s, origin),
            Json::Array(items) => items.iter().try_for_each(|v| self.check_value(v, origin)),
            Json::Object(map) => map.iter().try_for_each(|(k, v)| {
                self.check_str(k, origin)?;
                self.check_value(v, origin)
            }),
            _ => Ok(()),
        }
    }

    /// Checks the syntax of one template string.
    pub fn check_str(&self, source: &str, origin: Origin<'_>) -> Result<(), TemplateError> {
        if !has_markup(source) {
            return Ok(());
        }
        let vars = Vars::new();
        match single_expression(source) {
            Some(expr) => self
                .env
                .compile_expression(expr)
                .map(|_| ())
                .map_err(|e| self.error(e, source, &vars, origin, None)),
            None => self
                .env
                .template_from_str(source)
                .map(|_| ())
                .map_err(|e| self.error(e, source, &vars, origin, None)),
        }
    }

    fn eval(
        &self,
        expr: &str,
        source: &str,
        vars: &Vars,
        dir: &Path,
        origin: Origin<'_>,
    ) -> Result<Json, TemplateError> {
        self.eval_cow(expr, source, vars, dir, origin)
            .map(std::borrow::Cow::into_owned)
    }

    /// [`Renderer::eval`], borrowing a variable's value when the expression names one.
    fn eval_cow<'v>(
        &self,
        expr: &str,
        source: &str,
        vars: &'v Vars,
        dir: &Path,
        origin: Origin<'_>,
    ) -> Result<std::borrow::Cow<'v, Json>, TemplateError> {
        if let Some(value) = self.plain_lookup(expr, vars) {
            return Ok(std::borrow::Cow::Borrowed(value));
        }
        // `{% set %}` keeps the expression's type; the wrapper is cached like any template.
        let wrapper = format!("{{% set {RESULT_VAR} = ({expr}) %}}");
        let tmpl = self
            .env
            .get_template(&wrapper)
            .map_err(|e| self.error(e, source, vars, origin, None))?;
        let names = || {
            let mut n = tmpl.undeclared_variables(false);
            n.remove(RESULT_VAR);
            n
        };
        let captured = tmpl.render_captured(vars.context(dir));
        warn_unset(origin, source);
        let captured =
            captured.map_err(|e| self.error_with_names(e, source, vars, origin, names()))?;
        let value = captured
            .state()
            .lookup(RESULT_VAR)
            .unwrap_or(Value::UNDEFINED);
        if value.is_undefined() {
            let err = minijinja::Error::from(ErrorKind::UndefinedError);
            return Err(self.error_with_names(err, source, vars, origin, names()));
        }
        serde_json::to_value(&value)
            .map(std::borrow::Cow::Owned)
            .map_err(|e| TemplateError {
                place: locate(origin, source, 1),
                message: format!("template value cannot be used as data: {e}"),
                secret_command: false,
            })
    }

    /// The value of `name` or `name.member…` when it names a variable that is set:
    /// what MiniJinja would give, without running it (a bulk run renders `{{ column }}`
    /// for every row). Anything else, a missing variable included (for its error),
    /// goes through MiniJinja.
    fn plain_lookup<'v>(&self, expr: &str, vars: &'v Vars) -> Option<&'v Json> {
        if !self.is_plain_path(expr) {
            return None;
        }
        lookup_path(expr, vars)
    }

    /// Whether `expr` is `name` or `name.member…`, its name no literal, function or
    /// global: what [`Renderer::plain_lookup`] reads itself.
    fn is_plain_path(&self, expr: &str) -> bool {
        let mut parts = expr.split('.');
        let Some(first) = parts.next() else {
            return false;
        };
        let reserved = matches!(first, "true" | "false" | "none" | "True" | "False" | "None")
            || is_function(first)
            || self.globals.iter().any(|g| g == first);
        is_identifier(first) && !reserved && parts.all(is_identifier)
    }

    fn error(
        &self,
        e: minijinja::Error,
        source: &str,
        vars: &Vars,
        origin: Origin<'_>,
        tmpl: Option<&minijinja::Template<'_, '_>>,
    ) -> TemplateError {
        let names = tmpl
            .map(|t| t.undeclared_variables(false))
            .unwrap_or_default();
        self.error_with_names(e, source, vars, origin, names)
    }

    fn error_with_names(
        &self,
        e: minijinja::Error,
        source: &str,
        vars: &Vars,
        origin: Origin<'_>,
        names: std::collections::HashSet<String>,
    ) -> TemplateError {
        let line_in_template = e.line().unwrap_or(1).max(1) as u32;
        let place = locate(origin, source, line_in_template);
        let message = match e.kind() {
            ErrorKind::UndefinedError => {
                let mut missing: Vec<String> = names
                    .into_iter()
                    .filter(|n| !vars.contains(n) && self.env.globals().all(|(g, _)| g != n))
                    .filter(|n| !is_function(n))
                    .collect();
                missing.sort();
                if missing.is_empty() {
                    match e.detail() {
                        Some(d) => format!("undefined value in template: {d}"),
                        None => "undefined value in template".to_string(),
                    }
                } else {
                    let list = missing
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!(
                        "undefined variable {list} (set it in the profile's vars, --vars, or --var {}=...)",
                        missing[0]
                    )
                }
            }
            ErrorKind::OutOfFuel => "template does too much work (a runaway loop?)".to_string(),
            // Our functions' own errors (env(), file(), secret()) say everything themselves.
            ErrorKind::InvalidOperation if e.detail().is_some() => {
                e.detail().unwrap_or_default().to_string()
            }
            _ => match e.detail() {
                Some(d) => format!("template error: {}: {d}", e.kind()),
                None => format!("template error: {}", e.kind()),
            },
        };
        let secret_command =
            std::error::Error::source(&e).is_some_and(|s| s.is::<crate::user::CommandFailed>());
        TemplateError {
            place,
            message,
            secret_command,
        }
    }
}

/// The value at `path` (a [`Renderer::is_plain_path`]) in `vars`, if it is set.
fn lookup_path<'v>(path: &str, vars: &'v Vars) -> Option<&'v Json> {
    let mut parts = path.split('.');
    let mut value = vars.get(parts.next()?)?;
    for member in parts {
        value = value.as_object()?.get(member)?;
    }
    Some(value)
}

fn is_function(name: &str) -> bool {
    matches!(
        name,
        "env"
            | "file"
            | "secret"
            | "uuid"
            | "now"
            | "timestamp"
            | "random_int"
            | "range"
            | "dict"
            | "namespace"
    )
}

/// Whether `s` holds template markup: `{{`, `{%` or `{#`.
pub fn has_markup(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr_iter(b'{', b).any(|i| matches!(b.get(i + 1), Some(b'{' | b'%' | b'#')))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The inner expression of a string that is exactly `{{ expression }}`.
pub fn single_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    // Byte scans, not `str::contains`, whose searcher costs more to set up than a
    // short template takes to scan (a bulk run asks this of every value of every row).
    let b = inner.as_bytes();
    let closes = memchr::memchr_iter(b'}', b).any(|i| b.get(i + 1) == Some(&b'}'));
    if closes || has_markup(inner) {
        return None;
    }
    let inner = inner.trim_start_matches('-').trim_end_matches('-');
    Some(inner.trim())
}

/// The place of line `line_in_template` of `source`, found in the file from the
/// spanned node onwards; the node's own place when the text cannot be found.
fn locate(origin: Origin<'_>, source: &str, line_in_template: u32) -> Place {
    let wanted = source
        .lines()
        .nth(line_in_template.saturating_sub(1) as usize)
        .unwrap_or(source)
        .trim();
    let start = origin.line.max(1) as usize;
    if !wanted.is_empty() {
        for (i, line) in origin.source.lines().enumerate().skip(start - 1) {
            if let Some(col) = line.find(wanted) {
                let column = line[..col].chars().count() as u32 + 1;
                return Place::new(origin.path, i as u32 + 1, column);
            }
        }
    }
    Place::new(origin.path, origin.line, origin.column)
}

/// The environment variables that `source` reads with `env('NAME')` (no default) and
/// that are not set: what rendering it would stop at. A listing (`runner profiles`)
/// names them without rendering anything (a `secret()` command is not run).
pub fn unset_env_names(source: &str) -> Vec<String> {
    static CALL: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(call) =
        CALL.get_or_init(|| regex::Regex::new(r#"env\(\s*(?:'([^']*)'|"([^"]*)")\s*\)"#).ok())
    else {
        return Vec::new();
    };
    let mut names: Vec<String> = call
        .captures_iter(source)
        .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_string()))
        .filter(|n| std::env::var_os(n).is_none())
        .collect();
    names.dedup();
    names
}

/// Set by [`show_unset_env`]: an unset `env('NAME')` renders as [`placeholder`].
static PREVIEW: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
    /// What the template being rendered left as placeholders: (why, placeholder).
    static UNSET: std::cell::RefCell<Vec<(String, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// For `--dry-run` and `--curl`, which send nothing: from now on an unset
/// `env('NAME')` without a default renders as `<unset: NAME>`, and a `secret('NAME')`
/// whose command fails as `<unset: secret NAME>`, with a warning that names it and
/// its place, instead of failing.
pub fn show_unset_env() {
    PREVIEW.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// What a preview shows for the unset variable `name`. Not a secret: it is never
/// registered with the masking point.
pub fn placeholder(name: &str) -> String {
    format!("<unset: {name}>")
}

/// In a preview, `shown` in place of a value that `why` says is missing.
fn stand_in(why: String, shown: String) -> Option<String> {
    if !PREVIEW.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    crate::secret::not_a_secret(&shown);
    UNSET.with(|u| u.borrow_mut().push((why, shown.clone())));
    Some(shown)
}

/// Warns once per missing value the template just rendered (at `origin`) left as a
/// placeholder.
fn warn_unset(origin: Origin<'_>, source: &str) {
    static WARNED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let missing = UNSET.with(|u| std::mem::take(&mut *u.borrow_mut()));
    for (why, shown) in missing {
        let Ok(mut warned) = WARNED.lock() else {
            return;
        };
        if warned.contains(&shown) {
            continue;
        }
        let place = locate(origin, source, 1);
        eprintln!("warning: {place}: {why}; the preview shows {shown} in its place");
        warned.push(shown);
    }
}

/// `secret('NAME')`; in a preview, a command that fails leaves a placeholder.
fn secret_fn(name: String) -> Result<String, minijinja::Error> {
    crate::user::template_function(name.clone()).or_else(|e| {
        let why = e.detail().unwrap_or("its command failed").to_string();
        stand_in(why, placeholder(&format!("secret {name}"))).ok_or(e)
    })
}

fn env_fn(name: String, default: Option<String>) -> Result<String, minijinja::Error> {
    match std::env::var(&name) {
        Ok(v) => Ok(v),
        Err(_) if default.is_none() => {
            let why = format!("environment variable `{name}` is not set");
            stand_in(why, placeholder(&name)).ok_or_else(|| {
                minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("environment variable `{name}` is not set (and env() has no default)"),
                )
            })
        }
        Err(_) => Ok(default.unwrap_or_default()),
    }
}

fn file_fn(state: &minijinja::State, path: String) -> Result<String, minijinja::Error> {
    let dir = state
        .lookup(DIR_VAR)
        .and_then(|v| v.as_str().map(PathBuf::from))
        .unwrap_or_default();
    let full = dir.join(&path);
    let fail = |e: String| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("file(`{}`): {e}", full.display()),
        )
    };
    let bytes = crate::project::limits::read(&full, crate::project::limits::TEMPLATE_FILE)
        .map_err(|e| fail(e.describe("the file")))?;
    String::from_utf8(bytes).map_err(|_| fail("the file is not valid UTF-8".to_string()))
}

/// `random_int(min=0, max=1000)`: an integer in `min..max`; an empty range is an
/// error rather than a silent `min`.
fn random_int_fn(min: Option<i64>, max: Option<i64>) -> Result<i64, minijinja::Error> {
    let (min, max) = (min.unwrap_or(0), max.unwrap_or(1000));
    if min >= max {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("random_int({min}, {max}): the range is empty (max must be greater than min)"),
        ));
    }
    Ok(rand::random_range(min..max))
}

fn now_fn() -> String {
    crate::clock::rfc3339(crate::clock::now_unix())
}

#[cfg(test)]
mod tests;
