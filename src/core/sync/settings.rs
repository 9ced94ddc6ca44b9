//! The `sync` options of `open()`, their defaults and their checks.

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::query::number_text;
use crate::protocol::limits;

/// Pushed mutations per request; the reference server's default maximum.
pub const DEFAULT_BATCH_SIZE: u32 = limits::DEFAULT_MAX_BATCH as u32;
/// Pulled changes per request. Larger pages mean fewer round trips and transactions.
pub const DEFAULT_PULL_LIMIT: u32 = 500;
/// Pulled changes written per transaction: a page larger than this is applied in slices, so that
/// the app's own reads and writes never wait long behind a pull's transaction.
pub const DEFAULT_APPLY_LIMIT: u32 = 100;
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
    /// `applyLimit`: pulled changes written per transaction ([`DEFAULT_APPLY_LIMIT`]).
    pub apply_limit: u32,
    pub interval_ms: Option<u32>,
    pub debounce_ms: Option<u32>,
    pub sync_on_open: bool,
    pub request_timeout_ms: u32,
    /// `backgroundSync`: ask the browser for a Background Sync (through the page's service
    /// worker) whenever changes are queued, so that they reach the server after the page closes.
    pub background_sync: bool,
    /// Bytes per chunk of a blob upload.
    pub chunk_bytes: u64,
    /// Bytes per range of a blob download: larger than an upload's chunk by default, since a
    /// range cut short costs only its own bytes and every request is a round trip.
    pub download_chunk_bytes: u64,
    /// The most bytes of blobs kept here (`blobCacheBytes`): beyond it, downloaded blobs are
    /// evicted least recently used first; `None`: no cap.
    pub blob_cache_bytes: Option<u64>,
}

/// The default bytes per range of a blob download.
pub const DEFAULT_DOWNLOAD_CHUNK_BYTES: u64 = 8 * 1024 * 1024;

/// The default cap on the bytes of blobs kept on a device.
pub const DEFAULT_BLOB_CACHE_BYTES: u64 = 512 * 1024 * 1024;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch_size: DEFAULT_BATCH_SIZE,
            pull_limit: DEFAULT_PULL_LIMIT,
            apply_limit: DEFAULT_APPLY_LIMIT,
            interval_ms: Some(DEFAULT_INTERVAL_MS),
            debounce_ms: Some(DEFAULT_DEBOUNCE_MS),
            sync_on_open: true,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            background_sync: false,
            chunk_bytes: crate::protocol::blobs::DEFAULT_CHUNK_BYTES,
            blob_cache_bytes: Some(DEFAULT_BLOB_CACHE_BYTES),
            download_chunk_bytes: DEFAULT_DOWNLOAD_CHUNK_BYTES,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_whole_numbers_in_range() {
        assert_eq!(whole("batchSize", 50.0, 1, 1000).unwrap(), 50);
        for bad in [0.0, 1.5, -3.0, 1001.0, f64::NAN] {
            let e = whole("batchSize", bad, 1, 1000).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidOptions);
            assert!(e.message.contains("sync.batchSize"), "{}", e.message);
        }
    }
}
