//! Outbox entries as the sync rules see them. Every store keeps the same fields (IndexedDB as JS
//! objects, the in-memory store as this struct); see docs/storage.md for the stored shape.

use crate::core::outbox::Op;
use crate::core::sent::Sends;

/// Why an entry is held back from pushing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The server or a pull disagreed; waits for `resolveConflict`.
    Conflict,
    /// A dead letter: the server rejected it; waits for `retryFailed` or `discardFailed`.
    Failed,
}

impl Hold {
    pub fn as_str(self) -> &'static str {
        match self {
            Hold::Conflict => "conflict",
            Hold::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Hold> {
        match s {
            "conflict" => Some(Hold::Conflict),
            "failed" => Some(Hold::Failed),
            _ => None,
        }
    }
}

/// One queued change of a record. It names the record and the op; the data is read from the
/// record when the entry is pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Queue position (IndexedDB's auto-increment key).
    pub seq: u64,
    pub mutation_id: String,
    pub collection: String,
    pub record_id: String,
    pub op: Op,
    /// The server version the change was made on (`None`: the server never had the record).
    pub base_version: Option<u64>,
    /// Sends counted on the entry itself; its first send is counted by the sent mark instead
    /// ([`crate::core::sent`]). A sent entry is never coalesced into (docs/sync.md says why).
    pub attempts: u32,
    /// Never sent under its mutation id, although the sent mark covers its key.
    pub never_sent: bool,
    pub hold: Option<Hold>,
    /// Marked by a force push: the server takes it whatever its base version, and a pulled
    /// change of its record is no conflict (the push overwrites it).
    pub force: bool,
}

impl Entry {
    pub fn is(&self, collection: &str, record_id: &str) -> bool {
        self.collection == collection && self.record_id == record_id
    }

    /// What the entry holds about its own sends.
    pub fn sends(&self) -> Sends {
        Sends { attempts: self.attempts, never_sent: self.never_sent }
    }

    /// The entry once it holds `sends`.
    pub fn with_sends(self, sends: Sends) -> Entry {
        Entry { attempts: sends.attempts, never_sent: sends.never_sent, ..self }
    }
}

/// An outbox entry's fields as a store read them, before they are checked: each `None` where
/// the stored value is missing or of the wrong type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEntry {
    pub seq: Option<f64>,
    pub mutation_id: Option<String>,
    pub collection: Option<String>,
    pub record_id: Option<String>,
    pub op: Option<String>,
    pub base_version: Option<f64>,
    pub attempts: Option<f64>,
    pub never_sent: Option<bool>,
    pub hold: Option<String>,
    pub force: Option<bool>,
}

/// The entry `raw` holds, or why it cannot be one (a row written by hand, by another version, or
/// damaged). Such a row is quarantined rather than sent, skipped or allowed to stop the queue:
/// a change with no valid mutation id could be applied twice, one with no op or record means
/// nothing.
pub fn decode(raw: RawEntry) -> Result<Entry, String> {
    let whole = |v: f64| v >= 0.0 && v.fract() == 0.0 && v <= 2f64.powi(53);
    let seq = raw.seq.filter(|s| whole(*s)).ok_or("no queue position (seq)")? as u64;
    let mutation_id = raw.mutation_id.ok_or("no mutation id")?;
    if uuid::Uuid::try_parse(&mutation_id).is_err() {
        return Err(format!("the mutation id {mutation_id:?} is not a UUID"));
    }
    let collection = raw.collection.filter(|c| !c.is_empty()).ok_or("no collection")?;
    let record_id = raw.record_id.filter(|r| !r.is_empty()).ok_or("no record id")?;
    let op = raw.op.ok_or("no op")?;
    let op = Op::parse(&op).ok_or_else(|| format!("the op {op:?} is not create, update or delete"))?;
    let base_version = match raw.base_version {
        Some(v) if !whole(v) => return Err(format!("the base version {v} is not a whole number")),
        v => v.map(|v| v as u64),
    };
    let hold = match raw.hold {
        Some(h) => Some(Hold::parse(&h).ok_or_else(|| format!("the hold {h:?} is not conflict or failed"))?),
        None => None,
    };
    let attempts = raw.attempts.filter(|a| whole(*a)).unwrap_or(0.0) as u32;
    Ok(Entry {
        seq,
        mutation_id,
        collection,
        record_id,
        op,
        base_version,
        attempts,
        never_sent: raw.never_sent == Some(true),
        hold,
        force: raw.force == Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> RawEntry {
        RawEntry {
            seq: Some(4.0),
            mutation_id: Some("0190a0f0-0000-7000-8000-000000000001".into()),
            collection: Some("tasks".into()),
            record_id: Some("a".into()),
            op: Some("update".into()),
            base_version: Some(2.0),
            attempts: Some(1.0),
            never_sent: None,
            hold: None,
            force: None,
        }
    }

    #[test]
    fn a_whole_entry_decodes() {
        let e = decode(good()).unwrap();
        assert_eq!(
            (e.seq, e.op, e.base_version, e.attempts, e.hold, e.force),
            (4, Op::Update, Some(2), 1, None, false)
        );
        let held = decode(RawEntry { hold: Some("failed".into()), base_version: None, ..good() }).unwrap();
        assert_eq!((held.hold, held.base_version), (Some(Hold::Failed), None));
    }

    #[test]
    fn a_damaged_entry_says_why() {
        let why = |f: &dyn Fn(&mut RawEntry)| {
            let mut raw = good();
            f(&mut raw);
            decode(raw).unwrap_err()
        };
        assert_eq!(why(&|r| r.mutation_id = None), "no mutation id");
        assert!(why(&|r| r.mutation_id = Some("nope".into())).contains("not a UUID"));
        assert_eq!(why(&|r| r.collection = Some(String::new())), "no collection");
        assert_eq!(why(&|r| r.record_id = None), "no record id");
        assert!(why(&|r| r.op = Some("upsert".into())).contains("not create, update or delete"));
        assert!(why(&|r| r.base_version = Some(1.5)).contains("not a whole number"));
        assert!(why(&|r| r.hold = Some("later".into())).contains("not conflict or failed"));
        assert_eq!(why(&|r| r.seq = Some(-1.0)), "no queue position (seq)");
    }
}
