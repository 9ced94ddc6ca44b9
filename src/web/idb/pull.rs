//! The pull steps in IndexedDB: each page of changes is applied in one transaction together with
//! the cursor that follows it, so a reload mid-pull resumes after the last applied page. What
//! each change does comes from the core ([`pull_step`](crate::core::sync::rules::pull::pull_step)).

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbTransaction};

use crate::core::error::{ErrorKind, Result};
use crate::core::meta::META_FIELD;
use crate::core::meta_rows::Row;
use crate::core::outbox::Op;
use crate::core::schema::{Schema, CONFLICTS_STORE, META_STORE};
use crate::core::sync::entry::Hold;
use crate::core::sync::log::LOG_CHANGES;
use crate::core::sync::rules::pull::{clash_step, pull_step, PullStep};
use crate::core::sync::rules::RecordStep;
use crate::core::sync::storage::PageApplied;

use super::super::error::from_js;
use super::super::glue;
use super::super::js::get;
use super::super::records::read_meta;
use super::super::wire::{self, PullResponse, ServerRecord};
use super::connection::{commit_now_or_abort, commit_or_abort, js_err, request, transaction};
use super::entries::{all_stores, by_record, entries, entries_of_each, outbox, record_key, records_of, store};
use super::record_step::{carry_out, server_version};

/// `_meta` key of the pull cursor (absent: pull from the start).
pub const CURSOR_KEY: &str = Row::PullCursor.key();

/// The stored cursor.
pub async fn cursor(db: &IdbDatabase) -> Result<Option<String>> {
    let context = "reading the pull cursor";
    let tx = transaction(db, &[META_STORE], false)?;
    let meta = store(&tx, META_STORE)?;
    let value = request(&meta.get(&JsValue::from_str(CURSOR_KEY)).map_err(js_err(context))?, context).await?;
    Ok(value.as_string())
}

/// Forgets the cursor, and every space's: the next pull starts from the beginning.
pub async fn reset_cursor(db: &IdbDatabase) -> Result<()> {
    let context = "resetting the pull cursor";
    let tx = transaction(db, &[META_STORE], true)?;
    commit_or_abort(&tx, context, super::spaces::forget_cursors(&tx, context)).await
}

/// Applies a slice of a page and, with its `last` slice, stores the page's cursor, in one
/// transaction. `asked_from`: the cursor the page was asked from.
pub async fn apply_page(
    db: &IdbDatabase,
    schema: &Schema,
    asked_from: Option<&str>,
    page: PullResponse,
    last: bool,
    now: f64,
) -> Result<PageApplied> {
    let context = "applying pulled changes";
    let tx = all_stores(db)?;
    let work = async {
        let meta_store = store(&tx, META_STORE)?;
        let stored_cursor = request(&meta_store.get(&JsValue::from_str(CURSOR_KEY)).map_err(js_err(context))?, context);
        let mut applied = PageApplied { received: page.changes.len() as u64, ..Default::default() };
        apply_changes(&tx, schema, &page.changes, now, &mut applied).await?;
        if stored_cursor.await?.as_string().as_deref() != asked_from {
            applied.restart = true;
        } else if last {
            meta_store
                .put_with_key(&JsValue::from_str(&page.cursor), &JsValue::from_str(CURSOR_KEY))
                .map_err(js_err(context))?;
        }
        // Only the page's end is read for it (the engine looks once the page is in).
        applied.sweep_due = last && super::force::sweep_due(&tx, context).await?.is_due();
        Ok(applied)
    };
    commit_now_or_abort(&tx, context, work).await
}

/// Takes a stored record whose metadata does not decode out of the sync's way: logged
/// (`quarantined`) with its raw value; the caller then treats the record as absent.
async fn quarantine_record(
    tx: &IdbTransaction,
    collection: &str,
    id: &str,
    raw: &JsValue,
    now: f64,
    context: &str,
) -> Result<()> {
    let why =
        format!("a stored record whose `{META_FIELD}` metadata does not decode; the server's version replaced it");
    super::log::quarantined(tx, now, (collection, id), raw, why, context).await
}

