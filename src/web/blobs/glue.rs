//! Bindings to the blob helpers of `glue.js` (one module with the rest: every JS module is one
//! more request when the page loads).

use js_sys::{Array, Map, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/web/glue.js")]
extern "C" {
    /// `{ data, found: [[blob, reference], ...] }`, `{ misplaced: field }`, or undefined.
    #[wasm_bindgen(js_name = takeBlobs, catch)]
    pub fn take_blobs(data: &JsValue, fields: &Array) -> Result<JsValue, JsValue>;
    /// Resolves to the SHA-256 (hex) of `parts` (ArrayBuffers) by Web Crypto, or to undefined
    /// where there is none.
    #[wasm_bindgen(js_name = digestParts)]
    pub fn digest_parts(parts: &Array) -> Promise;
    /// Whether a value is a Blob (a File is one), from any realm.
    #[wasm_bindgen(js_name = isBlob)]
    pub fn is_blob(value: &JsValue) -> bool;
    /// Resolves to the ArrayBuffer of bytes `start .. end`.
    #[wasm_bindgen(js_name = blobChunk)]
    pub fn blob_chunk(blob: &JsValue, start: f64, end: f64) -> Promise;
    /// Bytes `start .. end` as a Blob (a request body, never copied into memory here).
    #[wasm_bindgen(js_name = blobSlice)]
    pub fn blob_slice(blob: &JsValue, start: f64, end: f64) -> JsValue;
    /// `parts`: undefined, or the bytes as ArrayBuffers (where the engine stores no Blobs);
    /// `on_server`: downloaded (no upload to do).
    #[wasm_bindgen(js_name = makeBlobRow)]
    pub fn make_blob_row(
        hash: &str,
        blob: &JsValue,
        parts: &JsValue,
        size: f64,
        media_type: &str,
        now: f64,
        on_server: bool,
    ) -> JsValue;
    /// The Blob of a `_blobs` row, or undefined.
    #[wasm_bindgen(js_name = blobOfRow)]
    pub fn blob_of_row(row: &JsValue) -> JsValue;
    /// Resolves to whether this engine stores Blobs in IndexedDB.
    #[wasm_bindgen(js_name = probeBlobStorage)]
    pub fn probe_blob_storage(db: &web_sys::IdbDatabase, store: &str, timeout_ms: u32) -> Promise;
    /// The hashes a record's `fields` refer to.
    #[wasm_bindgen(js_name = refsIn)]
    pub fn refs_in(record: &JsValue, fields: &Array) -> Array;
    /// The references (`{ $blob, size, type }`) a record's `fields` hold.
    #[wasm_bindgen(js_name = refsIn)]
    pub fn ref_objects_in(record: &JsValue, fields: &Array, objects: bool) -> Array;
    /// The `_blobs` row of a blob to download.
    #[wasm_bindgen(js_name = wantedBlobRow)]
    pub fn wanted_blob_row(reference: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = blobOfParts)]
    pub fn blob_of_parts(parts: &Array, media_type: &str) -> JsValue;
    #[wasm_bindgen(js_name = withBlobs)]
    pub fn with_blobs(record: &JsValue, fields: &Array, rows: &Map) -> JsValue;
}
