//! The bytes of blobs, behind the `object_store` crate: a local directory, memory, or (the same
//! code) any store it serves.
//!
//! Keys are per tenant, each tenant name one encoded path part (so no tenant string can reach
//! another's keys or leave the directory):
//!
//! - `{tenant}/{hash}`: a complete, checked blob;
//! - `{tenant}/uploads/{hash}/{offset:020}-{random}`: one chunk of an upload in progress. Chunks
//!   are separate objects, listed in the SQL store, so that any server process over the database
//!   can take the next one; the random part keeps a chunk that lost a race (or a chunk of a
//!   dropped upload) from ever being mistaken for the one that won.

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::store::blobs::Chunk;

/// Parts of at most this many bytes are handed to the store when a blob is assembled, and at
/// most [`ASSEMBLY_PARTS`] of them are in flight: what assembling one blob holds in memory.
const ASSEMBLY_PART_BYTES: usize = 5 * 1024 * 1024;
const ASSEMBLY_PARTS: usize = 2;

/// A failure of the object store: logged, answered 500 (or 503 when it says to retry).
#[derive(Debug)]
pub struct ObjectError(pub object_store::Error);

impl ObjectError {
    pub fn is_not_found(&self) -> bool {
        matches!(self.0, object_store::Error::NotFound { .. })
    }
}

impl std::fmt::Display for ObjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "blob storage: {}", self.0)
    }
}

impl std::error::Error for ObjectError {}

impl From<object_store::Error> for ObjectError {
    fn from(e: object_store::Error) -> Self {
        ObjectError(e)
    }
}

/// The object store of the blobs' bytes, and the keys in it.
#[derive(Clone, Debug)]
pub struct BlobObjects {
    store: Arc<dyn ObjectStore>,
}

impl BlobObjects {
    /// Over any object store.
    pub fn new(store: Arc<dyn ObjectStore>) -> BlobObjects {
        BlobObjects { store }
    }

    /// In memory, lost at exit (`--memory`, the simulation).
    pub fn in_memory() -> BlobObjects {
        BlobObjects::new(Arc::new(InMemory::new()))
    }

