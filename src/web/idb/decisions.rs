//! The user's decisions in IndexedDB: a conflict resolved by keeping the local or the server
//! version, a dead letter retried or discarded. Each is one transaction; what it does comes from
//! the core ([`decide`](crate::core::sync::rules::decide)).

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbTransaction};

use crate::core::error::Result;
use crate::core::meta::RecordMeta;
use crate::core::schema::{CONFLICTS_STORE, META_STORE, OUTBOX_STORE};
use crate::core::sync::entry::Hold;
use crate::core::sync::rules::decide::{self, Decision};
use crate::core::sync::storage::{Changes, Choice, Decided};

use super::super::glue;
use super::super::js::{get, opt_num};
use super::super::records::read_meta;
use super::connection::{commit_or_abort, js_err, request, transaction};
use super::entries::{
    all_stores, by_record, count_dead_letters, entries, entries_of, outbox, record_key, seq_key, store, Stored,
};
use super::pull::CURSOR_KEY;
use super::record_step::carry_out;

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

/// What a decision reads: the record, its metadata, its queued entries and its conflict row
/// (undefined when it has none).
struct Target {
    collection: String,
    key: JsValue,
    record: JsValue,
    meta: Option<RecordMeta>,
    queued: Vec<Stored>,
    conflict: JsValue,
}

impl Target {
    async fn read(tx: &IdbTransaction, collection: &str, id: &str, context: &str) -> Result<Target> {
        let key = JsValue::from_str(id);
        let record = request(&store(tx, collection)?.get(&key).map_err(js_err(context))?, context);
        let queued = entries_of(&by_record(&outbox(tx)?)?, collection, &key, context)?;
        let conflict_key = record_key(collection, &key);
        let conflict = request(&store(tx, CONFLICTS_STORE)?.get(&conflict_key).map_err(js_err(context))?, context);
        let record = record.await?;
        let queued = entries(&queued.await?);
        let conflict = conflict.await?;
        Ok(Target { collection: collection.to_string(), meta: read_meta(&record), key, record, queued, conflict })
    }

    fn entries(&self) -> Vec<crate::core::sync::entry::Entry> {
        self.queued.iter().map(|s| s.entry.clone()).collect()
    }
}

/// Carries out `d` on the record of `target` in `tx`; `server`: the server's data a
/// [`Choice::Server`] takes; `mutation_id`: the id of a change the decision queues.
async fn carry_out_decision(
    tx: &IdbTransaction,
    target: &Target,
    d: Decision,
    server: Option<&JsValue>,
    mutation_id: &str,
    now: f64,
    context: &str,
) -> Result<Decided> {
    let fail = js_err(context);
    let collection = target.collection.as_str();
    let outbox = outbox(tx)?;
    for seq in &d.remove {
        outbox.delete(&seq_key(*seq)).map_err(&fail)?;
    }
    if let Some(dead) = d.retry.and_then(|seq| target.queued.iter().find(|s| s.entry.seq == seq)) {
        outbox.put(&glue::retry_entry(&dead.raw, mutation_id)).map_err(&fail)?;
    }
    if let Some(new) = d.add {
        let entry = glue::make_outbox_entry(
            mutation_id,
            collection,
            &target.key,
            new.op.as_str(),
            opt_num(new.base_version),
            now,
        );
        outbox.add(&entry).map_err(&fail)?;
    }
    count_dead_letters(tx, d.dead_letters_delta).await?;
    if d.drop_conflict {
        store(tx, CONFLICTS_STORE)?.delete(&record_key(collection, &target.key)).map_err(&fail)?;
    }
    if d.reset_cursor {
        store(tx, META_STORE)?.delete(&JsValue::from_str(CURSOR_KEY)).map_err(&fail)?;
    }
    carry_out(&store(tx, collection)?, &target.key, &target.record, d.record, server, context)?;
    let mut changes = Changes::default();
    if let Some(op) = d.announce {
        changes.add(collection, &target.key.as_string().unwrap_or_default(), op);
    }
    Ok(Decided { pending_delta: d.pending_delta, changes })
}

/// Keeps one side of the conflict on `collection`/`id`; a kept local side is queued under
/// `mutation_id`.
pub async fn resolve_conflict(
    db: &IdbDatabase,
    collection: &str,
    id: &str,
    choice: Choice,
    mutation_id: &str,
    now: f64,
) -> Result<Decided> {
    let context = "resolving a conflict";
    let tx = all_stores(db)?;
    let work = async {
        let target = Target::read(&tx, collection, id, context).await?;
        if target.conflict.is_undefined() {
            return Err(decide::no_conflict(collection, id));
        }
        let server = get(&target.conflict, "server");
        let version = get(&server, "version").as_f64().unwrap_or(0.0) as u64;
        let deleted = get(&server, "deleted").as_bool().unwrap_or(false);
        let d = decide::resolve(choice, (version, deleted), target.meta.as_ref(), &target.entries(), now);
        carry_out_decision(&tx, &target, d, Some(&get(&server, "data")), mutation_id, now, context).await
    };
    commit_or_abort(&tx, context, work).await
}

/// Sends the dead letter of `collection`/`id` again, as the new mutation `mutation_id` (the
/// server answers a repeated id with its first answer, the rejection).
pub async fn retry_failed(
    db: &IdbDatabase,
    collection: &str,
    id: &str,
    mutation_id: &str,
    now: f64,
) -> Result<Decided> {
    let context = "retrying a failed change";
    let tx = all_stores(db)?;
    let work = async {
        let target = Target::read(&tx, collection, id, context).await?;
        let queued = target.entries();
        let d = decide::retry(decide::from_dead_letter(&queued, collection, id)?, target.meta.as_ref());
        carry_out_decision(&tx, &target, d, None, mutation_id, now, context).await
    };
    commit_or_abort(&tx, context, work).await
}

/// Drops the dead letter of `collection`/`id` and the record's later changes.
pub async fn discard_failed(db: &IdbDatabase, collection: &str, id: &str, now: f64) -> Result<Decided> {
    let context = "discarding a failed change";
    let tx = all_stores(db)?;
    let work = async {
        let target = Target::read(&tx, collection, id, context).await?;
        let queued = target.entries();
        let from_dead = decide::from_dead_letter(&queued, collection, id)?;
        let d = decide::discard(from_dead, target.meta.as_ref(), !target.conflict.is_undefined(), now);
        carry_out_decision(&tx, &target, d, None, "", now, context).await
    };
    commit_or_abort(&tx, context, work).await
}
