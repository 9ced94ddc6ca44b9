//! Local writes: each call is one readwrite transaction over the collection and the outbox, so a
//! record and its queued change commit together or not at all.
//!
//! Reads are issued first and awaited together; writes are issued without awaiting each one (a
//! failing request aborts the transaction, and the commit reports it), then the commit is
//! awaited once.

use std::collections::HashMap;

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStore, IdbTransaction};

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::ids::IdGenerator;
use crate::core::meta::RecordMeta;
use crate::core::outbox::{pending_delta, plan, write_op, Op, Plan, Queued};
use crate::core::schema::{OUTBOX_BY_RECORD, OUTBOX_STORE};

use super::connection::{commit_or_abort, request, transaction};
use super::error::from_js;
use super::glue;
use super::interop::{get, meta_to_js, opt_num, read_meta};

pub enum Intent {
    /// Add a record; an existing live record with this id is an error.
    Create(JsValue),
    /// Create or replace.
    Put(JsValue),
    /// Merge a patch into an existing record.
    Update(JsValue),
    /// Replace the user fields of an existing record.
    Replace(JsValue),
    Delete,
}

pub struct Write {
    pub id: String,
    /// The id as a JS string, converted once and shared by every object that holds it.
    pub key: JsValue,
    /// A freshly generated UUID v7 cannot exist yet, so nothing needs reading for it.
    pub generated: bool,
    pub intent: Intent,
}

/// What one write did.
pub struct Outcome {
    /// The record as stored (None for a delete or a no-op).
    pub stored: Option<JsValue>,
    /// The change to announce (None when nothing changed: a delete of a missing record).
    pub change: Option<Op>,
}

pub struct Written {
    pub outcomes: Vec<Outcome>,
    /// Change in the number of queued outbox entries.
    pub pending_delta: i64,
}

/// What is stored under one id, as far as this transaction knows.
#[derive(Default, Clone)]
struct Current {
    meta: Option<RecordMeta>,
    record: Option<JsValue>,
    /// The newest outbox entry of the record, and that entry as stored.
    newest: Option<(Queued, JsValue)>,
}

impl Current {
    fn live(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| !m.deleted)
    }
    fn tombstone(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.deleted)
    }
}

fn queued_of(entry: &JsValue) -> Option<Queued> {
    let op = Op::parse(&get(entry, "op").as_string()?)?;
    let attempts = get(entry, "attempts").as_f64().unwrap_or(0.0) as u32;
    Some(Queued { op, attempts })
}

pub fn store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore> {
    tx.object_store(name).map_err(|e| from_js(&format!("opening store \"{name}\""), &e, ErrorKind::Storage))
}

/// Reads what is stored under each id that needs it: the record and its outbox entries.
async fn read_current(
    collection: &str,
    records: &IdbObjectStore,
    outbox: &IdbObjectStore,
    writes: &[Write],
) -> Result<HashMap<String, Current>> {
    let by_record =
        outbox.index(OUTBOX_BY_RECORD).map_err(|e| from_js("opening the outbox index", &e, ErrorKind::Storage))?;
    let context = format!("reading \"{collection}\"");
    let collection_key = JsValue::from_str(collection);
    let mut pending = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for w in writes.iter().filter(|w| !w.generated) {
        if !seen.insert(w.id.as_str()) {
            continue;
        }
        let key = &w.key;
        let record_req = records.get(key).map_err(|e| from_js(&context, &e, ErrorKind::Storage))?;
        let outbox_key = Array::of2(&collection_key, key);
        let entries_req =
            by_record.get_all_with_key(&outbox_key).map_err(|e| from_js(&context, &e, ErrorKind::Storage))?;
        pending.push((w.id.clone(), request(&record_req, &context), request(&entries_req, &context)));
    }
    let mut current = HashMap::new();
    for (id, record, entries) in pending {
        let record = record.await?;
        let entries = Array::from(&entries.await?);
        let newest = if entries.length() > 0 {
            let entry = entries.get(entries.length() - 1);
            queued_of(&entry).map(|q| (q, entry))
        } else {
            None
        };
        let (meta, record) = if record.is_undefined() { (None, None) } else { (read_meta(&record), Some(record)) };
        current.insert(id, Current { meta, record, newest });
    }
    Ok(current)
}

/// Carries out `writes` on `collection` in one transaction; all or nothing.
pub async fn write(
    db: &IdbDatabase,
    collection: &str,
    ids: &IdGenerator,
    now: f64,
    writes: Vec<Write>,
) -> Result<Written> {
    let tx = transaction(db, &[collection, OUTBOX_STORE], true)?;
    commit_or_abort(&tx, &format!("writing to \"{collection}\""), issue(&tx, collection, ids, now, writes)).await
}

