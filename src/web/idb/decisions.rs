//! The user's decisions in IndexedDB: a conflict resolved by keeping the local or the server
//! version, a dead letter retried or discarded. Each is one transaction; what it does comes from
//! the core ([`decide`](crate::core::sync::rules::decide)).

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbTransaction};

use crate::core::error::{Error, Result};
use crate::core::meta::RecordMeta;
use crate::core::outbox::Op;
use crate::core::schema::{Schema, CONFLICTS_STORE, META_STORE, OUTBOX_STORE};
use crate::core::sync::conflict::diff::diff;
use crate::core::sync::conflict::strategy::{settle, Settlement, Strategy};
use crate::core::sync::entry::Hold;
use crate::core::sync::log::{By, Kept, LogKind, LOG_CHANGES};
use crate::core::sync::rules::decide::{self, Decision, Side};
use crate::core::sync::rules::force::Scope;
use crate::core::sync::rules::RecordStep;
use crate::core::sync::storage::{Answer, Changes, Decided, Settled};

use super::super::glue;
use super::super::js::{get, opt_num, set_field};
use super::super::records::read_meta;
use super::super::wire::JsData;
use super::connection::{commit_or_abort, js_err, request, transaction};
use super::entries::{
    all_stores, by_record, count_dead_letters, entries, entries_of, outbox, record_key, seq_key, store, store_names,
    Stored,
};
use super::log;
use super::record_step::carry_out;
use super::sent::{read_mark, show_attempts};
use super::spaces;
use super::unique;

/// Every unresolved conflict: `{ collection, id, local, server, base, detectedAt, diff }`, where
/// `diff` lists each field changed since the base and on which side (the core's
/// [`diff`](crate::core::sync::conflict::diff::diff)).
pub async fn conflicts(db: &IdbDatabase) -> Result<JsValue> {
    let context = "reading conflicts";
    let names = store_names(db);
    let tx = transaction(db, &names.iter().map(String::as_str).collect::<Vec<_>>(), false)?;
    let rows = request(&store(&tx, CONFLICTS_STORE)?.get_all().map_err(js_err(context))?, context).await?;
    let present = |v: JsValue| (!v.is_null() && !v.is_undefined()).then_some(v);
    // The record here as it is now, not as it was when the conflict was found: writes made while
    // it was held are in it, and what a person or a resolver keeps must not undo them.
    let mut reads = Vec::new();
    for row in Array::from(&rows).iter() {
        let collection = get(&row, "collection").as_string().unwrap_or_default();
        let current = match store(&tx, &collection) {
            Ok(records) => Some(request(&records.get(&get(&row, "id")).map_err(js_err(context))?, context)),
            Err(_) => None,
        };
        reads.push((row, current));
    }
    for (row, current) in reads {
        if let Some(current) = current {
            let current = current.await?;
            set_field(row.unchecked_ref(), "local", &if current.is_undefined() { JsValue::NULL } else { current });
        }
        let local = present(get(&row, "local")).filter(|r| !glue::is_tombstone(r)).map(|r| JsData(glue::wire_data(&r)));
        let server = get(&row, "server");
        let server = (!get(&server, "deleted").as_bool().unwrap_or(false)).then(|| JsData(get(&server, "data")));
        let base = present(get(&row, "base")).map(JsData);
        let diff: Array = diff(base.as_ref(), local.as_ref(), server.as_ref())
            .into_iter()
            .map(|f| {
                let path: Array = f.path.iter().map(|p| JsValue::from_str(p)).collect();
                let side = |v: Option<JsData>| v.map_or(JsValue::UNDEFINED, |d| d.0);
                glue::make_field_diff(&path, &side(f.base), &side(f.local), &side(f.server), f.change.as_str())
            })
            .collect();
        set_field(row.unchecked_ref(), "diff", &diff);
    }
    Ok(rows)
}

/// Every dead letter: the outbox entries the server rejected, with its `error`, each with the
/// sends it had ([`show_attempts`]).
pub async fn dead_letters(db: &IdbDatabase) -> Result<JsValue> {
    let context = "reading failed changes";
    let tx = transaction(db, &[OUTBOX_STORE, META_STORE], false)?;
    let mark = read_mark(&tx, context)?;
    let all = request(&store(&tx, OUTBOX_STORE)?.get_all().map_err(js_err(context))?, context).await?;
    let dead: Array = Array::from(&all)
        .iter()
        .filter(|e| get(e, "hold").as_string().as_deref() == Some(Hold::Failed.as_str()))
        .collect();
    show_attempts(&dead, mark.await?);
    Ok(dead.into())
}

