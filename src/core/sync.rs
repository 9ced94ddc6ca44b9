//! Sync settings and what the engine does after a failed request.

use super::error::{Error, ErrorKind, Result};
use super::query::number_text;
use crate::protocol::limits;

/// Pushed mutations per request; the reference server's default maximum.
pub const DEFAULT_BATCH_SIZE: u32 = limits::DEFAULT_MAX_BATCH as u32;
/// Pulled changes per request. Larger pages mean fewer round trips and transactions.
pub const DEFAULT_PULL_LIMIT: u32 = 500;
/// A periodic sync catches changes other clients made while nothing else triggered one.
pub const DEFAULT_INTERVAL_MS: u32 = 5 * 60 * 1000;
/// A sync starts this long after the last local write of a burst.
pub const DEFAULT_DEBOUNCE_MS: u32 = 1_000;
/// A request that has not answered by then is abandoned and counts as a network failure.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u32 = 30_000;

/// The `sync` options of `open()`, checked. `None` for a timer turns that trigger off.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub batch_size: u32,
    pub pull_limit: u32,
    pub interval_ms: Option<u32>,
    pub debounce_ms: Option<u32>,
    pub sync_on_open: bool,
    pub request_timeout_ms: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch_size: DEFAULT_BATCH_SIZE,
            pull_limit: DEFAULT_PULL_LIMIT,
            interval_ms: Some(DEFAULT_INTERVAL_MS),
            debounce_ms: Some(DEFAULT_DEBOUNCE_MS),
            sync_on_open: true,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
        }
    }
}

/// A whole number in `min..=max`, for the option `name`.
pub fn whole(name: &str, value: f64, min: u32, max: u32) -> Result<u32> {
    if value.fract() != 0.0 || value < min as f64 || value > max as f64 {
        return Err(Error::new(
            ErrorKind::InvalidOptions,
            format!("`sync.{name}` must be a whole number from {min} to {max}, got {}", number_text(value)),
        ));
    }
    Ok(value as u32)
}

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
    /// Wait (backoff, with this floor from the server) and sync again.
    RetryLater { floor_ms: Option<u64> },
    /// Wait for the network to come back (the `online` event).
    WaitForNetwork,
}

impl Failure {
    /// `batch_size`: the size of the batch that failed.
    pub fn next_step(&self, batch_size: u32) -> NextStep {
        match self {
            Failure::Offline => NextStep::WaitForNetwork,
            Failure::Http { status: 413, .. } if batch_size > 1 => NextStep::ShrinkBatch(batch_size / 2),
            Failure::Http { retry_after_ms, .. } | Failure::Network { retry_after_ms, .. } => {
                NextStep::RetryLater { floor_ms: *retry_after_ms }
            }
            Failure::BadAnswer(_) => NextStep::RetryLater { floor_ms: None },
        }
    }

    /// Whether the server answered at all (the status shows online only then).
    pub fn server_answered(&self) -> bool {
        matches!(self, Failure::Http { .. } | Failure::BadAnswer(_))
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

/// `(done, total)` of a sync in progress, after `sent` more entries left the queue, with
/// `remaining` still queued. The total grows when writes arrive during the sync, so done never
/// passes it.
pub fn progress(done: u64, sent: u64, remaining: u64) -> (u64, u64) {
    let done = done + sent;
    (done, done + remaining)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry: Option<u64>) -> Failure {
        Failure::Http { status, code: "x".into(), message: "y".into(), retry_after_ms: retry }
    }

    #[test]
    fn options_are_whole_numbers_in_range() {
        assert_eq!(whole("batchSize", 50.0, 1, 1000).unwrap(), 50);
        for bad in [0.0, 1.5, -3.0, 1001.0, f64::NAN] {
            let e = whole("batchSize", bad, 1, 1000).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidOptions);
            assert!(e.message.contains("sync.batchSize"), "{}", e.message);
        }
    }

    #[test]
    fn too_large_halves_the_batch_down_to_one() {
        assert_eq!(http(413, None).next_step(100), NextStep::ShrinkBatch(50));
        assert_eq!(http(413, None).next_step(3), NextStep::ShrinkBatch(1));
        assert_eq!(http(413, None).next_step(1), NextStep::RetryLater { floor_ms: None });
    }

    #[test]
    fn retry_after_is_the_floor_of_the_next_wait() {
        assert_eq!(http(429, Some(2000)).next_step(100), NextStep::RetryLater { floor_ms: Some(2000) });
        assert_eq!(http(503, None).next_step(100), NextStep::RetryLater { floor_ms: None });
        assert_eq!(Failure::Offline.next_step(100), NextStep::WaitForNetwork);
        assert_eq!(retry_after_ms(" 3 "), Some(3000));
        assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn transient_failures_are_network_errors_and_refusals_are_sync_errors() {
        assert_eq!(http(500, None).to_error().kind, ErrorKind::Network);
        assert_eq!(http(429, None).to_error().kind, ErrorKind::Network);
        assert_eq!(http(401, None).to_error().kind, ErrorKind::Sync);
        let e = Failure::Network { message: "connection refused".into(), retry_after_ms: None }.to_error();
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(e.message.contains("connection refused"));
        assert!(!Failure::Offline.server_answered());
        assert!(http(401, None).server_answered());
    }

    #[test]
    fn progress_total_grows_with_new_writes() {
        assert_eq!(progress(0, 100, 900), (100, 1000));
        assert_eq!(progress(100, 100, 850), (200, 1050));
    }
}
