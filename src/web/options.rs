//! The options of `open()`, read into the core's schema and sync settings and the transport.

use js_sys::{Array, Function, Object};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::blobs::cache::{DownloadMode, DEFAULT_EAGER_UP_TO};
use crate::core::blobs::upload::MIN_CHUNK_BYTES;
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::order::sorted_by;
use crate::core::query::non_negative_int;
use crate::core::schema::{check_blob_fields, check_space_field, CollectionDef, IndexDef, Schema};
use crate::core::sync::conflict::strategy::Strategy;
use crate::core::sync::settings::{whole, Settings};
use crate::protocol::{check_space, limits};

use super::js::{describe, get, type_name};
use super::transport::{Token, Transport};

fn options_error(message: String) -> Error {
    Error::new(ErrorKind::InvalidOptions, message)
}

pub(super) fn optional_string(options: &JsValue, key: &str) -> Result<Option<String>> {
    let v = get(options, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| options_error(format!("`{key}` must be a string, got {}", type_name(&v))))
}

pub(super) fn optional_bool(options: &JsValue, key: &str) -> Result<bool> {
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
    /// Collections whose `conflicts` is a function: their own resolvers.
    pub resolvers: Vec<(String, Function)>,
    /// `spaces`: the spaces a database starts with, when it is created.
    pub initial_spaces: Vec<String>,
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
    let mut resolvers = Vec::new();
    for name in Object::keys(collections_value.unchecked_ref::<Object>()).iter() {
        let name = name.as_string().unwrap_or_default();
        let spec = get(&collections_value, &name);
        collections.push(read_collection(&name, &spec)?);
        if let Ok(resolver) = get(&spec, "conflicts").dyn_into::<Function>() {
            resolvers.push((name, resolver));
        }
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
        migrations = sorted_by(migrations, &|a, b| a.0.cmp(&b.0));
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
    let initial_spaces = read_initial_spaces(&schema, &get(options, "spaces"))?;
    Ok(OpenOptions { schema, migrations, on_version_change, blocked_timeout_ms, sync, resolvers, initial_spaces })
}

/// `spaces: ["p1", ...]`: the spaces a new database starts with (applied once, as it is
/// created, so that its first sync pulls them; later changes go through `db.spaces`).
fn read_initial_spaces(schema: &Schema, value: &JsValue) -> Result<Vec<String>> {
    if value.is_undefined() {
        return Ok(Vec::new());
    }
    if !Array::is_array(value) {
        return Err(options_error(format!("`spaces` must be an array of space ids, got {}", type_name(value))));
    }
    if !schema.collections.iter().any(|c| c.space.is_some()) {
        return Err(options_error("`spaces` needs a collection that declares a `space` field".into()));
    }
    let mut spaces = Vec::new();
    for space in Array::from(value).iter() {
        let id = space
            .as_string()
            .ok_or_else(|| options_error(format!("`spaces` holds space ids (strings), got {}", type_name(&space))))?;
        check_space(&id).map_err(|r| options_error(format!("`spaces`: {}", r.message)))?;
        if !spaces.contains(&id) {
            spaces.push(id);
        }
    }
    Ok(spaces)
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
    settings.apply_limit = number("applyLimit", 1, 10_000)?.unwrap_or(settings.apply_limit);
    settings.request_timeout_ms = number("requestTimeoutMs", 1, u32::MAX / 2)?.unwrap_or(settings.request_timeout_ms);
    // Within the smallest chunk an upload halves down to and the reference server's largest.
    let (min_chunk, max_chunk) = (MIN_CHUNK_BYTES as u32, limits::DEFAULT_MAX_CHUNK_BYTES as u32);
    settings.chunk_bytes = number("chunkBytes", min_chunk, max_chunk)?.map_or(settings.chunk_bytes, u64::from);
    settings.blob_cache_bytes = match get(sync, "blobCacheBytes") {
        v if v.is_undefined() => settings.blob_cache_bytes,
        v if v.as_bool() == Some(false) => None,
        v => Some(v.as_f64().filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= 2f64.powi(53)).ok_or_else(|| {
            options_error(format!(
                "`sync.blobCacheBytes` must be a whole number of bytes or false, got {}",
                describe(&v)
            ))
        })? as u64),
    };
    settings.interval_ms = timer("intervalMs", 1, settings.interval_ms)?;
    settings.debounce_ms = timer("debounceMs", 0, settings.debounce_ms)?;
    settings.sync_on_open = match get(sync, "syncOnOpen") {
        v if v.is_undefined() => true,
        v => v.as_bool().ok_or_else(|| options_error("`sync.syncOnOpen` must be a boolean".into()))?,
    };
    settings.background_sync = match get(sync, "backgroundSync") {
        v if v.is_undefined() => false,
        v => v
            .as_bool()
            .ok_or_else(|| options_error(format!("`sync.backgroundSync` must be a boolean, got {}", type_name(&v))))?,
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
                bytes: std::cell::Cell::new((0, 0)),
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
    let conflicts = read_strategy(name, &get(spec, "conflicts"))?;
    let space = match get(spec, "space") {
        v if v.is_undefined() => None,
        v => {
            let field = v.as_string().ok_or_else(|| {
                options_error(format!("collection \"{name}\": `space` must be a field name, got {}", type_name(&v)))
            })?;
            check_space_field(name, &field)?;
            Some(field)
        }
    };
    let blobs = read_blob_fields(name, &get(spec, "blobs"))?;
    check_blob_fields(name, &blobs, space.as_deref())?;
    let download = read_download(name, spec)?;
    Ok(CollectionDef { name: name.to_string(), indexes, conflicts, space, blobs, download })
}

/// `download: "eager" | "lazy"` (default eager) and `eagerDownloadBytes` (the largest blob an
/// eager collection downloads during the sync).
fn read_download(collection: &str, spec: &JsValue) -> Result<DownloadMode> {
    let up_to = match get(spec, "eagerDownloadBytes") {
        v if v.is_undefined() => DEFAULT_EAGER_UP_TO,
        v => v.as_f64().filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= 2f64.powi(53)).ok_or_else(|| {
            options_error(format!(
                "collection \"{collection}\": `eagerDownloadBytes` must be a whole number of bytes, got {}",
                describe(&v)
            ))
        })? as u64,
    };
    match get(spec, "download") {
        v if v.is_undefined() => Ok(DownloadMode::Eager { up_to }),
        v if v.as_string().as_deref() == Some("eager") => Ok(DownloadMode::Eager { up_to }),
        v if v.as_string().as_deref() == Some("lazy") => Ok(DownloadMode::Lazy),
        v => Err(options_error(format!(
            "collection \"{collection}\": `download` must be \"eager\" or \"lazy\", got {}",
            describe(&v)
        ))),
    }
}

