//! `/v1/blobs/{hash}/upload` (`GET`: how far the upload is; `PATCH ?offset=&size=`: the next
//! chunk) and `/v1/blobs/{hash}` (`GET`: the bytes, or a range of them), per tenant.
//!
//! [`status`], [`append`] and [`read`] are what the handlers call once the caller is known and
//! the body is read; the deterministic simulation (`sim/`) calls them without HTTP.

use std::ops::Range;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrysync::protocol::blobs::check_hash;
use ferrysync::protocol::UploadStatus;
use futures_util::stream::BoxStream;
use serde::Deserialize;

use super::error::Error;
use super::extractor::read_limited;
use super::AppState;
use crate::auth::Caller;
use crate::blobs::objects::{BlobObjects, ObjectError};
use crate::store::blobs::{Appended, BlobState, Chunk, Started};

const OCTET_STREAM: &str = "application/octet-stream";

/// The status of a blob in the answers' shape.
fn upload_status(state: BlobState) -> UploadStatus {
    match state {
        BlobState::Absent => UploadStatus { offset: 0, size: None, complete: false },
        BlobState::Uploading { size, received } => UploadStatus { offset: received, size: Some(size), complete: false },
        BlobState::Complete { size } => UploadStatus { offset: size, size: Some(size), complete: true },
    }
}

fn hash_of(path: Result<Path<String>, PathRejection>) -> Result<String, Error> {
    let Path(hash) = path.map_err(|_| Error::InvalidHash("a blob path must end in its hash".into()))?;
    check_hash(&hash).map_err(|r| Error::InvalidHash(r.message))?;
    Ok(hash)
}

/// How far the tenant's upload of blob `hash` is: the bytes the server holds (the offset of the
/// next chunk), the declared size (`None` before the first chunk), and whether the blob is
/// complete. Another tenant's blob of the same hash is, to this one, a blob nobody has.
pub async fn status(state: &AppState, tenant: &str, hash: &str) -> Result<UploadStatus, Error> {
    check_hash(hash).map_err(|r| Error::InvalidHash(r.message))?;
    Ok(upload_status(state.store.blob_state(tenant.to_string(), hash.to_string()).await?))
}

/// Appends `chunk` at byte `offset` of the tenant's blob `hash`, which has `size` bytes, and
/// answers how far the upload is then. The chunk must continue the upload exactly
/// ([`Error::OffsetMismatch`] with the offset to go on from), keep its declared size
/// ([`Error::SizeMismatch`]) and stay within it ([`Error::InvalidRequest`]); the first chunk
/// starts the upload ([`Error::BlobTooLarge`], [`Error::QuotaExceeded`]). When the last byte
/// lands, the chunks are streamed through SHA-256 into the blob: complete, or
/// [`Error::HashMismatch`] and the upload is dropped. A blob already complete changes nothing
/// and answers complete; an empty chunk at `size` finishes an upload whose check was
/// interrupted. The chunk length is not checked here (the HTTP side bounds the body).
pub async fn append(
    state: &AppState,
    tenant: &str,
    hash: &str,
    offset: u64,
    size: u64,
    chunk: Bytes,
) -> Result<UploadStatus, Error> {
    check_hash(hash).map_err(|r| Error::InvalidHash(r.message))?;
    let limits = &state.config.limits;
    if size > limits.max_blob_bytes {
        return Err(Error::BlobTooLarge { limit: limits.max_blob_bytes, got: size });
    }
    let len = chunk.len() as u64;
    if offset.saturating_add(len) > size {
        return Err(Error::InvalidRequest(format!(
            "a chunk of {len} bytes at offset {offset} goes past the blob's {size} bytes"
        )));
    }
    let (store, now) = (&state.store, (state.clock)());
    let (t, h) = (tenant.to_string(), hash.to_string());
    let mut current = store.blob_state(t.clone(), h.clone()).await?;
    if current == BlobState::Absent && offset == 0 {
        current = match store.blob_start(t.clone(), h.clone(), size, limits.blob_quota_bytes, now).await? {
            Started::State(s) => s,
            Started::QuotaExceeded { used } => {
                return Err(Error::QuotaExceeded { quota: limits.blob_quota_bytes, used })
            }
        };
    }
    let received = match current {
        BlobState::Complete { .. } => return Ok(upload_status(current)),
        BlobState::Absent => return Err(Error::OffsetMismatch { offset: 0 }),
        BlobState::Uploading { size: declared, .. } if declared != size => {
            return Err(Error::SizeMismatch { declared, got: size })
        }
        BlobState::Uploading { received, .. } if received != offset => {
            return Err(Error::OffsetMismatch { offset: received })
        }
        BlobState::Uploading { received, .. } => received,
    };
    let received = if len == 0 {
        received
    } else {
        let key = BlobObjects::chunk_key(tenant, hash, offset);
        state.blobs.put_chunk(&key, chunk).await?;
        let chunk = Chunk { offset, len, key: key.to_string() };
        match store.blob_append(t.clone(), h.clone(), chunk, now).await {
            Ok(Appended::Received(received)) => received,
            lost => {
                // Another chunk landed first, or the upload ended meanwhile: this one is not the
                // upload's, and its object goes.
                drop_objects(state, [key]).await;
                return match lost? {
                    Appended::Lost(s @ BlobState::Complete { .. }) => Ok(upload_status(s)),
                    Appended::Lost(BlobState::Uploading { received, .. }) => {
                        Err(Error::OffsetMismatch { offset: received })
                    }
                    Appended::Lost(BlobState::Absent) | Appended::Received(_) => {
                        Err(Error::OffsetMismatch { offset: 0 })
                    }
                };
            }
        }
    };
    if received < size {
        return Ok(UploadStatus { offset: received, size: Some(size), complete: false });
    }
    finish(state, tenant, hash, size).await
}