    /// In `dir`, created if missing. Directories left empty by deletes are removed.
    pub fn local(dir: &FsPath) -> Result<BlobObjects, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the blob directory {}: {e}", dir.display()))?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| format!("cannot use the blob directory {}: {e}", dir.display()))?
            .with_automatic_cleanup(true);
        Ok(BlobObjects::new(Arc::new(fs)))
    }

    /// The key of a complete blob.
    pub fn blob_key(tenant: &str, hash: &str) -> Path {
        Path::from_iter([tenant, hash])
    }

    /// A fresh key for the chunk of an upload at `offset`.
    pub fn chunk_key(tenant: &str, hash: &str, offset: u64) -> Path {
        let name = format!("{offset:020}-{:016x}", fastrand::u64(..));
        Path::from_iter([tenant, "uploads", hash, name.as_str()])
    }

    /// Stores one chunk under `key`.
    pub async fn put_chunk(&self, key: &Path, bytes: Bytes) -> Result<(), ObjectError> {
        self.store.put(key, PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// Deletes the objects, several at once (S3: in bulk requests of up to 1000 keys); one
    /// already gone is not an error.
    pub async fn delete(&self, keys: impl IntoIterator<Item = Path> + Send) -> Result<(), ObjectError> {
        let keys: Vec<Path> = keys.into_iter().collect();
        if keys.is_empty() {
            return Ok(());
        }
        let mut deleted = self.store.delete_stream(futures_util::stream::iter(keys.into_iter().map(Ok)).boxed());
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Up to `max` chunk objects (every tenant's) last written before `before_ms` (ms since the
    /// epoch).
    pub async fn old_chunks(&self, before_ms: u64, max: usize) -> Result<Vec<Path>, ObjectError> {
        let tenants = self.store.list_with_delimiter(None).await?.common_prefixes;
        let mut old = Vec::new();
        for tenant in tenants {
            let mut listed = self.store.list(Some(&tenant.child("uploads")));
            while let Some(meta) = listed.next().await {
                let meta = match meta {
                    Ok(meta) => meta,
                    Err(object_store::Error::NotFound { .. }) => break,
                    Err(e) => return Err(e.into()),
                };
                if (meta.last_modified.timestamp_millis().max(0) as u64) < before_ms {
                    old.push(meta.location);
                    if old.len() >= max {
                        return Ok(old);
                    }
                }
            }
        }
        Ok(old)
    }

    /// Streams the chunks, in order, through SHA-256 into the blob's object. When the bytes hash
    /// to `hash` the object is written and the answer is true; otherwise nothing is written and
    /// the answer is false. Holds at most a few parts in memory, whatever the blob's size.
    pub async fn assemble(&self, tenant: &str, hash: &str, chunks: &[Chunk]) -> Result<bool, ObjectError> {
        let upload = self.store.put_multipart(&BlobObjects::blob_key(tenant, hash)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, ASSEMBLY_PART_BYTES);
        let mut hasher = Sha256::new();
        let copied: Result<(), ObjectError> = async {
            for chunk in chunks {
                let mut stream = self.store.get(&stored_key(&chunk.key)?).await?.into_stream();
                while let Some(bytes) = stream.next().await {
                    let bytes = bytes?;
                    hasher.update(&bytes);
                    writer.wait_for_capacity(ASSEMBLY_PARTS).await?;
                    writer.put(bytes);
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = copied {
            let _ = writer.abort().await;
            return Err(e);
        }
        if hex(&hasher.finalize()) != hash {
            writer.abort().await?;
            return Ok(false);
        }
        writer.finish().await?;
        Ok(true)
    }

    /// The bytes of a complete blob, all of them or `range` (start, and end exclusive, within
    /// the blob).
    pub async fn read(
        &self,
        tenant: &str,
        hash: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, ObjectError>>, ObjectError> {
        let options = GetOptions { range: range.map(GetRange::Bounded), ..GetOptions::default() };
        let got = self.store.get_opts(&BlobObjects::blob_key(tenant, hash), options).await?;
        Ok(got.into_stream().map(|r| r.map_err(ObjectError)).boxed())
    }
}

/// A key as the SQL store keeps it (the text of a [`Path`], its parts already encoded).
pub fn stored_key(key: &str) -> Result<Path, ObjectError> {
    Path::parse(key).map_err(|source| ObjectError(object_store::Error::InvalidPath { source }))
}

/// Lowercase hex digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_are_one_encoded_part() {
        let key = BlobObjects::blob_key("../a/b", "f00");
        assert_eq!(key.parts().count(), 2, "{key}");
        assert_eq!(key.as_ref(), "..%2Fa%2Fb/f00");
        assert_eq!(BlobObjects::blob_key("..", "f00").as_ref(), "%2E%2E/f00");
        // As the SQL store keeps it, and back, unchanged.
        let odd = BlobObjects::chunk_key("a%b/ c", "f00", 0);
        assert_eq!(stored_key(odd.as_ref()).unwrap(), odd);
        let chunk = BlobObjects::chunk_key("t", "f00", 7);
        assert!(chunk.as_ref().starts_with("t/uploads/f00/00000000000000000007-"), "{chunk}");
        assert_ne!(chunk, BlobObjects::chunk_key("t", "f00", 7));
    }

    #[tokio::test]
    async fn chunks_assemble_into_a_checked_blob() {
        let objects = BlobObjects::in_memory();
        let data = b"hello, blob";
        let hash = hex(&Sha256::digest(data));
        let mut chunks = Vec::new();
        for (offset, part) in [(0u64, &data[..5]), (5, &data[5..])] {
            let key = BlobObjects::chunk_key("t", &hash, offset);
            objects.put_chunk(&key, Bytes::copy_from_slice(part)).await.unwrap();
            chunks.push(Chunk { offset, len: part.len() as u64, key: key.to_string() });
        }
        assert!(!objects.assemble("t", &"0".repeat(64), &chunks).await.unwrap());
        assert!(objects.assemble("t", &hash, &chunks).await.unwrap());
        let mut got = Vec::new();
        let mut stream = objects.read("t", &hash, Some(7..11)).await.unwrap();
        while let Some(b) = stream.next().await {
            got.extend_from_slice(&b.unwrap());
        }
        assert_eq!(got, b"blob");
        assert!(objects.read("t", &"0".repeat(64), None).await.err().unwrap().is_not_found());
    }
}