/// What a decision reads: the record, its metadata, its queued entries and its conflict row
/// (undefined when it has none).
struct Target {
    collection: String,
    id: String,
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
        Ok(Target {
            collection: collection.to_string(),
            id: id.to_string(),
            meta: read_meta(&record),
            key,
            record,
            queued,
            conflict,
        })
    }

    /// The record's data as the server would have it (no id, no metadata); `None` when it is not
    /// here or is a tombstone.
    fn data(&self) -> Option<JsData> {
        (!self.record.is_undefined() && !glue::is_tombstone(&self.record))
            .then(|| JsData(glue::wire_data(&self.record)))
    }

    fn entries(&self) -> Vec<crate::core::sync::entry::Entry> {
        self.queued.iter().map(|s| s.entry.clone()).collect()
    }
}

/// Carries out `d` on the record of `target` in `tx`; `server`: the data a `RecordStep::Server`
/// step takes (the server's, or a merge); `base`: the base of the change it queues (the server's
/// data); `mutation_id`: the id of that change.
#[allow(clippy::too_many_arguments)]
async fn carry_out_decision(
    tx: &IdbTransaction,
    schema: &Schema,
    target: &Target,
    d: Decision,
    server: Option<&JsValue>,
    base: &JsValue,
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
            base,
        );
        outbox.add(&entry).map_err(&fail)?;
    }
    count_dead_letters(tx, d.dead_letters_delta).await?;
    if d.drop_conflict {
        store(tx, CONFLICTS_STORE)?.delete(&record_key(collection, &target.key)).map_err(&fail)?;
    }
    if d.sweep {
        super::force::widen_sweep_in(tx, &Scope::Only(vec![collection.to_string()]), context).await?;
    }
    if d.reset_cursor {
        super::spaces::forget_cursors(tx, context).await?;
    }
    // The record as the decision leaves it, for the space check below.
    let after = match &d.record {
        RecordStep::Remove => None,
        RecordStep::Server(_) => server.cloned(),
        RecordStep::Keep | RecordStep::Meta(_) => Some(target.record.clone()),
    };
    let queued = target.queued.len() + usize::from(d.add.is_some()) > d.remove.len();
    let in_conflict = !target.conflict.is_undefined() && !d.drop_conflict;
    carry_out(&store(tx, collection)?, &target.key, &target.record, d.record, server, context)?;
    // Settled on the server's version (or a merge): its blobs come down as a pull's would.
    if let (Some(after), Some(def)) = (&after, schema.collection(collection)) {
        let mut wanted = super::downloads::Wanted::default();
        wanted.note(def, after);
        wanted.store(tx, context).await?;
    }
    let mut changes = Changes::default();
    let id = target.key.as_string().unwrap_or_default();
    if let Some(op) = d.announce {
        changes.add(collection, &id, op);
    }
    // Settled on a version in a space this device does not sync: the copy goes.
    if let (Some(after), true) = (after, spaces::by_space(schema)) {
        let set = spaces::read_set(&store(tx, META_STORE)?, context).await?;
        if spaces::prune(tx, schema, &set, collection, &target.key, &after, queued, in_conflict, context)? {
            changes.add(collection, &id, Op::Delete);
        }
    }
    Ok(Decided { pending_delta: d.pending_delta, changes })
}

/// Settles the conflict of `target` by keeping `side` (`merged`: the data of a [`Side::Merged`]),
/// logged with both versions as they were; a change it queues is `mutation_id`.
#[allow(clippy::too_many_arguments)]
async fn settle_one(
    tx: &IdbTransaction,
    schema: &Schema,
    target: &Target,
    side: Side,
    merged: &JsValue,
    by: By,
    mutation_id: &str,
    now: f64,
    context: &str,
) -> Result<Decided> {
    if target.conflict.is_undefined() {
        return Err(decide::no_conflict(&target.collection, &target.id));
    }
    let side = decide::kept_side(side, target.meta.as_ref());
    let server = get(&target.conflict, "server");
    let version = get(&server, "version").as_f64().unwrap_or(0.0) as u64;
    let deleted = get(&server, "deleted").as_bool().unwrap_or(false);
    let server_data = if deleted { JsValue::UNDEFINED } else { get(&server, "data") };
    let kept = match side {
        Side::Local => Kept::Local,
        Side::Server => Kept::Server,
        Side::Merged => Kept::Merged,
    };
    let logged = glue::make_log_entry(
        now,
        LogKind::Resolved.as_str(),
        &target.collection,
        &target.id,
        Some(by.as_str().to_string()),
        Some(kept.as_str().to_string()),
        &target.data().map_or(JsValue::NULL, |d| d.0),
        &if deleted { JsValue::NULL } else { server_data.clone() },
        None,
        None,
    );
    log::append(tx, &logged, context).await?;
    let d = decide::resolve(side, (version, deleted), target.meta.as_ref(), &target.entries(), now);
    let data = if side == Side::Merged { merged.clone() } else { get(&server, "data") };
    let mut decided =
        carry_out_decision(tx, schema, target, d, Some(&data), &server_data, mutation_id, now, context).await?;
    decided.changes.add(LOG_CHANGES, &target.id, Op::Create);
    Ok(decided)
}

