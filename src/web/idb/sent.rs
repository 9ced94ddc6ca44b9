//! The sent mark in IndexedDB ([`crate::core::sent`] decides what it means): a number in
//! `_meta`, read by every transaction that asks whether an entry may have been sent (a local
//! write coalescing, a force push, a batch read, a listing of the outbox), written by the one
//! that reads a batch.

use std::future::Future;

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbObjectStore, IdbTransaction};

use crate::core::error::Result;
use crate::core::meta_rows::Row;
use crate::core::schema::META_STORE;
use crate::core::sent::{Count, Counted, Sends, SentMark};

use super::super::glue;
use super::super::js::{get, set_field};
use super::connection::{js_err, request};
use super::entries::{outbox, store, Stored};

/// `_meta` key of the sent mark: the greatest outbox key ever read into a batch to send. The
/// outbox and `_meta` are never deleted, and IndexedDB's key generator never goes back past a
/// key a committed transaction read (a crash may lose only the newest entries, none that a
/// durable mark covers), so every entry queued later has a greater key.
pub const SENT_MARK_KEY: &str = Row::SentMark.key();

/// Issues the read of the mark in `tx` (which must cover `_meta`); awaited later.
pub fn read_mark(tx: &IdbTransaction, context: &str) -> Result<impl Future<Output = Result<SentMark>>> {
    let meta = store(tx, META_STORE)?;
    let read = request(&meta.get(&JsValue::from_str(SENT_MARK_KEY)).map_err(js_err(context))?, context);
    Ok(async move {
        let stored = read.await?;
        Ok(SentMark::decode((!stored.is_undefined()).then(|| stored.as_f64().unwrap_or(f64::NAN))))
    })
}

/// What a stored entry holds about its own sends (its count, its `neverSent` flag).
pub fn sends_of(raw: &JsValue) -> Sends {
    Sends {
        attempts: get(raw, "attempts").as_f64().unwrap_or(0.0) as u32,
        never_sent: get(raw, "neverSent").as_bool() == Some(true),
    }
}

/// Writes what reading a batch counted: the few entries it names (each among `read`, the entries
/// read in the same transaction) and the mark, if it moved.
pub fn write_counts(tx: &IdbTransaction, read: &[Stored], counted: Counted, context: &str) -> Result<()> {
    let fail = js_err(context);
    let outbox = outbox(tx)?;
    for (seq, count) in counted.entries {
        let Some(s) = read.iter().find(|s| s.entry.seq == seq) else { continue };
        let written = match count {
            Count::Sent(attempts) => glue::count_sends(&s.raw, attempts as f64),
            Count::NeverSent => glue::mark_never_sent(&s.raw),
        };
        outbox.put(&written).map_err(&fail)?;
    }
    if let Some(SentMark(mark)) = counted.mark {
        let meta: IdbObjectStore = store(tx, META_STORE)?;
        meta.put_with_key(&JsValue::from_f64(mark as f64), &JsValue::from_str(SENT_MARK_KEY)).map_err(&fail)?;
    }
    Ok(())
}

/// Sets each listed entry's `attempts` to the sends it had under its mutation id, its first one
/// included (counted by the mark, not on the entry): what `outbox()`, `failed()` and
/// `exportPending()` show. The entries are the caller's copies, read in a transaction that read
/// `mark` too.
pub fn show_attempts(entries: &Array, mark: SentMark) {
    for entry in entries.iter() {
        let Some(seq) = get(&entry, "seq").as_f64() else { continue };
        let attempts = mark.attempts(seq as u64, sends_of(&entry));
        set_field(entry.unchecked_ref(), "attempts", &JsValue::from_f64(attempts as f64));
    }
}
