//! Small helpers over JS values that every module of the edge uses: reading and setting a field,
//! naming a value's type in an error message, the clock. A leaf: it uses no other module here.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn set_field(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// What a value is, for an error message: "null", "an array", or its `typeof`.
pub fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        "null".into()
    } else if Array::is_array(value) {
        "an array".into()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

/// A short text for a thrown non-Error value.
pub fn describe(value: &JsValue) -> String {
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

/// A number, or null.
pub fn opt_num(v: Option<u64>) -> JsValue {
    v.map(|v| JsValue::from_f64(v as f64)).unwrap_or(JsValue::NULL)
}

/// Milliseconds since the epoch: the one clock of the edge, handed to the core with each call.
pub fn now() -> f64 {
    js_sys::Date::now()
}