/// The unique-index clash that keeping `side` of `target`'s conflict (`merged`: the data of a
/// [`Side::Merged`]) would meet, if it stores a version that clashes.
async fn clash(
    tx: &IdbTransaction,
    target: &Target,
    side: Side,
    merged: &JsValue,
    context: &str,
) -> Result<Option<Error>> {
    let stored = match decide::kept_side(side, target.meta.as_ref()) {
        Side::Local => return Ok(None),
        Side::Merged => merged.clone(),
        Side::Server => {
            let server = get(&target.conflict, "server");
            if get(&server, "deleted").as_bool().unwrap_or(false) {
                return Ok(None);
            }
            get(&server, "data")
        }
    };
    unique::clash_in(tx, &target.collection, &target.key, &stored, context).await
}

/// Carries out collections' own resolvers' answers, in one transaction.
pub async fn apply_answers(
    db: &IdbDatabase,
    schema: &Schema,
    answers: Vec<(String, String, Answer<JsData>)>,
    now: f64,
    mutation_id: &mut dyn FnMut() -> String,
) -> Result<Settled> {
    let context = "settling conflicts by their resolvers";
    let tx = all_stores(db)?;
    let work = async {
        let mut settled = Settled::default();
        let by = By::Strategy(Strategy::Custom);
        for (collection, id, answer) in answers {
            let target = Target::read(&tx, &collection, &id, context).await?;
            if target.conflict.is_undefined() {
                continue;
            }
            let (side, merged) = match answer.side() {
                Ok((side, merged)) => (side, merged.map_or(JsValue::UNDEFINED, |d| d.0)),
                Err(None) => continue,
                Err(Some(why)) => {
                    let entry = glue::make_log_entry(
                        now,
                        LogKind::Unresolved.as_str(),
                        &collection,
                        &id,
                        Some(by.as_str().to_string()),
                        None,
                        &JsValue::UNDEFINED,
                        &JsValue::UNDEFINED,
                        None,
                        Some(why),
                    );
                    log::append(&tx, &entry, context).await?;
                    settled.decided.changes.add(LOG_CHANGES, &id, Op::Create);
                    continue;
                }
            };
            // A version that clashes on a unique index stays a conflict until the clash is gone.
            if clash(&tx, &target, side, &merged, context).await?.is_some() {
                continue;
            }
            settled.settled(settle_one(&tx, schema, &target, side, &merged, by, &mutation_id(), now, context).await?);
        }
        Ok(settled)
    };
    commit_or_abort(&tx, context, work).await
}

/// Keeps one side of the conflict on `collection`/`id` (or `merged` data, for [`Side::Merged`]);
/// a kept local side or a merge is queued under `mutation_id`.
#[allow(clippy::too_many_arguments)]
pub async fn resolve_conflict(
    db: &IdbDatabase,
    schema: &Schema,
    collection: &str,
    id: &str,
    side: Side,
    merged: JsValue,
    mutation_id: &str,
    now: f64,
) -> Result<Decided> {
    let context = "resolving a conflict";
    let tx = all_stores(db)?;
    let work = async {
        let target = Target::read(&tx, collection, id, context).await?;
        if !target.conflict.is_undefined() {
            if let Some(clash) = clash(&tx, &target, side, &merged, context).await? {
                return Err(clash);
            }
        }
        settle_one(&tx, schema, &target, side, &merged, By::User, mutation_id, now, context).await
    };
    commit_or_abort(&tx, context, work).await
}

