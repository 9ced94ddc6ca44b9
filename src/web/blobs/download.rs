//! Downloads, the browser's side: the bytes of a download under way, in memory until they are
//! checked and stored (the driver's read of a blob that is not here drives the core's machine
//! over them, as the sync's eager downloads do).
//!
//! The bytes are hashed once all are here ([`super::digest`]: they are in memory anyway).

use js_sys::{Array, ArrayBuffer};

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
