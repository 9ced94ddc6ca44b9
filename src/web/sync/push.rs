//! The push phases: read a batch (one transaction, which also counts the send), then, after the
//! network, apply the server's answers (a new transaction). No transaction is open while the
//! request is in flight.

use std::collections::HashMap;

use uuid::Uuid;
use wasm_bindgen::JsValue;
use web_sys::IdbDatabase;

use crate::core::batch::{next_batch, Queued};
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::outbox::Op;
use crate::core::reconcile::{apply_push, LocalRecord, PushEffect, PushOutcome};
use crate::core::schema::CONFLICTS_STORE;
use crate::core::status::RecordStatus;
use crate::protocol::{self, MutationResult};

use super::super::connection::request;
use super::super::connection::{commit_or_abort, js_err};
use super::super::glue;
use super::super::interop::{meta_to_js, read_meta};
use super::entries::{all_stores, by_record, entries, entries_of, outbox, store, Entry, Hold};
use super::wire::{self, JsData, PushResponse};
use super::Changes;

/// Entries read per request while planning a batch of `max`: twice the batch, so that a few held
/// entries do not cost a second read; more pages are read only when held entries fill one.
fn plan_page(max: u32) -> u32 {
    max.saturating_mul(2).max(64)
}

/// A batch on its way: the request, and which entry each mutation came from.
pub struct Batch {
    pub request: JsValue,
    pub sent: Vec<Entry>,
}

/// Reads the next batch (at most `max` entries) and counts the attempt on each, in one
/// transaction. None when nothing is ready to push.
pub async fn read_batch(db: &IdbDatabase, max: u32, now: f64) -> Result<Option<Batch>> {
    let context = "reading a batch to push";
    let tx = super::entries::all_stores_strict(db)?;
    let work = async {
        let outbox = outbox(&tx)?;
        let fail = js_err(context);
        // Queue order. Planning skips held entries and what waits behind them, so when a full
        // page plans a short batch, the next page is read too.
        let mut queued: Vec<Entry> = Vec::new();
        let mut after: Option<f64> = None;
        let chosen = loop {
            let range = match after {
                Some(seq) => {
                    web_sys::IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(seq), true).map_err(&fail)?.into()
                }
                None => JsValue::UNDEFINED,
            };
            let page =
                request(&outbox.get_all_with_key_and_limit(&range, plan_page(max)).map_err(&fail)?, context).await?;
            let page = entries(&page);
            let full = page.len() as u32 == plan_page(max);
            after = page.last().map(|e| e.seq);
            queued.extend(page);
            let plan: Vec<Queued<'_>> = queued
                .iter()
                .map(|e| Queued {
                    seq: e.seq as u64,
                    collection: &e.collection,
                    record_id: &e.record_id,
                    held: e.hold.is_some(),
                })
                .collect();
            let chosen = next_batch(&plan, max as usize);
            if !full || chosen.len() >= max as usize {
                break chosen;
            }
        };
        if chosen.is_empty() {
            return Ok(None);
        }
        let mut picked: Vec<Entry> = queued.into_iter().filter(|e| chosen.contains(&(e.seq as u64))).collect();

        let mut reads = Vec::with_capacity(picked.len());
        for e in &picked {
            let records = store(&tx, &e.collection)?;
            reads.push(request(&records.get(&JsValue::from_str(&e.record_id)).map_err(&fail)?, context));
        }
        let mut mutations = Vec::with_capacity(picked.len());
        for (e, read) in picked.iter_mut().zip(reads) {
            let record = read.await?;
            let mutation_id = Uuid::try_parse(&e.mutation_id).map_err(|_| {
                Error::new(ErrorKind::Storage, format!("outbox entry {} has a malformed mutation id", e.seq as u64))
            })?;
            // An entry sent before, whose record was deleted since, can only be pushed as a
            // delete: the data it carried is gone. The delete queued after it then applies
            // unchanged, so the server ends where the client is.
            let live = !record.is_undefined() && !glue::is_tombstone(&record);
            let (op, data) = match e.op {
                Op::Create | Op::Update if live => (protocol::Op::Upsert, Some(JsData(glue::wire_data(&record)))),
                _ => (protocol::Op::Delete, None),
            };
            mutations.push(protocol::Mutation {
                mutation_id,
                collection: e.collection.clone(),
                id: e.record_id.clone(),
                op,
                data,
                base_version: e.base_version,
            });
            e.raw = glue::mark_sent(&e.raw, now);
            outbox.put(&e.raw).map_err(&fail)?;
        }
        Ok(Some(Batch { request: wire::push_request(&mutations), sent: picked }))
    };
    commit_or_abort(&tx, context, work).await
}

/// What applying one batch's answers did.
#[derive(Default)]
pub struct Applied {
    /// Entries of the batch the answer covered.
    pub answered: u64,
    /// Entries that left the outbox.
    pub acknowledged: u64,
    pub conflicts: u64,
    pub rejected: u64,
    pub changes: Changes,
}

