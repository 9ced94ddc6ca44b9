//! Record data in the simulation: JSON objects, as the reference server stores them. Every write
//! carries a unique `token`, so that the checks can tell which write a stored or pushed value is.

use ferrysync::core::sync::memory::Patch;
use serde_json::{json, Map, Value};

/// JSON as record data (the in-memory store merges a patch's fields over the record's).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Data(pub Value);

impl Patch for Data {
    fn patched(&self, patch: &Self) -> Self {
        let mut fields = self.0.as_object().cloned().unwrap_or_default();
        if let Some(patch) = patch.0.as_object() {
            for (k, v) in patch {
                fields.insert(k.clone(), v.clone());
            }
        }
        Data(Value::Object(fields))
    }
}

impl Data {
    /// A whole record written by client `client` as its write number `n`.
    pub fn record(token: &str, n: u64) -> Data {
        Data(json!({ "token": token, "n": n }))
    }

    /// A patch of one field.
    pub fn patch(token: &str) -> Data {
        let mut fields = Map::new();
        fields.insert("token".into(), Value::String(token.into()));
        Data(Value::Object(fields))
    }

    pub fn token(&self) -> Option<&str> {
        self.0.get("token").and_then(Value::as_str)
    }
}
