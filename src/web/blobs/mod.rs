//! Blobs in records, the browser's side. A write's `Blob`s (in the collection's declared blob
//! fields) are hashed (by Web Crypto when read in one step, else chunk by chunk by the core's
//! hasher) and replaced by references before the write's transaction, which stores each blob
//! once in `_blobs` beside the record and its queued change ([`prepare`]); a read puts the
//! `Blob`s stored here back in place of the references (`idb::blobs::resolve`). The blob helpers
//! of `glue.js` walk the JS values. Nothing here touches IndexedDB: `idb` uses this module, never
//! the other way round.
//!
//! An engine that cannot store a `Blob` in IndexedDB (WebKit's ephemeral sessions, Safari's
//! private browsing: the put fails or never settles) is found by a probe before the first write
//! of a file ([`probe_blob_storage`]); there a row keeps the file's bytes as the ArrayBuffers read
//! while hashing, and a read rebuilds the `Blob` from them.

pub mod download;
mod glue;
pub mod prepare;

pub use glue::{
    blob_of_parts, blob_of_row, blob_slice, is_blob, make_blob_row, probe_blob_storage, ref_objects_in, refs_in,
    wanted_blob_row, with_blobs,
};
pub use prepare::fields;

use js_sys::{Array, Uint8Array};
use wasm_bindgen_futures::JsFuture;

use crate::core::blobs::Hasher;

/// The SHA-256 (hex) of `parts` (ArrayBuffers in memory), in order: by Web Crypto where there is
/// one (native, several times the speed of the wasm hasher, and the bytes are never copied into
/// the wasm memory, which does not shrink again), else by the core's hasher (an insecure context
/// has no `crypto.subtle`).
pub async fn digest(parts: &Array) -> String {
    if let Ok(hex) = JsFuture::from(glue::digest_parts(parts)).await {
        if let Some(hex) = hex.as_string() {
            return hex;
        }
    }
    let mut hasher = Hasher::new();
    for part in parts.iter() {
        hasher.update(&Uint8Array::new(&part).to_vec());
    }
    hasher.finish()
}

thread_local! {
    /// What the probe found, by database name: probed once per database in this realm.
    static STORES_BLOBS: std::cell::RefCell<Vec<(String, bool)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether this engine stores `Blob`s in IndexedDB (probed once per database, before its first
/// blob is stored); an engine whose probe fails keeps the bytes as ArrayBuffers.
pub async fn stores_blobs(db: &web_sys::IdbDatabase) -> bool {
    let name = db.name();
    if let Some(known) = STORES_BLOBS.with(|k| k.borrow().iter().find(|(n, _)| *n == name).map(|(_, s)| *s)) {
        return known;
    }
    let probe = probe_blob_storage(db, crate::core::schema::BLOBS_STORE, 3_000);
    let stores = wasm_bindgen_futures::JsFuture::from(probe).await.ok().and_then(|v| v.as_bool()).unwrap_or(false);
    STORES_BLOBS.with(|k| k.borrow_mut().push((name, stores)));
    stores
}