async fn issue(
    tx: &IdbTransaction,
    collection: &str,
    ids: &IdGenerator,
    now: f64,
    writes: Vec<Write>,
) -> Result<Written> {
    let records = store(tx, collection)?;
    let outbox = store(tx, OUTBOX_STORE)?;
    let mut current = read_current(collection, &records, &outbox, &writes).await?;
    let mut outcomes = Vec::with_capacity(writes.len());
    let mut delta = 0i64;
    let context = format!("writing to \"{collection}\"");
    let fail = |i: usize, e: JsValue| {
        let mut error = from_js(&context, &e, ErrorKind::Storage);
        if error.kind == ErrorKind::InvalidRecord {
            error.message = format!("record #{i} cannot be stored: {}", error.message);
        }
        error
    };

    // A getter of the caller's object that throws while it is copied.
    let unreadable = |i: usize, e: JsValue| {
        let cause = from_js("reading its fields", &e, ErrorKind::InvalidRecord);
        Error {
            kind: ErrorKind::InvalidRecord,
            message: format!("record #{i} cannot be read: {}", cause.message),
            ..cause
        }
    };
    for (i, w) in writes.into_iter().enumerate() {
        let cur = current.get(&w.id).cloned().unwrap_or_default();
        let (live, tomb) = (cur.live(), cur.tombstone());
        let not_found = || Error::new(ErrorKind::RecordNotFound, format!("no record \"{}\" in \"{collection}\"", w.id));
        let data = match &w.intent {
            Intent::Create(_) if live => {
                return Err(Error::new(
                    ErrorKind::RecordExists,
                    format!("a record \"{}\" already exists in \"{collection}\"", w.id),
                ))
            }
            Intent::Update(_) | Intent::Replace(_) if !live => return Err(not_found()),
            Intent::Delete if !live => {
                outcomes.push(Outcome { stored: None, change: None });
                continue;
            }
            Intent::Create(d) | Intent::Put(d) | Intent::Replace(d) => Some(d.clone()),
            Intent::Update(patch) => {
                Some(glue::merge_fields(cur.record.as_ref().unwrap(), patch).map_err(|e| unreadable(i, e))?)
            }
            Intent::Delete => None,
        };
        let is_delete = data.is_none();
        let op = write_op(live, tomb, is_delete);
        let step = plan(cur.newest.as_ref().map(|(q, _)| *q), op);
        delta += pending_delta(step);
        let key = &w.key;

        if step == Plan::Cancel {
            records.delete(key).map_err(|e| fail(i, e))?;
            let seq = get(&cur.newest.as_ref().unwrap().1, "seq");
            outbox.delete(&seq).map_err(|e| fail(i, e))?;
            current.insert(w.id.clone(), Current::default());
            outcomes.push(Outcome { stored: None, change: Some(Op::Delete) });
            continue;
        }

        let meta = match (&cur.meta, is_delete) {
            (Some(prev), true) => RecordMeta::after_delete(prev, now),
            (prev, _) => RecordMeta::after_write(prev.as_ref(), now),
        };
        let meta_js = meta_to_js(&meta, key);
        let stored = glue::stamp_record(&data.unwrap_or_else(|| js_sys::Object::new().into()), key, &meta_js)
            .map_err(|e| unreadable(i, e))?;
        records.put(&stored).map_err(|e| fail(i, e))?;

        let newest = match step {
            Plan::Append(op) => {
                let mutation_id = ids.next_at(now);
                let base = cur.meta.as_ref().and_then(|m| m.server_version);
                let entry = glue::make_outbox_entry(&mutation_id, collection, key, op.as_str(), opt_num(base), now);
                outbox.add(&entry).map_err(|e| fail(i, e))?;
                Some((Queued { op, attempts: 0 }, entry))
            }
            Plan::Rewrite(op) => {
                let (_, entry) = cur.newest.clone().unwrap();
                debug_assert!(!get(&entry, "seq").is_undefined(), "rewriting an entry added in this batch");
                let entry = glue::with_op(&entry, op.as_str());
                outbox.put(&entry).map_err(|e| fail(i, e))?;
                Some((Queued { op, attempts: 0 }, entry))
            }
            Plan::Keep | Plan::Cancel => cur.newest.clone(),
        };
        current.insert(w.id.clone(), Current { meta: Some(meta), record: Some(stored.clone()), newest });
        let change = if is_delete {
            Op::Delete
        } else if live {
            Op::Update
        } else {
            Op::Create
        };
        outcomes.push(Outcome { stored: (!is_delete).then_some(stored), change: Some(change) });
    }
    Ok(Written { outcomes, pending_delta: delta })
}
