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
    let before_ms = now_ms.saturating_sub(grace_ms);
    let mut collected = state.store.collect_blobs(before_ms, delete).await?;
    collected.orphans = collect_orphans(state, before_ms).await?;
    Ok(collected)
}

/// Chunk objects the sweep looks at per pass, so that a pass stays bounded.
const ORPHAN_SWEEP: usize = 10_000;

/// Deletes the chunk objects written before `before_ms` that no upload lists: a process wrote
/// them and stopped before recording them. (A chunk is recorded right after it is written, so
/// one older than the grace and not recorded never will be.) Returns how many.
async fn collect_orphans(state: &AppState, before_ms: u64) -> Result<u64, Error> {
    let old = state.blobs.old_chunks(before_ms, ORPHAN_SWEEP).await?;
    if old.is_empty() {
        return Ok(0);
    }
    let keys: Vec<String> = old.iter().map(|p| p.to_string()).collect();
    let known: std::collections::HashSet<String> = state.store.known_chunks(keys).await?.into_iter().collect();
    let orphans: Vec<_> = old.into_iter().filter(|p| !known.contains(p.as_ref())).collect();
    let n = orphans.len() as u64;
    state.blobs.delete(orphans).await?;
    Ok(n)
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
            Ok(c) if c.blobs.is_empty() && c.uploads == 0 && c.orphans == 0 => {}
            Ok(c) => tracing::info!(
                blobs = c.blobs.len(),
                uploads = c.uploads,
                orphans = c.orphans,
                "collected unreferenced blobs"
            ),
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
