//! Force push and force pull in IndexedDB: each step one transaction over every store, what it
//! does to each entry and record from the core ([`force`](crate::core::sync::rules::force)).

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbTransaction};

use crate::core::error::Result;
use crate::core::meta_rows::Row;
use crate::core::outbox::Op;
use crate::core::schema::{Schema, CONFLICTS_STORE, META_STORE};
use crate::core::status::RecordStatus;
use crate::core::sync::entry::Hold;
use crate::core::sync::log::{Kept, LogKind, LOG_CHANGES};
use crate::core::sync::rules::force::{
    begin_pull, check_spaces, force_entry, force_record, forgets_every_cursor, swept, Force, Scope, Sweep,
};
use crate::core::sync::rules::RecordStep;
use crate::core::sync::storage::Decided;

use super::super::glue;
use super::super::js::get;
use super::super::records::read_meta;
use super::connection::{commit_or_abort, js_err, request};
use super::entries::{all_stores, count_dead_letters, entries, outbox, record_key, seq_key, store};
use super::log;
use super::record_step::carry_out;
use super::sent::read_mark;

/// `_meta` key of a force pull under way: the collections to sweep once the pull from the start
/// is complete (an array; empty for all).
pub const SWEEP_KEY: &str = Row::Sweep.key();

/// `_meta` key of a force pull of spaces under way: the spaces to sweep (an array).
pub const SWEEP_SPACES_KEY: &str = Row::SweepSpaces.key();

/// The collections of the schema a scope names.
fn collections<'a>(schema: &'a Schema, scope: &Scope) -> Vec<&'a str> {
    schema.collections.iter().map(|c| c.name.as_str()).filter(|c| scope.contains(c)).collect()
}

/// A log entry about a force of `scope`; `spaces`: the spaces of a force pull by space, or of a
/// sweep (in `id`, comma-separated, as the core's `LogEntry::force_spaces` names them).
fn force_log(now: f64, kind: LogKind, scope: &Scope, spaces: &[String], count: u64, kept: Option<Kept>) -> JsValue {
    let names = scope.names();
    let collection = if names.is_empty() { "*".to_string() } else { names.join(",") };
    let entry = glue::make_log_entry(
        now,
        kind.as_str(),
        &collection,
        &spaces.join(","),
        None,
        kept.map(|k| k.as_str().to_string()),
        &JsValue::UNDEFINED,
        &JsValue::UNDEFINED,
        None,
        None,
    );
    js_sys::Reflect::set(&entry, &JsValue::from_str("count"), &JsValue::from_f64(count as f64)).ok();
    entry
}

