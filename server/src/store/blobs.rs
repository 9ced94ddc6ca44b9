//! What the SQL store keeps about blobs (their bytes are in `blobs::BlobObjects`): complete
//! blobs (tenant, hash, size, last referenced), uploads in progress (declared size, bytes
//! received, started and last written) with their chunks (offset, length, object key), and which
//! record refers to which blob. Every step that several server processes may race on is one
//! conditional statement in the database, never a read then a write.

use std::sync::Arc;

use super::{BoxFuture, StoreError};

/// One chunk of an upload in progress: `len` bytes at `offset`, in the object `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub offset: u64,
    pub len: u64,
    pub key: String,
}

/// Where one tenant's blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobState {
    /// Nothing of it: no complete blob, no upload.
    Absent,
    /// An upload declared `size` bytes and holds the first `received`.
    Uploading { size: u64, received: u64 },
    /// Stored and checked.
    Complete { size: u64 },
}

/// The answer to starting an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// The blob's state now: the new upload, or what was there already.
    State(BlobState),
    /// The tenant's blobs (complete, and declared by uploads) take `used` bytes: this upload
    /// would pass the quota. Nothing was started.
    QuotaExceeded { used: u64 },
}

/// The answer to recording a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The chunk is the upload's; it now holds `received` bytes.
    Received(u64),
    /// The upload was not at the chunk's offset (another chunk landed first, the upload was
    /// dropped or finished): nothing was recorded, and this is the state now.
    Lost(BlobState),
}

/// What one collection pass deleted the rows of: complete blobs (tenant, hash) and the object
/// keys of the chunks of dropped uploads.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    pub blobs: Vec<(String, String)>,
    pub chunks: Vec<String>,
    /// Uploads dropped.
    pub uploads: u64,
    /// Chunk objects that no upload lists (written by a process that stopped before recording
    /// them), deleted; counted by `blobs::gc::collect`, not by the store.
    pub orphans: u64,
}

/// Deletes the objects of collected rows; called by the store before it commits the rows'
/// deletion, so that no new upload of a collected blob can start before its object is gone.
pub type DeleteObjects = Arc<dyn Fn(Collected) -> BoxFuture<'static, Result<(), StoreError>> + Send + Sync>;

/// Rows collected per transaction, so that writers never wait long behind a collection.
pub const COLLECT_BATCH: u64 = 500;
