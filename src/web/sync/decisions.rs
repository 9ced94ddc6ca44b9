//! What the user decides: a conflict resolved by keeping the local or the server version, a
//! dead letter retried or discarded. Each decision is one transaction.

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::IdbDatabase;

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::ids::IdGenerator;
use crate::core::meta::RecordMeta;
use crate::core::outbox::Op;
use crate::core::schema::{CONFLICTS_STORE, META_STORE, OUTBOX_STORE};
use crate::core::status::{RecordStatus, StatusEvent};

use super::super::connection::{commit_or_abort, js_err};
use super::super::connection::{request, transaction};
use super::super::glue;
use super::super::interop::{get, meta_to_js, opt_num, read_meta};
use super::entries::{all_stores, by_record, entries, entries_of, outbox, record_key, store, Hold};
use super::pull::CURSOR_KEY;
use super::Changes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Local,
    Server,
}

impl Choice {
    pub fn parse(value: &JsValue) -> Result<Choice> {
        match value.as_string().as_deref() {
            Some("local") => Ok(Choice::Local),
            Some("server") => Ok(Choice::Server),
            _ => Err(Error::new(
                ErrorKind::InvalidOptions,
                format!(
                    "a conflict is resolved with \"local\" or \"server\", got {}",
                    super::super::interop::type_name(value)
                ),
            )),
        }
    }
}

/// What a decision changed, for the status and the listeners.
pub struct Decided {
    pub pending_delta: i64,
    pub changes: Changes,
}

/// Every unresolved conflict: `{ collection, id, local, server, detectedAt }`.
pub async fn conflicts(db: &IdbDatabase) -> Result<JsValue> {
    let context = "reading conflicts";
    let tx = transaction(db, &[CONFLICTS_STORE], false)?;
    request(&store(&tx, CONFLICTS_STORE)?.get_all().map_err(js_err(context))?, context).await
}

/// Every dead letter: the outbox entries the server rejected, with its `error`.
pub async fn dead_letters(db: &IdbDatabase) -> Result<JsValue> {
    let context = "reading failed changes";
    let tx = transaction(db, &[OUTBOX_STORE], false)?;
    let all = request(&store(&tx, OUTBOX_STORE)?.get_all().map_err(js_err(context))?, context).await?;
    Ok(Array::from(&all)
        .iter()
        .filter(|e| get(e, "hold").as_string().as_deref() == Some(Hold::Failed.as_str()))
        .collect::<Array>()
        .into())
}

/// Keeps one side of the conflict on `collection`/`id`. Local: the record stays as it is and
/// one new change (a new mutation id, based on the server's version) replaces its queued ones.
/// Server: the server's record replaces the local one and its queued changes are dropped.
pub async fn resolve_conflict(
    db: &IdbDatabase,
    ids: &IdGenerator,
    collection: &str,
    id: &str,
    choice: Choice,
    now: f64,
) -> Result<Decided> {
    let context = "resolving a conflict";
    let tx = all_stores(db)?;
    let work = async {
        let fail = js_err(context);
        let key = JsValue::from_str(id);
        let conflicts = store(&tx, CONFLICTS_STORE)?;
        let records = store(&tx, collection)?;
        let outbox = outbox(&tx)?;
        let conflict_key = record_key(collection, &key);
        let conflict = request(&conflicts.get(&conflict_key).map_err(&fail)?, context);
        let record = request(&records.get(&key).map_err(&fail)?, context);
        let queued = entries_of(&by_record(&outbox)?, collection, &key, context)?;
        let conflict = conflict.await?;
        if conflict.is_undefined() {
            return Err(Error::new(ErrorKind::RecordNotFound, format!("no conflict on \"{id}\" in \"{collection}\"")));
        }
        let record = record.await?;
        let queued = entries(&queued.await?);
        let server = get(&conflict, "server");
        let server_version = get(&server, "version").as_f64().unwrap_or(0.0) as u64;
        for e in &queued {
            outbox.delete(&e.seq_key()).map_err(&fail)?;
        }
        let dead = queued.iter().filter(|e| e.hold == Some(Hold::Failed)).count() as i64;
        super::entries::count_dead_letters(&tx, -dead).await?;
        conflicts.delete(&conflict_key).map_err(&fail)?;
        let mut changes = Changes::default();
        let meta = read_meta(&record);
        let mut delta = -(queued.len() as i64);
        match choice {
            Choice::Local => {
                if let Some(m) = meta {
                    let op = if m.deleted { Op::Delete } else { Op::Update };
                    let entry = glue::make_outbox_entry(
                        &ids.next_at(now),
                        collection,
                        &key,
                        op.as_str(),
                        opt_num(Some(server_version)),
                        now,
                    );
                    outbox.add(&entry).map_err(&fail)?;
                    delta += 1;
                    let m = RecordMeta {
                        server_version: Some(server_version),
                        status: m.status.next(StatusEvent::Resolved { queued: true }),
                        ..m
                    };
                    records.put(&glue::with_meta(&record, &meta_to_js(&m, &key))).map_err(&fail)?;
                    changes.add(collection, id, "update");
                }
            }
            Choice::Server if get(&server, "deleted").as_bool().unwrap_or(false) => {
                if meta.is_some() {
                    records.delete(&key).map_err(&fail)?;
                    changes.add(collection, id, "delete");
                }
            }
            Choice::Server => {
                let m = RecordMeta {
                    version: meta.as_ref().map_or(1, |m| m.version + 1),
                    server_version: Some(server_version),
                    status: RecordStatus::Synced,
                    updated_at: now,
                    deleted: false,
                };
                let stored = glue::stamp_record(&get(&server, "data"), &key, &meta_to_js(&m, &key))
                    .map_err(|e| super::super::error::from_js(context, &e, ErrorKind::Storage))?;
                records.put(&stored).map_err(&fail)?;
                changes.add(collection, id, if meta.is_some_and(|m| !m.deleted) { "update" } else { "create" });
            }
        }
        Ok(Decided { pending_delta: delta, changes })
    };
    commit_or_abort(&tx, context, work).await
}