/// Starts `force` ([`SyncStorage::begin_force`](crate::core::sync::storage::SyncStorage)).
pub async fn begin_force(
    db: &IdbDatabase,
    schema: &Schema,
    force: &Force,
    now: f64,
    mutation_id: &mut dyn FnMut() -> String,
) -> Result<Decided> {
    let context = "starting a force sync";
    let tx = all_stores(db)?;
    let work = async {
        let fail = js_err(context);
        let outbox = outbox(&tx)?;
        let mark = read_mark(&tx, context)?;
        let queued = entries(&request(&outbox.get_all().map_err(&fail)?, context).await?);
        let mark = mark.await?;
        let mut decided = Decided::default();
        match force {
            Force::Push(scope) => {
                let mut count = 0;
                for s in queued.iter().filter(|s| scope.contains(&s.entry.collection)) {
                    let Some(forced) = force_entry(&s.entry, mark, &mut *mutation_id) else { continue };
                    if s.entry.hold == Some(Hold::Conflict) {
                        let (collection, key) = (&forced.collection, JsValue::from_str(&forced.record_id));
                        store(&tx, CONFLICTS_STORE)?.delete(&record_key(collection, &key)).map_err(&fail)?;
                        let records = store(&tx, collection)?;
                        let record = request(&records.get(&key).map_err(&fail)?, context).await?;
                        if let Some(meta) = read_meta(&record) {
                            let step = force_record(&meta);
                            if step != RecordStep::Keep {
                                decided.changes.add(collection, &forced.record_id, Op::Update);
                            }
                            carry_out(&records, &key, &record, step, None, context)?;
                        }
                    }
                    let written =
                        glue::force_entry(&s.raw, &forced.mutation_id, forced.attempts as f64, forced.never_sent);
                    outbox.put(&written).map_err(&fail)?;
                    count += 1;
                }
                log::append(&tx, &force_log(now, LogKind::ForcePush, scope, &[], count, None), context).await?;
            }
            Force::Pull { scope, keep_local } => {
                let in_scope: Vec<_> = queued.iter().filter(|s| scope.contains(&s.entry.collection)).collect();
                if !keep_local {
                    let dead = in_scope.iter().filter(|s| s.entry.hold == Some(Hold::Failed)).count() as i64;
                    for s in &in_scope {
                        outbox.delete(&seq_key(s.entry.seq)).map_err(&fail)?;
                    }
                    count_dead_letters(&tx, -dead).await?;
                    let conflicts = store(&tx, CONFLICTS_STORE)?;
                    let rows = request(&conflicts.get_all().map_err(&fail)?, context).await?;
                    for row in Array::from(&rows).iter() {
                        let collection = get(&row, "collection").as_string().unwrap_or_default();
                        if scope.contains(&collection) {
                            conflicts.delete(&record_key(&collection, &get(&row, "id"))).map_err(&fail)?;
                        }
                    }
                }
                for collection in collections(schema, scope) {
                    let records = store(&tx, collection)?;
                    let all = request(&records.get_all().map_err(&fail)?, context).await?;
                    for record in Array::from(&all).iter() {
                        let (key, Some(meta)) = (get(&record, "id"), read_meta(&record)) else { continue };
                        let id = key.as_string().unwrap_or_default();
                        let has_queued = *keep_local
                            && in_scope.iter().any(|s| s.entry.collection == collection && s.entry.record_id == id);
                        let step = begin_pull(&meta, has_queued, *keep_local);
                        if step == RecordStep::Remove {
                            decided.changes.add(collection, &id, Op::Delete);
                        }
                        carry_out(&records, &key, &record, step, None, context)?;
                    }
                }
                super::spaces::forget_cursors(&tx, context).await?;
                widen_sweep_in(&tx, scope, context).await?;
                let kept = if *keep_local { Kept::Local } else { Kept::Server };
                let log_entry = force_log(now, LogKind::ForcePull, scope, &[], in_scope.len() as u64, Some(kept));
                log::append(&tx, &log_entry, context).await?;
            }
            Force::PullSpaces { spaces, keep_local } => {
                let set = super::spaces::read_set(&store(&tx, META_STORE)?, context).await?;
                // Refused with nothing changed: the transaction aborts on the error.
                check_spaces(spaces, |s| set.contains(s))?;
                let conflicts = store(&tx, CONFLICTS_STORE)?;
                let (mut count, mut dead, mut every_cursor) = (0u64, 0i64, false);
                let spaced: Vec<&str> =
                    schema.collections.iter().filter(|c| c.space.is_some()).map(|c| c.name.as_str()).collect();
                for collection in &spaced {
                    let records = store(&tx, collection)?;
                    for space in spaces {
                        for record in super::spaces::records_in(&tx, schema, collection, space, context).await? {
                            let (key, Some(meta)) = (get(&record, "id"), read_meta(&record)) else { continue };
                            let id = key.as_string().unwrap_or_default();
                            let mine: Vec<_> = queued
                                .iter()
                                .filter(|s| s.entry.collection == *collection && s.entry.record_id == id)
                                .collect();
                            // A record in conflict holds a conflict row (its status says so).
                            let in_conflict = meta.status == RecordStatus::Conflict;
                            every_cursor |= forgets_every_cursor(!mine.is_empty(), in_conflict, *keep_local);
                            count += mine.len() as u64;
                            if !keep_local {
                                for s in &mine {
                                    outbox.delete(&seq_key(s.entry.seq)).map_err(&fail)?;
                                    dead += i64::from(s.entry.hold == Some(Hold::Failed));
                                }
                                conflicts.delete(&record_key(collection, &key)).map_err(&fail)?;
                            }
                            let step = begin_pull(&meta, *keep_local && !mine.is_empty(), *keep_local);
                            if step == RecordStep::Remove {
                                decided.changes.add(collection, &id, Op::Delete);
                            }
                            carry_out(&records, &key, &record, step, None, context)?;
                        }
                    }
                }
                count_dead_letters(&tx, -dead).await?;
                if every_cursor {
                    super::spaces::forget_cursors(&tx, context).await?;
                } else {
                    super::spaces::forget_space_cursors(&tx, spaces, context).await?;
                }
                let mut sweep = sweep_due(&tx, context).await?;
                sweep.add_spaces(spaces);
                store_sweep(&tx, &sweep, context)?;
                let kept = if *keep_local { Kept::Local } else { Kept::Server };
                let scope = Scope::Only(spaced.iter().map(|c| c.to_string()).collect());
                log::append(&tx, &force_log(now, LogKind::ForcePull, &scope, spaces, count, Some(kept)), context)
                    .await?;
            }
        }
        decided.changes.add(LOG_CHANGES, "", Op::Create);
        Ok(decided)
    };
    commit_or_abort(&tx, context, work).await
}

