//! `db.checkIntegrity()`: the records of each collection read a page at a time, in key order,
//! and each one whose `_sync` metadata does not decode repaired as the core says
//! ([`repair`]): logged as `quarantined` with its raw value, then kept with rebuilt metadata or
//! set aside, in a transaction of its page's own. Pages that hold no damaged record are only
//! read.

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbKeyRange, IdbTransaction};

use crate::core::error::Result;
use crate::core::integrity::{repair, repull, RecordRepair};
use crate::core::meta::META_FIELD;
use crate::core::outbox::Op;
use crate::core::schema::{LOG_STORE, META_STORE, OUTBOX_STORE};
use crate::core::sync::log::LOG_CHANGES;
use crate::core::sync::storage::Changes;

use super::super::js::{get, set_field};
use super::super::records::{meta_to_js, read_meta};
use super::connection::{commit_or_abort, js_err, request, transaction};
use super::entries::{by_record, outbox, record_key, store};
use super::log;

/// Records read per transaction: short enough for the app's own transactions to interleave.
pub const PAGE: u32 = 500;

/// How many records `collections` hold, tombstones included.
pub async fn total(db: &IdbDatabase, collections: &[&str]) -> Result<u64> {
    let context = "counting the records to check";
    let tx = transaction(db, collections, false)?;
    let mut counts = Vec::with_capacity(collections.len());
    for name in collections {
        counts.push(request(&store(&tx, name)?.count().map_err(js_err(context))?, context));
    }
    let mut n = 0;
    for count in counts {
        n += count.await?.as_f64().unwrap_or(0.0) as u64;
    }
    Ok(n)
}

/// One page checked.
pub struct PageChecked {
    /// Records read (0: the collection is done).
    pub read: u64,
    /// The key of the last one, where the next page starts after.
    pub last: JsValue,
    pub repairs: Vec<RecordRepair>,
    pub changes: Changes,
}

/// Checks the page of `collection` after key `after` (undefined: from the start).
pub async fn check_page(db: &IdbDatabase, collection: &str, after: &JsValue, now: f64) -> Result<PageChecked> {
    let context = format!("checking the records of \"{collection}\"");
    let rows = {
        let tx = transaction(db, &[collection], false)?;
        let records = store(&tx, collection)?;
        let range = if after.is_undefined() {
            JsValue::UNDEFINED
        } else {
            IdbKeyRange::lower_bound_with_open(after, true).map_err(js_err(&context))?.into()
        };
        let rows = request(&records.get_all_with_key_and_limit(&range, PAGE).map_err(js_err(&context))?, &context);
        Array::from(&rows.await?)
    };
    let mut page = PageChecked {
        read: rows.length() as u64,
        last: last_key(&rows),
        repairs: Vec::new(),
        changes: Changes::default(),
    };
    let damaged: Vec<JsValue> = rows.iter().filter(|row| read_meta(row).is_none()).map(|row| get(&row, "id")).collect();
    if damaged.is_empty() {
        return Ok(page);
    }
    let tx = transaction(db, &[collection, OUTBOX_STORE, LOG_STORE, META_STORE], true)?;
    commit_or_abort(&tx, &context, repair_all(&tx, collection, &damaged, now, &mut page, &context)).await?;
    Ok(page)
}

/// The key of the last of `rows` (undefined for none).
fn last_key(rows: &Array) -> JsValue {
    match rows.length() {
        0 => JsValue::UNDEFINED,
        n => get(&rows.get(n - 1), "id"),
    }
}

async fn repair_all(
    tx: &IdbTransaction,
    collection: &str,
    keys: &[JsValue],
    now: f64,
    page: &mut PageChecked,
    context: &str,
) -> Result<()> {
    let (records, index) = (store(tx, collection)?, by_record(&outbox(tx)?)?);
    for key in keys {
        // Read again in this transaction: the app may have written it since the page was read.
        let record = request(&records.get(key).map_err(js_err(context))?, context).await?;
        if record.is_undefined() || read_meta(&record).is_some() {
            continue;
        }
        let queued = request(&index.count_with_key(&record_key(collection, key)).map_err(js_err(context))?, context);
        let fix = repair(queued.await?.as_f64().unwrap_or(0.0) > 0.0, now);
        let id = key.as_string().unwrap_or_default();
        let why = match &fix {
            RecordRepair::Rebuild(_) => {
                "kept with new metadata, since changes of it are queued: the next push sends it whole"
            }
            RecordRepair::SetAside => {
                "set aside: nothing of it was queued, and the pull starts over for the server's version"
            }
        };
        let why = format!("a stored record whose `{META_FIELD}` metadata does not decode; {why}");
        log::quarantined(tx, now, (collection, &id), &record, why, context).await?;
        match &fix {
            RecordRepair::Rebuild(meta) => {
                // The log holds its own copy (taken by `put`), so the row read is rewritten.
                set_field(record.unchecked_ref(), META_FIELD, &meta_to_js(meta, key));
                records.put(&record).map_err(js_err(context))?;
                page.changes.add(collection, &id, Op::Update);
            }
            RecordRepair::SetAside => {
                records.delete(key).map_err(js_err(context))?;
                page.changes.add(collection, &id, Op::Delete);
            }
        }
        page.changes.add(LOG_CHANGES, &id, Op::Create);
        page.repairs.push(fix);
    }
    if repull(&page.repairs) {
        super::spaces::forget_cursors(tx, context).await?;
    }
    Ok(())
}
