//! Downloads, the browser's side: the bytes of a download under way, in memory until they are
//! checked and stored (the driver's read of a blob that is not here drives the core's machine
//! over them, as the sync's eager downloads do).

use js_sys::{Array, ArrayBuffer, Uint8Array};

use crate::core::blobs::Hasher;

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
