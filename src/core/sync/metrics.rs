//! Sync health an app can read (`db.metrics()`) and send to its own monitoring: what the syncs of
//! this tab (or worker) did since it opened the database. The engine counts requests, records,
//! retries, failures and durations as its events arrive; the transport adds the bytes; the store
//! adds the age of the oldest queued change when the app asks.

use std::collections::BTreeMap;

use crate::core::error::ErrorKind;

/// Counters and the latest timings, all since this tab opened the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Syncs that ended well, and syncs that failed (offline attempts are not counted: nothing
    /// was tried).
    pub syncs: u64,
    pub failed_syncs: u64,
    /// Push and pull requests the server answered.
    pub pushes: u64,
    pub pulls: u64,
    /// Changes sent (each attempt counts) and records received (tombstones included).
    pub changes_sent: u64,
    pub records_received: u64,
    /// Request and answer bodies, as the transport saw them.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Requests sent again within one sync: after a fresh token, with a halved batch, or from the
    /// start after the server forgot the cursor.
    pub retries: u64,
    /// Failed syncs by the error name an app would see (`NetworkError`, `SyncError`, ...).
    pub failures: BTreeMap<&'static str, u64>,
    /// The last successful sync: when it ended and how long it took (ms).
    pub last_success_at: Option<f64>,
    pub last_sync_ms: Option<f64>,
    /// When the last sync failed.
    pub last_failure_at: Option<f64>,
    /// The round trips of the last push and the last pull (ms).
    pub last_push_ms: Option<f64>,
    pub last_pull_ms: Option<f64>,
}

impl Metrics {
    /// A push answered after `ms`, carrying `changes` changes.
    pub fn pushed(&mut self, changes: usize, ms: f64) {
        self.pushes += 1;
        self.changes_sent += changes as u64;
        self.last_push_ms = Some(ms.max(0.0));
    }

    /// A pulled page answered after `ms`, with `records` records.
    pub fn pulled(&mut self, records: usize, ms: f64) {
        self.pulls += 1;
        self.records_received += records as u64;
        self.last_pull_ms = Some(ms.max(0.0));
    }

    pub fn retried(&mut self) {
        self.retries += 1;
    }

    /// One request's bodies.
    pub fn transferred(&mut self, sent: u64, received: u64) {
        self.bytes_sent += sent;
        self.bytes_received += received;
    }

    /// A sync that started at `started` ended well at `now`.
    pub fn synced(&mut self, started: f64, now: f64) {
        self.syncs += 1;
        self.last_success_at = Some(now);
        self.last_sync_ms = Some((now - started).max(0.0));
    }

    /// A sync failed at `now` with an error of `kind`.
    pub fn failed(&mut self, kind: ErrorKind, now: f64) {
        self.failed_syncs += 1;
        *self.failures.entry(kind.name()).or_default() += 1;
        self.last_failure_at = Some(now);
    }

    /// How long ago the last successful sync ended, at `now` (`None`: never, in this tab).
    pub fn since_last_success_ms(&self, now: f64) -> Option<f64> {
        self.last_success_at.map(|at| (now - at).max(0.0))
    }
}

/// The age at `now` of the oldest change still queued, queued at `oldest_queued_at` (`None`:
/// nothing is queued).
pub fn oldest_pending_age_ms(oldest_queued_at: Option<f64>, now: f64) -> Option<f64> {
    oldest_queued_at.map(|at| (now - at).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_and_keep_the_latest_timings() {
        let mut m = Metrics::default();
        m.pushed(100, 40.0);
        m.pushed(20, 25.0);
        m.pulled(500, 60.0);
        m.transferred(1_000, 200);
        m.transferred(10, 5_000);
        m.retried();
        m.synced(1_000.0, 1_300.0);
        m.failed(ErrorKind::Network, 2_000.0);
        m.failed(ErrorKind::Network, 3_000.0);
        m.failed(ErrorKind::Sync, 4_000.0);
        assert_eq!((m.pushes, m.changes_sent, m.last_push_ms), (2, 120, Some(25.0)));
        assert_eq!((m.pulls, m.records_received, m.last_pull_ms), (1, 500, Some(60.0)));
        assert_eq!((m.bytes_sent, m.bytes_received, m.retries), (1_010, 5_200, 1));
        assert_eq!((m.syncs, m.last_sync_ms, m.last_success_at), (1, Some(300.0), Some(1_300.0)));
        assert_eq!((m.failed_syncs, m.last_failure_at), (3, Some(4_000.0)));
        assert_eq!(m.failures.get("NetworkError"), Some(&2));
        assert_eq!(m.failures.get("SyncError"), Some(&1));
        assert_eq!(m.since_last_success_ms(2_300.0), Some(1_000.0));
    }

    #[test]
    fn ages_are_never_negative_and_none_means_never() {
        assert_eq!(Metrics::default().since_last_success_ms(5.0), None);
        assert_eq!(oldest_pending_age_ms(None, 5.0), None);
        assert_eq!(oldest_pending_age_ms(Some(10.0), 25.0), Some(15.0));
        // A clock set back since: zero, not a negative age.
        assert_eq!(oldest_pending_age_ms(Some(10.0), 5.0), Some(0.0));
        let mut m = Metrics::default();
        m.synced(10.0, 5.0);
        assert_eq!(m.last_sync_ms, Some(0.0));
    }
}
