//! Limits. The `DEFAULT_*` values are the reference server's defaults (each can be changed with a
//! command-line option); the others are fixed by the protocol.

/// Largest request body a push may have, in bytes (over it: 413 `payload_too_large`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most mutations in one push (over it: 413 `batch_too_large`).
pub const DEFAULT_MAX_BATCH: usize = 100;
/// Largest `data` of one mutation, measured as compact JSON text in bytes (over it: that
/// mutation is rejected with `data_too_large`).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 256 * 1024;
/// Longest collection name, in UTF-8 bytes.
pub const MAX_COLLECTION_BYTES: usize = 128;
/// Longest record id, in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Page size of a pull without `limit`.
pub const DEFAULT_PULL_LIMIT: u32 = 100;
/// Largest page a pull returns; a larger `limit` is lowered to this.
pub const MAX_PULL_LIMIT: u32 = 1000;
/// Longest space id, in UTF-8 bytes.
pub const MAX_SPACE_BYTES: usize = 128;
/// Most spaces (the records without a space counting as one) in one `POST /v1/pull` (over it:
/// 413 `too_many_spaces`).
pub const MAX_PULL_SPACES: usize = 100;
/// Largest blob, in bytes (over it: 413 `blob_too_large`).
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 1024 * 1024 * 1024;
/// Largest chunk of a blob upload (one `PATCH` body), in bytes (over it: 413
/// `payload_too_large`).
pub const DEFAULT_MAX_CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Bytes of blobs one tenant may hold, complete and being uploaded (over it: 413
/// `quota_exceeded`).
pub const DEFAULT_BLOB_QUOTA_BYTES: u64 = 10 * 1024 * 1024 * 1024;
/// How long a blob no record refers to (and an upload that stopped) is kept, in seconds.
pub const DEFAULT_BLOB_GRACE_SECS: u64 = 24 * 60 * 60;
