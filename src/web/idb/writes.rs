//! Local writes: each call is one readwrite transaction over the collection and the outbox, so a
//! record and its queued change commit together or not at all. What each write does is decided
//! by the core ([`plan_write`]); this module reads what it needs and carries the steps out on JS
//! values.
//!
//! Reads are issued first and awaited together; writes are issued without awaiting each one (a
//! failing request aborts the transaction, and the commit reports it), then the commit is
//! awaited once.

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStore, IdbTransaction};

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::ids::IdGenerator;
use crate::core::order::sorted_by;
use crate::core::outbox::{Op, Queued};
use crate::core::schema::{BLOBS_STORE, META_STORE, OUTBOX_BY_RECORD, OUTBOX_STORE};
use crate::core::sync::storage::Changes;
use crate::core::write::{plan_write, Current, Fields, Intent, Newest, Queue, WriteStep};

use super::super::error::from_js;
use super::super::glue;
use super::super::js::{get, opt_num};
use super::super::records::{meta_to_js, read_meta};
use super::connection::{commit_or_abort, request, transaction};
use super::entries::store;
use super::sent::{read_mark, sends_of};
use super::unique;

pub struct Write {
    pub id: String,
    /// The id as a JS string, converted once and shared by every object that holds it.
    pub key: JsValue,
    /// A freshly generated UUID v7 cannot exist yet, so nothing needs reading for it.
    pub generated: bool,
    pub intent: Intent,
    /// The record (create, put, replace) or the patch (update); undefined for a delete.
    pub data: JsValue,
    /// The `_blobs` rows of the blobs the data holds ([`crate::web::blobs::prepare`]), stored in
    /// the same transaction.
    pub blobs: Vec<JsValue>,
}

pub struct Written {
    /// The record as stored by each write (None for a delete or a no-op).
    pub stored: Vec<Option<JsValue>>,
    /// Writes that changed something (all but deletes of missing records).
    pub changed: usize,
    /// Change in the number of queued outbox entries.
    pub pending_delta: i64,
    pub changes: Changes,
}

/// What is stored under one id, as far as this transaction knows: what the core needs, the
/// record's fields (for a patch), and the newest entry as stored (to rewrite it).
#[derive(Default, Clone)]
struct Here {
    current: Current,
    record: Option<JsValue>,
    newest: Option<JsValue>,
}

/// What is stored under each id read, sorted by id: a binary search per write (no hash map,
/// which weighs on the wasm build).
struct HereById(Vec<(String, Here)>);

impl HereById {
    fn position(&self, id: &str) -> Option<usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(id)).ok()
    }

    fn get(&self, id: &str) -> Option<&Here> {
        self.position(id).map(|i| &self.0[i].1)
    }

    /// Records what a write left under `id`. Only ids read are kept: the others are fresh
    /// generated ids, which no other write of the call can name.
    fn set(&mut self, id: &str, here: Here) {
        if let Some(i) = self.position(id) {
            self.0[i].1 = here;
        }
    }
}

/// Reads what is stored under each id that needs it: the record and its outbox entries, and the
/// sent mark, which tells whether the newest entry may have been sent. The mark is read in this
/// transaction, never remembered from an earlier one: another tab may read a batch to send at
/// any moment, and its transaction and this one run one after the other (both cover the outbox).
async fn read_here(
    tx: &IdbTransaction,
    collection: &str,
    records: &IdbObjectStore,
    outbox: &IdbObjectStore,
    writes: &[Write],
) -> Result<HereById> {
    let by_record =
        outbox.index(OUTBOX_BY_RECORD).map_err(|e| from_js("opening the outbox index", &e, ErrorKind::Storage))?;
    let context = format!("reading \"{collection}\"");
    let collection_key = JsValue::from_str(collection);
    let wanted: Vec<&Write> = writes.iter().filter(|w| !w.generated).collect();
    let mut wanted = sorted_by(wanted, &|a, b| a.id.cmp(&b.id));
    wanted.dedup_by(|a, b| a.id == b.id);
    if wanted.is_empty() {
        return Ok(HereById(Vec::new()));
    }
    let mark = read_mark(tx, &context)?;
    let mut pending = Vec::with_capacity(wanted.len());
    for w in wanted {
        let key = &w.key;
        let record_req = records.get(key).map_err(|e| from_js(&context, &e, ErrorKind::Storage))?;
        let entries_req = by_record
            .get_all_with_key(&Array::of2(&collection_key, key))
            .map_err(|e| from_js(&context, &e, ErrorKind::Storage))?;
        pending.push((w.id.clone(), request(&record_req, &context), request(&entries_req, &context)));
    }
    let mark = mark.await?;
    let mut here = Vec::with_capacity(pending.len());
    for (id, record, entries) in pending {
        let record = record.await?;
        let entries = Array::from(&entries.await?);
        let newest = (entries.length() > 0).then(|| entries.get(entries.length() - 1));
        let queued = newest.as_ref().and_then(|e| {
            let op = Op::parse(&get(e, "op").as_string()?)?;
            let seq = get(e, "seq").as_f64().map(|s| s as u64);
            let sent = mark.may_have_sent(seq, sends_of(e));
            let held = !get(e, "hold").is_undefined();
            let forced = get(e, "force").as_bool() == Some(true);
            Some(Newest { seq, queued: Queued { op, sent, held, forced } })
        });
        let (meta, record) = if record.is_undefined() { (None, None) } else { (read_meta(&record), Some(record)) };
        here.push((id, Here { current: Current { meta, newest: queued }, record, newest }));
    }
    Ok(HereById(here))
}

