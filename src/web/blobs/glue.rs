//! Bindings to the blob helpers of `glue.js` (one module with the rest: every JS module is one
//! more request when the page loads).

use js_sys::{Array, Map, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/web/glue.js")]
extern "C" {
    /// `{ data, found: [[blob, reference], ...] }`, `{ misplaced: field }`, or undefined.
    #[wasm_bindgen(js_name = takeBlobs, catch)]
    pub fn take_blobs(data: &JsValue, fields: &Array) -> Result<JsValue, JsValue>;
    /// Resolves to the ArrayBuffer of bytes `start .. end`.
    #[wasm_bindgen(js_name = blobChunk)]
    pub fn blob_chunk(blob: &JsValue, start: f64, end: f64) -> Promise;
    /// Bytes `start .. end` as a Blob (a request body, never copied into memory here).
    #[wasm_bindgen(js_name = blobSlice)]
    pub fn blob_slice(blob: &JsValue, start: f64, end: f64) -> JsValue;
    /// `parts`: undefined, or the bytes as ArrayBuffers (where the engine stores no Blobs).
    #[wasm_bindgen(js_name = makeBlobRow)]
    pub fn make_blob_row(hash: &str, blob: &JsValue, parts: &JsValue, size: f64, media_type: &str, now: f64)
        -> JsValue;
    /// The Blob of a `_blobs` row, or undefined.
    #[wasm_bindgen(js_name = blobOfRow)]
    pub fn blob_of_row(row: &JsValue) -> JsValue;
    /// Resolves to whether this engine stores Blobs in IndexedDB.
    #[wasm_bindgen(js_name = probeBlobStorage)]
    pub fn probe_blob_storage(db: &web_sys::IdbDatabase, store: &str, timeout_ms: u32) -> Promise;
    /// The hashes a record's `fields` refer to.
    #[wasm_bindgen(js_name = refsIn)]
    pub fn refs_in(record: &JsValue, fields: &Array) -> Array;
    #[wasm_bindgen(js_name = withBlobs)]
    pub fn with_blobs(record: &JsValue, fields: &Array, rows: &Map) -> JsValue;
}
