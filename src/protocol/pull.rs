//! `GET /v1/pull`: a page of changes after a cursor, and the reference server's cursor format;
//! `POST /v1/pull`: pages of several spaces in one request, each after its own cursor.

use serde::{Deserialize, Serialize};

use super::record::ServerRecord;
use super::serde_util::required_nullable;

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

// ----- pull by space -----

/// The body of `POST /v1/pull`: the spaces to pull, each after its own cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpacesPullRequest {
    /// At most [`limits::MAX_PULL_SPACES`](super::limits::MAX_PULL_SPACES), each space at most
    /// once; `space: null` is the records that belong to no space.
    pub spaces: Vec<SpaceCursor>,
    /// Most entries (changes and `left` entries) in the whole answer, all spaces together: a
    /// positive integer, default 100, lowered to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// One space of a [`SpacesPullRequest`] and where to resume it. Read only from a JSON object (a
/// derived decoder would also take an array of the fields in order, which the protocol does not
/// allow).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceCursor {
    /// The space id; `null` for the records without a space. Required (it may be null).
    pub space: Option<String>,
    /// The cursor this space's last page returned; absent, `null` or empty: from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl<'de> Deserialize<'de> for SpaceCursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = SpaceCursor;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object with space and cursor")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SpaceCursor, A::Error> {
                let (mut space, mut cursor) = (None, None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "space" if space.is_none() => space = Some(map.next_value::<Option<String>>()?),
                        "cursor" if cursor.is_none() => cursor = Some(map.next_value::<Option<String>>()?),
                        "space" | "cursor" => return Err(serde::de::Error::custom(format!("duplicate field `{key}`"))),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                let space = space.ok_or_else(|| serde::de::Error::missing_field("space"))?;
                Ok(SpaceCursor { space, cursor: cursor.flatten() })
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// The answer of `POST /v1/pull`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpacesPullResponse<D> {
    /// One page per requested space, in the request's order.
    pub spaces: Vec<SpacePage<D>>,
    /// The server's clock when it answered (ms since the epoch). Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time: Option<u64>,
}

/// One space's page: what changed in it after its cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpacePage<D> {
    /// The space, as asked (`null`: the records without a space).
    #[serde(deserialize_with = "required_nullable")]
    pub space: Option<String>,
    /// Records of the space changed after the cursor, as in `GET /v1/pull` (oldest change first,
    /// each at most once, in its latest state, tombstones included).
    pub changes: Vec<ServerRecord<D>>,
    /// Records that left the space after the cursor (a write moved them to another space, or to
    /// none). Not deletes: the record lives on elsewhere. A client removes its copy only if that
    /// copy's version is lower than `version` (see docs/protocol.md).
    #[serde(default)]
    pub left: Vec<LeftRecord>,
    /// Pass it back as this space's `cursor` to continue. Opaque to clients.
    pub cursor: String,
    /// True when more of this space follows.
    pub has_more: bool,
}

/// A record that left a space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftRecord {
    pub collection: String,
    pub id: String,
    /// The version of the write that moved the record out: every copy of the record in this
    /// space has a lower version; the record at this version or later is elsewhere (or came
    /// back, and then it is in `changes`).
    pub version: u64,
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

    #[test]
    fn spaces_pull_shape() {
        use crate::protocol::test_support::*;
        let req = SpacesPullRequest {
            spaces: vec![
                SpaceCursor { space: Some("p1".into()), cursor: Some("c1.4".into()) },
                SpaceCursor { space: None, cursor: None },
            ],
            limit: Some(500),
        };
        round_trip(&req, r#"{"spaces":[{"space":"p1","cursor":"c1.4"},{"space":null}],"limit":500}"#);
        // `space` is required (null for the records without a space); the rest is optional.
        assert!(json::from_str::<SpacesPullRequest>(r#"{"spaces":[{"cursor":"c1.4"}]}"#).is_err());
        assert!(json::from_str::<SpacesPullRequest>(r#"{"spaces":[{"space":"p","cursor":null,"x":[1]}]}"#).is_ok());
        assert!(json::from_str::<SpacesPullRequest>(r#"{"spaces":[[null,null]]}"#).is_err());
        assert!(json::from_str::<SpacesPullRequest>(r#"{"spaces":[{"space":"p","space":"q"}]}"#).is_err());
        let answer = SpacesPullResponse {
            spaces: vec![SpacePage {
                space: Some("p1".into()),
                changes: vec![ServerRecord {
                    collection: "todos".into(),
                    id: "a".into(),
                    version: 2,
                    deleted: false,
                    data: Some(todo("x")),
                    updated_at: Some(7),
                    forced: false,
                }],
                left: vec![LeftRecord { collection: "todos".into(), id: "b".into(), version: 5 }],
                cursor: "c1.9".into(),
                has_more: false,
            }],
            server_time: Some(8),
        };
        round_trip(
            &answer,
            concat!(
                r#"{"spaces":[{"space":"p1","changes":[{"collection":"todos","id":"a","version":2,"deleted":false,"#,
                r#""data":{"title":"x","done":false},"updatedAt":7}],"left":[{"collection":"todos","id":"b","version":5}],"#,
                r#""cursor":"c1.9","hasMore":false}],"serverTime":8}"#
            ),
        );
    }
}