/// Settles every conflict of a collection with an automatic strategy, by that strategy, in one
/// transaction.
pub async fn settle_conflicts(
    db: &IdbDatabase,
    schema: &Schema,
    now: f64,
    clock_offset: f64,
    mutation_id: &mut dyn FnMut() -> String,
) -> Result<Settled> {
    let context = "settling conflicts";
    let tx = all_stores(db)?;
    let work = async {
        let rows = request(&store(&tx, CONFLICTS_STORE)?.get_all().map_err(js_err(context))?, context).await?;
        let mut settled = Settled::default();
        for row in Array::from(&rows).iter() {
            let collection = get(&row, "collection").as_string().unwrap_or_default();
            let strategy = schema.collection(&collection).map_or(Strategy::Manual, |c| c.conflicts);
            let Some(id) = get(&row, "id").as_string() else { continue };
            let target = Target::read(&tx, &collection, &id, context).await?;
            let by = By::Strategy(strategy);
            if target.queued.is_empty() {
                // Nothing of this record is queued here (a pulled version that clashed on a
                // unique index): the server's version, whatever the strategy, once it can be
                // stored.
                if clash(&tx, &target, Side::Server, &JsValue::UNDEFINED, context).await?.is_none() {
                    let (undefined, id) = (JsValue::UNDEFINED, mutation_id());
                    settled.settled(
                        settle_one(&tx, schema, &target, Side::Server, &undefined, by, &id, now, context).await?,
                    );
                }
                continue;
            }
            if strategy == Strategy::Manual {
                continue;
            }
            let server = get(&target.conflict, "server");
            let server_data =
                (!get(&server, "deleted").as_bool().unwrap_or(false)).then(|| JsData(get(&server, "data")));
            let base = Some(get(&target.conflict, "base")).filter(|b| !b.is_null() && !b.is_undefined()).map(JsData);
            let deleted = target.meta.as_ref().is_some_and(|m| m.deleted);
            let local = target.data();
            let local_time = target.meta.as_ref().map(|m| m.updated_at + clock_offset);
            let times = local_time.zip(get(&server, "updatedAt").as_f64());
            let settlement = settle(strategy, base.as_ref(), local.as_ref(), deleted, server_data.as_ref(), times);
            if matches!(settlement, Settlement::Ask) {
                settled.asks.push((collection, id));
                continue;
            }
            let Some((side, merged)) = settlement.side() else { continue };
            let merged = merged.map_or(JsValue::UNDEFINED, |d| d.0);
            if clash(&tx, &target, side, &merged, context).await?.is_some() {
                continue;
            }
            settled.settled(settle_one(&tx, schema, &target, side, &merged, by, &mutation_id(), now, context).await?);
        }
        Ok(settled)
    };
    commit_or_abort(&tx, context, work).await
}

/// A log entry of a decision on a dead letter, with the record's data as it was.
fn log_entry(now: f64, kind: LogKind, target: &Target) -> JsValue {
    let local = target.data().map_or(JsValue::UNDEFINED, |d| d.0);
    glue::make_log_entry(
        now,
        kind.as_str(),
        &target.collection,
        &target.id,
        None,
        None,
        &local,
        &JsValue::UNDEFINED,
        None,
        None,
    )
}

/// Sends the dead letter of `collection`/`id` again, as the new mutation `mutation_id` (the
/// server answers a repeated id with its first answer, the rejection).
pub async fn retry_failed(
    db: &IdbDatabase,
    schema: &Schema,
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
        log::append(&tx, &log_entry(now, LogKind::Retried, &target), context).await?;
        // A file the server refused goes up again with it (the refusal may be gone: a raised
        // quota, a larger limit).
        if let Some(def) = schema.collection(collection).filter(|c| !c.blobs.is_empty()) {
            super::blobs::retry_refused(&tx, &target.record, &super::super::blobs::fields(def), context).await?;
        }
        let mut decided =
            carry_out_decision(&tx, schema, &target, d, None, &JsValue::UNDEFINED, mutation_id, now, context).await?;
        decided.changes.add(LOG_CHANGES, id, Op::Create);
        Ok(decided)
    };
    commit_or_abort(&tx, context, work).await
}

/// Drops the dead letter of `collection`/`id` and the record's later changes.
pub async fn discard_failed(
    db: &IdbDatabase,
    schema: &Schema,
    collection: &str,
    id: &str,
    now: f64,
) -> Result<Decided> {
    let context = "discarding a failed change";
    let tx = all_stores(db)?;
    let work = async {
        let target = Target::read(&tx, collection, id, context).await?;
        let queued = target.entries();
        let from_dead = decide::from_dead_letter(&queued, collection, id)?;
        let d = decide::discard(from_dead, target.meta.as_ref(), !target.conflict.is_undefined(), now);
        log::append(&tx, &log_entry(now, LogKind::Discarded, &target), context).await?;
        let mut decided =
            carry_out_decision(&tx, schema, &target, d, None, &JsValue::UNDEFINED, "", now, context).await?;
        decided.changes.add(LOG_CHANGES, id, Op::Create);
        Ok(decided)
    };
    commit_or_abort(&tx, context, work).await
}
