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
    /// A bearer token the server does not accept, and why (a fixed phrase, never the token).
    InvalidToken(&'static str),
    /// A JWT whose `exp` has passed: the client asks for a fresh token and retries once.
    TokenExpired,
    /// The head or the body did not arrive within its timeout.
    RequestTimeout,
    /// The request target is longer than `--max-uri-bytes`.
    UriTooLong {
        limit: usize,
    },
    /// The request head is larger than `--max-header-bytes` (answered by the connection layer).
    HeadersTooLarge,
    /// The body is not JSON (the parser's message, with line and column).
    MalformedJson(String),
    /// The body is JSON of the wrong shape (missing field, wrong type, unknown op...).
    InvalidRequest(String),
    /// A body of another media type than the endpoint takes (the one it takes).
    UnsupportedMediaType(&'static str),
    PayloadTooLarge {
        limit: usize,
    },
    BatchTooLarge {
        max: usize,
        got: usize,
    },
    /// The conflicts of a push would carry more record data than `--max-answer-bytes`.
    AnswerTooLarge {
        limit: usize,
    },
    InvalidCursor,
    InvalidLimit(String),
    /// A space id of a pull by space that is not one (what is wrong with it, never the id).
    InvalidSpace(String),
    /// More spaces in one pull than the server takes.
    TooManySpaces {
        max: usize,
        got: usize,
    },
    NotFound,
    MethodNotAllowed,
    /// A blob path whose hash is not 64 lowercase hex digits (what is wrong, never the text).
    InvalidHash(String),
    /// No complete blob with this hash for this tenant.
    BlobNotFound,
    /// A chunk at another offset than the bytes the upload holds: go on from `offset`.
    OffsetMismatch {
        offset: u64,
    },
    /// A chunk that declares another size than its upload's.
    SizeMismatch {
        declared: u64,
        got: u64,
    },
    /// The uploaded bytes did not hash to the blob's address; the upload was dropped.
    HashMismatch,
    /// A blob over `--max-blob-bytes`.
    BlobTooLarge {
        limit: u64,
        got: u64,
    },
    /// Starting this upload would take the tenant's blobs over `--blob-quota-bytes`.
    QuotaExceeded {
        quota: u64,
        used: u64,
    },
    /// A download `Range` outside the blob of `size` bytes, or not one the server serves.
    RangeNotSatisfiable {
        size: u64,
    },
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
            Error::MissingToken | Error::InvalidToken(_) | Error::TokenExpired => StatusCode::UNAUTHORIZED,
            Error::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Error::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Error::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Error::MalformedJson(_)
            | Error::InvalidRequest(_)
            | Error::InvalidCursor
            | Error::InvalidLimit(_)
            | Error::InvalidSpace(_)
            | Error::InvalidHash(_) => StatusCode::BAD_REQUEST,
            Error::BlobNotFound => StatusCode::NOT_FOUND,
            Error::OffsetMismatch { .. } | Error::SizeMismatch { .. } => StatusCode::CONFLICT,
            Error::HashMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BlobTooLarge { .. } | Error::QuotaExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge { .. }
            | Error::BatchTooLarge { .. }
            | Error::AnswerTooLarge { .. }
            | Error::TooManySpaces { .. } => StatusCode::PAYLOAD_TOO_LARGE,
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
            Error::InvalidToken(_) => codes::INVALID_TOKEN,
            Error::TokenExpired => codes::TOKEN_EXPIRED,
            Error::RequestTimeout => codes::REQUEST_TIMEOUT,
            Error::UriTooLong { .. } => codes::URI_TOO_LONG,
            Error::HeadersTooLarge => codes::HEADERS_TOO_LARGE,
            Error::AnswerTooLarge { .. } => codes::ANSWER_TOO_LARGE,
            Error::MalformedJson(_) => codes::MALFORMED_JSON,
            Error::InvalidRequest(_) => codes::INVALID_REQUEST,
            Error::UnsupportedMediaType(_) => codes::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge { .. } => codes::PAYLOAD_TOO_LARGE,
            Error::BatchTooLarge { .. } => codes::BATCH_TOO_LARGE,
            Error::InvalidCursor => codes::INVALID_CURSOR,
            Error::InvalidLimit(_) => codes::INVALID_LIMIT,
            Error::InvalidSpace(_) => codes::INVALID_SPACE,
            Error::TooManySpaces { .. } => codes::TOO_MANY_SPACES,
            Error::NotFound => codes::NOT_FOUND,
            Error::MethodNotAllowed => codes::METHOD_NOT_ALLOWED,
            Error::InvalidHash(_) => codes::INVALID_HASH,
            Error::BlobNotFound => codes::BLOB_NOT_FOUND,
            Error::OffsetMismatch { .. } => codes::OFFSET_MISMATCH,
            Error::SizeMismatch { .. } => codes::SIZE_MISMATCH,
            Error::HashMismatch => codes::HASH_MISMATCH,
            Error::BlobTooLarge { .. } => codes::BLOB_TOO_LARGE,
            Error::QuotaExceeded { .. } => codes::QUOTA_EXCEEDED,
            Error::RangeNotSatisfiable { .. } => codes::RANGE_NOT_SATISFIABLE,
            Error::RateLimited { .. } => codes::RATE_LIMITED,
            Error::Unavailable { .. } => codes::UNAVAILABLE,
            Error::InjectedFault | Error::Internal(_) => codes::INTERNAL,
        }
    }

    /// For people. Details that come from the request are cut to [`MAX_DETAIL_CHARS`].
    pub fn message(&self) -> String {
        match self {
            Error::MissingToken => "an Authorization: Bearer <token> header is required".into(),
            Error::InvalidToken(why) => format!("the bearer token is not valid: {why}"),
            Error::TokenExpired => "the bearer token has expired: get a fresh one and retry".into(),
            Error::RequestTimeout => "the request did not arrive in time".into(),
            Error::UriTooLong { limit } => format!("the request target is longer than {limit} bytes"),
            Error::HeadersTooLarge => "the request head is too large (or has too many headers)".into(),
            Error::AnswerTooLarge { limit } => format!(
                "the answer would carry more than {limit} bytes of conflicting records: nothing was applied, split the batch"
            ),
            Error::MalformedJson(detail) => format!("the body is not valid JSON: {}", cut(detail)),
            Error::InvalidRequest(detail) => format!("the body is not a valid request: {}", cut(detail)),
            Error::UnsupportedMediaType(wanted) => format!("the body must be {wanted}"),
            Error::PayloadTooLarge { limit } => format!("the body is larger than {limit} bytes"),
            Error::BatchTooLarge { max, got } => {
                format!("{got} mutations in one push, more than the limit of {max}: split the batch")
            }
            Error::InvalidCursor => "the cursor is not one this server issued".into(),
            Error::InvalidLimit(detail) => format!("limit must be a positive integer: {}", cut(detail)),
            Error::InvalidSpace(detail) => cut(detail),
            Error::TooManySpaces { max, got } => {
                format!("{got} spaces in one pull, more than the limit of {max}: split the request")
            }
            Error::NotFound => "no such endpoint".into(),
            Error::MethodNotAllowed => "this endpoint does not take this method".into(),
            Error::InvalidHash(detail) => cut(detail),
            Error::BlobNotFound => "no complete blob with this hash: upload it first".into(),
            Error::OffsetMismatch { offset } => {
                format!("the upload holds {offset} bytes: send the chunk at offset {offset}")
            }
            Error::SizeMismatch { declared, got } => {
                format!("the upload declared {declared} bytes, this chunk says {got}")
            }
            Error::HashMismatch => {
                "the bytes do not hash to the blob's address: they were dropped, upload again from 0".into()
            }
            Error::BlobTooLarge { limit, got } => format!("a blob of {got} bytes is larger than the limit of {limit}"),
            Error::QuotaExceeded { quota, used } => {
                format!("the tenant's blobs take {used} bytes: this one would pass the quota of {quota}")
            }
            Error::RangeNotSatisfiable { size } => {
                format!("the blob has {size} bytes: ask for one range bytes=a-b or bytes=a- within it")
            }
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

/// The most characters of request-derived detail (a parser's message, which may quote the
/// input) an error message carries.
pub const MAX_DETAIL_CHARS: usize = 200;

/// `detail`, cut to [`MAX_DETAIL_CHARS`] characters (with "…" when cut).
fn cut(detail: &str) -> String {
    match detail.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((at, _)) => format!("{}…", &detail[..at]),
        None => detail.to_string(),
    }
}

impl From<crate::blobs::objects::ObjectError> for Error {
    fn from(e: crate::blobs::objects::ObjectError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy => Error::Unavailable { retry_after_secs: 1 },
            StoreError::AnswerTooLarge { limit } => Error::AnswerTooLarge { limit },
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
        let mut response = match &self {
            // The offset to go on from travels beside the error.
            Error::OffsetMismatch { offset } => {
                (status, Json(serde_json::json!({ "error": body.error, "offset": offset }))).into_response()
            }
            _ => (status, Json(body)).into_response(),
        };
        let headers = response.headers_mut();
        match &self {
            Error::RateLimited { retry_after_secs } | Error::Unavailable { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Error::MissingToken => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::InvalidToken(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer error="invalid_token""#));
            }
            Error::TokenExpired => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        r#"Bearer error="invalid_token", error_description="the token has expired""#,
                    ),
                );
            }
            Error::RangeNotSatisfiable { size } => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            // The rest of the body is not read: the connection cannot be reused.
            Error::PayloadTooLarge { .. } | Error::RequestTimeout => {
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

/// The JSON answer to a panic in a handler: a 500 like any other internal failure. The panic
/// stays in this request; the server and its other requests go on.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string());
    Error::Internal(format!("handler panicked: {what}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_cut() {
        let long = "x".repeat(900_000);
        let message = Error::InvalidRequest(format!("unknown variant `{long}`")).message();
        assert!(message.chars().count() < MAX_DETAIL_CHARS + 60, "{}", message.len());
        assert!(message.ends_with('…'));
        assert_eq!(Error::InvalidLimit("\"ten\"".into()).message(), "limit must be a positive integer: \"ten\"");
    }
}
