//! Downloads, the browser's side: the bytes of a download under way, in memory until they are
//! checked and stored (the driver's read of a blob that is not here drives the core's machine
//! over them, as the sync's eager downloads do).
//!
//! The bytes are hashed once all are here, by Web Crypto where there is one (several times the
//! speed of the wasm hasher, and they are in memory anyway), else by the core's hasher (an
//! insecure context has no `crypto.subtle`).

use js_sys::{Array, ArrayBuffer, Uint8Array};
use wasm_bindgen_futures::JsFuture;

use crate::core::blobs::Hasher;

use super::glue;

/// The bytes received so far for one blob.
pub struct Received {
    pub hash: String,
    parts: Array,
}

impl Received {
    pub fn new(hash: &str) -> Received {
        Received { hash: hash.to_string(), parts: Array::new() }
    }

    /// Keeps `buffer`, received at `offset`; an `offset` of 0 starts over.
    pub fn keep(&mut self, offset: u64, buffer: &ArrayBuffer) {
        if offset == 0 {
            self.parts = Array::new();
        }
        self.parts.push(buffer);
    }

    pub fn parts(&self) -> &Array {
        &self.parts
    }
}

/// The SHA-256 (hex) of `parts` (ArrayBuffers), in order.
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
