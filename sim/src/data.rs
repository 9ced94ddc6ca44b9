//! Record data in the simulation: JSON objects, as the reference server stores them. Every write
//! carries a unique token, so that the checks can tell which write a stored or pushed value is: a
//! whole record in its `token` field, a patch in the one field it sets (`a` or `b`), so that
//! patches of different fields merge by themselves under the merge strategy.

use ferrysync::core::sync::conflict::tree::Tree;
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

/// JSON objects are plain objects; anything else is one value.
impl Tree for Data {
    fn fields(&self) -> Option<Vec<(String, Data)>> {
        self.0.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), Data(v.clone()))).collect())
    }

    fn object(fields: Vec<(String, Data)>) -> Data {
        Data(Value::Object(fields.into_iter().map(|(k, v)| (k, v.0)).collect()))
    }

    fn same(&self, other: &Data) -> bool {
        self.0 == other.0
    }

    fn text(&self) -> Option<String> {
        self.0.as_str().map(str::to_string)
    }

    fn number(&self) -> Option<f64> {
        self.0.as_f64()
    }

    fn items(&self) -> Option<Vec<Data>> {
        self.0.as_array().map(|items| items.iter().cloned().map(Data).collect())
    }
}

/// The fields a patch sets, one per write.
pub const PATCH_FIELDS: [&str; 2] = ["a", "b"];

/// The simulated server's record size limit: every record fits, but an oversized one.
pub const MAX_RECORD_BYTES: usize = 512;

impl Data {
    /// The same data with `field` set to `value` (`None`: null, no space).
    pub fn with_field(mut self, field: &str, value: Option<&str>) -> Data {
        if let Value::Object(fields) = &mut self.0 {
            fields.insert(field.to_string(), value.map_or(Value::Null, |v| Value::String(v.to_string())));
        }
        self
    }

    /// The same data with `field` holding a reference to `blob`.
    pub fn with_blob(mut self, field: &str, blob: &ferrysync::protocol::BlobRef) -> Data {
        if let Value::Object(fields) = &mut self.0 {
            let reference =
                json!({ ferrysync::protocol::blobs::BLOB_KEY: blob.hash, "size": blob.size, "type": blob.media_type });
            fields.insert(field.to_string(), reference);
        }
        self
    }

    /// A whole record written by client `client` as its write number `n`.
    pub fn record(token: &str, n: u64) -> Data {
        Data(json!({ "token": token, "n": n }))
    }

    /// A whole record too large for the server, which rejects it for good (a dead letter).
    pub fn oversized(token: &str, n: u64) -> Data {
        Data(json!({ "token": token, "n": n, "filler": "x".repeat(MAX_RECORD_BYTES) }))
    }

    /// A whole record whose unique field (`UNIQUE_FIELD` of `items`) holds `unique`.
    pub fn record_with_unique(token: &str, n: u64, unique: &str) -> Data {
        Data(json!({ "token": token, "n": n, crate::world::UNIQUE_FIELD: unique }))
    }

    /// A patch of field `a` that also sets the unique field.
    pub fn unique_patch(token: &str, unique: &str) -> Data {
        Data(json!({ "a": token, crate::world::UNIQUE_FIELD: unique }))
    }

    /// A patch of one field.
    pub fn patch(field: &str, token: &str) -> Data {
        let mut fields = Map::new();
        fields.insert(field.into(), Value::String(token.into()));
        Data(Value::Object(fields))
    }

    /// The token of the write it is (a whole record's, or a patch's one field).
    pub fn token(&self) -> Option<&str> {
        self.0.as_object()?.iter().find(|(k, _)| *k == "token" || PATCH_FIELDS.contains(&k.as_str()))?.1.as_str()
    }

    /// Every write's token it carries: a record's own, and those of the patches merged into it.
    pub fn tokens(&self) -> Vec<String> {
        let Some(fields) = self.0.as_object() else { return Vec::new() };
        fields
            .iter()
            .filter(|(k, _)| *k == "token" || PATCH_FIELDS.contains(&k.as_str()))
            .filter_map(|(_, v)| v.as_str().map(str::to_string))
            .collect()
    }
}
