//! `GET /v1/health`: the server and its storage answer. Needs no token.

use axum::extract::State;
use axum::Json;
use ferrysync::protocol::HealthResponse;

use super::error::Error;
use super::AppState;

pub async fn health(State(state): State<AppState>) -> Result<Json<HealthResponse>, Error> {
    state.store.ping().await?;
    Ok(Json(HealthResponse::ok()))
}
