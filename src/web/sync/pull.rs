//! The pull phase: each page of changes is applied in one transaction together with the cursor
//! that follows it, so a reload mid-pull resumes after the last applied page.

use wasm_bindgen::JsValue;
use web_sys::IdbDatabase;

use super::super::error::from_js;
use crate::core::error::{ErrorKind, Result};
use crate::core::meta::RecordMeta;
use crate::core::reconcile::{apply_pull, PullEffect};
use crate::core::schema::{Schema, CONFLICTS_STORE, META_STORE};
use crate::core::status::RecordStatus;
use wasm_bindgen_futures::JsFuture;

use super::super::connection::request;
use super::super::connection::{commit_or_abort, js_err};
use super::super::glue;
use super::super::interop::{meta_to_js, read_meta};
use super::entries::{all_stores, by_record, entries, entries_of, outbox, record_key, store, Hold};
use super::wire::{self, PullResponse};
use super::Changes;

/// `_meta` key of the pull cursor (absent: pull from the start).
pub const CURSOR_KEY: &str = "pullCursor";

/// The stored cursor.
pub async fn cursor(db: &IdbDatabase) -> Result<Option<String>> {
    let context = "reading the pull cursor";
    let tx = super::super::connection::transaction(db, &[META_STORE], false)?;
    let meta = store(&tx, META_STORE)?;
    let value = request(&meta.get(&JsValue::from_str(CURSOR_KEY)).map_err(js_err(context))?, context).await?;
    Ok(value.as_string())
}

/// Forgets the cursor: the next pull starts from the beginning.
pub async fn reset_cursor(db: &IdbDatabase) -> Result<()> {
    let context = "resetting the pull cursor";
    let tx = super::super::connection::transaction(db, &[META_STORE], true)?;
    let meta = store(&tx, META_STORE)?;
    commit_or_abort(&tx, context, async {
        meta.delete(&JsValue::from_str(CURSOR_KEY)).map(|_| ()).map_err(js_err(context))
    })
    .await
}

/// What one page did.
#[derive(Default)]
pub struct PageApplied {
    pub received: u64,
    /// The stored cursor was no longer the one this page was asked from (a discarded change
    /// reset it meanwhile): the page is applied, but the pull starts over from the beginning.
    pub restart: bool,
    pub conflicts: u64,
    pub changes: Changes,
}

