//! Wire types of the sync protocol (push, pull, health, errors), shared by the client and the
//! reference server.
//!
//! Everything here is plain data with serde derives and pure functions: no I/O, no JSON library.
//! Record data is the type parameter `D`, so the same types carry a JavaScript value in the
//! browser and a `serde_json::Value` (or raw JSON text) on the server. JSON field names are
//! camelCase. No type here uses `#[serde(flatten)]` or an internally tagged enum on the way in,
//! so `D` is handed to its own `Deserialize` untouched (no buffering through serde's private
//! content type). The server uses the serde derives; the browser edge builds and reads the same
//! types from JS values by hand (`web::sync::wire`), which costs less wasm.
//!
//! The normative description of the protocol is `docs/protocol.md`; the machine-readable one is
//! `docs/openapi.json`. The rules below ([`decide`], [`Mutation::check`], the cursor format) are
//! the ones the reference server applies.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Version of the wire protocol, reported by the health endpoint.
pub const PROTOCOL_VERSION: u32 = 1;

/// `POST` a [`PushRequest`], answered by a [`PushResponse`].
pub const PUSH_PATH: &str = "/v1/push";
/// `GET ?cursor=&limit=`, answered by a [`PullResponse`].
pub const PULL_PATH: &str = "/v1/pull";
/// `GET`, answered by a [`HealthResponse`]; needs no token.
pub const HEALTH_PATH: &str = "/v1/health";
/// `GET`, the OpenAPI document of the protocol; needs no token.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// Limits. The `DEFAULT_*` values are the reference server's defaults (each can be changed with a
/// command-line option); the others are fixed by the protocol.
pub mod limits {
    /// Largest request body a push may have, in bytes (over it: 413 `payload_too_large`).
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
    /// Most mutations in one push (over it: 413 `batch_too_large`).
    pub const DEFAULT_MAX_BATCH: usize = 100;
    /// Largest `data` of one mutation, measured as compact JSON text in bytes (over it: that
    /// mutation is rejected with `data_too_large`).
    pub const DEFAULT_MAX_RECORD_BYTES: usize = 256 * 1024;
    /// Longest collection name, in UTF-8 bytes.
    pub const MAX_COLLECTION_BYTES: usize = 128;
    /// Longest record id, in UTF-8 bytes.
    pub const MAX_ID_BYTES: usize = 256;
    /// Page size of a pull without `limit`.
    pub const DEFAULT_PULL_LIMIT: u32 = 100;
    /// Largest page a pull returns; a larger `limit` is lowered to this.
    pub const MAX_PULL_LIMIT: u32 = 1000;
}

/// Error codes: `error.code` of an error body, or `code` of a rejected mutation.
pub mod codes {
    // Whole-request errors (an error body with a 4xx or 5xx status).
    /// 400: the body is not JSON.
    pub const MALFORMED_JSON: &str = "malformed_json";
    /// 400: the body is JSON but not a valid request (missing field, wrong type, unknown op...).
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// 400: the pull `cursor` is not one this server issued.
    pub const INVALID_CURSOR: &str = "invalid_cursor";
    /// 400: the pull `limit` is not a positive integer.
    pub const INVALID_LIMIT: &str = "invalid_limit";
    /// 401: no `Authorization: Bearer` header.
    pub const MISSING_TOKEN: &str = "missing_token";
    /// 401: the token is not known.
    pub const INVALID_TOKEN: &str = "invalid_token";
    /// 404: no such endpoint.
    pub const NOT_FOUND: &str = "not_found";
    /// 405: the endpoint does not take this method.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// 413: the body is larger than the server takes.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// 413: more mutations than the server takes in one push.
    pub const BATCH_TOO_LARGE: &str = "batch_too_large";
    /// 415: a push body that is not `application/json`.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    /// 429: the server sheds load; retry after the `Retry-After` header's seconds.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// 500: something failed on the server; nothing of the request was applied.
    pub const INTERNAL: &str = "internal";
    /// 503: the storage is busy or down; retry after the `Retry-After` header's seconds.
    pub const UNAVAILABLE: &str = "unavailable";

