//! Every way a request can fail, each mapped to one status and a JSON body
//! `{ "error": { "code", "message" } }`. Internal details are logged, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrysync::protocol::{codes, ErrorResponse};

use crate::store::StoreError;

#[derive(Debug)]
pub enum Error {
    /// No `Authorization: Bearer` header.
    MissingToken,
    /// A bearer token the server does not know.
    InvalidToken,
    /// The body is not JSON (the parser's message, with line and column).
    MalformedJson(String),
    /// The body is JSON of the wrong shape (missing field, wrong type, unknown op...).
    InvalidRequest(String),
    /// A body that is not `application/json`.
    UnsupportedMediaType,
    PayloadTooLarge {
        limit: usize,
    },
    BatchTooLarge {
        max: usize,
        got: usize,
    },
    InvalidCursor,
    InvalidLimit(String),
    NotFound,
    MethodNotAllowed,
    /// Load shedding, real or injected.
    RateLimited {
        retry_after_secs: u64,
    },
    /// The storage is busy.
    Unavailable {
        retry_after_secs: u64,
    },
    /// An injected 500.
    InjectedFault,
    /// Anything unexpected: logged, answered with a bare 500.
    Internal(String),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::MissingToken | Error::InvalidToken => StatusCode::UNAUTHORIZED,
            Error::MalformedJson(_) | Error::InvalidRequest(_) | Error::InvalidCursor | Error::InvalidLimit(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge { .. } | Error::BatchTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::InjectedFault | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::MissingToken => codes::MISSING_TOKEN,
            Error::InvalidToken => codes::INVALID_TOKEN,
            Error::MalformedJson(_) => codes::MALFORMED_JSON,
            Error::InvalidRequest(_) => codes::INVALID_REQUEST,
            Error::UnsupportedMediaType => codes::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge { .. } => codes::PAYLOAD_TOO_LARGE,
            Error::BatchTooLarge { .. } => codes::BATCH_TOO_LARGE,
            Error::InvalidCursor => codes::INVALID_CURSOR,
            Error::InvalidLimit(_) => codes::INVALID_LIMIT,
            Error::NotFound => codes::NOT_FOUND,
            Error::MethodNotAllowed => codes::METHOD_NOT_ALLOWED,
            Error::RateLimited { .. } => codes::RATE_LIMITED,
            Error::Unavailable { .. } => codes::UNAVAILABLE,
            Error::InjectedFault | Error::Internal(_) => codes::INTERNAL,
        }
    }

    /// The text of the answer's `message` (never internal details).
    pub fn message(&self) -> String {
        match self {
            Error::MissingToken => "an Authorization: Bearer <token> header is required".into(),
            Error::InvalidToken => "the bearer token is not valid".into(),
            Error::MalformedJson(detail) => format!("the body is not valid JSON: {detail}"),
            Error::InvalidRequest(detail) => format!("the body is not a valid request: {detail}"),
            Error::UnsupportedMediaType => "the body must be application/json".into(),
            Error::PayloadTooLarge { limit } => format!("the body is larger than {limit} bytes"),
            Error::BatchTooLarge { max, got } => {
                format!("{got} mutations in one push, more than the limit of {max}: split the batch")
            }
            Error::InvalidCursor => "the cursor is not one this server issued".into(),
            Error::InvalidLimit(detail) => format!("limit must be a positive integer: {detail}"),
            Error::NotFound => "no such endpoint".into(),
            Error::MethodNotAllowed => "this endpoint does not take this method".into(),
            Error::RateLimited { retry_after_secs } => {
                format!("too many requests: retry after {retry_after_secs} s")
            }
            Error::Unavailable { retry_after_secs } => {
                format!("the storage is busy: retry after {retry_after_secs} s")
            }
            Error::InjectedFault => "injected fault: nothing was applied".into(),
            Error::Internal(_) => "internal error: nothing was applied".into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy => Error::Unavailable { retry_after_secs: 1 },
            StoreError::Other(detail) => Error::Internal(detail),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Error::Internal(detail) => tracing::error!(%detail, "request failed"),
            Error::Unavailable { .. } => tracing::warn!("storage busy"),
            _ => tracing::debug!(code = self.code(), "request refused"),
        }
        let status = self.status();
        let body = ErrorResponse::new(self.code(), self.message());
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Error::RateLimited { retry_after_secs } | Error::Unavailable { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Error::MissingToken | Error::InvalidToken => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::PayloadTooLarge { .. } => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

/// The JSON 404 of unknown paths.
pub async fn not_found() -> Error {
    Error::NotFound
}

/// The JSON 405 of known paths with another method.
pub async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}
