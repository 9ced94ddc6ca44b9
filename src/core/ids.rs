//! Client-side record and mutation ids: UUID v7, so ids sort in creation order.

use uuid::{ContextV7, Timestamp, Uuid};

use crate::protocol::check_record_id;

/// A generator whose ids strictly increase, also within one millisecond (a counter in the
/// random bits, as RFC 9562 §6.2 method 1 allows). One per database handle.
pub struct IdGenerator {
    context: ContextV7,
}

impl Default for IdGenerator {
    fn default() -> Self {
        IdGenerator { context: ContextV7::new() }
    }
}

impl IdGenerator {
    /// A new id for a record or a mutation, at `now_ms` (milliseconds since the epoch).
    pub fn next_at(&self, now_ms: f64) -> String {
        let ms = if now_ms.is_finite() && now_ms > 0.0 { now_ms as u64 } else { 0 };
        let ts = Timestamp::from_unix(&self.context, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
        Uuid::new_v7(ts).hyphenated().to_string()
    }
}

/// Whether `id` may name a record: the protocol's rule ([`check_record_id`]), so that every id
/// stored here can also be pushed, rather than end as a dead letter.
pub fn check_id(id: &str) -> Result<(), String> {
    check_record_id(id).map_err(|r| r.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_strictly_increasing_within_one_millisecond() {
        let generator = IdGenerator::default();
        let ids: Vec<String> = (0..10_000).map(|_| generator.next_at(1_700_000_000_000.0)).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
        let parsed = Uuid::parse_str(&ids[0]).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
    }

    #[test]
    fn ids_follow_the_clock() {
        let generator = IdGenerator::default();
        let early = generator.next_at(1_700_000_000_000.0);
        let late = generator.next_at(1_700_000_000_001.0);
        assert!(early < late);
        let ts = Uuid::parse_str(&late).unwrap().get_timestamp().unwrap();
        assert_eq!(ts.to_unix(), (1_700_000_000, 1_000_000));
    }

    #[test]
    fn id_rules_are_the_protocol_s() {
        let max = crate::protocol::limits::MAX_ID_BYTES;
        assert!(check_id("a").is_ok());
        assert!(check_id("").is_err());
        assert!(check_id(&"x".repeat(max)).is_ok());
        assert!(check_id(&"x".repeat(max + 1)).is_err());
        assert!(check_id("tab\there").unwrap_err().contains("control character"));
    }
}
