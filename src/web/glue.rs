//! Bindings to `glue.js`, the JS helpers of the edge.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbIndex, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction};

#[wasm_bindgen(module = "/src/web/glue.js")]
extern "C" {
    /// Resolves to `{ db }`, `{ error }` or `{ blocked }` (see `settleOpen`); `upgrade(db, tx,
    /// oldVersion)` runs in the versionchange transaction.
    #[wasm_bindgen(js_name = settleOpen)]
    pub fn settle_open(request: &IdbOpenDbRequest, upgrade: &JsValue, blocked_timeout_ms: u32) -> Promise;
    /// `keyPath`: a string, an array of them, or undefined (out-of-line keys).
    #[wasm_bindgen(js_name = createStore, catch)]
    pub fn create_store(db: &IdbDatabase, name: &str, key_path: &JsValue, auto_increment: bool) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = createIndex, catch)]
    pub fn create_index(
        store: &IdbObjectStore,
        name: &str,
        key_path: &JsValue,
        unique: bool,
        multi_entry: bool,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = requestDone)]
    pub fn request_done(request: &IdbRequest) -> Promise;
    #[wasm_bindgen(js_name = transactionDone)]
    pub fn transaction_done(tx: &IdbTransaction) -> Promise;
    #[wasm_bindgen(js_name = commitNow)]
    pub fn commit_now(tx: &IdbTransaction);
    /// Throws when a getter of the caller's object throws.
    #[wasm_bindgen(js_name = stampRecord, catch)]
    pub fn stamp_record(data: &JsValue, id: &JsValue, meta: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = makeMeta)]
    pub fn make_meta(
        version: f64,
        server_version: JsValue,
        status: &str,
        updated_at: f64,
        deleted: bool,
        tombstone_id: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = makeOutboxEntry)]
    pub fn make_outbox_entry(
        mutation_id: &str,
        collection: &str,
        record_id: &JsValue,
        op: &str,
        base_version: JsValue,
        queued_at: f64,
        base: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = isTombstone)]
    pub fn is_tombstone(record: &JsValue) -> bool;
    #[wasm_bindgen(js_name = exportEntry)]
    pub fn export_entry(entry: &JsValue, record: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = storageEstimate)]
    pub fn storage_estimate() -> Promise;
    #[wasm_bindgen(js_name = requestPersistence)]
    pub fn request_persistence() -> Promise;
    #[wasm_bindgen(js_name = assembleRows)]
    pub fn assemble_rows(old: &Array, fresh: &Array, sources: &[i32]) -> Array;
    #[wasm_bindgen(js_name = withoutTombstones)]
    pub fn without_tombstones(records: &JsValue) -> Array;
    #[wasm_bindgen(js_name = makeError)]
    pub fn make_error(name: &str, message: &str, dom_name: Option<String>, dom_message: Option<String>) -> JsValue;
    /// Throws when a getter of the patch throws.
    #[wasm_bindgen(js_name = mergeFields, catch)]
    pub fn merge_fields(record: &JsValue, patch: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = hasLocks)]
    pub fn has_locks() -> bool;
    #[wasm_bindgen(js_name = withLock)]
    pub fn with_lock(name: &str, callback: &JsValue) -> Promise;
    /// Returns the function that gives the lock back.
    #[wasm_bindgen(js_name = takeLock)]
    pub fn take_lock(name: &str, granted: &Function) -> Function;
    #[wasm_bindgen(js_name = whenLockFree)]
    pub fn when_lock_free(name: &str, free: &Function) -> bool;
    #[wasm_bindgen(js_name = isOnline)]
    pub fn is_online() -> bool;
    /// Returns the function that stops listening.
    #[wasm_bindgen(js_name = listenNetwork)]
    pub fn listen_network(online: &Function, offline: &Function) -> Function;
    /// Registers a Background Sync of `tag` with this page's service worker, where there is one
    /// that can; nothing otherwise. Never throws.
    #[wasm_bindgen(js_name = askBackgroundSync)]
    pub fn ask_background_sync(tag: &str);
    /// Registers a Periodic Background Sync of `tag` where the browser grants the permission;
    /// nothing otherwise. Never throws.
    #[wasm_bindgen(js_name = askPeriodicSync)]
    pub fn ask_periodic_sync(tag: &str, min_interval_ms: u32);
    #[wasm_bindgen(js_name = withOp)]
    pub fn with_op(entry: &JsValue, op: &str) -> JsValue;
    #[wasm_bindgen(js_name = strictTransaction, catch)]
    pub fn strict_transaction(db: &IdbDatabase, names: &Array) -> Result<IdbTransaction, JsValue>;
    #[wasm_bindgen(js_name = wireData)]
    pub fn wire_data(record: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = withMeta)]
    pub fn with_meta(record: &JsValue, meta: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = countSends)]
    pub fn count_sends(entry: &JsValue, attempts: f64) -> JsValue;
    #[wasm_bindgen(js_name = markNeverSent)]
    pub fn mark_never_sent(entry: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = withBase)]
    pub fn with_base(entry: &JsValue, version: f64, base: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = holdEntry)]
    pub fn hold_entry(entry: &JsValue, hold: &str, error: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = callResolver)]
    pub fn call_resolver(resolver: &Function, conflict: &JsValue, timeout_ms: u32) -> Promise;
    #[wasm_bindgen(js_name = countQueued)]
    pub fn count_queued(name: &str) -> Promise;
    #[wasm_bindgen(js_name = forceEntry)]
    pub fn force_entry(entry: &JsValue, mutation_id: &str, attempts: f64, never_sent: bool) -> JsValue;
    #[wasm_bindgen(js_name = retryEntry)]
    pub fn retry_entry(entry: &JsValue, mutation_id: &str) -> JsValue;
    #[wasm_bindgen(js_name = readMarker)]
    pub fn read_marker(name: &str) -> Promise;
    #[wasm_bindgen(js_name = writeMarker)]
    pub fn write_marker(name: &str, instance: &str, unsent: f64, seen_at: f64) -> Promise;
    #[wasm_bindgen(js_name = deleteMarker)]
    pub fn delete_marker(name: &str) -> Promise;
    #[wasm_bindgen(js_name = makeMutation)]
    pub fn make_mutation(
        mutation_id: &str,
        collection: &str,
        id: &str,
        op: &str,
        data: &JsValue,
        base_version: JsValue,
        force: bool,
        written_at: JsValue,
        space: Option<String>,
    ) -> JsValue;
    #[wasm_bindgen(js_name = makeServerRecord)]
    pub fn make_server_record(
        collection: &str,
        id: &str,
        version: f64,
        deleted: bool,
        data: &JsValue,
        updated_at: Option<f64>,
    ) -> JsValue;
    #[wasm_bindgen(js_name = makeRejection)]
    pub fn make_rejection(code: &str, message: &str) -> JsValue;
    #[wasm_bindgen(js_name = makeConflict)]
    pub fn make_conflict(
        collection: &str,
        id: &JsValue,
        local: &JsValue,
        server: &JsValue,
        base: &JsValue,
        detected_at: f64,
    ) -> JsValue;
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = makeLogEntry)]
    pub fn make_log_entry(
        at: f64,
        kind: &str,
        collection: &str,
        id: &str,
        by: Option<String>,
        kept: Option<String>,
        local: &JsValue,
        server: &JsValue,
        code: Option<String>,
        message: Option<String>,
    ) -> JsValue;
    #[wasm_bindgen(js_name = sameValue)]
    pub fn same_value(a: &JsValue, b: &JsValue) -> bool;
    #[wasm_bindgen(js_name = fieldsOf)]
    pub fn fields_of(value: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = makeFieldDiff)]
    pub fn make_field_diff(path: &Array, base: &JsValue, local: &JsValue, server: &JsValue, change: &str) -> JsValue;
    #[wasm_bindgen(js_name = fromFields)]
    pub fn from_fields(pairs: &Array) -> JsValue;
    /// `body`: a string (or a Blob, with its `content_type`), or undefined. Resolves to `{
    /// status, retryAfter, contentLength, json }`; rejects with the network error's text.
    #[wasm_bindgen(js_name = fetchJson)]
    pub fn fetch_json(
        url: &str,
        method: &str,
        authorization: Option<&str>,
        body: &JsValue,
        timeout_ms: u32,
        content_type: Option<&str>,
    ) -> Promise;
    /// `GET url` with `Range: bytes=start-(end-1)`: `{ status, retryAfter, contentLength, bytes
    /// | json }`; rejects with the network error's text.
    #[wasm_bindgen(js_name = fetchRange)]
    pub fn fetch_range(url: &str, authorization: Option<&str>, start: f64, end: f64, timeout_ms: u32) -> Promise;
    #[wasm_bindgen(js_name = callTransport)]
    pub fn call_transport(transport: &JsValue, method: &Function, args: &Array, timeout_ms: u32) -> Promise;
    /// Resolves to one value per id (undefined where there is no record).
    #[wasm_bindgen(js_name = getMany, catch)]
    pub fn get_many(store: &IdbObjectStore, ids: &Array) -> Result<Promise, JsValue>;
    /// Resolves to one array of entries per id.
    #[wasm_bindgen(js_name = entriesOfMany, catch)]
    pub fn entries_of_many(index: &IdbIndex, collection: &str, ids: &Array) -> Result<Promise, JsValue>;
    /// Throws what `put` throws synchronously (a DataError, say).
    #[wasm_bindgen(js_name = putEachUnlessClash, catch)]
    pub fn put_each_unless_clash(stores: &Array, values: &Array) -> Result<Promise, JsValue>;
    /// Resolves to `{ index, id }` or null.
    #[wasm_bindgen(js_name = findUniqueClash)]
    pub fn find_unique_clash(store: &IdbObjectStore, records: &Array, rewritten: &Array) -> Promise;
    #[wasm_bindgen(js_name = notifyAll)]
    pub fn notify_all(listeners: &Array, event: &JsValue);
}

/// Calls `f` with `arg`, for JS callbacks whose result matters (migrations).
pub fn call1(f: &Function, arg: &JsValue) -> Result<JsValue, JsValue> {
    f.call1(&JsValue::UNDEFINED, arg)
}
