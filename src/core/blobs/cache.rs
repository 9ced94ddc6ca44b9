//! Which blobs of pulled records are downloaded during the sync, and which downloaded blobs
//! leave this device when the local cache is over its cap.

/// How a collection gets the blobs of the records it pulls (`download` in its options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadMode {
    /// During the sync, after the pull, each blob up to `up_to` bytes; a larger one is fetched
    /// on its first read, as a lazy one is.
    Eager { up_to: u64 },
    /// On its first read (`db.blob(ref)`), from the server; not here offline.
    Lazy,
}

/// The size up to which an eager collection downloads a blob during the sync, unless it sets
/// `eagerDownloadBytes`.
pub const DEFAULT_EAGER_UP_TO: u64 = 16 * 1024 * 1024;

impl Default for DownloadMode {
    fn default() -> Self {
        DownloadMode::Eager { up_to: DEFAULT_EAGER_UP_TO }
    }
}

impl DownloadMode {
    /// Whether a pulled record's blob of `size` bytes is downloaded by the sync.
    pub fn eager(self, size: u64) -> bool {
        matches!(self, DownloadMode::Eager { up_to } if size <= up_to)
    }
}

/// A blob whose bytes are stored here, as the eviction sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub hash: String,
    pub size: u64,
    /// When it was last read or stored (ms since the epoch).
    pub used: f64,
    /// Its bytes are only here: written on this device and not known to be on the server (or
    /// refused by it). Never evicted: the server cannot give them back.
    pub only_here: bool,
}

/// The blobs to evict so that the bytes stored here fit in `cap`: the least recently used first,
/// never one that is only here. What is only here counts toward the total, so the cap may stay
/// exceeded while uploads are queued; it is met again as they go up.
pub fn evictions(cached: &[Cached], cap: u64) -> Vec<String> {
    let mut total: u64 = cached.iter().map(|c| c.size).sum();
    if total <= cap {
        return Vec::new();
    }
    let mut candidates: Vec<&Cached> = cached.iter().filter(|c| !c.only_here).collect();
    candidates.sort_by(|a, b| a.used.total_cmp(&b.used).then_with(|| a.hash.cmp(&b.hash)));
    let mut evicted = Vec::new();
    for c in candidates {
        if total <= cap {
            break;
        }
        total -= c.size;
        evicted.push(c.hash.clone());
    }
    evicted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(hash: &str, size: u64, used: f64, only_here: bool) -> Cached {
        Cached { hash: hash.into(), size, used, only_here }
    }

    #[test]
    fn eager_up_to_a_size_lazy_never() {
        let eager = DownloadMode::Eager { up_to: 10 };
        assert!(eager.eager(10));
        assert!(!eager.eager(11));
        assert!(!DownloadMode::Lazy.eager(0));
        assert!(DownloadMode::default().eager(DEFAULT_EAGER_UP_TO));
    }

    #[test]
    fn least_recently_used_go_first_until_the_rest_fits() {
        let cached = [c("new", 40, 3.0, false), c("old", 40, 1.0, false), c("mid", 40, 2.0, false)];
        assert!(evictions(&cached, 120).is_empty());
        assert_eq!(evictions(&cached, 100), vec!["old"]);
        assert_eq!(evictions(&cached, 40), vec!["old", "mid"]);
        assert_eq!(evictions(&cached, 0), vec!["old", "mid", "new"]);
    }

    #[test]
    fn a_blob_only_here_is_never_evicted() {
        let cached = [c("queued", 100, 0.0, true), c("pulled", 10, 5.0, false)];
        // Over the cap by the queued upload alone: the pulled one goes, the queued one stays.
        assert_eq!(evictions(&cached, 50), vec!["pulled"]);
        assert!(evictions(&[c("queued", 100, 0.0, true)], 0).is_empty());
    }
}
