//! The names every side checks: collection names, record ids and space ids. The client refuses what the
//! server would reject, so that nothing it stores can end as a dead letter for its name.

use super::{codes, limits};

/// Why a single mutation is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Rejection { code, message: message.into() }
    }
}

/// What is wrong with a name of at most `max` bytes, if anything. The text names sizes and
/// positions only, never the name itself, so an answer never echoes unbounded input.
fn problem(name: &str, max: usize) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > max {
        return Some(format!("has {} bytes, more than the limit of {max}", name.len()));
    }
    let (at, _) = name.char_indices().find(|(_, c)| c.is_control())?;
    Some(format!("has a control character at byte {at}"))
}

/// A collection name: 1 to [`limits::MAX_COLLECTION_BYTES`] bytes, no control characters.
pub fn check_collection(name: &str) -> Result<(), Rejection> {
    match problem(name, limits::MAX_COLLECTION_BYTES) {
        Some(p) => Err(Rejection::new(
            codes::INVALID_COLLECTION,
            format!("a collection name {p} (1 to {} bytes, no control characters)", limits::MAX_COLLECTION_BYTES),
        )),
        None => Ok(()),
    }
}

/// A record id: 1 to [`limits::MAX_ID_BYTES`] bytes, no control characters.
pub fn check_record_id(id: &str) -> Result<(), Rejection> {
    match problem(id, limits::MAX_ID_BYTES) {
        Some(p) => Err(Rejection::new(
            codes::INVALID_ID,
            format!("a record id {p} (1 to {} bytes, no control characters)", limits::MAX_ID_BYTES),
        )),
        None => Ok(()),
    }
}

/// A space id: 1 to [`limits::MAX_SPACE_BYTES`] bytes, no control characters. The same rule for
/// a mutation's `space` (else that mutation is rejected) and for the spaces a pull asks for
/// (else the request is refused with 400), both with the code `invalid_space`.
pub fn check_space(space: &str) -> Result<(), Rejection> {
    match problem(space, limits::MAX_SPACE_BYTES) {
        Some(p) => Err(Rejection::new(
            codes::INVALID_SPACE,
            format!("a space id {p} (1 to {} bytes, no control characters)", limits::MAX_SPACE_BYTES),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_is_wrong_without_echoing_the_name() {
        assert_eq!(check_record_id("a"), Ok(()));
        let long = "x".repeat(900_000);
        for (bad, says) in
            [("", "is empty"), (long.as_str(), "has 900000 bytes"), ("ab\ncd", "control character at byte 2")]
        {
            let r = check_record_id(bad).unwrap_err();
            assert_eq!(r.code, codes::INVALID_ID);
            assert!(r.message.contains(says), "{}", r.message);
            assert!(r.message.len() < 100);
        }
        assert_eq!(check_collection(&"é".repeat(65)).unwrap_err().code, codes::INVALID_COLLECTION);
        assert_eq!(check_collection(&"é".repeat(64)), Ok(()));
    }
}
