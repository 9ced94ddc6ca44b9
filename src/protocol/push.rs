//! `POST /v1/push`: the mutations a client sends and the result the server gives each.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::names::Rejection;
use super::record::ServerRecord;
use super::serde_util::{required_nullable, uuid_string};

/// What a mutation does to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Create the record or replace its data.
    Upsert,
    /// Delete the record (it becomes a tombstone).
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Delete => "delete",
        }
    }
}

/// One change sent by a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mutation<D> {
    /// Unique per change (the client uses a UUID v7); the server applies each id at most once
    /// per tenant and answers a repeat with the stored first answer.
    #[serde(with = "uuid_string")]
    pub mutation_id: Uuid,
    pub collection: String,
    pub id: String,
    pub op: Op,
    /// The record's data: required for an upsert, absent (or null) for a delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<D>,
    /// The server version the change was made on; `null` means "the client believes the record
    /// does not exist on the server". The field is required.
    #[serde(deserialize_with = "required_nullable")]
    pub base_version: Option<u64>,
    /// A force push: the server takes the change whatever its `baseVersion`, and records that it
    /// did (`forced` on the version it writes). Optional, false when absent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force: bool,
    /// When the change was written, in milliseconds since the epoch on the server's clock (the
    /// client corrects its own by the offset it measured from `serverTime`). The server stamps
    /// the version it writes with it, never later than its own clock: what last-write-wins
    /// compares. Optional; without it the server stamps its own time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at: Option<u64>,
    /// The space the record belongs to after an upsert (a string id inside the tenant, checked
    /// by [`check_space`](super::names::check_space)); absent or `null`: the record belongs to
    /// no space. The client reads it from the collection's declared space field; the server
    /// stores it beside the record and never looks into `data` for it. A delete keeps the
    /// record in the space it was in (its `space` is checked, then ignored). Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The body of `POST /v1/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest<D> {
    pub mutations: Vec<Mutation<D>>,
}

/// The answer to one mutation.
///
/// On the wire this is an object with a `status` field of `"applied"`, `"conflict"` or
/// `"rejected"`. It is serialized as an internally tagged enum, but deserialized through a flat
/// struct, so that `D` is not buffered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum MutationResult<D> {
    /// The mutation holds on the server, which now has the record at `version`.
    Applied {
        #[serde(with = "uuid_string")]
        mutation_id: Uuid,
        version: u64,
    },
    /// The base version did not match; nothing was changed. `current` is the server's record
    /// (version 0 and deleted if the server never held it). To overwrite it, send a new mutation
    /// (new id) whose `baseVersion` is `current.version`.
    Conflict {
        #[serde(with = "uuid_string")]
        mutation_id: Uuid,
        current: ServerRecord<D>,
    },
    /// The mutation is invalid and will never apply; nothing was changed. Retrying it is useless.
    Rejected {
        #[serde(with = "uuid_string")]
        mutation_id: Uuid,
        code: String,
        message: String,
    },
}

impl<D> MutationResult<D> {
    pub fn mutation_id(&self) -> Uuid {
        match self {
            MutationResult::Applied { mutation_id, .. }
            | MutationResult::Conflict { mutation_id, .. }
            | MutationResult::Rejected { mutation_id, .. } => *mutation_id,
        }
    }

    /// `"applied"`, `"conflict"` or `"rejected"`.
    pub fn status(&self) -> &'static str {
        match self {
            MutationResult::Applied { .. } => "applied",
            MutationResult::Conflict { .. } => "conflict",
            MutationResult::Rejected { .. } => "rejected",
        }
    }

    /// A rejection from a failed [`Mutation::check`].
    pub fn rejected(mutation_id: Uuid, rejection: Rejection) -> Self {
        MutationResult::Rejected { mutation_id, code: rejection.code.to_string(), message: rejection.message }
    }
}

/// A mutation result's fields as read off the wire, before the rule of which fields each status
/// needs ([`ResultParts::into_result`]). The server's serde decoder and the browser's reader of JS
/// values both fill this and apply that one rule.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultParts<D> {
    #[serde(with = "uuid_string")]
    pub mutation_id: Uuid,
    pub status: String,
    pub version: Option<u64>,
    pub current: Option<ServerRecord<D>>,
    pub code: Option<String>,
    pub message: Option<String>,
}

