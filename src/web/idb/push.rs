//! The push steps in IndexedDB: read a batch (one transaction, which also counts the send), then,
//! after the network, apply the server's answer (a new transaction). No transaction is open while
//! the request is in flight. What each answer does comes from the core
//! ([`push_step`](crate::core::sync::rules::push::push_step)).

use std::collections::HashMap;

use uuid::Uuid;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbKeyRange};

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::outbox::Op;
use crate::core::schema::CONFLICTS_STORE;
use crate::core::status::RecordStatus;
use crate::core::sync::batch::{next_batch, plan_page, wire_op, Queued};
use crate::core::sync::entry::Hold;
use crate::core::sync::log::{LogKind, LOG_CHANGES};
use crate::core::sync::rules::push::{push_step, pushed_data_is_base, settles_conflict, EntryStep};
use crate::core::sync::storage::{Batch, PushApplied};
use crate::protocol::{self, Mutation, MutationResult};

use super::super::glue;
use super::super::js::get;
use super::super::records::read_meta;
use super::super::wire::{self, JsData, PushResponse};
use super::connection::{commit_or_abort, js_err, request};
use super::entries::{
    all_stores, all_stores_strict, by_record, count_dead_letters, entries, entries_of, outbox, record_key, seq_key,
    store, Stored,
};
use super::log;
use super::record_step::carry_out;

/// Reads the next batch (at most `max` entries) and counts the attempt on each, in one
/// transaction. None when nothing is ready to push.
pub async fn read_batch(db: &IdbDatabase, max: u32, now: f64) -> Result<Option<Batch<JsData>>> {
    let context = "reading a batch to push";
    let tx = all_stores_strict(db)?;
    let work = async {
        let outbox = outbox(&tx)?;
        let fail = js_err(context);
        // Queue order. Planning skips held entries and what waits behind them, so when a full
        // page plans a short batch, the next page is read too.
        let mut queued: Vec<Stored> = Vec::new();
        let mut after: Option<u64> = None;
        let chosen = loop {
            let range = match after {
                Some(seq) => IdbKeyRange::lower_bound_with_open(&seq_key(seq), true).map_err(&fail)?.into(),
                None => JsValue::UNDEFINED,
            };
            let page =
                request(&outbox.get_all_with_key_and_limit(&range, plan_page(max)).map_err(&fail)?, context).await?;
            let page = entries(&page);
            let full = page.len() as u32 == plan_page(max);
            after = page.last().map(|e| e.entry.seq);
            queued.extend(page);
            let plan: Vec<Queued<'_>> = queued.iter().map(|s| Queued::from(&s.entry)).collect();
            let chosen = next_batch(&plan, max as usize);
            if !full || chosen.len() >= max as usize {
                break chosen;
            }
        };
        if chosen.is_empty() {
            return Ok(None);
        }
        let picked: Vec<Stored> = queued.into_iter().filter(|s| chosen.contains(&s.entry.seq)).collect();
        let mut reads = Vec::with_capacity(picked.len());
        for s in &picked {
            let records = store(&tx, &s.entry.collection)?;
            reads.push(request(&records.get(&JsValue::from_str(&s.entry.record_id)).map_err(&fail)?, context));
        }
        let mut batch = Batch { mutations: Vec::with_capacity(picked.len()), seqs: Vec::with_capacity(picked.len()) };
        for (s, read) in picked.into_iter().zip(reads) {
            let record = read.await?;
            let e = &s.entry;
            let mutation_id = Uuid::try_parse(&e.mutation_id).map_err(|_| {
                Error::new(ErrorKind::Storage, format!("outbox entry {} has a malformed mutation id", e.seq))
            })?;
            let op = wire_op(e.op, !record.is_undefined() && !glue::is_tombstone(&record));
            batch.mutations.push(Mutation {
                mutation_id,
                collection: e.collection.clone(),
                id: e.record_id.clone(),
                op,
                data: (op == protocol::Op::Upsert).then(|| JsData(glue::wire_data(&record))),
                base_version: e.base_version,
                force: e.force,
                // The local clock; the engine turns it into the server's before the push.
                written_at: read_meta(&record).map(|m| m.updated_at as u64),
                space: None,
            });
            batch.seqs.push(e.seq);
            outbox.put(&glue::mark_sent(&s.raw, now)).map_err(&fail)?;
        }
        Ok(Some(batch))
    };
    commit_or_abort(&tx, context, work).await
}

