//! The answer kept for each mutation id, to answer a replay the same way. It is the protocol's
//! result without the conflicting record's data: a conflict keeps only which record it was
//! about, and a replay reads that record as it is now (the same answer while the record has not
//! changed; its newer state, which is what the client must resolve against, when it has). So a
//! stored answer is small and bounded (names of at most 128 + 256 bytes, fixed messages), never
//! a copy of a big record. Rows written by older versions, with the data, read the same way.

use ferrysync::protocol::MutationResult;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{conflict_record, StoredRecord};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Stored {
    Applied { version: u64 },
    Conflict { current: RecordKey },
    Rejected { code: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordKey {
    pub collection: String,
    pub id: String,
}

/// The text stored for `result`.
pub fn encode(result: &MutationResult<Value>) -> String {
    let stored = match result {
        MutationResult::Applied { version, .. } => Stored::Applied { version: *version },
        MutationResult::Conflict { current, .. } => {
            Stored::Conflict { current: RecordKey { collection: current.collection.clone(), id: current.id.clone() } }
        }
        MutationResult::Rejected { code, message, .. } => {
            Stored::Rejected { code: code.clone(), message: message.clone() }
        }
    };
    serde_json::to_string(&stored).unwrap_or_default()
}

pub fn decode(text: &str) -> Result<Stored, serde_json::Error> {
    serde_json::from_str(text)
}

impl Stored {
    /// The record a conflict answer must read, if it is one.
    pub fn conflict_key(&self) -> Option<&RecordKey> {
        match self {
            Stored::Conflict { current } => Some(current),
            _ => None,
        }
    }

    /// The answer again; `current` is the conflict's record as it is now (`None`: never held).
    pub fn into_result(self, mutation_id: Uuid, current: Option<&StoredRecord>) -> MutationResult<Value> {
        match self {
            Stored::Applied { version } => MutationResult::Applied { mutation_id, version },
            Stored::Conflict { current: key } => {
                MutationResult::Conflict { mutation_id, current: conflict_record(&key.collection, &key.id, current) }
            }
            Stored::Rejected { code, message } => MutationResult::Rejected { mutation_id, code, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conflicts_are_stored_without_data() {
        let id = Uuid::now_v7();
        let record = StoredRecord {
            version: 3,
            deleted: false,
            updated_at: 1,
            data: Some(json!({ "big": "x".repeat(10_000) })),
            space: String::new(),
        };
        let result = MutationResult::Conflict { mutation_id: id, current: conflict_record("c", "r", Some(&record)) };
        let text = encode(&result);
        assert_eq!(text, r#"{"status":"conflict","current":{"collection":"c","id":"r"}}"#);
        assert_eq!(decode(&text).unwrap().into_result(id, Some(&record)), result);
        // Old rows, with the whole record, read the same way.
        let old = r#"{"status":"conflict","mutationId":"x","current":{"collection":"c","id":"r","version":1,"deleted":false,"data":{"a":1}}}"#;
        assert_eq!(decode(old).unwrap().into_result(id, Some(&record)), result);
        let applied = MutationResult::Applied { mutation_id: id, version: 4 };
        assert_eq!(decode(&encode(&applied)).unwrap().into_result(id, None), applied);
        let old_applied = r#"{"status":"applied","mutationId":"x","version":4}"#;
        assert_eq!(decode(old_applied).unwrap().into_result(id, None), applied);
    }
}
