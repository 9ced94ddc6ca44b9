//! The protocol's wire types (`crate::protocol`) carried as JS values: record data stays a JS
//! value end to end (`JsData`), and only the protocol's own fields cross into Rust.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use wasm_bindgen::JsValue;

use crate::core::sync::Failure;

/// Record data as the JS value it is; passes through serde-wasm-bindgen untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct JsData(pub JsValue);

impl Serialize for JsData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for JsData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_wasm_bindgen::preserve::deserialize(deserializer).map(JsData)
    }
}

pub type PushResponse = crate::protocol::PushResponse<JsData>;
pub type PullResponse = crate::protocol::PullResponse<JsData>;

/// A wire value as a JS object. `null` is written for absent optional fields the protocol
/// requires (`baseVersion`), since `JSON.stringify` drops `undefined`.
pub fn to_js<T: Serialize>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    // Only protocol types built here are serialized, and every one of them is representable.
    value.serialize(&serializer).unwrap_or(JsValue::NULL)
}

/// A wire value from what the server (or a JS transport) answered.
pub fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, Failure> {
    serde_wasm_bindgen::from_value(value).map_err(|e| Failure::BadAnswer(format!("{what}: {e}")))
}
