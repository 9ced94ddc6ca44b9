//! Why a request got no answer the engine can use, and what the engine does about it.

use crate::core::error::{Error, ErrorKind};
use crate::protocol::codes;

/// Why a push, pull or probe did not get an answer it could use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The browser says it is offline; nothing was sent.
    Offline,
    /// No HTTP answer: connection refused or dropped, DNS, CORS, a timeout, or a JS transport
    /// that threw. `retry_after_ms` is a JS transport's own hint.
    Network { message: String, retry_after_ms: Option<u64> },
    /// An HTTP error answer, with the protocol's error code when the body had one.
    Http { status: u16, code: String, message: String, retry_after_ms: Option<u64> },
    /// A 2xx answer that is not the protocol (wrong shape, missing results).
    BadAnswer(String),
}

/// What the engine does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Send the same entries again at once, in batches of this size.
    ShrinkBatch(u32),
    /// The one mutation of the batch is too large for any request: it becomes a dead letter, so
    /// that it does not block everything queued behind it.
    DeadLetterTooLarge,
    /// The token expired: ask for a fresh one and send the same request again, once.
    RefreshToken,
    /// Wait (backoff, with this floor from the server) and sync again.
    RetryLater { floor_ms: Option<u64> },
    /// Wait for the network to come back (the `online` event).
    WaitForNetwork,
}

impl Failure {
    /// `batch_size`: the size of the batch that failed (1 for a pull or a probe);
    /// `token_refreshed`: this sync already retried once with a fresh token.
    pub fn next_step(&self, batch_size: u32, token_refreshed: bool) -> NextStep {
        match self {
            Failure::Offline => NextStep::WaitForNetwork,
            Failure::Http { status: 413, .. } if batch_size > 1 => NextStep::ShrinkBatch(batch_size / 2),
            // Alone in its request and still too large (whatever the code says, unless it is about
            // the number of mutations, which one cannot exceed).
            Failure::Http { status: 413, code, .. } if code != codes::BATCH_TOO_LARGE => NextStep::DeadLetterTooLarge,
            Failure::Http { status: 401, code, .. } if code == codes::TOKEN_EXPIRED && !token_refreshed => {
                NextStep::RefreshToken
            }
            Failure::Http { retry_after_ms, .. } | Failure::Network { retry_after_ms, .. } => {
                NextStep::RetryLater { floor_ms: *retry_after_ms }
            }
            Failure::BadAnswer(_) => NextStep::RetryLater { floor_ms: None },
        }
    }

    /// The least wait the server (or a JS transport) asked for before the next attempt.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Failure::Http { retry_after_ms, .. } | Failure::Network { retry_after_ms, .. } => *retry_after_ms,
            Failure::Offline | Failure::BadAnswer(_) => None,
        }
    }

    /// Whether the server answered at all (the status shows online only then).
    pub fn server_answered(&self) -> bool {
        matches!(self, Failure::Http { .. } | Failure::BadAnswer(_))
    }

    /// Whether the server said it does not know the pull cursor (its data was reset or moved).
    pub fn is_unknown_cursor(&self) -> bool {
        matches!(self, Failure::Http { status: 400, code, .. } if code == codes::INVALID_CURSOR)
    }

    /// The error a caller of `syncNow()` gets, and `status().lastError`.
    pub fn to_error(&self) -> Error {
        match self {
            Failure::Offline => Error::new(ErrorKind::Network, "the browser is offline"),
            Failure::Network { message, .. } => {
                Error::new(ErrorKind::Network, format!("the sync server could not be reached: {message}"))
            }
            Failure::Http { status, code, message, .. } => {
                let kind = if *status == 408 || *status == 429 || *status >= 500 {
                    ErrorKind::Network
                } else {
                    ErrorKind::Sync
                };
                Error::new(kind, format!("the sync server answered {status} {code}: {message}"))
            }
            Failure::BadAnswer(what) => {
                Error::new(ErrorKind::Sync, format!("the sync server's answer is not the protocol: {what}"))
            }
        }
    }
}

/// Retry-After in milliseconds, from its delay-seconds form (an HTTP date is ignored: clocks
/// differ, and the backoff still applies).
pub fn retry_after_ms(header: &str) -> Option<u64> {
    header.trim().parse::<u64>().ok().map(|s| s.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, code: &str, retry: Option<u64>) -> Failure {
        Failure::Http { status, code: code.into(), message: "y".into(), retry_after_ms: retry }
    }

    #[test]
    fn too_large_halves_the_batch_down_to_one_then_dead_letters_it() {
        let too_large = http(413, codes::PAYLOAD_TOO_LARGE, None);
        assert_eq!(too_large.next_step(100, false), NextStep::ShrinkBatch(50));
        assert_eq!(too_large.next_step(3, false), NextStep::ShrinkBatch(1));
        assert_eq!(too_large.next_step(1, false), NextStep::DeadLetterTooLarge);
        assert_eq!(http(413, "unknown", None).next_step(1, false), NextStep::DeadLetterTooLarge);
        // Too many mutations for one request is about the batch, never about one change.
        assert_eq!(
            http(413, codes::BATCH_TOO_LARGE, None).next_step(1, false),
            NextStep::RetryLater { floor_ms: None }
        );
    }

    #[test]
    fn an_expired_token_is_refreshed_once() {
        let expired = http(401, codes::TOKEN_EXPIRED, None);
        assert_eq!(expired.next_step(10, false), NextStep::RefreshToken);
        assert_eq!(expired.next_step(10, true), NextStep::RetryLater { floor_ms: None });
        assert_eq!(http(401, codes::INVALID_TOKEN, None).next_step(10, false), NextStep::RetryLater { floor_ms: None });
    }

    #[test]
    fn retry_after_is_the_floor_of_the_next_wait() {
        assert_eq!(http(429, "x", Some(2000)).next_step(100, false), NextStep::RetryLater { floor_ms: Some(2000) });
        assert_eq!(http(503, "x", None).next_step(100, false), NextStep::RetryLater { floor_ms: None });
        assert_eq!(Failure::Offline.next_step(100, false), NextStep::WaitForNetwork);
        assert_eq!(retry_after_ms(" 3 "), Some(3000));
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn transient_failures_are_network_errors_and_refusals_are_sync_errors() {
        assert_eq!(http(500, "x", None).to_error().kind, ErrorKind::Network);
        assert_eq!(http(429, "x", None).to_error().kind, ErrorKind::Network);
        assert_eq!(http(401, "x", None).to_error().kind, ErrorKind::Sync);
        let e = Failure::Network { message: "connection refused".into(), retry_after_ms: None }.to_error();
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(e.message.contains("connection refused"));
        assert!(!Failure::Offline.server_answered());
        assert!(http(401, "x", None).server_answered());
        assert!(http(400, codes::INVALID_CURSOR, None).is_unknown_cursor());
        assert!(!http(400, codes::INVALID_LIMIT, None).is_unknown_cursor());
    }
}
