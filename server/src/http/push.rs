//! `POST /v1/push`: apply a batch of mutations in one transaction.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrysync::protocol::{PushRequest, PushResponse};
use serde_json::Value;

use super::error::Error;
use super::extractor::JsonBody;
use super::AppState;
use crate::auth::Caller;
use crate::store::MutationLimits;

pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<PushRequest<Value>>,
) -> Result<Response, Error> {
    let slot = state.slots.acquire(&caller.tenant)?;
    let answer = apply(&state, caller.tenant, request).await?;
    Ok(slot.hold_until_sent(Json(answer).into_response()))
}

/// What a push does once its caller is known and its body is read: the batch limit, then the
/// store. The deterministic simulation (`sim/`) calls this too, without HTTP.
pub async fn apply(
    state: &AppState,
    tenant: String,
    request: PushRequest<Value>,
) -> Result<PushResponse<Value>, Error> {
    let limits = &state.config.limits;
    let got = request.mutations.len();
    if got > limits.max_batch {
        return Err(Error::BatchTooLarge { max: limits.max_batch, got });
    }
    let now = (state.clock)();
    if got == 0 {
        return Ok(PushResponse { results: Vec::new(), server_time: Some(now) });
    }
    let limits = MutationLimits {
        now,
        max_record_bytes: limits.max_record_bytes,
        max_answer_bytes: limits.max_answer_bytes,
        max_blob_bytes: limits.max_blob_bytes,
    };
    let results = state.store.push(tenant, request.mutations, limits).await?;
    Ok(PushResponse { results, server_time: Some(now) })
}
