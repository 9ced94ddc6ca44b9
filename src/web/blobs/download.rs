//! Downloads, the browser's side: the bytes of a download under way ([`Received`], in memory
//! until they are checked and stored), and a read's download of a blob that is not here
//! ([`fetch`]), which drives the core's machine as the sync's eager downloads do.

use js_sys::{Array, ArrayBuffer, Uint8Array};
use wasm_bindgen::JsValue;

use crate::core::blobs::download::{Downloaded, Step};
use crate::core::blobs::{Download, Hasher};
use crate::core::error::{Error, ErrorKind, Result};
use crate::protocol::BlobRef;

use super::super::idb::IdbStore;
use super::super::transport::Transport;

/// The bytes received so far for one blob, with their hash state.
pub struct Received {
    pub hash: String,
    parts: Array,
    hasher: Hasher,
}

impl Received {
    pub fn new(hash: &str) -> Received {
        Received { hash: hash.to_string(), parts: Array::new(), hasher: Hasher::new() }
    }

    /// Keeps `buffer`, received at `offset`; an `offset` of 0 starts over.
    pub fn keep(&mut self, offset: u64, buffer: &ArrayBuffer) {
        if offset == 0 {
            *self = Received::new(&self.hash);
        }
        self.hasher.update(&Uint8Array::new(buffer).to_vec());
        self.parts.push(buffer);
    }

    /// The SHA-256 of the bytes received.
    pub fn digest(&self) -> String {
        self.hasher.clone().finish()
    }

    pub fn parts(&self) -> &Array {
        &self.parts
    }
}

/// Downloads `blob` from the server through `transport`, in chunks of `chunk` bytes, checks it
/// and stores it: its `Blob`. Any failure is a [`ErrorKind::BlobNotDownloaded`] and stores
/// nothing.
pub async fn fetch(store: &IdbStore, transport: &Transport, blob: &BlobRef, chunk: u64, now: f64) -> Result<JsValue> {
    let not_downloaded = |why: String| {
        Error::new(ErrorKind::BlobNotDownloaded, format!("blob {} is not on this device, and {why}", blob.hash))
    };
    let mut download = Download::new(blob.hash.clone(), blob.size, chunk);
    let mut received = Received::new(&blob.hash);
    let mut step = download.start();
    loop {
        step = match step {
            Step::Fetch { offset, len } => match transport.fetch_range(&blob.hash, offset, len).await {
                Ok((answer, buffer)) => {
                    if let Some(buffer) = &buffer {
                        received.keep(offset, buffer);
                    }
                    download.fetched(answer)
                }
                Err(failure) => {
                    return Err(not_downloaded(format!("downloading it failed: {}", failure.to_error().message)))
                }
            },
            Step::Check => download.checked(&received.digest()),
            Step::Done => {
                return store.end_download(blob, Downloaded::Stored, Some(received.parts()), now).await;
            }
            Step::Failed { code, message } => {
                return Err(not_downloaded(format!("the server does not give it ({code}: {message})")))
            }
            Step::Unsupported => return Err(not_downloaded("the server has no blob endpoints".into())),
        };
    }
}