/// Applies one page and stores its cursor, all in one transaction. `asked_from`: the cursor the
/// page was asked from.
pub async fn apply_page(
    db: &IdbDatabase,
    schema: &Schema,
    asked_from: Option<&str>,
    page: &PullResponse,
    now: f64,
) -> Result<PageApplied> {
    let context = "applying pulled changes";
    let tx = all_stores(db)?;
    let work = async {
        let meta_store = store(&tx, META_STORE)?;
        let stored_cursor = request(&meta_store.get(&JsValue::from_str(CURSOR_KEY)).map_err(js_err(context))?, context);
        let outbox = outbox(&tx)?;
        let index = by_record(&outbox)?;
        let conflicts = store(&tx, CONFLICTS_STORE)?;
        let fail = js_err(context);
        // A client with nothing queued (a fresh one, say) has no local change to protect: the
        // per-record lookups of queued entries are skipped.
        let queue_empty = request(&outbox.count().map_err(&fail)?, context).await?.as_f64() == Some(0.0);
        // A record the server's version now lands on has no conflict left: a row kept from an
        // earlier page (a unique-index clash since resolved) would otherwise outlive it, and
        // resolving it later would bring back an older version.
        let no_conflicts = request(&conflicts.count().map_err(&fail)?, context).await?.as_f64() == Some(0.0);
        let mut reads = Vec::new();
        // Changes to collections this app does not declare are passed over (the cursor still
        // moves past them): the schema decides what this client keeps.
        for change in page.changes.iter().filter(|c| schema.collection(&c.collection).is_some()) {
            let key = JsValue::from_str(&change.id);
            let records = store(&tx, &change.collection)?;
            let record = request(&records.get(&key).map_err(&fail)?, context);
            let queued = if queue_empty { None } else { Some(entries_of(&index, &change.collection, &key, context)?) };
            reads.push((change, key, records, record, queued));
        }
        let mut applied = PageApplied { received: page.changes.len() as u64, ..Default::default() };
        let mut puts = Vec::new();
        let (put_stores, put_values) = (js_sys::Array::new(), js_sys::Array::new());
        for (change, key, records, record, queued) in reads {
            let record = record.await?;
            let queued = match queued {
                Some(q) => entries(&q.await?),
                None => Vec::new(),
            };
            let meta = read_meta(&record);
            let local = meta.as_ref().map(|m| (m.server_version, !queued.is_empty()));
            match apply_pull(change.version, local) {
                PullEffect::Ignore => {}
                PullEffect::Overwrite if change.deleted => {
                    if meta.is_some() {
                        records.delete(&key).map_err(&fail)?;
                        applied.changes.add(&change.collection, &change.id, "delete");
                    }
                    if !no_conflicts {
                        conflicts.delete(&record_key(&change.collection, &key)).map_err(&fail)?;
                    }
                }
                PullEffect::Overwrite => {
                    let next = RecordMeta {
                        version: meta.as_ref().map_or(1, |m| m.version + 1),
                        server_version: Some(change.version),
                        status: RecordStatus::Synced,
                        updated_at: now,
                        deleted: false,
                    };
                    let data =
                        change.data.as_ref().map(|d| d.0.clone()).unwrap_or_else(|| js_sys::Object::new().into());
                    let stored = glue::stamp_record(&data, &key, &meta_to_js(&next, &key))
                        .map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
                    put_stores.push(&records);
                    put_values.push(&stored);
                    puts.push((change, key, records, record, meta.is_some()));
                }
                PullEffect::Conflict => {
                    // Never overwrite a queued change: keep both, hold the queue of this record.
                    let conflict =
                        glue::make_conflict(&change.collection, &key, &record, &wire::server_record(change), now);
                    conflicts.put(&conflict).map_err(&fail)?;
                    if let Some(first) = queued.first().filter(|e| e.hold != Some(Hold::Failed)) {
                        outbox
                            .put(&glue::hold_entry(&first.raw, Hold::Conflict.as_str(), &JsValue::UNDEFINED))
                            .map_err(&fail)?;
                    }
                    // A queued change implies a local record (and so its metadata).
                    let Some(m) = meta else { continue };
                    // A record already in conflict only gets the newer server version.
                    if m.status != RecordStatus::Conflict {
                        applied.conflicts += 1;
                    }
                    let m = RecordMeta { status: RecordStatus::Conflict, ..m };
                    records.put(&glue::with_meta(&record, &meta_to_js(&m, &key))).map_err(&fail)?;
                    applied.changes.add(&change.collection, &change.id, "update");
                }
            }
        }
        // A pulled record that clashes with another local record on a unique index cannot be
        // stored; it is kept as a conflict rather than stopping the pull for good.
        let stored = glue::put_each_unless_clash(&put_stores, &put_values).map_err(&fail)?;
        let stored =
            js_sys::Array::from(&JsFuture::from(stored).await.map_err(|e| from_js(context, &e, ErrorKind::Storage))?);
        for (i, (change, key, records, record, existed)) in puts.into_iter().enumerate() {
            if stored.get(i as u32).as_bool() == Some(true) {
                applied.changes.add(&change.collection, &change.id, if existed { "update" } else { "create" });
                if !no_conflicts {
                    conflicts.delete(&record_key(&change.collection, &key)).map_err(&fail)?;
                }
                continue;
            }
            let local = if record.is_undefined() { JsValue::NULL } else { record.clone() };
            conflicts
                .put(&glue::make_conflict(&change.collection, &key, &local, &wire::server_record(change), now))
                .map_err(&fail)?;
            let meta = read_meta(&record);
            // A record already in conflict only gets the newer server version.
            if meta.as_ref().is_none_or(|m| m.status != RecordStatus::Conflict) {
                applied.conflicts += 1;
            }
            if let Some(m) = meta {
                let m = RecordMeta { status: RecordStatus::Conflict, ..m };
                records.put(&glue::with_meta(&record, &meta_to_js(&m, &key))).map_err(&fail)?;
                applied.changes.add(&change.collection, &change.id, "update");
            }
        }
        if stored_cursor.await?.as_string().as_deref() == asked_from {
            meta_store.put_with_key(&JsValue::from_str(&page.cursor), &JsValue::from_str(CURSOR_KEY)).map_err(&fail)?;
        } else {
            applied.restart = true;
        }
        Ok(applied)
    };
    commit_or_abort(&tx, context, work).await
}
