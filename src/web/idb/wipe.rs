//! Wiping a collection's local data in IndexedDB: one transaction, refused with nothing changed
//! when it would drop queued changes the caller did not give up.

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::IdbDatabase;

use crate::core::error::{Error, Result};
use crate::core::outbox::Op;
use crate::core::schema::CONFLICTS_STORE;
use crate::core::sync::entry::Hold;
use crate::core::sync::log::{LogKind, LOG_CHANGES};
use crate::core::sync::storage::Decided;

use super::super::glue;
use super::super::js::get;
use super::connection::{commit_or_abort, js_err, request};
use super::entries::{all_stores, count_dead_letters, entries, outbox, record_key, seq_key, store};
use super::log;

/// Clears `collection` ([`SyncStorage::wipe`](crate::core::sync::storage::SyncStorage)).
pub async fn wipe(db: &IdbDatabase, collection: &str, discard_pending: bool, now: f64) -> Result<Decided> {
    let context = "wiping a collection";
    let tx = all_stores(db)?;
    let work = async {
        let fail = js_err(context);
        let outbox = outbox(&tx)?;
        let queued = entries(&request(&outbox.get_all().map_err(&fail)?, context).await?);
        let queued: Vec<_> = queued.into_iter().filter(|s| s.entry.collection == collection).collect();
        if !queued.is_empty() && !discard_pending {
            return Err(Error::pending_changes(queued.len() as u64, &format!("\"{collection}\"")));
        }
        for s in &queued {
            outbox.delete(&seq_key(s.entry.seq)).map_err(&fail)?;
        }
        let dead = queued.iter().filter(|s| s.entry.hold == Some(Hold::Failed)).count() as i64;
        count_dead_letters(&tx, -dead).await?;
        let conflicts = store(&tx, CONFLICTS_STORE)?;
        let rows = request(&conflicts.get_all().map_err(&fail)?, context).await?;
        for row in Array::from(&rows).iter() {
            if get(&row, "collection").as_string().as_deref() == Some(collection) {
                conflicts.delete(&record_key(collection, &get(&row, "id"))).map_err(&fail)?;
            }
        }
        let records = store(&tx, collection)?;
        let keys = request(&records.get_all_keys().map_err(&fail)?, context).await?;
        records.clear().map_err(&fail)?;
        let mut decided = Decided::default();
        let keys = Array::from(&keys);
        for key in keys.iter() {
            decided.changes.add(collection, &key.as_string().unwrap_or_default(), Op::Delete);
        }
        let entry = glue::make_log_entry(
            now,
            LogKind::Wipe.as_str(),
            collection,
            "",
            None,
            None,
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
            None,
            Some(format!("{} queued changes dropped", queued.len())),
        );
        js_sys::Reflect::set(&entry, &JsValue::from_str("count"), &JsValue::from_f64(keys.length() as f64)).ok();
        js_sys::Reflect::set(&entry, &JsValue::from_str("dropped"), &JsValue::from_f64(queued.len() as f64)).ok();
        log::append(&tx, &entry, context).await?;
        decided.changes.add(LOG_CHANGES, "", Op::Create);
        Ok(decided)
    };
    commit_or_abort(&tx, context, work).await
}
