//! Carrying out a [`RecordStep`] (what the core's sync rules decided for one record) on the
//! record as IndexedDB holds it.

use wasm_bindgen::JsValue;
use web_sys::IdbObjectStore;

use crate::core::error::{ErrorKind, Result};
use crate::core::meta::RecordMeta;
use crate::core::sync::rules::RecordStep;

use super::super::error::from_js;
use super::super::glue;
use super::super::records::meta_to_js;
use super::connection::js_err;

/// The server's data (`{}` if it sent none) stamped with `id` and `meta`, ready to store.
pub fn server_version(data: Option<&JsValue>, key: &JsValue, meta: &RecordMeta, context: &str) -> Result<JsValue> {
    let empty: JsValue = js_sys::Object::new().into();
    glue::stamp_record(data.unwrap_or(&empty), key, &meta_to_js(meta, key))
        .map_err(|e| from_js(context, &e, ErrorKind::Storage))
}

/// `record`: the record as read in this transaction (undefined if there is none); `server`: the
/// data a [`RecordStep::Server`] takes.
pub fn carry_out(
    records: &IdbObjectStore,
    key: &JsValue,
    record: &JsValue,
    step: RecordStep,
    server: Option<&JsValue>,
    context: &str,
) -> Result<()> {
    let fail = js_err(context);
    match step {
        RecordStep::Keep => {}
        RecordStep::Remove => {
            records.delete(key).map_err(&fail)?;
        }
        RecordStep::Meta(meta) => {
            if !record.is_undefined() {
                records.put(&glue::with_meta(record, &meta_to_js(&meta, key))).map_err(&fail)?;
            }
        }
        RecordStep::Server(meta) => {
            records.put(&server_version(server, key, &meta, context)?).map_err(&fail)?;
        }
    }
    Ok(())
}