/// Checks a fully received upload and makes it a complete blob, or drops it.
async fn finish(state: &AppState, tenant: &str, hash: &str, size: u64) -> Result<UploadStatus, Error> {
    let (t, h) = (tenant.to_string(), hash.to_string());
    let chunks = state.store.blob_chunks(t.clone(), h.clone()).await?;
    let assembled = if tiles(&chunks, size) {
        state.blobs.assemble(tenant, hash, &chunks).await
    } else {
        Err(ObjectError(object_store::Error::NotFound {
            path: hash.to_string(),
            source: "the chunks do not cover the blob".into(),
        }))
    };
    match assembled {
        Ok(true) => {
            let done = state.store.blob_finish(t, h, (state.clock)()).await?;
            drop_chunks(state, done).await;
            Ok(UploadStatus { offset: size, size: Some(size), complete: true })
        }
        Ok(false) => {
            let dropped = state.store.blob_drop_upload(t, h).await?;
            drop_chunks(state, dropped).await;
            Err(Error::HashMismatch)
        }
        // Another process finished, dropped or collected the upload while this one read it.
        Err(e) if e.is_not_found() => match state.store.blob_state(t, h).await? {
            s @ BlobState::Complete { .. } => Ok(upload_status(s)),
            BlobState::Uploading { received, .. } => Err(Error::OffsetMismatch { offset: received }),
            BlobState::Absent => Err(Error::OffsetMismatch { offset: 0 }),
        },
        Err(e) => Err(e.into()),
    }
}

/// Whether the chunks, in order, are the bytes 0..size with no gap or overlap.
fn tiles(chunks: &[Chunk], size: u64) -> bool {
    let mut at = 0;
    for c in chunks {
        if c.offset != at {
            return false;
        }
        at += c.len;
    }
    at == size
}

async fn drop_chunks(state: &AppState, chunks: Vec<Chunk>) {
    let keys = chunks.iter().filter_map(|c| crate::blobs::objects::stored_key(&c.key).ok()).collect::<Vec<_>>();
    drop_objects(state, keys).await;
}

/// Deletes objects whose rows are gone; a failure leaves them to be deleted by hand (logged).
async fn drop_objects(state: &AppState, keys: impl IntoIterator<Item = object_store::path::Path> + Send) {
    if let Err(e) = state.blobs.delete(keys).await {
        tracing::warn!(error = %e, "could not delete the objects of dropped chunks");
    }
}

/// A complete blob's bytes, as [`read`] gives them.
pub struct BlobRead {
    /// The blob's size.
    pub size: u64,
    /// The part asked for (end exclusive), or `None` for all of it.
    pub range: Option<Range<u64>>,
    /// The bytes of that part, streamed from the object store.
    pub bytes: BoxStream<'static, Result<Bytes, ObjectError>>,
}

/// The bytes of the tenant's complete blob `hash`, all of them or the `range` a `Range` header
/// value asks for (`bytes=a-b` or `bytes=a-`; an end past the blob is cut to it).
/// [`Error::BlobNotFound`] unless the tenant holds the blob complete;
/// [`Error::RangeNotSatisfiable`] for a range outside it or of another form.
pub async fn read(state: &AppState, tenant: &str, hash: &str, range: Option<&str>) -> Result<BlobRead, Error> {
    check_hash(hash).map_err(|r| Error::InvalidHash(r.message))?;
    let BlobState::Complete { size } = state.store.blob_state(tenant.to_string(), hash.to_string()).await? else {
        return Err(Error::BlobNotFound);
    };
    let range = range.map(|r| parse_range(r, size)).transpose()?;
    let bytes = state.blobs.read(tenant, hash, range.clone()).await.map_err(|e| {
        if e.is_not_found() {
            tracing::error!(tenant, hash, "a complete blob's object is missing");
            Error::BlobNotFound
        } else {
            e.into()
        }
    })?;
    Ok(BlobRead { size, range, bytes })
}

