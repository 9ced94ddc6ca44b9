//! The health answer and the error body every non-2xx answer carries.

use serde::{Deserialize, Serialize};

use super::PROTOCOL_VERSION;

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
        HealthResponse { status: "ok".to_string(), protocol: PROTOCOL_VERSION }
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
        ErrorResponse { error: ErrorDetail { code: code.to_string(), message: message.into() } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codes;
    use crate::protocol::pull::encode_cursor;
    use crate::protocol::record::ServerRecord;
    use crate::protocol::test_support::*;
    use crate::protocol::PullResponse;

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
                forced: false,
            }],
            cursor: encode_cursor(7),
            has_more: true,
            server_time: None,
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
}
