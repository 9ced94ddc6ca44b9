//! The push steps in IndexedDB: read a batch (one transaction, which also counts the send by
//! moving the sent mark), then, after the network, apply the server's answer (a new
//! transaction). No transaction is open while the request is in flight. What each answer does
//! comes from the core ([`push_step`](crate::core::sync::rules::push::push_step)).

use js_sys::Array;
use uuid::Uuid;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbKeyRange, IdbTransaction};

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::order::sorted_by;
use crate::core::outbox::Op;
use crate::core::schema::{Schema, CONFLICTS_STORE, META_STORE};
use crate::core::sent::Sends;
use crate::core::status::RecordStatus;
use crate::core::sync::batch::{next_batch, plan_page, wire_op, Queued};
use crate::core::sync::entry::Hold;
use crate::core::sync::log::{LogKind, LOG_CHANGES};
use crate::core::sync::rules::push::{push_step, pushed_data_is_base, settles_conflict, EntryStep};
use crate::core::sync::rules::RecordStep;
use crate::core::sync::storage::{Batch, PushApplied};
use crate::protocol::{self, Mutation, MutationResult};

use super::super::blobs::fields;
use super::super::glue;
use super::super::js::get;
use super::super::records::read_meta;
use super::super::wire::{self, JsData, PushResponse};
use super::blobs;
use super::connection::{commit_now_or_abort, js_err, request};
use super::entries::{
    all_stores, all_stores_strict, by_record, count_dead_letters, entries, entries_and_damaged, entries_of_each,
    outbox, record_key, records_of, seq_key, store, Stored,
};
use super::log;
use super::record_step::carry_out;
use super::sent::{read_mark, write_counts};
use super::spaces::{by_space, prune, read_set, space_of};

/// Reads the next batch (at most `max` entries) and counts its sends ([`count_batch`]:
/// the mark, and the few entries it misdescribes), in one strictly durable transaction. None
/// when nothing is ready to push.
///
/// [`count_batch`]: crate::core::sent::SentMark::count_batch
pub async fn read_batch(
    db: &IdbDatabase,
    schema: &Schema,
    max: u32,
    unapplied: &[u64],
    now: f64,
) -> Result<Option<Batch<JsData>>> {
    let context = "reading a batch to push";
    let tx = all_stores_strict(db)?;
    let work = async {
        let outbox = outbox(&tx)?;
        let fail = js_err(context);
        let mark = read_mark(&tx, context)?;
        // Issued now, read once the first page is in: no round trip of its own.
        let mut waiting_read = Some(blobs::waiting(&tx, context)?);
        let mut waiting: Vec<String> = Vec::new();
        let mut waits: Vec<bool> = Vec::new();
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
            let read = Array::from(&page);
            let full = read.length() == plan_page(max);
            after = read.iter().last().and_then(|raw| get(&raw, "seq").as_f64()).map(|s| s as u64);
            if let Some(read) = waiting_read.take() {
                waiting = read.await?;
            }
            let (page, damaged) = entries_and_damaged(&page);
            quarantine(&tx, damaged, now, context).await?;
            waits.extend(waiting_for_uploads(&tx, schema, &page, &waiting, context).await?);
            queued.extend(page);
            let plan: Vec<Queued<'_>> = queued
                .iter()
                .zip(&waits)
                .map(|(s, waits)| {
                    let held = s.entry.hold.is_some() || *waits || unapplied.contains(&s.entry.seq);
                    Queued { held, ..Queued::from(&s.entry) }
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
        // Every entry up to the batch's last is among those read: pages are read from the start.
        let sends: Vec<(u64, Sends)> = queued.iter().map(|s| (s.entry.seq, s.entry.sends())).collect();
        write_counts(&tx, &queued, mark.await?.count_batch(&sends, &chosen), context)?;
        let picked: Vec<&Stored> = queued.iter().filter(|s| chosen.contains(&s.entry.seq)).collect();
        let keys: Vec<(&str, &str)> =
            picked.iter().map(|s| (s.entry.collection.as_str(), s.entry.record_id.as_str())).collect();
        let records = records_of(&tx, &keys, context)?.await?;
        let mut batch = Batch { mutations: Vec::with_capacity(picked.len()), seqs: Vec::with_capacity(picked.len()) };
        for (s, record) in picked.iter().zip(records) {
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
                // Where the record is after the change, from its space field.
                space: if op == protocol::Op::Upsert { space_of(schema, &e.collection, &record) } else { None },
            });
            batch.seqs.push(e.seq);
        }
        Ok(Some(batch))
    };
    commit_now_or_abort(&tx, context, work).await
}

