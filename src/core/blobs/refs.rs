//! Finding the blobs a record refers to: every `{"$blob": hash, …}` object in its data, at any
//! depth (in objects and arrays).

use crate::core::sync::conflict::tree::{field, Tree};
use crate::protocol::blobs::{is_hash, BLOB_KEY};

/// The hashes of the blobs `data` refers to, each once, in the order first met.
pub fn blob_hashes<T: Tree>(data: &T) -> Vec<String> {
    let mut found = Vec::new();
    walk(data, &mut found);
    found
}

fn walk<T: Tree>(value: &T, found: &mut Vec<String>) {
    if let Some(fields) = value.fields() {
        if let Some(hash) = field(&fields, BLOB_KEY).and_then(Tree::text).filter(|h| is_hash(h)) {
            if !found.contains(&hash) {
                found.push(hash);
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
