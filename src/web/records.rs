//! Records and their metadata as JS values: what a caller passes (checked), the `_sync` field,
//! change events, and the status snapshot.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::ids::check_id;
use crate::core::meta::{RecordMeta, META_FIELD};
use crate::core::outbox::Op;
use crate::core::status::{BlobBytes, RecordStatus, SpaceStatus, SyncStatus, UploadProgress};

use super::glue;
use super::js::{get, opt_num, set_field, type_name};

/// Checks what a caller passed as a record (or a patch) and returns its `id`, if it has one.
/// A function or symbol deeper inside is caught by IndexedDB's structured clone (DataCloneError)
/// when the record is written, which aborts the transaction.
pub fn check_record(collection: &str, value: &JsValue) -> Result<Option<String>> {
    if !value.is_object() || Array::is_array(value) || value.is_function() {
        return Err(Error::new(
            ErrorKind::InvalidRecord,
            format!("a record of \"{collection}\" must be an object, got {}", type_name(value)),
        ));
    }
    if Reflect::has(value, &JsValue::from_str(META_FIELD)).unwrap_or(false) {
        return Err(Error::new(
            ErrorKind::ReservedField,
            format!("field \"{META_FIELD}\" is reserved for ferrysync's metadata and cannot be written (collection \"{collection}\")"),
        ));
    }
    let id = get(value, "id");
    if id.is_undefined() {
        return Ok(None);
    }
    let id = id.as_string().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidRecord,
            format!("a record id must be a string, got {} (collection \"{collection}\")", type_name(&id)),
        )
    })?;
    check_id(&id).map_err(|m| Error::new(ErrorKind::InvalidRecord, format!("{m} (collection \"{collection}\")")))?;
    Ok(Some(id))
}

/// A record id passed on its own (get, update, delete).
pub fn read_id(collection: &str, id: &JsValue) -> Result<String> {
    let s = id.as_string().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidRecord,
            format!("a record id must be a string, got {} (collection \"{collection}\")", type_name(id)),
        )
    })?;
    check_id(&s).map_err(|m| Error::new(ErrorKind::InvalidRecord, format!("{m} (collection \"{collection}\")")))?;
    Ok(s)
}

/// The metadata of a stored record (None if it has none, which only a foreign write can cause).
pub fn read_meta(record: &JsValue) -> Option<RecordMeta> {
    let meta = get(record, META_FIELD);
    if !meta.is_object() {
        return None;
    }
    Some(RecordMeta {
        version: get(&meta, "version").as_f64().unwrap_or(0.0) as u64,
        server_version: get(&meta, "serverVersion").as_f64().map(|v| v as u64),
        status: get(&meta, "status").as_string().and_then(|s| RecordStatus::parse(&s)).unwrap_or(RecordStatus::Pending),
        updated_at: get(&meta, "updatedAt").as_f64().unwrap_or(0.0),
        deleted: get(&meta, "deleted").as_bool().unwrap_or(false),
    })
}

/// The `_sync` object of a record whose id is `key` (kept on tombstones, for their index).
pub fn meta_to_js(meta: &RecordMeta, key: &JsValue) -> JsValue {
    let none = JsValue::UNDEFINED;
    glue::make_meta(
        meta.version as f64,
        opt_num(meta.server_version),
        meta.status.as_str(),
        meta.updated_at,
        meta.deleted,
        if meta.deleted { key } else { &none },
    )
}

/// The frozen-by-convention status snapshot object.
pub fn status_to_js(status: &SyncStatus) -> JsValue {
    let o = Object::new();
    set_field(&o, "online", &JsValue::from_bool(status.online));
    set_field(&o, "syncing", &JsValue::from_bool(status.syncing));
    set_field(&o, "pending", &JsValue::from_f64(status.pending as f64));
    set_field(&o, "failed", &JsValue::from_f64(status.failed as f64));
    set_field(&o, "conflicts", &JsValue::from_f64(status.conflicts as f64));
    set_field(&o, "lastSyncAt", &status.last_sync_at.map(JsValue::from_f64).unwrap_or(JsValue::NULL));
    set_field(&o, "lastError", &status.last_error.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL));
    let progress = match status.progress {
        Some((done, total)) => {
            let p = Object::new();
            set_field(&p, "done", &JsValue::from_f64(done as f64));
            set_field(&p, "total", &JsValue::from_f64(total as f64));
            p.into()
        }
        None => JsValue::NULL,
    };
    set_field(&o, "progress", &progress);
    // `{ [space]: { ready, pulled, lastSyncAt } }`, in the set's order.
    let spaces = Object::new();
    for s in &status.spaces {
        let one = Object::new();
        set_field(&one, "ready", &JsValue::from_bool(s.synced_at.is_some()));
        set_field(&one, "pulled", &s.pulled.map_or(JsValue::NULL, |n| JsValue::from_f64(n as f64)));
        set_field(&one, "lastSyncAt", &s.synced_at.map_or(JsValue::NULL, JsValue::from_f64));
        set_field(&spaces, &s.space, &Object::freeze(&one));
    }
    set_field(&o, "spaces", &Object::freeze(&spaces));
    let evicted = match &status.evicted {
        Some(e) => {
            let one = Object::new();
            set_field(&one, "detectedAt", &JsValue::from_f64(e.detected_at));
            set_field(&one, "lostUnsent", &JsValue::from_f64(e.lost_unsent as f64));
            set_field(&one, "lastSeenAt", &JsValue::from_f64(e.last_seen_at));
            Object::freeze(&one).into()
        }
        None => JsValue::NULL,
    };
    set_field(&o, "evicted", &evicted);
    // `{ blob, done, total }`: the blob being uploaded (the bytes the server holds of it), or
    // downloaded (the bytes received).
    set_field(&o, "upload", &progress_to_js(status.upload.as_ref()));
    set_field(&o, "download", &progress_to_js(status.download.as_ref()));
    set_field(&o, "blobsUnsupported", &JsValue::from_bool(status.blobs_unsupported));
    let bytes = Object::new();
    set_field(&bytes, "stored", &JsValue::from_f64(status.blob_bytes.stored as f64));
    set_field(&bytes, "toUpload", &JsValue::from_f64(status.blob_bytes.to_upload as f64));
    set_field(&bytes, "toDownload", &JsValue::from_f64(status.blob_bytes.to_download as f64));
    set_field(&o, "blobBytes", &Object::freeze(&bytes));
    Object::freeze(&o).into()
}