    // Per-mutation rejections (status "rejected" in a push result).
    /// The collection name is empty, too long, or has control characters.
    pub const INVALID_COLLECTION: &str = "invalid_collection";
    /// The record id is empty, too long, or has control characters.
    pub const INVALID_ID: &str = "invalid_id";
    /// An upsert without `data`, a delete with `data`, or `data` that is not a JSON object.
    pub const INVALID_DATA: &str = "invalid_data";
    /// The `data` is larger than the server's record limit.
    pub const DATA_TOO_LARGE: &str = "data_too_large";
}

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
}

/// The body of `POST /v1/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest<D> {
    pub mutations: Vec<Mutation<D>>,
}

/// A record as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerRecord<D> {
    pub collection: String,
    pub id: String,
    /// Per-record counter: 1 after the first upsert, +1 on every change. A record the server
    /// never held is reported (in a conflict) with version 0 and `deleted: true`.
    pub version: u64,
    /// True for a tombstone; its `data` is null.
    pub deleted: bool,
    /// Always serialized (null for a tombstone); may be absent on input.
    pub data: Option<D>,
    /// When the server last changed the record, in milliseconds since the epoch. Informational
    /// only: ordering uses versions and the pull cursor, never clocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<u64>,
}

/// The answer to one mutation.
///
/// On the wire this is an object with a `status` field of `"applied"`, `"conflict"` or
/// `"rejected"`. It is serialized as an internally tagged enum, but deserialized through a flat
/// struct, so that `D` is not buffered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "status",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
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
        MutationResult::Rejected {
            mutation_id,
            code: rejection.code.to_string(),
            message: rejection.message,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Applied,
    Conflict,
    Rejected,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlatMutationResult<D> {
    #[serde(with = "uuid_string")]
    mutation_id: Uuid,
    status: Status,
    version: Option<u64>,
    current: Option<ServerRecord<D>>,
    code: Option<String>,
    message: Option<String>,
}

impl<'de, D: Deserialize<'de>> Deserialize<'de> for MutationResult<D> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        let flat = FlatMutationResult::<D>::deserialize(deserializer)?;
        let mutation_id = flat.mutation_id;
        Ok(match flat.status {
            Status::Applied => MutationResult::Applied {
                mutation_id,
                version: flat
                    .version
                    .ok_or_else(|| de::Error::missing_field("version"))?,
            },
            Status::Conflict => MutationResult::Conflict {
                mutation_id,
                current: flat
                    .current
                    .ok_or_else(|| de::Error::missing_field("current"))?,
            },
            Status::Rejected => MutationResult::Rejected {
                mutation_id,
                code: flat.code.ok_or_else(|| de::Error::missing_field("code"))?,
                message: flat.message.unwrap_or_default(),
            },
        })
    }
}

/// The answer of `POST /v1/push`: one result per mutation, in the request's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse<D> {
    pub results: Vec<MutationResult<D>>,
}

/// The answer of `GET /v1/pull`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullResponse<D> {
    /// Records changed after the request's cursor, oldest change first, each at most once and in
    /// its latest state (tombstones have `deleted: true`).
    pub changes: Vec<ServerRecord<D>>,
    /// Pass it back as `cursor` to continue. Opaque to clients.
    pub cursor: String,
    /// True when more changes follow this page.
    pub has_more: bool,
}

/// The answer of `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    /// `"ok"`.
    pub status: String,
    /// [`PROTOCOL_VERSION`] of the server (0 when a server leaves it out).
    #[serde(default)]
    pub protocol: u32,
}

impl HealthResponse {
    pub fn ok() -> Self {
        HealthResponse {
            status: "ok".to_string(),
            protocol: PROTOCOL_VERSION,
        }
    }
}

/// The body of every non-2xx answer: `{ "error": { "code", "message" } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// One of [`codes`]; stable, for programs.
    pub code: String,
    /// For people; may change.
    pub message: String,
}