/// Sends a dead letter again, as a new mutation (the server answers a repeated id with its
/// first answer, the rejection).
pub async fn retry_failed(
    db: &IdbDatabase,
    ids: &IdGenerator,
    collection: &str,
    id: &str,
    now: f64,
) -> Result<Decided> {
    decide_failed(db, collection, id, |tx, key, record, queued| {
        let fail = js_err("retrying a failed change");
        let dead = &queued[0];
        store(tx, OUTBOX_STORE)?.put(&glue::retry_entry(&dead.raw, &ids.next_at(now))).map_err(&fail)?;
        if let Some(m) = read_meta(record) {
            let m = RecordMeta { status: m.status.next(StatusEvent::Resolved { queued: true }), ..m };
            store(tx, collection)?.put(&glue::with_meta(record, &meta_to_js(&m, key))).map_err(&fail)?;
        }
        Ok((0, "update"))
    })
    .await
}

/// Drops a dead letter and the record's later changes. A record the server never had is
/// removed; any other is marked as not known to the server and the pull restarts from the
/// beginning, so the server's version replaces the local one.
pub async fn discard_failed(db: &IdbDatabase, collection: &str, id: &str, now: f64) -> Result<Decided> {
    decide_failed(db, collection, id, |tx, key, record, queued| {
        let fail = js_err("discarding a failed change");
        let outbox = store(tx, OUTBOX_STORE)?;
        for e in queued {
            outbox.delete(&e.seq_key()).map_err(&fail)?;
        }
        // A conflict found on the record meanwhile goes with the changes it was about.
        store(tx, CONFLICTS_STORE)?.delete(&record_key(collection, key)).map_err(&fail)?;
        let records = store(tx, collection)?;
        let op = match read_meta(record) {
            Some(m) if m.server_version.is_some() => {
                let m = RecordMeta {
                    server_version: None,
                    status: RecordStatus::Synced,
                    updated_at: now.max(m.updated_at),
                    ..m
                };
                records.put(&glue::with_meta(record, &meta_to_js(&m, key))).map_err(&fail)?;
                store(tx, META_STORE)?.delete(&JsValue::from_str(CURSOR_KEY)).map_err(&fail)?;
                "update"
            }
            Some(_) => {
                records.delete(key).map_err(&fail)?;
                "delete"
            }
            None => "delete",
        };
        Ok((-(queued.len() as i64), op))
    })
    .await
}

/// Finds the dead letter of `collection`/`id` and the record's entries (the dead letter first),
/// runs `decide` on them in one transaction.
async fn decide_failed(
    db: &IdbDatabase,
    collection: &str,
    id: &str,
    decide: impl FnOnce(
        &web_sys::IdbTransaction,
        &JsValue,
        &JsValue,
        &[super::entries::Entry],
    ) -> Result<(i64, &'static str)>,
) -> Result<Decided> {
    let context = "reading a failed change";
    let tx = all_stores(db)?;
    let work = async {
        let key = JsValue::from_str(id);
        let record = request(&store(&tx, collection)?.get(&key).map_err(js_err(context))?, context);
        let queued = entries_of(&by_record(&outbox(&tx)?)?, collection, &key, context)?;
        let record = record.await?;
        let queued = entries(&queued.await?);
        let Some(first) = queued.iter().position(|e| e.hold == Some(Hold::Failed)) else {
            return Err(Error::new(
                ErrorKind::RecordNotFound,
                format!("no failed change of \"{id}\" in \"{collection}\""),
            ));
        };
        let (delta, op) = decide(&tx, &key, &record, &queued[first..])?;
        super::entries::count_dead_letters(&tx, -1).await?;
        let mut changes = Changes::default();
        changes.add(collection, id, op);
        Ok(Decided { pending_delta: delta, changes })
    };
    commit_or_abort(&tx, context, work).await
}
