//! Blobs: how a record refers to one, and the resumable upload and the download of its bytes.
//!
//! A blob is addressed by the SHA-256 of its bytes, written as 64 lowercase hex digits. A record
//! holds a blob as a reference object in its data, at any depth:
//!
//! ```json
//! { "photo": { "$blob": "9f86d0…", "size": 4, "type": "image/png" } }
//! ```
//!
//! The bytes go up before the mutation that refers to them, in chunks, through
//! `/v1/blobs/{hash}/upload` ([`upload_path`]): `GET` tells how many bytes the server has ([`UploadStatus`]),
//! `PATCH ?offset=&size=` appends a chunk at exactly that offset, and the server checks the hash
//! when the last byte lands. A blob is stored once per tenant and never crosses tenants: another
//! tenant's blob with the same hash is, to this tenant, a blob that does not exist.

use serde::{Deserialize, Serialize};

use super::codes;
use super::names::Rejection;

/// `/v1/blobs/{hash}`: `GET` gives a complete blob's bytes (`Range: bytes=a-b` or `a-` gives
/// part of them, 206); a blob this tenant does not have is 404 `blob_not_found`.
pub fn blob_path(hash: &str) -> String {
    format!("{}/{hash}", super::BLOBS_PATH)
}

/// `/v1/blobs/{hash}/upload`: `GET` gives the [`UploadStatus`]; `PATCH ?offset=&size=` with an
/// `application/octet-stream` body appends the bytes at `offset` of a blob of `size` bytes.
pub fn upload_path(hash: &str) -> String {
    format!("{}/{hash}/upload", super::BLOBS_PATH)
}

/// The key that marks an object in record data as a blob reference.
pub const BLOB_KEY: &str = "$blob";

/// A blob's content address: the SHA-256 of its bytes, 64 lowercase hex digits.
pub type Hash = String;

/// Whether `hash` is a content address as the protocol writes it: 64 lowercase hex digits.
pub fn is_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A content address, or the `invalid_hash` error that names what is wrong with it (its length,
/// never its text).
pub fn check_hash(hash: &str) -> Result<(), Rejection> {
    if is_hash(hash) {
        return Ok(());
    }
    Err(Rejection::new(
        codes::INVALID_HASH,
        format!("a blob hash has {} bytes; it must be the SHA-256 of the bytes as 64 lowercase hex digits", hash.len()),
    ))
}

/// A record's reference to a blob: what the `{"$blob": …}` object in its data holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobRef {
    /// The SHA-256 of the bytes, 64 lowercase hex digits.
    pub hash: Hash,
    /// The number of bytes.
    pub size: u64,
    /// The media type the app gave the blob (`Blob.type`); empty when it gave none.
    pub media_type: String,
}

/// Longest media type a blob reference may carry, in UTF-8 bytes.
pub const MAX_MEDIA_TYPE_BYTES: usize = 255;

impl BlobRef {
    /// A reference read from its three fields, checked: a content address, a size within
    /// `max_size`, a media type of printable ASCII within [`MAX_MEDIA_TYPE_BYTES`]. The error is
    /// the mutation's rejection (`invalid_blob_ref`, or `blob_too_large`).
    pub fn new(hash: &str, size: u64, media_type: &str, max_size: u64) -> Result<BlobRef, Rejection> {
        check_hash(hash).map_err(|r| Rejection::new(codes::INVALID_BLOB_REF, r.message))?;
        if size > max_size {
            return Err(Rejection::new(
                codes::BLOB_TOO_LARGE,
                format!("a blob of {size} bytes is larger than the limit of {max_size}"),
            ));
        }
        if media_type.len() > MAX_MEDIA_TYPE_BYTES || !media_type.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(Rejection::new(
                codes::INVALID_BLOB_REF,
                format!(
                    "a blob's media type has {} bytes; it must be printable ASCII of at most {MAX_MEDIA_TYPE_BYTES}",
                    media_type.len()
                ),
            ));
        }
        Ok(BlobRef { hash: hash.to_owned(), size, media_type: media_type.to_owned() })
    }
}

/// The answer to `GET` (and a successful `PATCH`) of a blob's upload: how far it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadStatus {
    /// The bytes the server holds, from the start: the offset the next chunk must be sent at.
    /// Equal to `size` once the blob is complete.
    pub offset: u64,
    /// The size the upload declared; `null` when nothing of the blob is on the server yet.
    pub size: Option<u64>,
    /// True once every byte is there and their SHA-256 is the blob's hash: the blob is stored,
    /// and mutations that refer to it apply.
    pub complete: bool,
}

/// What a client does about one chunk's answer, decided from the status and error code alone:
/// the one rule every uploader (the browser's, the simulation's) follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Go on from this offset (the chunk landed, or the server holds a different amount: the
    /// 409 `offset_mismatch` body's `offset`).
    ContinueAt(u64),
    /// The blob is on the server, whole and checked.
    Complete,
    /// The bytes did not hash to the address (422 `hash_mismatch`): the server dropped them and
    /// the upload starts over at 0 once; a second mismatch means the local bytes are not the
    /// blob, and the blob fails for good.
    HashMismatch,
    /// Refused for good (`blob_too_large`, `quota_exceeded`, `size_mismatch`, `invalid_hash`):
    /// the blob becomes a dead letter of its record, with this code.
    Refused(&'static str),
}

/// The code a refusal stands under, if `code` is one a retry never fixes.
pub fn permanent_refusal(code: &str) -> Option<&'static str> {
    [codes::BLOB_TOO_LARGE, codes::QUOTA_EXCEEDED, codes::SIZE_MISMATCH, codes::INVALID_HASH]
        .into_iter()
        .find(|c| *c == code)
}

/// The default size of the chunks a client sends: small enough that a lost connection costs
/// little and a request stays under the server's body limit, large enough that the per-request
/// cost is a small share of the bytes.
pub const DEFAULT_CHUNK_BYTES: u64 = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashes_are_64_lowercase_hex_digits() {
        assert!(is_hash(EMPTY));
        assert!(!is_hash(&EMPTY.to_uppercase()));
        assert!(!is_hash(&EMPTY[1..]));
        assert!(!is_hash(&format!("{}g", &EMPTY[1..])));
        let r = check_hash("../x").unwrap_err();
        assert_eq!(r.code, codes::INVALID_HASH);
        assert!(!r.message.contains("../x"));
    }

    #[test]
    fn a_reference_is_checked_field_by_field() {
        assert_eq!(BlobRef::new(EMPTY, 0, "", 10).unwrap().size, 0);
        assert_eq!(BlobRef::new("nope", 1, "", 10).unwrap_err().code, codes::INVALID_BLOB_REF);
        assert_eq!(BlobRef::new(EMPTY, 11, "", 10).unwrap_err().code, codes::BLOB_TOO_LARGE);
        assert_eq!(BlobRef::new(EMPTY, 1, "image/\n", 10).unwrap_err().code, codes::INVALID_BLOB_REF);
        assert_eq!(BlobRef::new(EMPTY, 1, &"a".repeat(256), 10).unwrap_err().code, codes::INVALID_BLOB_REF);
        assert_eq!(BlobRef::new(EMPTY, 1, "image/png; q=1", 10).unwrap().media_type, "image/png; q=1");
    }

    #[test]
    fn only_refusals_no_retry_fixes_are_permanent() {
        assert_eq!(permanent_refusal("quota_exceeded"), Some(codes::QUOTA_EXCEEDED));
        assert_eq!(permanent_refusal("offset_mismatch"), None);
        assert_eq!(permanent_refusal("unavailable"), None);
    }
}
