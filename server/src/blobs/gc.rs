//! The collection of blobs: a complete blob no record refers to, and an upload that received
//! nothing, are deleted once they have been so for `--blob-grace-secs` (rows first, then
//! objects, in one transaction per batch: see `Store::collect_blobs`). The grace is what lets a
//! client upload a blob before it pushes the mutation that refers to it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::objects::{stored_key, BlobObjects};
use crate::http::error::Error;
use crate::http::AppState;
use crate::store::blobs::{Collected, DeleteObjects};
use crate::store::StoreError;

/// Collects what has been unreferenced (or stopped) since before `now_ms - grace` (`now_ms`:
/// the caller's clock, ms since the epoch); returns what was deleted. Safe to run in several
/// server processes at once, and while pushes and uploads go on.
pub async fn collect(state: &AppState, now_ms: u64) -> Result<Collected, Error> {
    let grace_ms = state.config.limits.blob_grace_secs.saturating_mul(1000);
    let objects = state.blobs.clone();
    let delete: DeleteObjects = Arc::new(move |collected: Collected| {
        let objects = objects.clone();
        Box::pin(async move {
            let mut keys = Vec::with_capacity(collected.blobs.len() + collected.chunks.len());
            keys.extend(collected.blobs.iter().map(|(tenant, hash)| BlobObjects::blob_key(tenant, hash)));
            for key in &collected.chunks {
                keys.push(stored_key(key).map_err(|e| StoreError::Other(e.to_string()))?);
            }
            objects.delete(keys).await.map_err(|e| StoreError::Other(e.to_string()))
        })
    });
    Ok(state.store.collect_blobs(now_ms.saturating_sub(grace_ms), delete).await?)
}

/// How often the server collects: a 24th of the grace (hourly for the default day), between 1 s
/// and 1 h.
pub fn interval(grace_secs: u64) -> Duration {
    (Duration::from_secs(grace_secs) / 24).clamp(Duration::from_secs(1), Duration::from_secs(3600))
}

/// Collects every [`interval`] until `stopped` changes.
pub async fn collect_loop(state: AppState, mut stopped: watch::Receiver<bool>) {
    let every = interval(state.config.limits.blob_grace_secs);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
        match collect(&state, (state.clock)()).await {
            Ok(c) if c.blobs.is_empty() && c.uploads == 0 => {}
            Ok(c) => tracing::info!(blobs = c.blobs.len(), uploads = c.uploads, "collected unreferenced blobs"),
            Err(e) => tracing::warn!(error = ?e, "collecting blobs failed; trying again later"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_follows_the_grace_within_bounds() {
        assert_eq!(interval(86_400), Duration::from_secs(3600));
        assert_eq!(interval(2), Duration::from_secs(1));
        assert_eq!(interval(48 * 3600), Duration::from_secs(3600));
        assert_eq!(interval(2400), Duration::from_secs(100));
    }
}
