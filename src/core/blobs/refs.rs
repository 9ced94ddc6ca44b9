//! Finding the blobs a record refers to: every `{"$blob": hash, …}` object in its data, at any
//! depth (in objects and arrays).

use crate::core::sync::conflict::tree::{field, Tree};
use crate::protocol::blobs::{is_hash, BLOB_KEY};
use crate::protocol::BlobRef;

/// The hashes of the blobs `data` refers to, each once, in the order first met.
pub fn blob_hashes<T: Tree>(data: &T) -> Vec<String> {
    blob_refs(data).into_iter().map(|b| b.hash).collect()
}

/// The references `data` holds, each hash once, in the order first met (a size that is not a
/// whole number reads as 0, a missing type as none).
pub fn blob_refs<T: Tree>(data: &T) -> Vec<BlobRef> {
    let mut found = Vec::new();
    walk(data, &mut found);
    found
}

fn walk<T: Tree>(value: &T, found: &mut Vec<BlobRef>) {
    if let Some(fields) = value.fields() {
        if let Some(hash) = field(&fields, BLOB_KEY).and_then(Tree::text).filter(|h| is_hash(h)) {
            if !found.iter().any(|b| b.hash == hash) {
                let size = field(&fields, "size").and_then(Tree::number).filter(|n| *n >= 0.0 && n.fract() == 0.0);
                let media_type = field(&fields, "type").and_then(Tree::text).unwrap_or_default();
                found.push(BlobRef { hash, size: size.unwrap_or(0.0) as u64, media_type });
            }
            return;
        }
        for (_, v) in &fields {
            walk(v, found);
        }
    } else if let Some(items) = value.items() {
        for v in &items {
            walk(v, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sync::conflict::test_tree::{leaf, obj, V};

    #[test]
    fn references_are_found_at_any_depth_once_each() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let blob = |h: &str| obj(&[(BLOB_KEY, leaf(h)), ("size", leaf("3"))]);
        let data = obj(&[
            ("title", leaf("t")),
            ("photo", blob(&a)),
            ("pages", V::Arr(vec![blob(&b), obj(&[("inner", blob(&a))])])),
            // Not a reference: no valid hash.
            ("fake", obj(&[(BLOB_KEY, leaf("nope"))])),
        ]);
        assert_eq!(blob_hashes(&data), vec![a, b]);
        assert!(blob_hashes(&leaf("plain")).is_empty());
    }
}
