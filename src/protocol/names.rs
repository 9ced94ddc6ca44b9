//! The names every side checks: collection names and record ids. The client refuses what the
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

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A collection name: 1 to [`limits::MAX_COLLECTION_BYTES`] bytes, no control characters.
pub fn check_collection(name: &str) -> Result<(), Rejection> {
    if name.is_empty() || name.len() > limits::MAX_COLLECTION_BYTES || has_control(name) {
        return Err(Rejection::new(
            codes::INVALID_COLLECTION,
            format!("a collection name has 1 to {} bytes and no control characters", limits::MAX_COLLECTION_BYTES),
        ));
    }
    Ok(())
}

/// A record id: 1 to [`limits::MAX_ID_BYTES`] bytes, no control characters.
pub fn check_record_id(id: &str) -> Result<(), Rejection> {
    if id.is_empty() || id.len() > limits::MAX_ID_BYTES || has_control(id) {
        return Err(Rejection::new(
            codes::INVALID_ID,
            format!("a record id has 1 to {} bytes and no control characters", limits::MAX_ID_BYTES),
        ));
    }
    Ok(())
}
