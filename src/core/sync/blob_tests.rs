//! Blobs in the in-memory store, as the browser's store keeps them: stored once per hash; a
//! change waits in the queue until every blob its record refers to is on the server; an upload
//! refused for good makes those changes dead letters; a `blob_missing` answer puts the change back
//! to wait for its blobs instead of dropping it.

use super::conflict::test_tree::{leaf, obj, V};
use super::memory::MemoryStore;
use super::storage::SyncStorage;
use super::unique_tests::ready;
use crate::core::blobs::Uploaded;
use crate::core::write::Intent;
use crate::protocol::{codes, BlobRef, MutationResult, PushResponse};

fn with_blob(title: &str, blob: &BlobRef) -> V {
    obj(&[("title", leaf(title)), ("file", obj(&[("$blob", leaf(&blob.hash)), ("size", leaf("3"))]))])
}

fn store() -> MemoryStore<V> {
    MemoryStore::new(&["notes"])
}

fn write(s: &MemoryStore<V>, id: &str, data: V) {
    let mut n = 0;
    let mut ids = || {
        n += 1;
        format!("00000000-0000-7000-8000-{:012}", id.len() * 100 + n)
    };
    s.write("notes", vec![(id.into(), Intent::Put, Some(data))], &mut ids, 1.0).unwrap();
}

fn pushed_ids(s: &MemoryStore<V>) -> Vec<String> {
    ready(s.read_batch(100, &[], 1.0))
        .unwrap()
        .map(|b| b.mutations.into_iter().map(|m| m.id).collect())
        .unwrap_or_default()
}

#[test]
fn a_blob_is_stored_once_and_its_changes_wait_for_its_upload() {
    let s = store();
    let blob = s.put_blob(b"abc".to_vec(), "text/plain");
    assert_eq!(blob.hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(s.put_blob(b"abc".to_vec(), "text/plain"), blob, "the same bytes are the same blob");
    write(&s, "a", with_blob("a", &blob));
    write(&s, "bb", obj(&[("title", leaf("plain"))]));
    write(&s, "ccc", with_blob("c", &blob));
    assert_eq!(pushed_ids(&s), vec!["bb"], "only the change that needs no upload goes");
    assert_eq!(ready(s.next_upload(&[])).unwrap(), Some(blob.clone()), "one upload for both records");
    assert_eq!(ready(s.next_upload(std::slice::from_ref(&blob.hash))).unwrap(), None);
    ready(s.end_upload(&blob.hash, Uploaded::Yes, 2.0)).unwrap();
    assert_eq!(ready(s.next_upload(&[])).unwrap(), None);
    // ("bb" again too: no answer to its first send was applied.)
    assert_eq!(pushed_ids(&s), vec!["a", "bb", "ccc"]);
}

#[test]
fn a_refused_upload_makes_its_changes_dead_letters() {
    let s = store();
    let blob = s.put_blob(vec![7; 10], "");
    write(&s, "a", with_blob("a", &blob));
    write(&s, "bb", obj(&[("title", leaf("plain"))]));
    let refused = Uploaded::Failed { code: codes::QUOTA_EXCEEDED.into(), message: "over".into() };
    let decided = ready(s.end_upload(&blob.hash, refused, 2.0)).unwrap();
    assert_eq!(decided.pending_delta, -1);
    let dead = ready(s.dead_letters()).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].entry.record_id.as_str(), dead[0].code.as_str()), ("a", codes::QUOTA_EXCEEDED));
    assert_eq!(pushed_ids(&s), vec!["bb"]);
    assert_eq!(ready(s.next_upload(&[])).unwrap(), None, "a refused blob is not tried again by itself");
    // Retried by a person (the quota raised, say): the file goes up again before the change.
    ready(s.retry_failed("notes", "a", "m-retry", 3.0)).unwrap();
    assert_eq!(ready(s.next_upload(&[])).unwrap(), Some(blob), "the retried change's file is uploaded again");
    assert_eq!(pushed_ids(&s), vec!["bb"], "and the change waits for it");
}

#[test]
fn blob_missing_puts_the_change_back_to_wait_for_its_upload() {
    let s = store();
    let blob = s.put_blob(vec![1, 2, 3], "");
    write(&s, "a", with_blob("a", &blob));
    ready(s.end_upload(&blob.hash, Uploaded::Yes, 2.0)).unwrap();
    let batch = ready(s.read_batch(100, &[], 1.0)).unwrap().unwrap();
    let missing = MutationResult::Rejected {
        mutation_id: batch.mutations[0].mutation_id,
        code: codes::BLOB_MISSING.into(),
        message: "collected".into(),
    };
    let applied = ready(s.apply_push(batch, PushResponse { results: vec![missing], server_time: None }, 3.0)).unwrap();
    assert_eq!((applied.answered, applied.rejected, applied.acknowledged), (1, 0, 0));
    assert!(ready(s.dead_letters()).unwrap().is_empty());
    assert_eq!(s.blob_uploaded(&blob.hash), Some(Uploaded::No));
    assert_eq!(ready(s.next_upload(&[])).unwrap(), Some(blob));
    assert!(pushed_ids(&s).is_empty(), "it waits for the upload");
}

#[test]
fn blob_missing_without_the_bytes_here_is_a_dead_letter() {
    let s = store();
    // A reference copied from a record pulled here: the bytes were never on this device.
    let elsewhere = BlobRef { hash: "d".repeat(64), size: 3, media_type: String::new() };
    write(&s, "a", with_blob("a", &elsewhere));
    let batch = ready(s.read_batch(100, &[], 1.0)).unwrap().unwrap();
    let missing = MutationResult::Rejected {
        mutation_id: batch.mutations[0].mutation_id,
        code: codes::BLOB_MISSING.into(),
        message: "no such blob".into(),
    };
    ready(s.apply_push(batch, PushResponse { results: vec![missing], server_time: None }, 3.0)).unwrap();
    let dead = ready(s.dead_letters()).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].code, codes::BLOB_MISSING);
}