/// Carries out `writes` on `collection` in one transaction; all or nothing. The blobs they store
/// evict downloaded ones beyond `blob_cap`.
pub async fn write(
    db: &IdbDatabase,
    collection: &str,
    ids: &IdGenerator,
    now: f64,
    writes: Vec<Write>,
    blob_cap: Option<u64>,
) -> Result<Written> {
    // `_meta` holds the sent mark, needed only to coalesce into an entry already queued: a write
    // of a freshly generated id has none.
    let reads = writes.iter().any(|w| !w.generated);
    let blobs = writes.iter().any(|w| !w.blobs.is_empty());
    let mut stores = vec![collection, OUTBOX_STORE];
    if reads {
        stores.push(META_STORE);
    }
    if blobs {
        stores.push(BLOBS_STORE);
    }
    let tx = transaction(db, &stores, true)?;
    let rewritten: Array = writes.iter().map(|w| w.key.clone()).collect();
    let put = Array::new();
    let context = format!("writing to \"{collection}\"");
    match commit_or_abort(&tx, &context, issue(&tx, collection, ids, now, (writes, blob_cap), &put)).await {
        Err(e) if unique::is_clash(&e) => Err(unique::name_clash(db, collection, &put, &rewritten, e).await),
        done => done,
    }
}

/// Issues the writes; each record put is also pushed to `put`, to name the unique index a
/// refused write clashes on.
async fn issue(
    tx: &IdbTransaction,
    collection: &str,
    ids: &IdGenerator,
    now: f64,
    (writes, blob_cap): (Vec<Write>, Option<u64>),
    put: &Array,
) -> Result<Written> {
    let records = store(tx, collection)?;
    let outbox = store(tx, OUTBOX_STORE)?;
    let rows: Vec<JsValue> = writes.iter().flat_map(|w| w.blobs.iter().cloned()).collect();
    if !rows.is_empty() {
        super::blobs::store_rows(tx, &rows, blob_cap, &format!("storing the blobs of \"{collection}\"")).await?;
    }
    let mut here = read_here(tx, collection, &records, &outbox, &writes).await?;
    let mut written =
        Written { stored: Vec::with_capacity(writes.len()), changed: 0, pending_delta: 0, changes: Changes::default() };
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
        let was = here.get(&w.id).cloned().unwrap_or_default();
        let step = plan_write(w.intent, &was.current, collection, &w.id, now)?;
        // The server's data this change starts from, kept with it for a three-way merge.
        let base = match (&was.record, WriteStep::keeps_base(&was.current)) {
            (Some(record), true) => glue::wire_data(record),
            _ => JsValue::UNDEFINED,
        };
        written.pending_delta += step.pending_delta();
        written.changed += usize::from(step != WriteStep::Nothing);
        let key = &w.key;
        let now_here = match &step {
            WriteStep::Nothing => {
                written.stored.push(None);
                continue;
            }
            WriteStep::Cancel => {
                records.delete(key).map_err(|e| fail(i, e))?;
                let seq = was.newest.as_ref().map(|e| get(e, "seq")).unwrap_or(JsValue::UNDEFINED);
                outbox.delete(&seq).map_err(|e| fail(i, e))?;
                written.stored.push(None);
                written.changes.add(collection, &w.id, Op::Delete);
                Here::default()
            }
            WriteStep::Store { meta, fields, queue, change } => {
                let data = match fields {
                    Fields::Given => w.data.clone(),
                    Fields::Merged => {
                        let record = was.record.clone().unwrap_or(JsValue::UNDEFINED);
                        glue::merge_fields(&record, &w.data).map_err(|e| unreadable(i, e))?
                    }
                    Fields::Tombstone => js_sys::Object::new().into(),
                };
                let stored = glue::stamp_record(&data, key, &meta_to_js(meta, key)).map_err(|e| unreadable(i, e))?;
                records.put(&stored).map_err(|e| fail(i, e))?;
                put.push(&stored);
                let newest = match *queue {
                    Queue::Append { op, base_version } => {
                        let mutation_id = ids.next_at(now);
                        let entry = glue::make_outbox_entry(
                            &mutation_id,
                            collection,
                            key,
                            op.as_str(),
                            opt_num(base_version),
                            now,
                            &base,
                        );
                        outbox.add(&entry).map_err(|e| fail(i, e))?;
                        Some(entry)
                    }
                    Queue::Rewrite { op } => {
                        // Only an entry read in this transaction is rewritten: one added here has
                        // no key yet, and is never rewritten by the writes a bulk call can make.
                        let newest = was.newest.clone().unwrap_or(JsValue::UNDEFINED);
                        let entry = glue::with_op(&newest, op.as_str());
                        outbox.put(&entry).map_err(|e| fail(i, e))?;
                        Some(entry)
                    }
                    Queue::Keep => was.newest.clone(),
                };
                written.stored.push((*change != Op::Delete).then(|| stored.clone()));
                written.changes.add(collection, &w.id, *change);
                Here { current: step.next(&was.current, None), record: Some(stored), newest }
            }
        };
        here.set(&w.id, now_here);
    }
    Ok(written)
}