impl ErrorResponse {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorResponse {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.into(),
            },
        }
    }
}

// ----- validation -----

/// Why a single mutation is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }
}

/// A checked mutation's effect.
#[derive(Debug, PartialEq)]
pub enum Change<'a, D> {
    Upsert(&'a D),
    Delete,
}

impl<D> Clone for Change<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<D> Copy for Change<'_, D> {}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A collection name: 1 to [`limits::MAX_COLLECTION_BYTES`] bytes, no control characters.
pub fn check_collection(name: &str) -> Result<(), Rejection> {
    if name.is_empty() || name.len() > limits::MAX_COLLECTION_BYTES || has_control(name) {
        return Err(Rejection::new(
            codes::INVALID_COLLECTION,
            format!(
                "a collection name has 1 to {} bytes and no control characters",
                limits::MAX_COLLECTION_BYTES
            ),
        ));
    }
    Ok(())
}

/// A record id: 1 to [`limits::MAX_ID_BYTES`] bytes, no control characters.
pub fn check_record_id(id: &str) -> Result<(), Rejection> {
    if id.is_empty() || id.len() > limits::MAX_ID_BYTES || has_control(id) {
        return Err(Rejection::new(
            codes::INVALID_ID,
            format!(
                "a record id has 1 to {} bytes and no control characters",
                limits::MAX_ID_BYTES
            ),
        ));
    }
    Ok(())
}

impl<D> Mutation<D> {
    /// The checks every server makes on one mutation, independent of the data's format: a valid
    /// collection name and id, data on an upsert and none on a delete. (The reference server
    /// also requires the data to be a JSON object within its size limit.)
    pub fn check(&self) -> Result<Change<'_, D>, Rejection> {
        check_collection(&self.collection)?;
        check_record_id(&self.id)?;
        match (self.op, &self.data) {
            (Op::Upsert, Some(data)) => Ok(Change::Upsert(data)),
            (Op::Upsert, None) => Err(Rejection::new(codes::INVALID_DATA, "an upsert needs data")),
            (Op::Delete, None) => Ok(Change::Delete),
            (Op::Delete, Some(_)) => Err(Rejection::new(
                codes::INVALID_DATA,
                "a delete takes no data",
            )),
        }
    }
}

// ----- version and conflict rules -----

/// A record's state on the server, as far as [`decide`] needs it.
#[derive(Debug, PartialEq)]
pub struct Current<'a, D> {
    pub version: u64,
    pub deleted: bool,
    /// `None` for a tombstone.
    pub data: Option<&'a D>,
}

impl<D> Clone for Current<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<D> Copy for Current<'_, D> {}

/// What the server does with a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The record already is what the mutation asks for: nothing is written, and the answer is
    /// "applied" at the current version (which is 0 for a delete of a record never held).
    Unchanged { version: u64 },
    /// Write the record at this new version (`deleted` for a delete), and answer "applied".
    Write { version: u64, deleted: bool },
    /// Answer "conflict" with the current record; nothing is written.
    Conflict,
}

/// The version rule, in three steps:
///
/// 1. If the record already is what the mutation asks for (an upsert whose data equals the live
///    record's data, or a delete of a record that is deleted or was never held), the mutation is
///    applied without a change, whatever its `baseVersion`: concurrent identical writes and
///    repeated deletes converge instead of conflicting.
/// 2. Otherwise the base must match: `baseVersion` equal to the record's version (a record never
///    held has version 0), or `null` while the record is not live (never held, or a tombstone:
///    the client believes it does not exist, and it does not). Then the record is written at
///    version + 1.
/// 3. Otherwise it is a conflict, and nothing changes.
pub fn decide<D: PartialEq>(
    current: Option<Current<'_, D>>,
    change: Change<'_, D>,
    base_version: Option<u64>,
) -> Decision {
    let (version, live, data) = match current {
        Some(c) => (c.version, !c.deleted, if c.deleted { None } else { c.data }),
        None => (0, false, None),
    };
    let unchanged = match change {
        Change::Delete => !live,
        Change::Upsert(new) => live && data == Some(new),
    };
    if unchanged {
        return Decision::Unchanged { version };
    }
    let base_matches = match base_version {
        None => !live,
        Some(base) => base == version,
    };
    if base_matches {
        Decision::Write {
            version: version + 1,
            deleted: matches!(change, Change::Delete),
        }
    } else {
        Decision::Conflict
    }
}