/// Adds `more` to the collections to sweep once the pull from the start is complete.
pub async fn widen_sweep_in(tx: &IdbTransaction, more: &Scope, context: &str) -> Result<()> {
    let mut sweep = sweep_due(tx, context).await?;
    sweep.add_collections(more);
    store_sweep(tx, &sweep, context)
}

/// Stores `sweep`: its collections as the list of their names (an empty list is all of them),
/// its spaces as theirs; a part with nothing to sweep is not stored.
fn store_sweep(tx: &IdbTransaction, sweep: &Sweep, context: &str) -> Result<()> {
    let meta = store(tx, META_STORE)?;
    let fail = js_err(context);
    let (collections, spaces) = (JsValue::from_str(SWEEP_KEY), JsValue::from_str(SWEEP_SPACES_KEY));
    match &sweep.collections {
        Some(scope) => {
            let names: Array = scope.names().iter().map(|n| JsValue::from_str(n)).collect();
            meta.put_with_key(&names, &collections).map_err(&fail)?;
        }
        None => {
            meta.delete(&collections).map_err(&fail)?;
        }
    }
    if sweep.spaces.is_empty() {
        meta.delete(&spaces).map_err(&fail)?;
    } else {
        let names: Array = sweep.spaces.iter().map(|n| JsValue::from_str(n)).collect();
        meta.put_with_key(&names, &spaces).map_err(&fail)?;
    }
    Ok(())
}

/// What the force pulls (and discards) under way will sweep (read in `tx`).
pub async fn sweep_due(tx: &IdbTransaction, context: &str) -> Result<Sweep> {
    let meta = store(tx, META_STORE)?;
    let fail = js_err(context);
    let collections = request(&meta.get(&JsValue::from_str(SWEEP_KEY)).map_err(&fail)?, context);
    let spaces = request(&meta.get(&JsValue::from_str(SWEEP_SPACES_KEY)).map_err(&fail)?, context);
    let names = |value: &JsValue| -> Option<Vec<String>> {
        Array::is_array(value).then(|| Array::from(value).iter().filter_map(|v| v.as_string()).collect())
    };
    let collections = names(&collections.await?).map(|n| if n.is_empty() { Scope::All } else { Scope::Only(n) });
    Ok(Sweep { collections, spaces: names(&spaces.await?).unwrap_or_default() })
}

/// Sweeps what the force pull under way left marked
/// ([`SyncStorage::finish_force_pull`](crate::core::sync::storage::SyncStorage)).
pub async fn finish_force_pull(db: &IdbDatabase, schema: &Schema, now: f64) -> Result<Decided> {
    let context = "finishing a force pull";
    let tx = all_stores(db)?;
    let work = async {
        let fail = js_err(context);
        let mut decided = Decided::default();
        let sweep = sweep_due(&tx, context).await?;
        if !sweep.is_due() {
            return Ok(decided);
        }
        let queued = entries(&request(&outbox(&tx)?.get_all().map_err(&fail)?, context).await?);
        let mut gone = 0;
        // The collections the sweep may touch: those it names, and those with a space field when
        // it sweeps spaces.
        let touched = schema.collections.iter().filter(|c| {
            sweep.collections.as_ref().is_some_and(|s| s.contains(&c.name))
                || (c.space.is_some() && !sweep.spaces.is_empty())
        });
        for collection in touched.map(|c| c.name.as_str()) {
            let records = store(&tx, collection)?;
            let all = request(&records.get_all().map_err(&fail)?, context).await?;
            for record in Array::from(&all).iter() {
                let (key, Some(meta)) = (get(&record, "id"), read_meta(&record)) else { continue };
                let here = super::spaces::space_of(schema, collection, &record);
                if !sweep.covers(collection, here.as_deref()) {
                    continue;
                }
                let id = key.as_string().unwrap_or_default();
                let has_queued = queued.iter().any(|s| s.entry.collection == collection && s.entry.record_id == id);
                if swept(&meta, has_queued) {
                    records.delete(&key).map_err(&fail)?;
                    decided.changes.add(collection, &id, Op::Delete);
                    gone += 1;
                }
            }
        }
        store_sweep(&tx, &Sweep::default(), context)?;
        // Named as the core's `LogEntry::swept` names it.
        let scope = match &sweep.collections {
            Some(scope) => scope.clone(),
            None => {
                Scope::Only(schema.collections.iter().filter(|c| c.space.is_some()).map(|c| c.name.clone()).collect())
            }
        };
        log::append(&tx, &force_log(now, LogKind::Swept, &scope, &sweep.spaces, gone, None), context).await?;
        decided.changes.add(LOG_CHANGES, "", Op::Create);
        Ok(decided)
    };
    commit_or_abort(&tx, context, work).await
}
