//! `GET /v1/pull`: a page of changes after a cursor, and the reference server's cursor format.

use serde::{Deserialize, Serialize};

use super::record::ServerRecord;

/// The answer of `GET /v1/pull`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullResponse<D> {
    /// Records changed after the request's cursor, oldest change first, each at most once and in
    /// its latest state (tombstones have `deleted: true`).
    pub changes: Vec<ServerRecord<D>>,
    /// Pass it back as `cursor` to continue. Opaque to clients.
    pub cursor: String,
    /// True when more changes follow this page.
    pub has_more: bool,
    /// The server's clock when it answered (ms since the epoch). Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<u64>,
}

// ----- pull cursor -----

const CURSOR_PREFIX: &str = "c1.";

/// The reference server's cursor for "after change number `seq`" of a tenant's change sequence
/// (a per-tenant counter, +1 on every write; 0 = before the first change). Clients treat cursors
/// as opaque strings.
pub fn encode_cursor(seq: u64) -> String {
    format!("{CURSOR_PREFIX}{seq}")
}

/// The inverse of [`encode_cursor`]; only the exact strings it makes are accepted.
pub fn decode_cursor(cursor: &str) -> Option<u64> {
    let digits = cursor.strip_prefix(CURSOR_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

/// The query string of a pull (with its leading `?`), the cursor percent-encoded.
pub fn pull_query(cursor: Option<&str>, limit: Option<u32>) -> String {
    let mut parts = Vec::new();
    if let Some(cursor) = cursor {
        parts.push(format!("cursor={}", percent_encode(cursor)));
    }
    if let Some(limit) = limit {
        parts.push(format!("limit={limit}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        for seq in [0, 1, 42, u64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(seq)), Some(seq));
        }
        assert_eq!(encode_cursor(42), "c1.42");
        for bad in ["", "c1.", "c1.01", "c1.-1", "c1.+1", "c1.1a", "42", "c2.1", "c1.18446744073709551616"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
        assert_eq!(pull_query(None, None), "");
        assert_eq!(pull_query(Some("c1.5"), Some(10)), "?cursor=c1.5&limit=10");
        assert_eq!(pull_query(Some("a b/+="), None), "?cursor=a%20b%2F%2B%3D");
    }
}
