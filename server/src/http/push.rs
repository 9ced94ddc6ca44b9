//! `POST /v1/push`: apply a batch of mutations in one transaction.

use axum::extract::State;
use axum::Json;
use ferrysync::protocol::{PushRequest, PushResponse};
use serde_json::Value;

use super::error::Error;
use super::extractor::{JsonBody, Tenant};
use super::AppState;
use crate::store::MutationLimits;

pub async fn push(
    State(state): State<AppState>,
    Tenant(tenant): Tenant,
    JsonBody(request): JsonBody<PushRequest<Value>>,
) -> Result<Json<PushResponse<Value>>, Error> {
    apply(&state, tenant, request).await.map(Json)
}

/// What a push does once its caller is known and its body is read: the batch limit, then the
/// store. The deterministic simulation (`sim/`) calls this too, without HTTP.
pub async fn apply(
    state: &AppState,
    tenant: String,
    request: PushRequest<Value>,
) -> Result<PushResponse<Value>, Error> {
    let max = state.config.max_batch;
    let got = request.mutations.len();
    if got > max {
        return Err(Error::BatchTooLarge { max, got });
    }
    if got == 0 {
        return Ok(PushResponse { results: Vec::new() });
    }
    let limits = MutationLimits { max_record_bytes: state.config.max_record_bytes };
    let results = state.store.push(tenant, request.mutations, limits).await?;
    Ok(PushResponse { results })
}