/// Why [`ResultParts`] are not a mutation result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultError {
    /// `status` is not `applied`, `conflict` or `rejected`.
    UnknownStatus(String),
    /// The status needs this field: `version` (applied), `current` (conflict), `code` (rejected).
    Missing(&'static str),
}

impl std::fmt::Display for ResultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResultError::UnknownStatus(s) => {
                write!(f, "status is \"{s}\", not applied, conflict or rejected")
            }
            ResultError::Missing(field) => write!(f, "{field} is missing"),
        }
    }
}

impl<D> ResultParts<D> {
    /// The result these fields make: applied needs `version`, conflict needs `current`, rejected
    /// needs `code` (`message` defaults to empty); fields a status does not use are ignored.
    pub fn into_result(self) -> Result<MutationResult<D>, ResultError> {
        let mutation_id = self.mutation_id;
        Ok(match self.status.as_str() {
            "applied" => {
                MutationResult::Applied { mutation_id, version: self.version.ok_or(ResultError::Missing("version"))? }
            }
            "conflict" => {
                MutationResult::Conflict { mutation_id, current: self.current.ok_or(ResultError::Missing("current"))? }
            }
            "rejected" => MutationResult::Rejected {
                mutation_id,
                code: self.code.ok_or(ResultError::Missing("code"))?,
                message: self.message.unwrap_or_default(),
            },
            _ => return Err(ResultError::UnknownStatus(self.status)),
        })
    }
}

impl<'de, D: Deserialize<'de>> Deserialize<'de> for MutationResult<D> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        ResultParts::<D>::deserialize(deserializer)?.into_result().map_err(de::Error::custom)
    }
}

