//! The JSON line a bulk run prints for one row: its number in the original input, its
//! fields (masked), the status, and what it extracted or why it failed; with `-o json`
//! the whole exchange besides.

use std::time::Duration;

use serde_json::Value;

/// What one row gave.
#[derive(Debug, Clone)]
pub struct RowResult {
    /// The row's number in the original input (kept through `--failed` retries).
    pub row: usize,
    pub status: Option<u16>,
    pub ok: bool,
    pub extract: Option<Value>,
    pub error: Option<String>,
    pub elapsed: Duration,
    /// Every assertion of the row's response, for reports.
    pub checks: Vec<crate::expect::assert::Checked>,
    /// With `-o json`: the `-o json` object of the row's last exchange.
    pub exchange: Option<Value>,
}

impl RowResult {
    /// The JSON line printed for this row, whose fields (as read) are `input`.
    pub fn to_json(&self, input: &serde_json::Map<String, Value>) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("row".into(), Value::from(self.row));
        // The row's fields are the user's data, but a secret may be among them (a
        // password column): masked like a message.
        let mut input = Value::Object(input.clone());
        crate::secret::redact_json(&mut input);
        m.insert("input".into(), input);
        m.insert(
            "status".into(),
            self.status.map(Value::from).unwrap_or(Value::Null),
        );
        m.insert("ok".into(), Value::Bool(self.ok));
        if let Some(e) = &self.extract {
            m.insert("extract".into(), e.clone());
        }
        if let Some(e) = &self.error {
            // A message, not data: masked like every other.
            m.insert("error".into(), Value::String(crate::secret::redact(e)));
        }
        if let Some(Value::Object(ex)) = &self.exchange {
            for (k, v) in ex {
                if k != "status" && k != "extract" {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        Value::Object(m)
    }
}