// ----- pull cursor -----

const CURSOR_PREFIX: &str = "c1.";

/// The reference server's cursor for "after change number `seq`" of a tenant's change sequence
/// (a per-tenant counter, +1 on every write; 0 = before the first change). Clients treat cursors
/// as opaque strings.
pub fn encode_cursor(seq: u64) -> String {
    format!("{CURSOR_PREFIX}{seq}")
}

/// The inverse of [`encode_cursor`]; only the exact strings it makes are accepted.
pub fn decode_cursor(cursor: &str) -> Option<u64> {
    let digits = cursor.strip_prefix(CURSOR_PREFIX)?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

/// The query string of a pull (with its leading `?`), the cursor percent-encoded.
pub fn pull_query(cursor: Option<&str>, limit: Option<u32>) -> String {
    let mut parts = Vec::new();
    if let Some(cursor) = cursor {
        parts.push(format!("cursor={}", percent_encode(cursor)));
    }
    if let Some(limit) = limit {
        parts.push(format!("limit={limit}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ----- serde adapters -----

/// A UUID as its hyphenated string, without needing uuid's own serde feature.
mod uuid_string {
    use serde::de::{self, Deserialize, Deserializer};
    use serde::ser::Serializer;
    use uuid::Uuid;

    pub fn serialize<S: Serializer>(id: &Uuid, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&id.hyphenated())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
        let s = String::deserialize(deserializer)?;
        Uuid::try_parse(&s).map_err(|_| de::Error::custom(format!("not a UUID: {s:?}")))
    }
}

/// An `Option` field that must be present (it may be null).
fn required_nullable<'de, De, T>(deserializer: De) -> Result<Option<T>, De::Error>
where
    De: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// JSON for these tests: serde_json is a dev-dependency only, so it never reaches the wasm.
    mod json {
        pub fn to_string<T: serde::Serialize>(value: &T) -> String {
            serde_json::to_string(value).unwrap()
        }

        pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
            serde_json::from_str(text)
        }
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Todo {
        title: String,
        done: bool,
    }

    fn todo(title: &str) -> Todo {
        Todo {
            title: title.to_string(),
            done: false,
        }
    }

    const MID: &str = "0190f2a4-7c3e-7d4a-9b1e-2f3a4b5c6d7e";

    fn mid() -> Uuid {
        Uuid::parse_str(MID).unwrap()
    }

    fn round_trip<T>(value: &T, expected: &str)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let text = json::to_string(value);
        assert_eq!(text, expected);
        let back: T = json::from_str(&text).unwrap();
        assert_eq!(&back, value);
    }

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
                },
                Mutation {
                    mutation_id: mid(),
                    collection: "todos".into(),
                    id: "b".into(),
                    op: Op::Delete,
                    data: None,
                    base_version: Some(3),
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
                MutationResult::Applied {
                    mutation_id: mid(),
                    version: 2,
                },
                MutationResult::Conflict {
                    mutation_id: mid(),
                    current: ServerRecord {
                        collection: "todos".into(),
                        id: "a".into(),
                        version: 4,
                        deleted: false,
                        data: Some(todo("eggs")),
                        updated_at: Some(1_700_000_000_000),
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
                    },
                },
                MutationResult::Rejected {
                    mutation_id: mid(),
                    code: codes::INVALID_ID.into(),
                    message: "bad id".into(),
                },
            ],
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
    fn pull_health_error_shapes() {
        let pull = PullResponse {
            changes: vec![ServerRecord {
                collection: "todos".into(),
                id: "a".into(),
                version: 1,
                deleted: false,
                data: Some(todo("milk")),
                updated_at: Some(5),
            }],
            cursor: encode_cursor(7),
            has_more: true,
        };
        round_trip(
            &pull,
            r#"{"changes":[{"collection":"todos","id":"a","version":1,"deleted":false,"data":{"title":"milk","done":false},"updatedAt":5}],"cursor":"c1.7","hasMore":true}"#,
        );
        round_trip(&HealthResponse::ok(), r#"{"status":"ok","protocol":1}"#);
        let minimal: HealthResponse = json::from_str(r#"{"status":"ok","server":"x"}"#).unwrap();
        assert_eq!(minimal.protocol, 0);
        round_trip(
            &ErrorResponse::new(codes::INVALID_TOKEN, "unknown token"),
            r#"{"error":{"code":"invalid_token","message":"unknown token"}}"#,
        );
    }

    #[test]
    fn results_read_from_json_in_any_field_order() {
        let text = format!(
            r#"{{"results":[{{"version":9,"mutationId":"{MID}","status":"applied","extra":1}},
                {{"current":{{"id":"x","collection":"c","version":2,"deleted":true}},"status":"conflict","mutationId":"{MID}"}}]}}"#
        );
        let res: PushResponse<Todo> = json::from_str(&text).unwrap();
        assert_eq!(
            res.results[0],
            MutationResult::Applied {
                mutation_id: mid(),
                version: 9
            }
        );
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
            assert!(
                json::from_str::<MutationResult<Todo>>(&bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn mutation_input_rules() {
        // Unknown op, missing baseVersion, missing mutationId, bad UUID: not a mutation.
        for bad in [
            format!(
                r#"{{"mutationId":"{MID}","collection":"c","id":"a","op":"patch","baseVersion":null}}"#
            ),
            format!(r#"{{"mutationId":"{MID}","collection":"c","id":"a","op":"delete"}}"#),
            r#"{"collection":"c","id":"a","op":"delete","baseVersion":null}"#.to_string(),
            r#"{"mutationId":"x","collection":"c","id":"a","op":"delete","baseVersion":null}"#
                .to_string(),
            format!(
                r#"{{"mutationId":"{MID}","collection":"c","id":"a","op":"delete","baseVersion":-1}}"#
            ),
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
    fn mutation_check() {
        let base = Mutation::<Todo> {
            mutation_id: mid(),
            collection: "todos".into(),
            id: "a".into(),
            op: Op::Upsert,
            data: Some(todo("x")),
            base_version: None,
        };
        assert!(matches!(base.check(), Ok(Change::Upsert(_))));
        let with = |f: &dyn Fn(&mut Mutation<Todo>)| {
            let mut m = base.clone();
            f(&mut m);
            m.check().map(|_| ()).map_err(|r| r.code)
        };
        assert_eq!(
            with(&|m| m.collection.clear()),
            Err(codes::INVALID_COLLECTION)
        );
        assert_eq!(
            with(&|m| m.collection = "x".repeat(129)),
            Err(codes::INVALID_COLLECTION)
        );
        assert_eq!(with(&|m| m.collection = "x".repeat(128)), Ok(()));
        assert_eq!(
            with(&|m| m.collection = "a\nb".into()),
            Err(codes::INVALID_COLLECTION)
        );
        assert_eq!(with(&|m| m.id.clear()), Err(codes::INVALID_ID));
        assert_eq!(with(&|m| m.id = "é".repeat(129)), Err(codes::INVALID_ID));
        assert_eq!(with(&|m| m.id = "a\0".into()), Err(codes::INVALID_ID));
        assert_eq!(with(&|m| m.data = None), Err(codes::INVALID_DATA));
        assert_eq!(
            with(&|m| {
                m.op = Op::Delete;
            }),
            Err(codes::INVALID_DATA)
        );
        assert_eq!(
            with(&|m| {
                m.op = Op::Delete;
                m.data = None;
            }),
            Ok(())
        );
    }

    fn cur(version: u64, deleted: bool, data: Option<&Todo>) -> Option<Current<'_, Todo>> {
        Some(Current {
            version,
            deleted,
            data,
        })
    }

    #[test]
    fn version_rules() {
        let a = todo("a");
        let b = todo("b");
        let up = Change::Upsert(&b);
        use Decision::*;
        // Never held: create with null (or 0); a stale base conflicts; delete is a no-op.
        assert_eq!(
            decide(None, up, None),
            Write {
                version: 1,
                deleted: false
            }
        );
        assert_eq!(
            decide(None, up, Some(0)),
            Write {
                version: 1,
                deleted: false
            }
        );
        assert_eq!(decide(None, up, Some(3)), Conflict);
        assert_eq!(
            decide(None, Change::<Todo>::Delete, Some(3)),
            Unchanged { version: 0 }
        );
        assert_eq!(
            decide(None, Change::<Todo>::Delete, None),
            Unchanged { version: 0 }
        );
        // Live at 2.
        assert_eq!(
            decide(cur(2, false, Some(&a)), up, Some(2)),
            Write {
                version: 3,
                deleted: false
            }
        );
        assert_eq!(decide(cur(2, false, Some(&a)), up, Some(1)), Conflict);
        assert_eq!(decide(cur(2, false, Some(&a)), up, None), Conflict);
        assert_eq!(
            decide(cur(2, false, Some(&a)), Change::Delete, Some(2)),
            Write {
                version: 3,
                deleted: true
            }
        );
        assert_eq!(
            decide(cur(2, false, Some(&a)), Change::Delete, Some(1)),
            Conflict
        );
        assert_eq!(
            decide(cur(2, false, Some(&a)), Change::Delete, None),
            Conflict
        );
        // Identical data converges whatever the base, without a new version.
        assert_eq!(
            decide(cur(2, false, Some(&b)), up, Some(1)),
            Unchanged { version: 2 }
        );
        assert_eq!(
            decide(cur(2, false, Some(&b)), up, None),
            Unchanged { version: 2 }
        );
        assert_eq!(
            decide(cur(2, false, Some(&b)), up, Some(2)),
            Unchanged { version: 2 }
        );
        // Tombstone at 3: recreate with null or 3; stale base conflicts; deletes converge.
        assert_eq!(
            decide(cur(3, true, None), up, None),
            Write {
                version: 4,
                deleted: false
            }
        );
        assert_eq!(
            decide(cur(3, true, None), up, Some(3)),
            Write {
                version: 4,
                deleted: false
            }
        );
        assert_eq!(decide(cur(3, true, None), up, Some(2)), Conflict);
        assert_eq!(
            decide(cur(3, true, None), Change::Delete, Some(1)),
            Unchanged { version: 3 }
        );
        assert_eq!(
            decide(cur(3, true, None), Change::Delete, None),
            Unchanged { version: 3 }
        );
    }

    #[test]
    fn cursors() {
        for seq in [0, 1, 42, u64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(seq)), Some(seq));
        }
        assert_eq!(encode_cursor(42), "c1.42");
        for bad in [
            "",
            "c1.",
            "c1.01",
            "c1.-1",
            "c1.+1",
            "c1.1a",
            "42",
            "c2.1",
            "c1.18446744073709551616",
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
        assert_eq!(pull_query(None, None), "");
        assert_eq!(pull_query(Some("c1.5"), Some(10)), "?cursor=c1.5&limit=10");
        assert_eq!(pull_query(Some("a b/+="), None), "?cursor=a%20b%2F%2B%3D");
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
        };
        round_trip(
            &m,
            &format!(
                r#"{{"mutationId":"{MID}","collection":"c","id":"1","op":"upsert","data":{{"k":"v"}},"baseVersion":1}}"#
            ),
        );
    }
}
