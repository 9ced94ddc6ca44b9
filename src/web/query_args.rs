//! A query argument (`query()`, `count()`, `live()`) read into the core's query shape and an
//! IndexedDB key range; for live queries, keys and the range as the core compares them.

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbKeyRange;

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::query::key::{Bound, Key, KeyRange};
use crate::core::query::live::Now;
use crate::core::query::{check_query_fields, non_negative_int, parse_order, QuerySpec};

use super::error::from_js;
use super::js::{get, type_name};
use super::options::{optional_bool, optional_string};

/// A query's shape and its key range (None: every key).
pub fn read_query(query: &JsValue) -> Result<(QuerySpec, Option<IdbKeyRange>)> {
    let mut spec = QuerySpec::default();
    if query.is_undefined() || query.is_null() {
        return Ok((spec, None));
    }
    let bad = |m: String| Error::new(ErrorKind::InvalidQuery, m);
    if !query.is_object() {
        return Err(bad(format!("a query is an object, got {}", type_name(query))));
    }
    let fields: Vec<String> =
        Object::keys(query.unchecked_ref::<Object>()).iter().filter_map(|k| k.as_string()).collect();
    check_query_fields(fields.iter().map(String::as_str))?;
    spec.index = optional_string(query, "index").map_err(|e| bad(e.message))?;
    if let Some(order) = optional_string(query, "order").map_err(|e| bad(e.message))? {
        spec.order = parse_order(&order)?;
    }
    if let Some(limit) = number_field(query, "limit")? {
        spec.limit = Some(non_negative_int("limit", limit)?);
    }
    if let Some(offset) = number_field(query, "offset")? {
        spec.offset = non_negative_int("offset", offset)?;
    }
    spec.include_deleted = optional_bool(query, "includeDeleted").map_err(|e| bad(e.message))?;
    let range = key_range(query)?;
    Ok((spec, range))
}

fn number_field(query: &JsValue, key: &str) -> Result<Option<f64>> {
    let v = get(query, key);
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_f64()
        .map(Some)
        .ok_or_else(|| Error::new(ErrorKind::InvalidQuery, format!("`{key}` must be a number, got {}", type_name(&v))))
}

fn key_range(query: &JsValue) -> Result<Option<IdbKeyRange>> {
    let context = "building the query's key range";
    let equals = get(query, "equals");
    if !equals.is_undefined() {
        return IdbKeyRange::only(&equals).map(Some).map_err(|e| from_js(context, &e, ErrorKind::InvalidQuery));
    }
    let range = get(query, "range");
    if range.is_undefined() {
        return Ok(None);
    }
    let bad = |m: String| Error::new(ErrorKind::InvalidQuery, m);
    if !range.is_object() || Array::is_array(&range) {
        return Err(bad(format!(
            "`range` must be an object {{ lower, upper, lowerOpen, upperOpen }}, got {}",
            type_name(&range)
        )));
    }
    let lower = get(&range, "lower");
    let upper = get(&range, "upper");
    let lower_open = optional_bool(&range, "lowerOpen").map_err(|e| bad(e.message))?;
    let upper_open = optional_bool(&range, "upperOpen").map_err(|e| bad(e.message))?;
    let built = match (lower.is_undefined(), upper.is_undefined()) {
        (true, true) => return Ok(None),
        (false, true) => IdbKeyRange::lower_bound_with_open(&lower, lower_open),
        (true, false) => IdbKeyRange::upper_bound_with_open(&upper, upper_open),
        (false, false) => IdbKeyRange::bound_with_lower_open_and_upper_open(&lower, &upper, lower_open, upper_open),
    };
    // DataError: a bound that is not a valid key, or lower > upper.
    built.map(Some).map_err(|e| {
        let mut error = from_js(context, &e, ErrorKind::InvalidQuery);
        error.kind = ErrorKind::InvalidQuery;
        error
    })
}

/// A JS value read as an IndexedDB key, for live queries: [`Now::At`] a valid key, [`Now::Absent`]
/// a value that is no key (a record holding it at an index's path is not in the index),
/// [`Now::Unknown`] one the core could not compare exactly (a string that is not well-formed
/// UTF-16, a shared buffer).
pub fn js_key(value: &JsValue) -> Now {
    if let Some(n) = value.as_f64() {
        return if n.is_nan() { Now::Absent } else { Now::At(Key::Number(n)) };
    }
    if let Some(s) = value.as_string() {
        // Lone surrogates become U+FFFD on the way in: such a key cannot be compared exactly.
        if s.contains('\u{FFFD}') && !value.unchecked_ref::<js_sys::JsString>().is_valid_utf16() {
            return Now::Unknown;
        }
        return Now::At(Key::String(s));
    }
    if !value.is_object() {
        return Now::Absent;
    }
    if let Some(date) = value.dyn_ref::<js_sys::Date>() {
        let t = date.get_time();
        return if t.is_nan() { Now::Absent } else { Now::At(Key::Date(t)) };
    }
    if Array::is_array(value) {
        let mut keys = Vec::new();
        for item in Array::from(value).iter() {
            match js_key(&item) {
                Now::At(k) => keys.push(k),
                other => return other,
            }
        }
        return Now::At(Key::Array(keys));
    }
    if value.is_instance_of::<js_sys::ArrayBuffer>() {
        return Now::At(Key::Binary(js_sys::Uint8Array::new(value).to_vec()));
    }
    if js_sys::ArrayBuffer::is_view(value) {
        let view: &js_sys::Uint8Array = value.unchecked_ref();
        let buffer = get(value, "buffer");
        if !buffer.is_instance_of::<js_sys::ArrayBuffer>() {
            return Now::Unknown;
        }
        let bytes =
            js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, view.byte_offset(), view.byte_length());
        return Now::At(Key::Binary(bytes.to_vec()));
    }
    Now::Absent
}

/// A query's key range as the core compares it (None: a bound it cannot read exactly). Called
/// after [`read_query`] accepted the query.
pub fn live_range(query: &JsValue) -> Option<KeyRange> {
    if query.is_undefined() || query.is_null() {
        return Some(KeyRange::default());
    }
    let key = |v: &JsValue| match js_key(v) {
        Now::At(k) => Some(k),
        _ => None,
    };
    let equals = get(query, "equals");
    if !equals.is_undefined() {
        return key(&equals).map(KeyRange::only);
    }
    let range = get(query, "range");
    if range.is_undefined() {
        return Some(KeyRange::default());
    }
    let bound = |end: &str, open: &str| -> Option<Option<Bound>> {
        let v = get(&range, end);
        if v.is_undefined() {
            return Some(None);
        }
        Some(Some(Bound { key: key(&v)?, open: get(&range, open).as_bool().unwrap_or(false) }))
    };
    Some(KeyRange { lower: bound("lower", "lowerOpen")?, upper: bound("upper", "upperOpen")? })
}
