//! `GET /v1/openapi.json`: the OpenAPI document of the protocol (docs/openapi.json, built in).

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as kept in the repository.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