/// The answer of `POST /v1/push`: one result per mutation, in the request's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse<D> {
    pub results: Vec<MutationResult<D>>,
    /// The server's clock when it answered (ms since the epoch), from which a client measures
    /// the offset of its own. Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codes;
    use crate::protocol::rules::Change;
    use crate::protocol::test_support::*;
    use std::collections::BTreeMap;

    #[test]
    fn push_request_shape() {
        let req = PushRequest {
            mutations: vec![
                Mutation {
                    mutation_id: mid(),
                    collection: "todos".into(),
                    id: "a".into(),
                    op: Op::Upsert,
                    data: Some(todo("milk")),
                    base_version: None,
                    force: false,
                    written_at: None,
                    space: None,
                },
                Mutation {
                    mutation_id: mid(),
                    collection: "todos".into(),
                    id: "b".into(),
                    op: Op::Delete,
                    data: None,
                    base_version: Some(3),
                    force: false,
                    written_at: None,
                    space: None,
                },
            ],
        };
        round_trip(
            &req,
            &format!(
                concat!(
                    r#"{{"mutations":["#,
                    r#"{{"mutationId":"{mid}","collection":"todos","id":"a","op":"upsert","data":{{"title":"milk","done":false}},"baseVersion":null}},"#,
                    r#"{{"mutationId":"{mid}","collection":"todos","id":"b","op":"delete","baseVersion":3}}"#,
                    r#"]}}"#
                ),
                mid = MID
            ),
        );
    }

    #[test]
    fn push_response_shape() {
        let res = PushResponse {
            results: vec![
                MutationResult::Applied { mutation_id: mid(), version: 2 },
                MutationResult::Conflict {
                    mutation_id: mid(),
                    current: ServerRecord {
                        collection: "todos".into(),
                        id: "a".into(),
                        version: 4,
                        deleted: false,
                        data: Some(todo("eggs")),
                        updated_at: Some(1_700_000_000_000),
                        forced: false,
                    },
                },
                MutationResult::Conflict {
                    mutation_id: mid(),
                    current: ServerRecord {
                        collection: "todos".into(),
                        id: "b".into(),
                        version: 5,
                        deleted: true,
                        data: None,
                        updated_at: None,
                        forced: false,
                    },
                },
                MutationResult::Rejected {
                    mutation_id: mid(),
                    code: codes::INVALID_ID.into(),
                    message: "bad id".into(),
                },
            ],
            server_time: None,
        };
        round_trip(
            &res,
            &format!(
                concat!(
                    r#"{{"results":["#,
                    r#"{{"status":"applied","mutationId":"{mid}","version":2}},"#,
                    r#"{{"status":"conflict","mutationId":"{mid}","current":{{"collection":"todos","id":"a","version":4,"deleted":false,"data":{{"title":"eggs","done":false}},"updatedAt":1700000000000}}}},"#,
                    r#"{{"status":"conflict","mutationId":"{mid}","current":{{"collection":"todos","id":"b","version":5,"deleted":true,"data":null}}}},"#,
                    r#"{{"status":"rejected","mutationId":"{mid}","code":"invalid_id","message":"bad id"}}"#,
                    r#"]}}"#
                ),
                mid = MID
            ),
        );
    }

    #[test]
    fn results_read_from_json_in_any_field_order() {
        let text = format!(
            r#"{{"results":[{{"version":9,"mutationId":"{MID}","status":"applied","extra":1}},
                {{"current":{{"id":"x","collection":"c","version":2,"deleted":true}},"status":"conflict","mutationId":"{MID}"}}]}}"#
        );
        let res: PushResponse<Todo> = json::from_str(&text).unwrap();
        assert_eq!(res.results[0], MutationResult::Applied { mutation_id: mid(), version: 9 });
        match &res.results[1] {
            MutationResult::Conflict { current, .. } => {
                assert!(current.deleted);
                assert_eq!(current.data, None);
                assert_eq!(current.version, 2);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(res.results[1].status(), "conflict");
        assert_eq!(res.results[1].mutation_id(), mid());
    }

    #[test]
    fn bad_results_are_errors() {
        for bad in [
            format!(r#"{{"mutationId":"{MID}","status":"applied"}}"#),
            format!(r#"{{"mutationId":"{MID}","status":"conflict","version":1}}"#),
            format!(r#"{{"mutationId":"{MID}","status":"rejected","message":"m"}}"#),
            format!(r#"{{"mutationId":"{MID}","status":"maybe","version":1}}"#),
            r#"{"mutationId":"nope","status":"applied","version":1}"#.to_string(),
        ] {
            assert!(json::from_str::<MutationResult<Todo>>(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mutation_input_rules() {
        // Unknown op, missing baseVersion, missing mutationId, bad UUID: not a mutation.
        for bad in [
            format!(r#"{{"mutationId":"{MID}","collection":"c","id":"a","op":"patch","baseVersion":null}}"#),
            format!(r#"{{"mutationId":"{MID}","collection":"c","id":"a","op":"delete"}}"#),
            r#"{"collection":"c","id":"a","op":"delete","baseVersion":null}"#.to_string(),
            r#"{"mutationId":"x","collection":"c","id":"a","op":"delete","baseVersion":null}"#.to_string(),
            format!(r#"{{"mutationId":"{MID}","collection":"c","id":"a","op":"delete","baseVersion":-1}}"#),
        ] {
            assert!(json::from_str::<Mutation<Todo>>(&bad).is_err(), "{bad}");
        }
        // A null data on a delete reads as absent; an upper-case UUID is the same id.
        let m: Mutation<Todo> = json::from_str(&format!(
            r#"{{"mutationId":"{}","collection":"c","id":"a","op":"delete","data":null,"baseVersion":2}}"#,
            MID.to_uppercase()
        ))
        .unwrap();
        assert_eq!(m.mutation_id, mid());
        assert_eq!(m.data, None);
        assert_eq!(m.check(), Ok(Change::Delete));
    }

    #[test]
    fn generic_data_can_be_any_serde_type() {
        let mut data = BTreeMap::new();
        data.insert("k".to_string(), "v".to_string());
        let m = Mutation {
            mutation_id: mid(),
            collection: "c".into(),
            id: "1".into(),
            op: Op::Upsert,
            data: Some(data),
            base_version: Some(1),
            force: false,
            written_at: None,
            space: None,
        };
        round_trip(
            &m,
            &format!(
                r#"{{"mutationId":"{MID}","collection":"c","id":"1","op":"upsert","data":{{"k":"v"}},"baseVersion":1}}"#
            ),
        );
    }
}
