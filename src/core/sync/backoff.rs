//! Retry timing for the sync engine: exponential backoff with full jitter, capped, and the
//! server's Retry-After honoured.

/// First retry waits up to this long.
pub const BASE_DELAY_MS: u64 = 1_000;
/// No computed wait is longer than this.
pub const MAX_DELAY_MS: u64 = 30_000;

/// The ceiling of the wait before retry number `attempt` (0 for the first retry):
/// `BASE_DELAY_MS * 2^attempt`, capped at [`MAX_DELAY_MS`].
pub fn ceiling_ms(attempt: u32) -> u64 {
    BASE_DELAY_MS.saturating_mul(1u64 << attempt.min(20)).min(MAX_DELAY_MS)
}

/// The wait before retry number `attempt`. `random` is uniform in [0, 1) (the caller's source of
/// randomness, so that this stays deterministic to test). Full jitter spreads clients that failed
/// together; a server's Retry-After (in ms) is a floor, since the server said when it can take
/// more.
pub fn delay_ms(attempt: u32, random: f64, retry_after_ms: Option<u64>) -> u64 {
    let r = if random.is_finite() { random.clamp(0.0, 1.0) } else { 0.0 };
    let jittered = (ceiling_ms(attempt) as f64 * r) as u64;
    match retry_after_ms {
        Some(floor) => jittered.max(floor),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_then_caps_at_thirty_seconds() {
        let ceilings: Vec<u64> = (0..8).map(ceiling_ms).collect();
        assert_eq!(ceilings, vec![1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
        assert_eq!(ceiling_ms(u32::MAX), MAX_DELAY_MS);
    }

    #[test]
    fn jitter_stays_within_the_ceiling() {
        for attempt in 0..10 {
            for i in 0..100 {
                let d = delay_ms(attempt, i as f64 / 100.0, None);
                assert!(d <= ceiling_ms(attempt), "attempt {attempt}: {d}");
            }
        }
        assert_eq!(delay_ms(3, 0.0, None), 0);
        assert_eq!(delay_ms(3, 0.5, None), 4_000);
        assert_eq!(delay_ms(3, f64::NAN, None), 0);
    }

    #[test]
    fn retry_after_is_a_floor() {
        assert_eq!(delay_ms(0, 0.1, Some(5_000)), 5_000);
        assert_eq!(delay_ms(10, 0.9, Some(5_000)), 27_000);
        // A server may ask for longer than the cap; it knows its load.
        assert_eq!(delay_ms(10, 0.9, Some(120_000)), 120_000);
    }
}