/// The answer a server gives a mutation it refuses as a whole: a request of that one mutation was
/// too large. It becomes a dead letter like any rejection.
pub fn too_large_answer(entry: &Entry, message: &str) -> PushResponse {
    let result = MutationResult::<JsData>::Rejected {
        mutation_id: Uuid::try_parse(&entry.mutation_id).unwrap_or_default(),
        code: crate::protocol::codes::PAYLOAD_TOO_LARGE.to_string(),
        message: message.to_string(),
    };
    PushResponse { results: vec![result] }
}

/// Applies the server's answers to `batch`, in one transaction. An entry without an answer is
/// left as it is and sent again (under the same mutation id, so the server answers it once).
pub async fn apply_results(db: &IdbDatabase, batch: Batch, response: PushResponse, now: f64) -> Result<Applied> {
    let mut by_id: HashMap<String, MutationResult<JsData>> =
        response.results.into_iter().map(|r| (r.mutation_id().hyphenated().to_string(), r)).collect();
    let context = "applying push results";
    let tx = all_stores(db)?;
    let work = async {
        let outbox = outbox(&tx)?;
        let index = by_record(&outbox)?;
        let conflicts = store(&tx, CONFLICTS_STORE)?;
        let fail = js_err(context);
        let mut pending = Vec::new();
        let mut answered = 0;
        for e in batch.sent {
            let Some(result) = by_id.remove(&e.mutation_id) else { continue };
            answered += 1;
            let key = JsValue::from_str(&e.record_id);
            let records = store(&tx, &e.collection)?;
            let record = request(&records.get(&key).map_err(&fail)?, context);
            let siblings = entries_of(&index, &e.collection, &key, context)?;
            pending.push((e, key, records, result, record, siblings));
        }
        let mut applied = Applied { answered, ..Applied::default() };
        for (e, key, records, result, record, siblings) in pending {
            let record = record.await?;
            let siblings = entries(&siblings.await?);
            // The entry may have gone meanwhile (the user discarded it); nothing to apply then.
            if !siblings.iter().any(|s| s.seq == e.seq) {
                continue;
            }
            let later: Vec<&Entry> = siblings.iter().filter(|s| s.seq > e.seq).collect();
            let meta = read_meta(&record);
            let local = LocalRecord {
                status: meta.as_ref().map(|m| m.status).unwrap_or(RecordStatus::Pending),
                deleted: meta.as_ref().is_none_or(|m| m.deleted),
            };
            let outcome = match &result {
                MutationResult::Applied { version, .. } => PushOutcome::Applied { version: *version },
                MutationResult::Conflict { current, .. } => PushOutcome::Conflict { server_version: current.version },
                MutationResult::Rejected { .. } => PushOutcome::Rejected,
            };
            let new_status = match (apply_push(outcome, !later.is_empty(), local), &result) {
                (PushEffect::Acknowledge { server_version, status, purge, rebase_next }, _) => {
                    outbox.delete(&e.seq_key()).map_err(&fail)?;
                    applied.acknowledged += 1;
                    if rebase_next {
                        outbox.put(&glue::with_base_version(&later[0].raw, server_version as f64)).map_err(&fail)?;
                    }
                    if purge {
                        records.delete(&key).map_err(&fail)?;
                        continue;
                    }
                    meta.map(|m| crate::core::meta::RecordMeta { server_version: Some(server_version), status, ..m })
                }
                (PushEffect::Conflict { .. }, MutationResult::Conflict { current, .. }) => {
                    outbox
                        .put(&glue::hold_entry(&e.raw, Hold::Conflict.as_str(), &JsValue::UNDEFINED))
                        .map_err(&fail)?;
                    let local = if record.is_undefined() { JsValue::NULL } else { record.clone() };
                    let conflict = glue::make_conflict(&e.collection, &key, &local, &wire::server_record(current), now);
                    conflicts.put(&conflict).map_err(&fail)?;
                    applied.conflicts += 1;
                    meta.map(|m| crate::core::meta::RecordMeta { status: RecordStatus::Conflict, ..m })
                }
                (PushEffect::DeadLetter, MutationResult::Rejected { code, message, .. }) => {
                    let error = glue::make_rejection(code, message);
                    outbox.put(&glue::hold_entry(&e.raw, Hold::Failed.as_str(), &error)).map_err(&fail)?;
                    applied.rejected += 1;
                    meta.map(|m| crate::core::meta::RecordMeta { status: RecordStatus::Failed, ..m })
                }
                // The effect follows from the outcome, which follows from the result.
                _ => continue,
            };
            if let Some(m) = new_status {
                records.put(&glue::with_meta(&record, &meta_to_js(&m, &key))).map_err(&fail)?;
                applied.changes.add(&e.collection, &e.record_id, "update");
            }
        }
        super::entries::count_dead_letters(&tx, applied.rejected as i64).await?;
        Ok(applied)
    };
    commit_or_abort(&tx, context, work).await
}