/// For each of `queued`, whether it waits for an upload: its record, in a collection with blob
/// fields, refers to a blob not on the server. Reads records only when some blob is waiting.
async fn waiting_for_uploads(
    tx: &IdbTransaction,
    schema: &Schema,
    queued: &[Stored],
    waiting: &[String],
    context: &str,
) -> Result<Vec<bool>> {
    let with_blobs = |s: &Stored| schema.collection(&s.entry.collection).filter(|c| !c.blobs.is_empty());
    if waiting.is_empty() || !queued.iter().any(|s| with_blobs(s).is_some()) {
        return Ok(vec![false; queued.len()]);
    }
    let keys: Vec<(&str, &str)> =
        queued.iter().map(|s| (s.entry.collection.as_str(), s.entry.record_id.as_str())).collect();
    let records = records_of(tx, &keys, context)?.await?;
    Ok(queued
        .iter()
        .zip(records)
        .map(|(s, record)| with_blobs(s).is_some_and(|c| blobs::waits(&record, &fields(c), waiting)))
        .collect())
}

/// Takes outbox rows that do not decode out of the queue, each logged with its raw value and why
/// (`quarantined`): sent, such a row could be applied twice or mean nothing; left, it would
/// count as pending for good.
async fn quarantine(tx: &IdbTransaction, damaged: Vec<(JsValue, String)>, now: f64, context: &str) -> Result<()> {
    let outbox = outbox(tx)?;
    for (raw, why) in damaged {
        outbox.delete(&get(&raw, "seq")).map_err(js_err(context))?;
        let (collection, id) = (get(&raw, "collection").as_string(), get(&raw, "recordId").as_string());
        let names = (collection.as_deref().unwrap_or_default(), id.as_deref().unwrap_or_default());
        log::quarantined(tx, now, names, &raw, format!("an outbox entry that does not decode: {why}"), context).await?;
    }
    Ok(())
}

/// The answer's results sorted by mutation id, for a binary search per entry (no hash map, which
/// weighs on the wasm build). Of two results for one id, the later counts.
fn results_by_id(results: Vec<MutationResult<JsData>>) -> Vec<(Uuid, Option<MutationResult<JsData>>)> {
    let sorted = sorted_by(results, &|a, b| a.mutation_id().cmp(&b.mutation_id()));
    let mut by_id: Vec<(Uuid, Option<MutationResult<JsData>>)> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match by_id.last_mut() {
            Some((id, slot)) if *id == r.mutation_id() => *slot = Some(r),
            _ => by_id.push((r.mutation_id(), Some(r))),
        }
    }
    by_id
}

