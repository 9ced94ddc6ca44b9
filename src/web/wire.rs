//! The protocol's wire types (`crate::protocol`) to and from JS values. Record data stays a JS
//! value end to end (`JsData`); only the protocol's own fields are read or written here.
//!
//! The shapes are the ones serde gives the same types on the server (camelCase fields, `status`
//! tagging a mutation result); `docs/protocol.md` is their description. They are read and written
//! by hand rather than through serde-wasm-bindgen, whose generic decoder cost more wasm than
//! these few readers (BENCHMARKS.md, "Size"), and whose errors named serde's internals rather than
//! the field that was wrong.

use js_sys::{Array, Object};
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::sync::conflict::tree::Tree;
use crate::core::sync::failure::Failure;
use crate::protocol::{
    LeftRecord, Mutation, MutationResult, PullResponse as Pull, PushResponse as Push, ResultParts,
    ServerRecord as Record, SpacePage, SpacesPullRequest, SpacesPullResponse,
};

use super::glue;
use super::js::{get, opt_num, set_field, type_name};

/// Record data as the JS value it is.
#[derive(Debug, Clone, PartialEq)]
pub struct JsData(pub JsValue);

/// The diff and the merge see JS values through three small JS functions: a plain object's
/// fields, a plain object made of fields, and deep equality.
impl Tree for JsData {
    fn fields(&self) -> Option<Vec<(String, JsData)>> {
        let pairs = glue::fields_of(&self.0);
        if pairs.is_undefined() {
            return None;
        }
        Some(
            Array::from(&pairs)
                .iter()
                .map(|pair| {
                    let pair = Array::from(&pair);
                    (pair.get(0).as_string().unwrap_or_default(), JsData(pair.get(1)))
                })
                .collect(),
        )
    }

    fn object(fields: Vec<(String, JsData)>) -> JsData {
        let pairs: Array = fields.into_iter().map(|(k, v)| Array::of2(&JsValue::from_str(&k), &v.0)).collect();
        JsData(glue::from_fields(&pairs))
    }

    fn same(&self, other: &JsData) -> bool {
        glue::same_value(&self.0, &other.0)
    }

    fn text(&self) -> Option<String> {
        self.0.as_string()
    }
}

pub type PushResponse = Push<JsData>;
pub type PullResponse = Pull<JsData>;
pub type ServerRecord = Record<JsData>;
pub type SpacesResponse = SpacesPullResponse<JsData>;

/// `{ mutations: [...] }`, as `POST /v1/push` takes it.
pub fn push_request(mutations: &[Mutation<JsData>]) -> JsValue {
    let list: Array = mutations
        .iter()
        .map(|m| {
            glue::make_mutation(
                &m.mutation_id.hyphenated().to_string(),
                &m.collection,
                &m.id,
                m.op.as_str(),
                m.data.as_ref().map(|d| &d.0).unwrap_or(&JsValue::UNDEFINED),
                opt_num(m.base_version),
                m.force,
                opt_num(m.written_at),
                m.space.clone(),
            )
        })
        .collect();
    let request = Object::new();
    set_field(&request, "mutations", &list);
    request.into()
}

/// A server record as the protocol writes it (kept in conflicts).
pub fn server_record(r: &ServerRecord) -> JsValue {
    glue::make_server_record(
        &r.collection,
        &r.id,
        r.version as f64,
        r.deleted,
        r.data.as_ref().map(|d| &d.0).unwrap_or(&JsValue::NULL),
        r.updated_at.map(|t| t as f64),
    )
}

/// The answer of a push.
pub fn read_push_response(answer: &JsValue) -> Result<PushResponse, Failure> {
    let results = list(answer, "results", "push answer")?;
    let results = results.iter().enumerate().map(|(i, r)| read_result(&r, i)).collect::<Result<_, _>>()?;
    Ok(Push { results, server_time: optional(answer, "serverTime", "push answer", whole)? })
}

/// The answer of a pull.
pub fn read_pull_response(answer: &JsValue) -> Result<PullResponse, Failure> {
    let what = "pull answer";
    let changes = list(answer, "changes", what)?;
    let changes =
        changes.iter().enumerate().map(|(i, c)| read_record(&c, &format!("changes[{i}]"))).collect::<Result<_, _>>()?;
    let cursor = string(answer, "cursor", what)?;
    let has_more =
        get(answer, "hasMore").as_bool().ok_or_else(|| bad(what, "hasMore", "a boolean", &get(answer, "hasMore")))?;
    Ok(Pull { changes, cursor, has_more, server_time: optional(answer, "serverTime", what, whole)? })
}

/// `{ offset, size, complete }`, the answer to a blob upload's `GET` or `PATCH`.
pub fn read_upload_status(answer: &JsValue) -> Result<crate::protocol::UploadStatus, Failure> {
    let what = "upload status";
    let complete = get(answer, "complete");
    Ok(crate::protocol::UploadStatus {
        offset: whole(answer, "offset", what)?,
        size: optional(answer, "size", what, whole)?,
        complete: complete.as_bool().ok_or_else(|| bad(what, "complete", "a boolean", &complete))?,
    })
}