fn progress_to_js(progress: Option<&UploadProgress>) -> JsValue {
    let Some(p) = progress else { return JsValue::NULL };
    let one = Object::new();
    set_field(&one, "blob", &JsValue::from_str(&p.hash));
    set_field(&one, "done", &JsValue::from_f64(p.done as f64));
    set_field(&one, "total", &JsValue::from_f64(p.total as f64));
    Object::freeze(&one).into()
}

fn progress_from_js(p: &JsValue) -> Option<UploadProgress> {
    p.is_object().then(|| UploadProgress {
        hash: get(p, "blob").as_string().unwrap_or_default(),
        done: get(p, "done").as_f64().unwrap_or(0.0) as u64,
        total: get(p, "total").as_f64().unwrap_or(0.0) as u64,
    })
}

/// A status another tab posted (its snapshot object); fields it lacks read as not set.
pub fn status_from_js(theirs: &JsValue) -> SyncStatus {
    let progress = get(theirs, "progress");
    let count = |field: &str| get(theirs, field).as_f64().unwrap_or(0.0) as u64;
    SyncStatus {
        online: get(theirs, "online").as_bool().unwrap_or(false),
        syncing: get(theirs, "syncing").as_bool().unwrap_or(false),
        pending: count("pending"),
        failed: count("failed"),
        conflicts: count("conflicts"),
        last_sync_at: get(theirs, "lastSyncAt").as_f64(),
        last_error: get(theirs, "lastError").as_string(),
        progress: progress.is_object().then(|| {
            (
                get(&progress, "done").as_f64().unwrap_or(0.0) as u64,
                get(&progress, "total").as_f64().unwrap_or(0.0) as u64,
            )
        }),
        spaces: spaces_from_js(&get(theirs, "spaces")),
        // What an open found is that tab's to report.
        evicted: None,
        upload: progress_from_js(&get(theirs, "upload")),
        download: progress_from_js(&get(theirs, "download")),
        blobs_unsupported: get(theirs, "blobsUnsupported").as_bool().unwrap_or(false),
        blob_bytes: {
            let b = get(theirs, "blobBytes");
            let n = |f: &str| get(&b, f).as_f64().unwrap_or(0.0) as u64;
            BlobBytes { stored: n("stored"), to_upload: n("toUpload"), to_download: n("toDownload") }
        },
    }
}

fn spaces_from_js(spaces: &JsValue) -> Vec<SpaceStatus> {
    if !spaces.is_object() {
        return Vec::new();
    }
    Object::entries(spaces.unchecked_ref())
        .iter()
        .filter_map(|pair| {
            let pair = Array::from(&pair);
            let one = pair.get(1);
            Some(SpaceStatus {
                space: pair.get(0).as_string()?,
                synced_at: get(&one, "lastSyncAt").as_f64(),
                pulled: get(&one, "pulled").as_f64().map(|n| n as u64),
            })
        })
        .collect()
}

/// `{ collection, changes: [{id, op}] }`: the event listeners of `collection` receive.
pub fn change_event(collection: &str, changes: &[(String, Op)]) -> JsValue {
    let o = Object::new();
    set_field(&o, "collection", &JsValue::from_str(collection));
    let events = Array::new_with_length(changes.len() as u32);
    for (i, (id, op)) in changes.iter().enumerate() {
        let c = Object::new();
        set_field(&c, "id", &JsValue::from_str(id));
        set_field(&c, "op", &JsValue::from_str(op.as_str()));
        events.set(i as u32, c.into());
    }
    set_field(&o, "changes", &events);
    o.into()
}
