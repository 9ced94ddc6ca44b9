//! Blobs in records, the browser's side. A write's `Blob`s (in the collection's declared blob
//! fields) are hashed chunk by chunk with the core's hasher and replaced by references before the
//! write's transaction, which stores each blob once in `_blobs` beside the record and its queued
//! change ([`prepare`]); a read puts the `Blob`s stored here back in place of the references
//! (`idb::blobs::resolve`). The blob helpers of `glue.js` walk the JS values. Nothing here touches
//! IndexedDB: `idb` uses this module, never the other way round.
//!
//! An engine that cannot store a `Blob` in IndexedDB (WebKit's ephemeral sessions, Safari's
//! private browsing: the put fails or never settles) is found by a probe before the first write
//! of a file ([`probe_blob_storage`]); there a row keeps the file's bytes as the ArrayBuffers read
//! while hashing, and a read rebuilds the `Blob` from them.

mod glue;
pub mod prepare;

pub use glue::{blob_of_row, blob_slice, probe_blob_storage, refs_in, with_blobs};
pub use prepare::fields;
