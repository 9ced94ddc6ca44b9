//! Wire types of the sync protocol (push, pull, health, errors), shared by the client and the
//! reference server.
//!
//! Everything here is plain data with serde derives and pure functions: no I/O, no JSON library.
//! Record data is the type parameter `D`, so the same types carry a JavaScript value in the
//! browser and a `serde_json::Value` (or raw JSON text) on the server. JSON field names are
//! camelCase. No type here uses `#[serde(flatten)]` or an internally tagged enum on the way in,
//! so `D` is handed to its own `Deserialize` untouched (no buffering through serde's private
//! content type). The server uses the serde derives; the browser edge builds and reads the same
//! types from JS values by hand (`web::wire`), which costs less wasm.
//!
//! The normative description of the protocol is `docs/protocol.md`; the machine-readable one is
//! `docs/openapi.json`. The rules below ([`decide`], [`Mutation::check`], the cursor format) are
//! the ones the reference server applies.
//!
//! One file per topic: [`push`] and [`pull`] (the two exchanges), [`record`], [`answers`] (health
//! and errors), [`blobs`] (references, upload and download), [`names`] and [`rules`] (what a server checks and decides), [`limits`], [`codes`].

pub mod answers;
pub mod blobs;
pub mod codes;
pub mod limits;
pub mod names;
pub mod pull;
pub mod push;
pub mod record;
pub mod rules;
mod serde_util;
#[cfg(test)]
mod test_support;

pub use answers::{ErrorDetail, ErrorResponse, HealthResponse};
pub use blobs::{BlobRef, UploadStatus};
pub use names::{check_collection, check_record_id, check_space, Rejection};
pub use pull::{
    decode_cursor, encode_cursor, pull_query, LeftRecord, PullResponse, SpaceCursor, SpacePage, SpacesPullRequest,
    SpacesPullResponse,
};
pub use push::{Mutation, MutationResult, Op, PushRequest, PushResponse, ResultError, ResultParts};
pub use record::ServerRecord;
pub use rules::{decide, Change, Current, Decision};

/// Version of the wire protocol, reported by the health endpoint.
pub const PROTOCOL_VERSION: u32 = 1;

/// `POST` a [`PushRequest`], answered by a [`PushResponse`].
pub const PUSH_PATH: &str = "/v1/push";
/// `GET ?cursor=&limit=`, answered by a [`PullResponse`]; or `POST` a [`SpacesPullRequest`]
/// (several spaces, one cursor each), answered by a [`SpacesPullResponse`].
pub const PULL_PATH: &str = "/v1/pull";
/// The blobs of the tenant, one resource per hash (see [`blobs`]).
pub const BLOBS_PATH: &str = "/v1/blobs";
/// `GET`, answered by a [`HealthResponse`]; needs no token.
pub const HEALTH_PATH: &str = "/v1/health";
/// `GET`, the OpenAPI document of the protocol; needs no token.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";
