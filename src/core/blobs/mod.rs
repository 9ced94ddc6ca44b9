//! Blobs (files in records): the rules the sync follows for them, with no web dependency.
//!
//! A record holds a blob as a reference (`protocol::BlobRef`: its SHA-256, size and media type);
//! the bytes are stored once per hash beside the records, and go to the server before any
//! change that refers to them ([`ready`]), in chunks that resume from the server's offset
//! ([`upload`]). [`hash`] computes the address chunk by chunk, so a file is never copied whole.

pub mod hash;
pub mod refs;
pub mod state;
pub mod upload;

pub use hash::Hasher;
pub use refs::blob_hashes;
pub use state::{ready, BlobState, Uploaded};
pub use upload::{Answer, Step, Upload};
