//! Downloads in the memory store, as `idb::downloads` keeps them in IndexedDB: the blobs pulled
//! records refer to that the sync is to download, the bytes of the download under way, and the
//! eviction down to the cap (the core's rules, as the browser runs them).

use std::rc::Rc;

use crate::core::blobs::download::Downloaded;
use crate::core::blobs::hash::hash_of;
use crate::core::blobs::{blob_refs, evictions, Cached, DownloadMode, Uploaded};
use crate::core::status::BlobBytes;
use crate::protocol::BlobRef;

use super::super::conflict::tree::Tree;
use super::{BlobRow, MemoryStore, State};

impl<D: Tree> MemoryStore<D> {
    /// How pulled blobs come here (every collection alike), and the cap on the bytes kept.
    pub fn with_blob_policy(self, mode: DownloadMode, cap: Option<u64>) -> Self {
        self.state.borrow_mut().blob_policy = (mode, cap);
        self
    }

    /// The next blob to download, in hash order, passing over `skip` and those that failed.
    pub(super) fn next_wanted(&self, skip: &[String]) -> Option<BlobRef> {
        let state = self.state.borrow();
        state.wanted.values().find(|(b, failed)| !failed && !skip.contains(&b.hash)).map(|(b, _)| b.clone())
    }

    /// Keeps `bytes`, received at `offset` of `hash`'s download (0 starts over).
    pub fn keep_range(&self, hash: &str, offset: u64, bytes: &[u8]) {
        let mut received = self.received.borrow_mut();
        if offset == 0 || received.as_ref().is_none_or(|(h, _)| h != hash) {
            *received = Some((hash.to_string(), Vec::new()));
        }
        if let Some((_, kept)) = received.as_mut() {
            kept.extend_from_slice(bytes);
        }
    }

    /// The SHA-256 of the bytes received for `hash`.
    pub fn check_download(&self, hash: &str) -> String {
        let received = self.received.borrow();
        hash_of(received.as_ref().filter(|(h, _)| h == hash).map_or(&[][..], |(_, b)| b.as_slice()))
    }

    /// Carries out how the download of `hash` ended (then evicts down to the cap).
    pub fn end_download(&self, hash: &str, outcome: Downloaded, now: f64) {
        let received = self.received.borrow_mut().take().filter(|(h, _)| h == hash);
        let mut state = self.state.borrow_mut();
        match outcome {
            Downloaded::Dropped => {}
            Downloaded::Failed { .. } => {
                if let Some((_, failed)) = state.wanted.get_mut(hash) {
                    *failed = true;
                }
            }
            Downloaded::Stored => {
                let Some((blob, _)) = state.wanted.remove(hash) else { return };
                let bytes = received.map(|(_, b)| b).unwrap_or_default();
                let row = BlobRow { blob, uploaded: Uploaded::Yes, bytes: Rc::new(bytes), used: now };
                state.blobs.entry(hash.to_string()).or_insert(row);
                state.evict();
            }
        }
    }

    /// The hashes of the blobs whose bytes are here.
    pub fn blob_hashes_here(&self) -> Vec<String> {
        self.state.borrow().blobs.keys().cloned().collect()
    }

    /// Reads blob `hash`: its bytes, marked used now (`None`: not here).
    pub fn read_blob(&self, hash: &str, now: f64) -> Option<Rc<Vec<u8>>> {
        let mut state = self.state.borrow_mut();
        let row = state.blobs.get_mut(hash)?;
        row.used = now;
        Some(row.bytes.clone())
    }
}

impl<D> State<D> {
    /// Evicts blobs down to the cap (after a download or a write stored one).
    pub(super) fn evict(&mut self) {
        let (_, Some(cap)) = self.blob_policy else { return };
        evict(self, cap);
    }
}

fn evict<D>(state: &mut State<D>, cap: u64) {
    let cached: Vec<Cached> = state
        .blobs
        .values()
        .map(|b| Cached {
            hash: b.blob.hash.clone(),
            size: b.bytes.len() as u64,
            used: b.used,
            only_here: b.uploaded != Uploaded::Yes,
        })
        .collect();
    for hash in evictions(&cached, cap) {
        state.blobs.remove(&hash);
    }
}

impl<D: Tree> State<D> {
    /// Notes the blobs that `data`, the server's version of a record (or a merge) stored here,
    /// refers to and the sync downloads.
    pub(super) fn want_blobs(&mut self, data: &D) {
        let (mode, _) = self.blob_policy;
        for blob in blob_refs(data) {
            if mode.eager(blob.size) && !self.blobs.contains_key(&blob.hash) {
                self.wanted.entry(blob.hash.clone()).or_insert((blob, false));
            }
        }
    }
}

impl<D> State<D> {
    pub(super) fn blob_bytes(&self) -> BlobBytes {
        let size = |b: &BlobRow| b.bytes.len() as u64;
        BlobBytes {
            stored: self.blobs.values().map(size).sum(),
            to_upload: self.blobs.values().filter(|b| b.uploaded != Uploaded::Yes).map(size).sum(),
            to_download: self.wanted.values().filter(|(_, failed)| !failed).map(|(b, _)| b.size).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sync::conflict::test_tree::V;

    #[test]
    fn a_write_beyond_the_cap_evicts_downloaded_blobs_never_its_own() {
        let store: MemoryStore<V> =
            MemoryStore::new(&["notes"]).with_blob_policy(DownloadMode::Eager { up_to: u64::MAX }, Some(10));
        let pulled = BlobRef { hash: hash_of(b"pulled bytes"), size: 12, media_type: String::new() };
        store.state.borrow_mut().wanted.insert(pulled.hash.clone(), (pulled.clone(), false));
        store.keep_range(&pulled.hash, 0, b"pulled bytes");
        assert_eq!(store.check_download(&pulled.hash), pulled.hash);
        store.end_download(&pulled.hash, Downloaded::Stored, 5.0);
        // Over the cap on its own, and the only blob: evicted as it arrives.
        assert!(store.blob_bytes(&pulled.hash).is_none());
        let mine = store.put_blob(b"twenty bytes of mine".to_vec(), "");
        assert!(store.blob_bytes(&mine.hash).is_some(), "only here: kept whatever the cap");
        assert_eq!(store.state.borrow().blob_bytes().to_upload, 20);
    }
}