/// `blobs: ["photo", ...]`: the fields that may hold files.
fn read_blob_fields(collection: &str, value: &JsValue) -> Result<Vec<String>> {
    if value.is_undefined() {
        return Ok(Vec::new());
    }
    let not_list = || {
        options_error(format!(
            "collection \"{collection}\": `blobs` must be an array of field names, got {}",
            describe(value)
        ))
    };
    if !Array::is_array(value) {
        return Err(not_list());
    }
    Array::from(value).iter().map(|f| f.as_string().ok_or_else(not_list)).collect()
}

/// `conflicts`: a strategy's name, `{ merge: fallback }`, or a function (the collection's own
/// resolver); absent is "manual".
fn read_strategy(collection: &str, value: &JsValue) -> Result<Strategy> {
    if value.is_undefined() {
        return Ok(Strategy::Manual);
    }
    if value.is_function() {
        return Ok(Strategy::Custom);
    }
    let parsed = match value.as_string() {
        Some(name) => Strategy::parse(&name),
        None if value.is_object() => {
            get(value, "merge").as_string().and_then(|f| Strategy::parse_fallback(&f)).map(Strategy::Merge)
        }
        None => None,
    };
    parsed.ok_or_else(|| {
        options_error(format!(
            "collection \"{collection}\": `conflicts` must be \"manual\", \"server-wins\", \"client-wins\", \"last-write-wins\", \"merge\", {{ merge: \"manual\" | \"server-wins\" | \"client-wins\" | \"last-write-wins\" }} or a resolver function, got {}",
            describe(value)
        ))
    })
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

/// `{ discardPending?: boolean }` of a wipe, a space's removal or a database deletion.
pub fn read_discard(options: &JsValue) -> Result<bool> {
    flag_option(options, "discardPending", "options")
}

/// `{ onProgress?: function }` of `checkIntegrity()`.
pub fn read_progress(options: &JsValue) -> Result<Option<Function>> {
    let on_progress = if options.is_object() { get(options, "onProgress") } else { JsValue::NULL };
    match (options.is_undefined() || on_progress.is_undefined(), on_progress.dyn_into::<Function>()) {
        (true, _) => Ok(None),
        (false, Ok(f)) => Ok(Some(f)),
        (false, Err(_)) => Err(Error::new(
            ErrorKind::InvalidOptions,
            format!("checkIntegrity() options must be {{ onProgress?: function }}, got {}", describe(options)),
        )),
    }
}

/// `{ <flag>?: boolean }`: a call's options object with one boolean (absent: false); anything
/// else is InvalidOptionsError, whose message names the call (`what`).
pub fn flag_option(options: &JsValue, flag: &str, what: &str) -> Result<bool> {
    if options.is_undefined() {
        return Ok(false);
    }
    let value = if options.is_object() { get(options, flag) } else { JsValue::NULL };
    match (value.is_undefined(), value.as_bool()) {
        (true, _) => Ok(false),
        (false, Some(v)) => Ok(v),
        _ => Err(Error::new(
            ErrorKind::InvalidOptions,
            format!("{what} must be {{ {flag}?: boolean }}, got {}", describe(options)),
        )),
    }
}