/// `{ spaces: [{ space, cursor }], limit }`, as `POST /v1/pull` takes it (a space from its start
/// has no `cursor`).
pub fn spaces_pull_request(request: &SpacesPullRequest) -> JsValue {
    let spaces: Array = request
        .spaces
        .iter()
        .map(|s| {
            let asked = Object::new();
            set_field(&asked, "space", &s.space.as_deref().map_or(JsValue::NULL, JsValue::from_str));
            if let Some(cursor) = &s.cursor {
                set_field(&asked, "cursor", &JsValue::from_str(cursor));
            }
            JsValue::from(asked)
        })
        .collect();
    let body = Object::new();
    set_field(&body, "spaces", &spaces);
    if let Some(limit) = request.limit {
        set_field(&body, "limit", &JsValue::from_f64(limit as f64));
    }
    body.into()
}

/// The answer of a pull by space.
pub fn read_spaces_pull_response(answer: &JsValue) -> Result<SpacesResponse, Failure> {
    let what = "pull answer";
    let pages = list(answer, "spaces", what)?;
    let spaces: Result<Vec<_>, _> =
        pages.iter().enumerate().map(|(i, p)| read_space_page(&p, &format!("spaces[{i}]"))).collect();
    Ok(SpacesPullResponse { spaces: spaces?, server_time: optional(answer, "serverTime", what, whole)? })
}

fn read_space_page(p: &JsValue, what: &str) -> Result<SpacePage<JsData>, Failure> {
    if !p.is_object() {
        return Err(Failure::BadAnswer(format!("{what} is {}, not a space's page", type_name(p))));
    }
    let space = get(p, "space");
    let space = if space.is_null() { None } else { Some(string(p, "space", what)?) };
    let changes = list(p, "changes", what)?;
    let changes = changes
        .iter()
        .enumerate()
        .map(|(i, c)| read_record(&c, &format!("{what}.changes[{i}]")))
        .collect::<Result<_, _>>()?;
    let left = if absent(&get(p, "left")) { Array::new() } else { list(p, "left", what)? };
    let left = left
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let what = format!("{what}.left[{i}]");
            Ok(LeftRecord {
                collection: string(&l, "collection", &what)?,
                id: string(&l, "id", &what)?,
                version: whole(&l, "version", &what)?,
            })
        })
        .collect::<Result<_, Failure>>()?;
    let has_more = get(p, "hasMore").as_bool().ok_or_else(|| bad(what, "hasMore", "a boolean", &get(p, "hasMore")))?;
    Ok(SpacePage { space, changes, left, cursor: string(p, "cursor", what)?, has_more })
}

/// One result: its fields read as they come, then the protocol's one rule of which fields each
/// status needs ([`ResultParts::into_result`]), which the server's serde decoder applies too.
fn read_result(r: &JsValue, i: usize) -> Result<MutationResult<JsData>, Failure> {
    let what = format!("results[{i}]");
    let mutation_id = string(r, "mutationId", &what)?;
    let mutation_id =
        Uuid::try_parse(&mutation_id).map_err(|_| bad(&what, "mutationId", "a UUID", &get(r, "mutationId")))?;
    let current = get(r, "current");
    let parts = ResultParts {
        mutation_id,
        status: string(r, "status", &what)?,
        version: optional(r, "version", &what, whole)?,
        current: if absent(&current) { None } else { Some(read_record(&current, &format!("{what}.current"))?) },
        code: optional(r, "code", &what, string)?,
        message: optional(r, "message", &what, string)?,
    };
    parts.into_result().map_err(|e| Failure::BadAnswer(format!("{what}: {e}")))
}

fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// A field that may be absent (or null); present, it must read as `read` reads it.
fn optional<T>(
    v: &JsValue,
    field: &str,
    what: &str,
    read: fn(&JsValue, &str, &str) -> Result<T, Failure>,
) -> Result<Option<T>, Failure> {
    if absent(&get(v, field)) {
        Ok(None)
    } else {
        read(v, field, what).map(Some)
    }
}

fn read_record(r: &JsValue, what: &str) -> Result<ServerRecord, Failure> {
    if !r.is_object() {
        return Err(Failure::BadAnswer(format!("{what} is {}, not a record", type_name(r))));
    }
    let data = get(r, "data");
    Ok(Record {
        collection: string(r, "collection", what)?,
        id: string(r, "id", what)?,
        version: whole(r, "version", what)?,
        deleted: get(r, "deleted").as_bool().ok_or_else(|| bad(what, "deleted", "a boolean", &get(r, "deleted")))?,
        data: (!absent(&data)).then_some(JsData(data)),
        updated_at: optional(r, "updatedAt", what, whole)?,
        forced: get(r, "forced").as_bool().unwrap_or(false),
    })
}

fn bad(what: &str, field: &str, expected: &str, got: &JsValue) -> Failure {
    Failure::BadAnswer(format!("{what}.{field} should be {expected}, got {}", type_name(got)))
}

fn list(v: &JsValue, field: &str, what: &str) -> Result<Array, Failure> {
    let value = get(v, field);
    value.dyn_into::<Array>().map_err(|got| bad(what, field, "an array", &got))
}

fn string(v: &JsValue, field: &str, what: &str) -> Result<String, Failure> {
    let value = get(v, field);
    value.as_string().ok_or_else(|| bad(what, field, "a string", &value))
}

/// A whole number from 0 to 2^53 (the integers a JS number holds exactly).
fn whole(v: &JsValue, field: &str, what: &str) -> Result<u64, Failure> {
    let value = get(v, field);
    match value.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_992.0 => Ok(n as u64),
        _ => Err(bad(what, field, "a whole number", &value)),
    }
}