/// Applies the server's answer to `batch`, in one transaction. An entry without an answer is
/// left as it is and sent again (under the same mutation id, so the server answers it once).
pub async fn apply_push(db: &IdbDatabase, batch: Batch<JsData>, answer: PushResponse, now: f64) -> Result<PushApplied> {
    let mut by_id: HashMap<Uuid, MutationResult<JsData>> =
        answer.results.into_iter().map(|r| (r.mutation_id(), r)).collect();
    let context = "applying push results";
    let tx = all_stores(db)?;
    let work = async {
        let outbox = outbox(&tx)?;
        let index = by_record(&outbox)?;
        let conflicts = store(&tx, CONFLICTS_STORE)?;
        let fail = js_err(context);
        let mut reads = Vec::new();
        let mut applied = PushApplied::default();
        for (m, seq) in batch.mutations.iter().zip(batch.seqs) {
            let Some(result) = by_id.remove(&m.mutation_id) else { continue };
            applied.answered += 1;
            let key = JsValue::from_str(&m.id);
            let records = store(&tx, &m.collection)?;
            let record = request(&records.get(&key).map_err(&fail)?, context);
            let siblings = entries_of(&index, &m.collection, &key, context)?;
            reads.push((m, seq, key, records, result, record, siblings));
        }
        for (m, seq, key, records, result, record, siblings) in reads {
            let record = record.await?;
            let siblings = entries(&siblings.await?);
            // The entry may have gone meanwhile (the user discarded it); nothing to apply then.
            let Some(sent) = siblings.iter().find(|s| s.entry.seq == seq) else { continue };
            let later = siblings.iter().find(|s| s.entry.seq > seq);
            let meta = read_meta(&record);
            let mut step = push_step(&result, meta.as_ref(), later.is_some());
            // Only a record in conflict has a conflict row to look at.
            if meta.as_ref().is_some_and(|m| m.status == RecordStatus::Conflict) {
                let conflict_key = record_key(&m.collection, &key);
                let conflict = request(&conflicts.get(&conflict_key).map_err(&fail)?, context).await?;
                let version = get(&get(&conflict, "server"), "version").as_f64();
                if version.is_some_and(|v| settles_conflict(&result, v as u64)) {
                    conflicts.delete(&conflict_key).map_err(&fail)?;
                    step = step.conflict_settled(later.is_some());
                }
            }
            match step.entry {
                EntryStep::Remove => {
                    outbox.delete(&seq_key(seq)).map_err(&fail)?;
                    applied.acknowledged += 1;
                }
                EntryStep::Hold(hold) => {
                    outbox.put(&glue::hold_entry(&sent.raw, hold.as_str(), &JsValue::UNDEFINED)).map_err(&fail)?;
                    applied.conflicts += 1;
                }
                EntryStep::DeadLetter { code, message } => {
                    let data = m.data.as_ref().map_or(JsValue::UNDEFINED, |d| d.0.clone());
                    let logged = glue::make_log_entry(
                        now,
                        LogKind::Rejected.as_str(),
                        &m.collection,
                        &m.id,
                        None,
                        None,
                        &data,
                        &JsValue::UNDEFINED,
                        Some(code.clone()),
                        Some(message.clone()),
                    );
                    log::append(&tx, &logged, context).await?;
                    applied.changes.add(LOG_CHANGES, &m.id, Op::Create);
                    let error = glue::make_rejection(&code, &message);
                    outbox.put(&glue::hold_entry(&sent.raw, Hold::Failed.as_str(), &error)).map_err(&fail)?;
                    applied.rejected += 1;
                }
            }
            if let (Some(version), Some(next)) = (step.rebase_next, later) {
                // The server now has what was pushed: the next change starts from it.
                let base = match &m.data {
                    Some(d) if pushed_data_is_base(sent.entry.attempts) => d.0.clone(),
                    _ => JsValue::UNDEFINED,
                };
                outbox.put(&glue::with_base(&next.raw, version as f64, &base)).map_err(&fail)?;
            }
            if let (true, MutationResult::Conflict { current, .. }) = (step.keep_conflict, &result) {
                let local = if record.is_undefined() { JsValue::NULL } else { record.clone() };
                let base = get(&sent.raw, "base");
                let server = wire::server_record(current);
                let conflict = glue::make_conflict(&m.collection, &key, &local, &server, &base, now);
                conflicts.put(&conflict).map_err(&fail)?;
            }
            carry_out(&records, &key, &record, step.record, None, context)?;
            if let Some(op) = step.announce {
                applied.changes.add(&m.collection, &m.id, op);
            }
        }
        count_dead_letters(&tx, applied.rejected as i64).await?;
        Ok(applied)
    };
    commit_or_abort(&tx, context, work).await
}
