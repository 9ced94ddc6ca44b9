//! Extractors: the bearer token → [`Caller`], and a JSON body with size and time limits and
//! JSON errors.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use super::error::Error;
use super::AppState;
use crate::auth::{AuthError, Caller};

/// The caller of the request's `Authorization: Bearer <token>`, checked before the body is read.
impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(header::AUTHORIZATION).ok_or(Error::MissingToken)?;
        let value = value.to_str().map_err(|_| Error::InvalidToken("it is not ASCII"))?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(Error::MissingToken)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Error::MissingToken);
        }
        let caller = state.auth.authenticate(token.trim()).map_err(|e| match e {
            AuthError::Expired => Error::TokenExpired,
            AuthError::Invalid(why) => Error::InvalidToken(why),
        })?;
        tracing::debug!(tenant = %caller.tenant, user = ?caller.user, "authenticated");
        Ok(caller)
    }
}

/// How much of a too-large body is read (and thrown away) before answering 413, so that the
/// client, still sending, reads the answer instead of a reset connection.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// A JSON body: `application/json`, at most `--max-body-bytes`, all of it within
/// `--body-timeout`, parsed into `T`.
pub struct JsonBody<T>(pub T);

fn is_json(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limits = &state.config.limits;
        let json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json);
        let bytes = tokio::time::timeout(limits.body_timeout, read_limited(req.into_body(), limits.max_body_bytes))
            .await
            .map_err(|_| Error::RequestTimeout)??;
        if !json {
            return Err(Error::UnsupportedMediaType("application/json"));
        }
        let value = serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => Error::InvalidRequest(e.to_string()),
            _ => Error::MalformedJson(e.to_string()),
        })?;
        Ok(JsonBody(value))
    }
}

/// Reads the body up to `limit` bytes; past it, drains a bounded amount and fails with 413.
pub(super) async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, Error> {
    let mut body = body;
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Error::InvalidRequest(format!("the body could not be read: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                let mut drained = bytes.len() + data.len();
                let _ = tokio::time::timeout(DRAIN_TIME, async {
                    while drained < DRAIN_BYTES {
                        match body.frame().await {
                            Some(Ok(frame)) => drained += frame.data_ref().map_or(0, |d| d.len()),
                            _ => break,
                        }
                    }
                })
                .await;
                return Err(Error::PayloadTooLarge { limit });
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}
