//! What a template sees: the run's variables, and a bulk row's fields over them.

use std::path::Path;
use std::sync::Arc;

use minijinja::Value;
use serde_json::Value as Json;

/// The variables a template sees, in SPEC order (later wins).
///
/// The run's variables are shared, not copied: a clone is a reference count, and a bulk
/// row's fields lie over them ([`Vars::over`]) until something changes a variable
/// (a flow's `extract`), when the two are folded into one map of the row's own.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    map: Arc<serde_json::Map<String, Json>>,
    /// A bulk row's fields, over `map`: they win over it.
    row: Option<Arc<serde_json::Map<String, Json>>>,
    /// The variables as a MiniJinja value, built once for every template rendered with
    /// the same variables (a bulk row renders several), dropped on every change.
    as_value: std::cell::OnceCell<Value>,
}

impl Vars {
    pub fn new() -> Self {
        Vars::default()
    }

    /// `base` with `row`'s fields over it, neither copied.
    pub fn over(base: &Vars, row: Arc<serde_json::Map<String, Json>>) -> Vars {
        let mut vars = base.clone();
        vars.fold();
        vars.as_value.take();
        vars.row = Some(row);
        vars
    }

    pub fn set(&mut self, key: impl Into<String>, value: Json) {
        self.as_value.take();
        self.fold();
        Arc::make_mut(&mut self.map).insert(key.into(), value);
    }

    pub fn extend(&mut self, other: &Vars) {
        self.as_value.take();
        self.fold();
        let map = Arc::make_mut(&mut self.map);
        for (k, v) in other.folded().iter() {
            map.insert(k.clone(), v.clone());
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self.row.as_ref().and_then(|row| row.get(key)) {
            Some(v) => Some(v),
            None => self.map.get(key),
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The row's fields set in `map` as [`Vars::set`] would: an existing name keeps
    /// its place and takes the row's value, a new one comes last.
    fn fold(&mut self) {
        if let Some(row) = self.row.take() {
            let map = Arc::make_mut(&mut self.map);
            for (k, v) in row.iter() {
                map.insert(k.clone(), v.clone());
            }
        }
    }

    /// Every variable in one map: borrowed when there is no row over the others.
    pub(super) fn folded(&self) -> std::borrow::Cow<'_, serde_json::Map<String, Json>> {
        if self.row.is_none() {
            return std::borrow::Cow::Borrowed(&*self.map);
        }
        let mut whole = self.clone();
        whole.fold();
        std::borrow::Cow::Owned(Arc::unwrap_or_clone(whole.map))
    }

    /// The variables as a template's context, with the directory `file()` reads from.
    pub(super) fn context(&self, dir: &Path) -> Value {
        let base = self
            .as_value
            .get_or_init(|| Value::from(minijinja::value::Serde(&*self.folded())))
            .clone();
        minijinja::context! { __runner_dir__ => dir.to_string_lossy(), ..base }
    }
}