/// Applies pulled changes in `tx` ([`pull_step`] decides each), adding what they did to
/// `applied`. `declared`: whether the schema declares a collection.
pub async fn apply_changes(
    tx: &IdbTransaction,
    schema: &Schema,
    changes: &[ServerRecord],
    now: f64,
    applied: &mut PageApplied,
) -> Result<()> {
    let context = "applying pulled changes";
    if changes.is_empty() {
        return Ok(());
    }
    let outbox = outbox(tx)?;
    let index = by_record(&outbox)?;
    let conflicts = store(tx, CONFLICTS_STORE)?;
    let fail = js_err(context);
    // A client with nothing queued (a fresh one, say) has no local change to protect: the
    // per-record lookups of queued entries are skipped.
    let queue_empty = request(&outbox.count().map_err(&fail)?, context).await?.as_f64() == Some(0.0);
    // With no conflict stored, there is no conflict row for a pulled version to clear.
    let no_conflicts = request(&conflicts.count().map_err(&fail)?, context).await?.as_f64() == Some(0.0);
    let drop_conflict = |collection: &str, key: &JsValue| -> Result<()> {
        if !no_conflicts {
            conflicts.delete(&record_key(collection, key)).map_err(&fail)?;
        }
        Ok(())
    };
    // Changes to collections this app does not declare are passed over (the cursor still
    // moves past them): the schema decides what this client keeps.
    let changes: Vec<_> = changes.iter().filter(|c| schema.collection(&c.collection).is_some()).collect();
    // The blobs the pulled records refer to that their collection downloads during the sync.
    let mut wanted = super::downloads::Wanted::default();
    let keys: Vec<(&str, &str)> = changes.iter().map(|c| (c.collection.as_str(), c.id.as_str())).collect();
    let found = records_of(tx, &keys, context)?;
    let queued = if queue_empty { None } else { Some(entries_of_each(&index, &keys, context)?) };
    let found = found.await?;
    let queued = match queued {
        Some(q) => q.await?,
        None => Vec::new(),
    };
    let mut puts = Vec::new();
    let (put_stores, put_values) = (js_sys::Array::new(), js_sys::Array::new());
    for (i, (change, mut record)) in changes.into_iter().zip(found).enumerate() {
        let key = JsValue::from_str(&change.id);
        let records = store(tx, &change.collection)?;
        let queued = queued.get(i).map(entries).unwrap_or_default();
        let mut meta = read_meta(&record);
        if meta.is_none() && !record.is_undefined() {
            // A row without readable metadata (written by hand, by another program, damaged):
            // set aside in the log with its raw value, and the server's version takes its place.
            quarantine_record(tx, &change.collection, &change.id, &record, now, context).await?;
            records.delete(&key).map_err(&fail)?;
            applied.changes.add(&change.collection, &change.id, Op::Delete);
            applied.changes.add(LOG_CHANGES, &change.id, Op::Create);
            (record, meta) = (JsValue::UNDEFINED, None);
        }
        let queued_entries: Vec<_> = queued.iter().map(|s| s.entry.clone()).collect();
        match pull_step(change, meta.as_ref(), &queued_entries, now) {
            PullStep::Ignore => {}
            // Stored below, all together, so that a unique-index clash is caught.
            PullStep::Take { record: RecordStep::Server(m), announce } => {
                let stored = server_version(change.data.as_ref().map(|d| &d.0), &key, &m, context)?;
                if let Some(collection) = schema.collection(&change.collection) {
                    wanted.note(collection, &stored);
                }
                put_stores.push(&records);
                put_values.push(&stored);
                puts.push((change, key, records, record, announce));
            }
            PullStep::Take { record: step, announce } => {
                carry_out(&records, &key, &record, step, None, context)?;
                drop_conflict(&change.collection, &key)?;
                if let Some(op) = announce {
                    applied.changes.add(&change.collection, &change.id, op);
                }
            }
            PullStep::Conflict { hold, record: step, counted } => {
                let base = queued.first().map_or(JsValue::UNDEFINED, |first| get(&first.raw, "base"));
                let server = wire::server_record(change);
                let conflict = glue::make_conflict(&change.collection, &key, &record, &server, &base, now);
                conflicts.put(&conflict).map_err(&fail)?;
                if let Some(first) = hold.and_then(|seq| queued.iter().find(|s| s.entry.seq == seq)) {
                    outbox
                        .put(&glue::hold_entry(&first.raw, Hold::Conflict.as_str(), &JsValue::UNDEFINED))
                        .map_err(&fail)?;
                }
                applied.conflicts += u64::from(counted);
                if matches!(step, RecordStep::Meta(_)) {
                    applied.changes.add(&change.collection, &change.id, Op::Update);
                }
                carry_out(&records, &key, &record, step, None, context)?;
            }
        }
    }
    // A pulled record that clashes with another local record on a unique index cannot be
    // stored; it is kept as a conflict rather than stopping the pull for good.
    let stored = glue::put_each_unless_clash(&put_stores, &put_values).map_err(&fail)?;
    let stored =
        js_sys::Array::from(&JsFuture::from(stored).await.map_err(|e| from_js(context, &e, ErrorKind::Storage))?);
    for (i, (change, key, records, record, announce)) in puts.into_iter().enumerate() {
        if stored.get(i as u32).as_bool() == Some(true) {
            if let Some(op) = announce {
                applied.changes.add(&change.collection, &change.id, op);
            }
            drop_conflict(&change.collection, &key)?;
            continue;
        }
        let local = if record.is_undefined() { JsValue::NULL } else { record.clone() };
        conflicts
            .put(&glue::make_conflict(
                &change.collection,
                &key,
                &local,
                &wire::server_record(change),
                &JsValue::UNDEFINED,
                now,
            ))
            .map_err(&fail)?;
        let (step, counted) = clash_step(read_meta(&record).as_ref());
        applied.conflicts += u64::from(counted);
        if matches!(step, RecordStep::Meta(_)) {
            applied.changes.add(&change.collection, &change.id, Op::Update);
        }
        carry_out(&records, &key, &record, step, None, context)?;
    }
    wanted.store(tx, context).await
}
