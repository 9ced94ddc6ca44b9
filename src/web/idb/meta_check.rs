//! At open, every `_meta` row sync keeps is read and handed to the core's [`check`]; a row that
//! does not decode is logged as `quarantined` with its raw value and replaced as the core says,
//! in the open's first transaction, before migrations or sync read it.

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbCursor, IdbCursorDirection, IdbObjectStore, IdbTransaction};

use crate::core::error::Result;
use crate::core::meta_rows::{check, Repair, Row, Stored};
use crate::core::schema::{META_STORE, OUTBOX_BY_HOLD};
use crate::core::sync::entry::Hold;

use super::super::glue;
use super::super::js::set_field;
use super::connection::{js_err, request};
use super::entries::{outbox, store};
use super::log;

/// How deep a stored value is looked into: the rows checked are at most two levels deep, and a
/// damaged row may be anything (a cycle, even).
const DEPTH: usize = 3;

/// Sets aside the damaged `_meta` rows in `tx` (which covers `_meta`, `_log` and the outbox: the
/// open's first transaction, shared with the eviction marker's check); `migrations`: the
/// versions of the data migrations the app declares. Returns how many rows were set aside.
pub async fn set_aside_damaged(tx: &IdbTransaction, migrations: &[u32], now: f64, context: &str) -> Result<usize> {
    let meta = store(tx, META_STORE)?;
    let keys = request(&meta.get_all_keys().map_err(js_err(context))?, context);
    let values = request(&meta.get_all().map_err(js_err(context))?, context);
    let (keys, values) = (Array::from(&keys.await?), Array::from(&values.await?));
    let mut set_aside = 0;
    for (key, raw) in keys.iter().zip(values.iter()) {
        let Some(row) = key.as_string().as_deref().and_then(Row::from_key) else { continue };
        let Some(damage) = check(row, &stored(&raw, DEPTH)) else { continue };
        repair(tx, &meta, &key, damage.repair, migrations, context).await?;
        log::quarantined(tx, now, (META_STORE, row.key()), &raw, damage.why, context).await?;
        set_aside += 1;
    }
    Ok(set_aside)
}

async fn repair(
    tx: &IdbTransaction,
    meta: &IdbObjectStore,
    key: &JsValue,
    repair: Repair,
    migrations: &[u32],
    context: &str,
) -> Result<()> {
    let put = |value: &JsValue| meta.put_with_key(value, key).map(|_| ()).map_err(js_err(context));
    match repair {
        Repair::Delete => meta.delete(key).map(|_| ()).map_err(js_err(context)),
        Repair::Replace(value) => put(&js_value(&value)),
        Repair::MigrationsApplied => put(&migrations.iter().map(|v| JsValue::from_f64(*v as f64)).collect::<Array>()),
        Repair::MarkQueueSent => {
            let newest = outbox(tx)?
                .open_key_cursor_with_range_and_direction(&JsValue::UNDEFINED, IdbCursorDirection::Prev)
                .map_err(js_err(context))?;
            let cursor = request(&newest, context).await?;
            match cursor.dyn_ref::<IdbCursor>() {
                Some(cursor) => put(&cursor.key().map_err(js_err(context))?),
                None => meta.delete(key).map(|_| ()).map_err(js_err(context)),
            }
        }
        Repair::RecountDeadLetters => {
            let held = outbox(tx)?.index(OUTBOX_BY_HOLD).map_err(js_err(context))?;
            let failed = JsValue::from_str(Hold::Failed.as_str());
            let count = request(&held.count_with_key(&failed).map_err(js_err(context))?, context).await?;
            put(&count)
        }
    }
}

/// What the core sees of a stored value, `depth` levels deep.
fn stored(value: &JsValue, depth: usize) -> Stored {
    if value.is_null() {
        return Stored::Null;
    }
    if let Some(b) = value.as_bool() {
        return Stored::Bool(b);
    }
    if let Some(n) = value.as_f64() {
        return Stored::Number(n);
    }
    if let Some(s) = value.as_string() {
        return Stored::Text(s);
    }
    if depth == 0 {
        return Stored::Other;
    }
    if Array::is_array(value) {
        return Stored::List(Array::from(value).iter().map(|v| stored(&v, depth - 1)).collect());
    }
    let fields = glue::fields_of(value);
    if fields.is_undefined() {
        return Stored::Other;
    }
    let pairs = Array::from(&fields);
    let fields = pairs.iter().map(|pair| {
        let pair = Array::from(&pair);
        (pair.get(0).as_string().unwrap_or_default(), stored(&pair.get(1), depth - 1))
    });
    Stored::Object(fields.collect())
}

/// The JS value of a replacement (built by the core from values that decode).
fn js_value(value: &Stored) -> JsValue {
    match value {
        Stored::Null | Stored::Other => JsValue::NULL,
        Stored::Bool(b) => JsValue::from_bool(*b),
        Stored::Number(n) => JsValue::from_f64(*n),
        Stored::Text(s) => JsValue::from_str(s),
        Stored::List(items) => items.iter().map(js_value).collect::<Array>().into(),
        Stored::Object(fields) => {
            let object = Object::new();
            for (name, v) in fields {
                set_field(&object, name, &js_value(v));
            }
            object.unchecked_into()
        }
    }
}
