//! The blob references in a record's data: every object, at any depth, with a `$blob` key.

use ferrysync::protocol::blobs::BLOB_KEY;
use ferrysync::protocol::{codes, BlobRef, Rejection};
use serde_json::{Map, Value};

/// The hashes `data` refers to (each once, sorted), or the rejection of its mutation: a `$blob`
/// object that is not exactly `{"$blob": hash, "size": n}` with an optional `"type"`
/// (`invalid_blob_ref`), or one whose size is over `max_size` (`blob_too_large`).
pub fn blob_hashes(data: &Value, max_size: u64) -> Result<Vec<String>, Rejection> {
    let mut hashes = Vec::new();
    walk(data, max_size, &mut hashes)?;
    hashes.sort_unstable();
    hashes.dedup();
    Ok(hashes)
}

fn walk(value: &Value, max_size: u64, out: &mut Vec<String>) -> Result<(), Rejection> {
    match value {
        Value::Object(map) if map.contains_key(BLOB_KEY) => {
            out.push(reference(map, max_size)?.hash);
            Ok(())
        }
        Value::Object(map) => map.values().try_for_each(|v| walk(v, max_size, out)),
        Value::Array(items) => items.iter().try_for_each(|v| walk(v, max_size, out)),
        _ => Ok(()),
    }
}

fn reference(map: &Map<String, Value>, max_size: u64) -> Result<BlobRef, Rejection> {
    let invalid = |why: &str| Rejection::new(codes::INVALID_BLOB_REF, format!("a $blob object {why}"));
    if let Some(key) = map.keys().find(|k| !matches!(k.as_str(), "$blob" | "size" | "type")) {
        return Err(invalid(&format!("has a field other than $blob, size and type ({} bytes)", key.len())));
    }
    let hash = map[BLOB_KEY].as_str().ok_or_else(|| invalid("must hold the hash as a string"))?;
    let size = map.get("size").and_then(Value::as_u64).ok_or_else(|| invalid("needs size, a whole number"))?;
    let media_type = match map.get("type") {
        None => "",
        Some(t) => t.as_str().ok_or_else(|| invalid("has a type that is not a string"))?,
    };
    BlobRef::new(hash, size, media_type, max_size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const H: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn references_at_any_depth_each_once() {
        let data = json!({"a": {"$blob": H, "size": 4}, "b": [{"x": {"$blob": H, "size": 4, "type": "text/plain"}}]});
        assert_eq!(blob_hashes(&data, 10).unwrap(), vec![H.to_string()]);
        assert!(blob_hashes(&json!({"t": "no blobs", "n": [1, {"k": null}]}), 10).unwrap().is_empty());
    }

    #[test]
    fn bad_references_are_rejected_with_their_code() {
        let code = |v: Value| blob_hashes(&json!({ "f": v }), 10).unwrap_err().code;
        assert_eq!(code(json!({"$blob": H})), codes::INVALID_BLOB_REF);
        assert_eq!(code(json!({"$blob": H, "size": -1})), codes::INVALID_BLOB_REF);
        assert_eq!(code(json!({"$blob": H, "size": 1.5})), codes::INVALID_BLOB_REF);
        assert_eq!(code(json!({"$blob": 7, "size": 1})), codes::INVALID_BLOB_REF);
        assert_eq!(code(json!({"$blob": "abc", "size": 1})), codes::INVALID_BLOB_REF);
        assert_eq!(code(json!({"$blob": H, "size": 1, "type": 3})), codes::INVALID_BLOB_REF);
        assert_eq!(code(json!({"$blob": H, "size": 1, "name": "x"})), codes::INVALID_BLOB_REF);
        assert_eq!(code(json!({"$blob": H, "size": 11})), codes::BLOB_TOO_LARGE);
    }
}
