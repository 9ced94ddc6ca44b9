//! Reading JS values into core types and back: open options, queries, records and their
//! metadata. All JS <-> Rust conversion lives here, so the API file reads as the API.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbKeyRange;

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::ids::check_id;
use crate::core::meta::{RecordMeta, META_FIELD};
use crate::core::query::{check_query_fields, non_negative_int, parse_order, QuerySpec};
use crate::core::schema::{CollectionDef, IndexDef, Schema};
use crate::core::status::{RecordStatus, SyncStatus};

use super::error::{describe, from_js};
use super::glue;
use super::sync::{Token, Transport};
use crate::core::sync::{whole, Settings};

pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

pub fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        "null".into()
    } else if Array::is_array(value) {
        "an array".into()
    } else {
        value.js_typeof().as_string().unwrap_or_default()
    }
}

fn options_error(message: String) -> Error {
    Error::new(ErrorKind::InvalidOptions, message)
}

fn optional_string(options: &JsValue, key: &str) -> Result<Option<String>> {
    let v = get(options, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| options_error(format!("`{key}` must be a string, got {}", type_name(&v))))
}

fn optional_bool(options: &JsValue, key: &str) -> Result<bool> {
    let v = get(options, key);
    if v.is_undefined() {
        return Ok(false);
    }
    v.as_bool().ok_or_else(|| options_error(format!("`{key}` must be a boolean, got {}", type_name(&v))))
}

/// Everything `open()` needs, read from its options object.
pub struct OpenOptions {
    pub schema: Schema,
    /// (version, callback), ascending.
    pub migrations: Vec<(u32, Function)>,
    pub on_version_change: Option<Function>,
    pub blocked_timeout_ms: u32,
    pub sync: Option<(Settings, Transport)>,
}

pub fn read_open_options(options: &JsValue) -> Result<OpenOptions> {
    if !options.is_object() {
        return Err(options_error(format!("open() takes an options object, got {}", type_name(options))));
    }
    let app = optional_string(options, "app")?.ok_or_else(|| options_error("`app` is required".into()))?;
    let tenant = optional_string(options, "tenant")?;
    let version = get(options, "version").as_f64().ok_or_else(|| options_error("`version` must be a number".into()))?;
    let collections_value = get(options, "collections");
    if !collections_value.is_object() || Array::is_array(&collections_value) {
        return Err(options_error("`collections` must be an object of collection specs".into()));
    }
    let mut collections = Vec::new();
    for name in Object::keys(collections_value.unchecked_ref::<Object>()).iter() {
        let name = name.as_string().unwrap_or_default();
        let spec = get(&collections_value, &name);
        collections.push(read_collection(&name, &spec)?);
    }
    let schema = Schema::new(app, tenant, version, collections)?;

    let mut migrations = Vec::new();
    let migrations_value = get(options, "migrations");
    if !migrations_value.is_undefined() {
        if !migrations_value.is_object() {
            return Err(options_error("`migrations` must be an object of version -> function".into()));
        }
        for key in Object::keys(migrations_value.unchecked_ref::<Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            let version: u32 = key
                .parse()
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| options_error(format!("migration key \"{key}\" is not a schema version")))?;
            if version > schema.version {
                return Err(options_error(format!(
                    "a migration for version {version} is declared, but the schema version is {}",
                    schema.version
                )));
            }
            let f = get(&migrations_value, &key)
                .dyn_into::<Function>()
                .map_err(|_| options_error(format!("migration {version} is not a function")))?;
            migrations.push((version, f));
        }
        migrations.sort_by_key(|(v, _)| *v);
    }

    let on_version_change = match get(options, "onVersionChange") {
        v if v.is_undefined() => None,
        v => Some(v.dyn_into::<Function>().map_err(|_| options_error("`onVersionChange` must be a function".into()))?),
    };
    let blocked_timeout_ms = match get(options, "blockedTimeoutMs").as_f64() {
        None => 5000,
        Some(ms) => non_negative_int("blockedTimeoutMs", ms).map_err(|e| options_error(e.message))?,
    };
    let sync = read_sync_options(&get(options, "sync"))?;
    Ok(OpenOptions { schema, migrations, on_version_change, blocked_timeout_ms, sync })
}