/// Applies the server's answer to `batch`, in one transaction. An entry without an answer is
/// left as it is and sent again (under the same mutation id, so the server answers it once).
pub async fn apply_push(
    db: &IdbDatabase,
    schema: &Schema,
    batch: Batch<JsData>,
    answer: PushResponse,
    now: f64,
) -> Result<PushApplied> {
    let mut by_id = results_by_id(answer.results);
    let mut take = |id: &Uuid| match by_id.binary_search_by(|(k, _)| k.cmp(id)) {
        Ok(i) => by_id[i].1.take(),
        Err(_) => None,
    };
    let context = "applying push results";
    let tx = all_stores(db)?;
    let work = async {
        let outbox = outbox(&tx)?;
        let index = by_record(&outbox)?;
        let conflicts = store(&tx, CONFLICTS_STORE)?;
        let fail = js_err(context);
        let mut answered = Vec::new();
        let mut applied = PushApplied::default();
        for (m, seq) in batch.mutations.iter().zip(batch.seqs) {
            let Some(result) = take(&m.mutation_id) else { continue };
            applied.answered += 1;
            answered.push((m, seq, result));
        }
        // Every read is issued at once: the records, their entries, and the keys of the outbox
        // between the batch's first and last entry (to delete the acknowledged ones by range).
        let keys: Vec<(&str, &str)> = answered.iter().map(|(m, _, _)| (m.collection.as_str(), m.id.as_str())).collect();
        let records = records_of(&tx, &keys, context)?;
        let siblings = entries_of_each(&index, &keys, context)?;
        let span = match (answered.iter().map(|a| a.1).min(), answered.iter().map(|a| a.1).max()) {
            (Some(lo), Some(hi)) => Some(request(
                &outbox
                    .get_all_keys_with_key(&IdbKeyRange::bound(&seq_key(lo), &seq_key(hi)).map_err(&fail)?.into())
                    .map_err(&fail)?,
                context,
            )),
            _ => None,
        };
        let (records, siblings) = (records.await?, siblings.await?);
        let spaces = match by_space(schema) {
            true => Some(read_set(&store(&tx, META_STORE)?, context).await?),
            false => None,
        };
        let span: Vec<u64> = match span {
            Some(keys) => {
                js_sys::Array::from(&keys.await?).iter().filter_map(|k| k.as_f64()).map(|k| k as u64).collect()
            }
            None => Vec::new(),
        };
        let mut removed: Vec<u64> = Vec::new();
        for (((m, seq, result), record), siblings) in answered.into_iter().zip(records).zip(siblings) {
            let key = JsValue::from_str(&m.id);
            let records = store(&tx, &m.collection)?;
            let siblings = entries(&siblings);
            // The entry may have gone meanwhile (the user discarded it); nothing to apply then.
            let Some(sent) = siblings.iter().find(|s| s.entry.seq == seq) else { continue };
            let later = siblings.iter().find(|s| s.entry.seq > seq);
            if let Some(c) = schema.collection(&m.collection).filter(|c| !c.blobs.is_empty()) {
                if blobs::await_upload(&tx, &record, &fields(c), &result, context).await? {
                    continue;
                }
            }
            let meta = read_meta(&record);
            let mut step = push_step(&result, meta.as_ref(), later.is_some());
            let mut in_conflict = meta.as_ref().is_some_and(|m| m.status == RecordStatus::Conflict);
            // Only a record in conflict has a conflict row to look at.
            if in_conflict {
                let conflict_key = record_key(&m.collection, &key);
                let conflict = request(&conflicts.get(&conflict_key).map_err(&fail)?, context).await?;
                let version = get(&get(&conflict, "server"), "version").as_f64();
                if version.is_some_and(|v| settles_conflict(&result, v as u64)) {
                    conflicts.delete(&conflict_key).map_err(&fail)?;
                    step = step.conflict_settled(later.is_some());
                    in_conflict = false;
                }
            }
            let queued = later.is_some() || !matches!(step.entry, EntryStep::Remove);
            match step.entry {
                EntryStep::Remove => {
                    removed.push(seq);
                    applied.acknowledged += 1;
                }
                EntryStep::Hold(hold) => {
                    outbox.put(&glue::hold_entry(&sent.raw, hold.as_str(), &JsValue::UNDEFINED)).map_err(&fail)?;
                    applied.conflicts += 1;
                }
                EntryStep::DeadLetter { code, message } => {
                    let data = m.data.as_ref().map_or(JsValue::UNDEFINED, |d| d.0.clone());
                    let rejection = Rejection { collection: &m.collection, id: &m.id, data: &data, code, message };
                    reject(&tx, &sent.raw, rejection, now, &mut applied.changes, context).await?;
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
            in_conflict |= step.keep_conflict;
            let gone = step.record == RecordStep::Remove;
            carry_out(&records, &key, &record, step.record, None, context)?;
            if let Some(op) = step.announce {
                applied.changes.add(&m.collection, &m.id, op);
            }
            // Acknowledged into a space this device does not sync: the local copy goes.
            if let (Some(set), false) = (&spaces, gone) {
                if prune(&tx, schema, set, &m.collection, &key, &record, queued, in_conflict, context)? {
                    applied.changes.add(&m.collection, &m.id, Op::Delete);
                }
            }
        }
        for (lo, hi) in runs(&span, &removed) {
            let range = if lo == hi {
                seq_key(lo)
            } else {
                IdbKeyRange::bound(&seq_key(lo), &seq_key(hi)).map_err(&fail)?.into()
            };
            outbox.delete(&range).map_err(&fail)?;
        }
        count_dead_letters(&tx, applied.rejected as i64).await?;
        Ok(applied)
    };
    commit_now_or_abort(&tx, context, work).await
}

/// A queued change the server (or an upload) refused for good.
pub struct Rejection<'a> {
    pub collection: &'a str,
    pub id: &'a str,
    /// The data it carried, for the log.
    pub data: &'a JsValue,
    pub code: String,
    pub message: String,
}

/// Makes the stored entry `raw` a dead letter with `rejection`'s error, logged with its data.
/// The dead-letter count is the caller's to move.
pub async fn reject(
    tx: &IdbTransaction,
    raw: &JsValue,
    rejection: Rejection<'_>,
    now: f64,
    changes: &mut crate::core::sync::storage::Changes,
    context: &str,
) -> Result<()> {
    let Rejection { collection, id, data, code, message } = rejection;
    let logged = glue::make_log_entry(
        now,
        LogKind::Rejected.as_str(),
        collection,
        id,
        None,
        None,
        data,
        &JsValue::UNDEFINED,
        Some(code.clone()),
        Some(message.clone()),
    );
    log::append(tx, &logged, context).await?;
    changes.add(LOG_CHANGES, id, Op::Create);
    let error = glue::make_rejection(&code, &message);
    outbox(tx)?.put(&glue::hold_entry(raw, Hold::Failed.as_str(), &error)).map_err(js_err(context))?;
    Ok(())
}

/// The entries to delete as ranges of keys: `present`, the outbox's keys (ascending) between the
/// first and the last entry of a batch, read in the same transaction; `removed`, the entries that
/// leave. Each range holds removed entries and nothing else of `present`, and an entry queued
/// later has a greater key than any of them, so a range deletes exactly what it should.
fn runs(present: &[u64], removed: &[u64]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    let mut open = false;
    for &key in present {
        if removed.contains(&key) {
            match runs.last_mut() {
                Some(run) if open => run.1 = key,
                _ => runs.push((key, key)),
            }
            open = true;
        } else {
            open = false;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn removed_entries_are_deleted_in_runs_that_skip_every_other_entry() {
        assert_eq!(runs(&[1, 2, 3, 4], &[1, 2, 3, 4]), vec![(1, 4)]);
        assert_eq!(runs(&[1, 2, 3, 4, 5], &[1, 2, 4, 5]), vec![(1, 2), (4, 5)]);
        assert_eq!(runs(&[2, 5, 9], &[5]), vec![(5, 5)]);
        assert_eq!(runs(&[1, 2], &[]), vec![]);
        // A removed entry not among the keys read (gone meanwhile) needs no delete.
        assert_eq!(runs(&[1, 3], &[1, 2, 3]), vec![(1, 3)]);
    }
}
