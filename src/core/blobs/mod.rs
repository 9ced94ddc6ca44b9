//! Blobs (files in records): the rules the sync follows for them, with no web dependency.
//!
//! A record holds a blob as a reference (`protocol::BlobRef`: its SHA-256, size and media type);
//! the bytes are stored once per hash beside the records, and go to the server before any
//! change that refers to them ([`ready`]), in chunks that resume from the server's offset
//! ([`upload`]). [`hash`] computes the address chunk by chunk, so a file is never copied whole.
//! Pulled references are downloaded during the sync or on first read ([`cache::DownloadMode`]),
//! checked against their address ([`download`]), and evicted least recently used beyond a cap,
//! never one whose bytes are only here ([`cache::evictions`]).

pub mod cache;
pub mod download;
pub mod hash;
pub mod refs;
pub mod state;
pub mod upload;

pub use cache::{evictions, Cached, DownloadMode};
pub use download::{Download, Downloaded};
pub use hash::Hasher;
pub use refs::{blob_hashes, blob_refs};
pub use state::{ready, BlobState, Uploaded};
pub use upload::{Answer, Step, Upload};