/// `sync: { url, token } | { transport }`, plus the optional tuning numbers. Absent: no sync.
fn read_sync_options(sync: &JsValue) -> Result<Option<(Settings, Transport)>> {
    if sync.is_undefined() || sync.is_null() {
        return Ok(None);
    }
    if !sync.is_object() {
        return Err(options_error(format!("`sync` must be an object, got {}", type_name(sync))));
    }
    let mut settings = Settings::default();
    let number = |key: &str, min: u32, max: u32| -> Result<Option<u32>> {
        let v = get(sync, key);
        if v.is_undefined() {
            return Ok(None);
        }
        let n =
            v.as_f64().ok_or_else(|| options_error(format!("`sync.{key}` must be a number, got {}", type_name(&v))))?;
        whole(key, n, min, max).map(Some)
    };
    // A timer option is a number of milliseconds, or false to turn that trigger off.
    let timer = |key: &str, min: u32, default: Option<u32>| -> Result<Option<u32>> {
        if get(sync, key).as_bool() == Some(false) {
            return Ok(None);
        }
        Ok(number(key, min, u32::MAX / 2)?.or(default))
    };
    settings.batch_size = number("batchSize", 1, 10_000)?.unwrap_or(settings.batch_size);
    settings.pull_limit = number("pullLimit", 1, 10_000)?.unwrap_or(settings.pull_limit);
    settings.request_timeout_ms = number("requestTimeoutMs", 1, u32::MAX / 2)?.unwrap_or(settings.request_timeout_ms);
    settings.interval_ms = timer("intervalMs", 1, settings.interval_ms)?;
    settings.debounce_ms = timer("debounceMs", 0, settings.debounce_ms)?;
    settings.sync_on_open = match get(sync, "syncOnOpen") {
        v if v.is_undefined() => true,
        v => v.as_bool().ok_or_else(|| options_error("`sync.syncOnOpen` must be a boolean".into()))?,
    };

    let transport = get(sync, "transport");
    let url = get(sync, "url");
    let transport = match (transport.is_undefined(), url.is_undefined()) {
        (false, true) => {
            for method in ["push", "pull"] {
                if !get(&transport, method).is_function() {
                    return Err(options_error(format!("`sync.transport` needs a {method}() function")));
                }
            }
            Transport::Js { transport, timeout_ms: settings.request_timeout_ms }
        }
        (true, false) => {
            let url =
                url.as_string().filter(|u| u.starts_with("http://") || u.starts_with("https://")).ok_or_else(|| {
                    options_error(format!("`sync.url` must be an http(s) URL string, got {}", describe(&url)))
                })?;
            let token = get(sync, "token");
            let token = if let Some(f) = token.dyn_ref::<Function>() {
                Token::Provider(f.clone())
            } else {
                Token::Fixed(token.as_string().filter(|t| !t.is_empty()).ok_or_else(|| {
                    options_error(
                        "`sync.token` (a bearer token, or a function giving one) is required with `sync.url`".into(),
                    )
                })?)
            };
            Transport::Http {
                base: url.trim_end_matches('/').to_string(),
                token,
                timeout_ms: settings.request_timeout_ms,
            }
        }
        _ => return Err(options_error("`sync` needs either `url` (with `token`) or `transport`, not both".into())),
    };
    Ok(Some((settings, transport)))
}

fn read_collection(name: &str, spec: &JsValue) -> Result<CollectionDef> {
    let mut indexes = Vec::new();
    let list = get(spec, "indexes");
    if !list.is_undefined() {
        if !Array::is_array(&list) {
            return Err(options_error(format!("collection \"{name}\": `indexes` must be an array")));
        }
        for item in Array::from(&list).iter() {
            indexes.push(read_index(name, &item)?);
        }
    }
    Ok(CollectionDef { name: name.to_string(), indexes })
}

fn read_index(collection: &str, item: &JsValue) -> Result<IndexDef> {
    if let Some(path) = item.as_string() {
        return IndexDef::new(collection, None, vec![path], false, false, false);
    }
    if !item.is_object() {
        return Err(options_error(format!(
            "collection \"{collection}\": an index is a key path string or an object, got {}",
            type_name(item)
        )));
    }
    let key_path = get(item, "keyPath");
    let (paths, compound) = if let Some(p) = key_path.as_string() {
        (vec![p], false)
    } else if Array::is_array(&key_path) {
        let paths: Option<Vec<String>> = Array::from(&key_path).iter().map(|p| p.as_string()).collect();
        (
            paths.ok_or_else(|| {
                options_error(format!("collection \"{collection}\": compound keyPath entries must be strings"))
            })?,
            true,
        )
    } else {
        return Err(options_error(format!("collection \"{collection}\": an index needs a `keyPath`")));
    };
    IndexDef::new(
        collection,
        optional_string(item, "name")?,
        paths,
        compound,
        optional_bool(item, "unique")?,
        optional_bool(item, "multiEntry")?,
    )
}