/// One range `bytes=a-b` or `bytes=a-` within a blob of `size` bytes, end exclusive.
fn parse_range(value: &str, size: u64) -> Result<Range<u64>, Error> {
    let refuse = Error::RangeNotSatisfiable { size };
    let Some((first, last)) = value.trim().strip_prefix("bytes=").and_then(|r| r.split_once('-')) else {
        return Err(refuse);
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || !(last.is_empty() || digits(last)) {
        return Err(refuse);
    }
    let start: u64 = first.parse().map_err(|_| Error::RangeNotSatisfiable { size })?;
    let end = match last {
        "" => size,
        // Past the blob (or too large to parse): up to its end.
        last => last.parse::<u64>().map_or(size, |l| l.saturating_add(1).min(size)),
    };
    if start >= size || end <= start {
        return Err(refuse);
    }
    Ok(start..end)
}

pub async fn get_status(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Error> {
    let hash = hash_of(path)?;
    let slot = state.slots.acquire(&caller.tenant)?;
    let answer = status(&state, &caller.tenant, &hash).await?;
    Ok(slot.hold_until_sent(Json(answer).into_response()))
}

#[derive(Debug, Deserialize)]
pub struct ChunkParams {
    offset: Option<String>,
    size: Option<String>,
}

/// A query parameter that must be a whole number of bytes.
fn whole(name: &str, value: Option<&str>) -> Result<u64, Error> {
    let value = value.ok_or_else(|| Error::InvalidRequest(format!("the query needs {name}")))?;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidRequest(format!("{name} must be a whole number of bytes")));
    }
    value.parse().map_err(|_| Error::InvalidRequest(format!("{name} is too large")))
}

pub async fn patch_upload(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<ChunkParams>, QueryRejection>,
    request: Request,
) -> Result<Response, Error> {
    let hash = hash_of(path)?;
    let Query(params) = params.map_err(|e| Error::InvalidRequest(e.body_text()))?;
    let (offset, size) = (whole("offset", params.offset.as_deref())?, whole("size", params.size.as_deref())?);
    let media_type = request.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or(""));
    // No Content-Type is taken too: a browser sends none for a typed array's bytes.
    if media_type.is_some_and(|t| !t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(OCTET_STREAM)) {
        return Err(Error::UnsupportedMediaType(OCTET_STREAM));
    }
    let limits = &state.config.limits;
    if size > limits.max_blob_bytes {
        return Err(Error::BlobTooLarge { limit: limits.max_blob_bytes, got: size });
    }
    // The slot is taken before the body is read: what chunks hold in memory is bounded by the
    // in-flight limit times the chunk limit (a slow body is bounded by --body-timeout).
    let slot = state.slots.acquire(&caller.tenant)?;
    let body = tokio::time::timeout(limits.body_timeout, read_limited(request.into_body(), limits.max_chunk_bytes))
        .await
        .map_err(|_| Error::RequestTimeout)??;
    let answer = append(&state, &caller.tenant, &hash, offset, size, Bytes::from(body)).await?;
    Ok(slot.hold_until_sent(Json(answer).into_response()))
}

pub async fn get_blob(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let hash = hash_of(path)?;
    // Bytes that are not ASCII are no range this server serves: refused once the size is known.
    let range = headers.get(header::RANGE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let slot = state.slots.acquire(&caller.tenant)?;
    let blob = read(&state, &caller.tenant, &hash, range.as_deref()).await?;
    let (status, len) = match &blob.range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.end - r.start),
        None => (StatusCode::OK, blob.size),
    };
    let mut response = Response::new(Body::from_stream(blob.bytes));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(OCTET_STREAM));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // A content address never changes. But the answer is this tenant's: a browser's cache must
    // not give it to a request with another token (another tenant signed in on the same device).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    h.insert(header::VARY, HeaderValue::from_static("Authorization"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{hash}\"")) {
        h.insert(header::ETAG, etag);
    }
    if let Some(r) = &blob.range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{}", r.start, r.end - 1, blob.size)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(slot.hold_until_sent(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-3", 10).unwrap(), 0..4);
        assert_eq!(parse_range("bytes=4-", 10).unwrap(), 4..10);
        assert_eq!(parse_range("bytes=4-99", 10).unwrap(), 4..10);
        assert_eq!(parse_range("bytes=9-9", 10).unwrap(), 9..10);
        assert_eq!(parse_range("bytes=4-99999999999999999999999", 10).unwrap(), 4..10);
        for bad in ["bytes=10-", "bytes=5-4", "bytes=-3", "bytes=0-1,3-4", "items=0-1", "bytes=a-", "", "bytes=0-0"] {
            let size = if bad == "bytes=0-0" { 0 } else { 10 };
            assert!(parse_range(bad, size).is_err(), "{bad}");
        }
    }

    #[test]
    fn chunks_must_tile_the_blob() {
        let c = |offset, len| Chunk { offset, len, key: String::new() };
        assert!(tiles(&[c(0, 3), c(3, 2)], 5));
        assert!(tiles(&[], 0));
        assert!(!tiles(&[c(0, 3)], 5));
        assert!(!tiles(&[c(0, 3), c(2, 3)], 5));
    }
}