/// A query's shape and its key range (None: every key).
pub fn read_query(query: &JsValue) -> Result<(QuerySpec, Option<IdbKeyRange>)> {
    let mut spec = QuerySpec::default();
    if query.is_undefined() || query.is_null() {
        return Ok((spec, None));
    }
    let bad = |m: String| Error::new(ErrorKind::InvalidQuery, m);
    if !query.is_object() {
        return Err(bad(format!("a query is an object, got {}", type_name(query))));
    }
    let fields: Vec<String> =
        Object::keys(query.unchecked_ref::<Object>()).iter().filter_map(|k| k.as_string()).collect();
    check_query_fields(fields.iter().map(String::as_str))?;
    spec.index = optional_string(query, "index").map_err(|e| bad(e.message))?;
    if let Some(order) = optional_string(query, "order").map_err(|e| bad(e.message))? {
        spec.order = parse_order(&order)?;
    }
    if let Some(limit) = number_field(query, "limit")? {
        spec.limit = Some(non_negative_int("limit", limit)?);
    }
    if let Some(offset) = number_field(query, "offset")? {
        spec.offset = non_negative_int("offset", offset)?;
    }
    spec.include_deleted = optional_bool(query, "includeDeleted").map_err(|e| bad(e.message))?;
    let range = key_range(query)?;
    Ok((spec, range))
}

fn number_field(query: &JsValue, key: &str) -> Result<Option<f64>> {
    let v = get(query, key);
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_f64()
        .map(Some)
        .ok_or_else(|| Error::new(ErrorKind::InvalidQuery, format!("`{key}` must be a number, got {}", type_name(&v))))
}

fn key_range(query: &JsValue) -> Result<Option<IdbKeyRange>> {
    let context = "building the query's key range";
    let equals = get(query, "equals");
    if !equals.is_undefined() {
        return IdbKeyRange::only(&equals).map(Some).map_err(|e| from_js(context, &e, ErrorKind::InvalidQuery));
    }
    let range = get(query, "range");
    if range.is_undefined() {
        return Ok(None);
    }
    let bad = |m: String| Error::new(ErrorKind::InvalidQuery, m);
    if !range.is_object() || Array::is_array(&range) {
        return Err(bad(format!(
            "`range` must be an object {{ lower, upper, lowerOpen, upperOpen }}, got {}",
            type_name(&range)
        )));
    }
    let lower = get(&range, "lower");
    let upper = get(&range, "upper");
    let lower_open = optional_bool(&range, "lowerOpen").map_err(|e| bad(e.message))?;
    let upper_open = optional_bool(&range, "upperOpen").map_err(|e| bad(e.message))?;
    let built = match (lower.is_undefined(), upper.is_undefined()) {
        (true, true) => return Ok(None),
        (false, true) => IdbKeyRange::lower_bound_with_open(&lower, lower_open),
        (true, false) => IdbKeyRange::upper_bound_with_open(&upper, upper_open),
        (false, false) => IdbKeyRange::bound_with_lower_open_and_upper_open(&lower, &upper, lower_open, upper_open),
    };
    // DataError: a bound that is not a valid key, or lower > upper.
    built.map(Some).map_err(|e| {
        let mut error = from_js(context, &e, ErrorKind::InvalidQuery);
        error.kind = ErrorKind::InvalidQuery;
        error
    })
}

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

pub fn opt_num(v: Option<u64>) -> JsValue {
    v.map(|v| JsValue::from_f64(v as f64)).unwrap_or(JsValue::NULL)
}

/// The frozen-by-convention status snapshot object.
pub fn status_to_js(status: &SyncStatus) -> JsValue {
    let o = Object::new();
    set(&o, "online", &JsValue::from_bool(status.online));
    set(&o, "syncing", &JsValue::from_bool(status.syncing));
    set(&o, "pending", &JsValue::from_f64(status.pending as f64));
    set(&o, "failed", &JsValue::from_f64(status.failed as f64));
    set(&o, "conflicts", &JsValue::from_f64(status.conflicts as f64));
    set(&o, "lastSyncAt", &status.last_sync_at.map(JsValue::from_f64).unwrap_or(JsValue::NULL));
    set(&o, "lastError", &status.last_error.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL));
    let progress = match status.progress {
        Some((done, total)) => {
            let p = Object::new();
            set(&p, "done", &JsValue::from_f64(done as f64));
            set(&p, "total", &JsValue::from_f64(total as f64));
            p.into()
        }
        None => JsValue::NULL,
    };
    set(&o, "progress", &progress);
    Object::freeze(&o).into()
}

/// `{ collection, changes: [{id, op}] }`, the change event listeners receive.
pub fn change_event(collection: &str, changes: &[(String, &'static str)]) -> JsValue {
    let o = Object::new();
    set(&o, "collection", &JsValue::from_str(collection));
    let list = Array::new_with_length(changes.len() as u32);
    for (i, (id, op)) in changes.iter().enumerate() {
        let c = Object::new();
        set(&c, "id", &JsValue::from_str(id));
        set(&c, "op", &JsValue::from_str(op));
        list.set(i as u32, c.into());
    }
    set(&o, "changes", &list);
    o.into()
}

pub fn set_field(target: &Object, key: &str, value: &JsValue) {
    set(target, key, value)
}
