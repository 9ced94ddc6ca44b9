//! Opening a tenant's database: the schema upgrade, the blocked and versionchange protocol, and
//! the two primitives every operation uses (await a request, await a transaction).
//!
//! `idb` drives the open request (its typed upgrade and blocked events); the data paths then use
//! the raw web-sys handle, so that results such as `getAll` arrays stay JS values instead of
//! being copied element by element into Rust vectors.

use std::cell::RefCell;
use std::future::{poll_fn, Future, IntoFuture};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use idb::event::VersionChangeEvent;
use idb::{DatabaseEvent as _, Event as _, Factory, IndexParams, KeyPath, ObjectStoreParams, Request as _};
use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode, IdbVersionChangeEvent};

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::schema::{
    app_version_of, plan_upgrade, ExistingIndex, ExistingStore, Schema, StoreKind, UpgradeStep, META_STORE,
};

use super::error::from_js;
use super::glue;

/// `_meta` key of the list of applied migration versions.
pub const APPLIED_MIGRATIONS_KEY: &str = "appliedMigrations";

/// An open connection. `events` keeps the versionchange handler alive; `raw` serves the data.
pub struct Connection {
    pub raw: IdbDatabase,
    _events: idb::Database,
}

fn idb_error(context: &str, error: idb::Error, fallback: ErrorKind) -> Error {
    match error {
        idb::Error::DomException(dom) => Error::from_dom(context, &dom.name(), &dom.message(), fallback),
        other => {
            let text = other.to_string();
            // Most idb errors wrap the thrown JS value; its text holds the DOMException's.
            Error::new(fallback, format!("{context}: {text}"))
        }
    }
}

/// Awaits an IndexedDB request: its result, or its DOMException as an error. The handlers are
/// attached now, not when the future is first polled, so several requests can be issued and then
/// awaited in turn without missing an event.
pub fn request(request: &IdbRequest, context: &str) -> impl Future<Output = Result<JsValue>> {
    let done = JsFuture::from(glue::request_done(request));
    let context = context.to_string();
    async move { done.await.map_err(|e| from_js(&context, &e, ErrorKind::Storage)) }
}

/// Settles when the transaction commits, or with the cause of its abort. Attached now, like
/// [`request`].
pub fn committed(tx: &IdbTransaction) -> JsFuture {
    JsFuture::from(glue::transaction_done(tx))
}

pub fn transaction(db: &IdbDatabase, stores: &[&str], write: bool) -> Result<IdbTransaction> {
    let names = js_sys::Array::new();
    for s in stores {
        names.push(&JsValue::from_str(s));
    }
    let mode = if write { IdbTransactionMode::Readwrite } else { IdbTransactionMode::Readonly };
    db.transaction_with_str_sequence_and_mode(&names, mode)
        .map_err(|e| from_js(&format!("starting a transaction on {stores:?}"), &e, ErrorKind::Storage))
}


/// Opens (creating or upgrading) the tenant's database. `on_forced_close` runs after this
/// connection closed itself because another tab asked for a newer version (argument: that app
/// version, or None for a delete).
pub async fn open(
    schema: &Schema,
    migration_versions: Vec<u32>,
    blocked_timeout_ms: u32,
    on_forced_close: impl FnOnce(Option<u32>) + 'static,
) -> Result<Connection> {
    let name = schema.database_name();
    let factory = Factory::new().map_err(|e| {
        idb_error("IndexedDB is not available in this context", e, ErrorKind::StorageUnavailable)
    })?;
    let mut open_request = factory
        .open(&name, Some(schema.idb_version()))
        .map_err(|e| idb_error(&format!("opening database \"{name}\""), e, ErrorKind::StorageUnavailable))?;

    let upgrade_error: Rc<RefCell<Option<Error>>> = Rc::default();
    {
        let schema = schema.clone();
        let upgrade_error = upgrade_error.clone();
        open_request.on_upgrade_needed(move |event| {
            let old = event.old_version().unwrap_or(0);
            if let Err(e) = upgrade(&event, &schema, old == 0, &migration_versions) {
                if let Ok(Some(tx)) = event.target().map(|r| r.transaction()) {
                    let _ = tx.abort();
                }
                *upgrade_error.borrow_mut() = Some(e);
            }
        });
    }
    let (blocked_promise, blocked_signal) = signal();
    open_request.on_blocked(move |_| blocked_signal());

    let mut opening = Box::pin(open_request.into_future());
    let blocked_timeout = async move {
        let _ = JsFuture::from(blocked_promise).await;
        gloo_timers::future::TimeoutFuture::new(blocked_timeout_ms).await;
    };
    let mut blocked_timeout = pin!(blocked_timeout);
    let outcome = poll_fn(|cx| {
        if let Poll::Ready(r) = opening.as_mut().poll(cx) {
            return Poll::Ready(Some(r));
        }
        if blocked_timeout.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await;

    let database = match outcome {
        None => {
            // Gave up waiting; if the upgrade goes through later, close that connection at once.
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(db) = opening.await {
                    db.close();
                }
            });
            return Err(Error::new(
                ErrorKind::UpgradeBlocked,
                format!(
                    "upgrading \"{name}\" to version {} is blocked: another tab holds an older version open \
                     and did not close it within {blocked_timeout_ms} ms; close or reload the other tabs",
                    schema.version
                ),
            ));
        }
        Some(Err(e)) => {
            if let Some(e) = upgrade_error.borrow_mut().take() {
                return Err(e);
            }
            let mut error = idb_error(&format!("opening database \"{name}\""), e, ErrorKind::StorageUnavailable);
            if error.dom.as_ref().is_some_and(|d| d.name == "VersionError") {
                error.kind = ErrorKind::InvalidOptions;
                error.message = format!(
                    "database \"{name}\" is at a newer schema than version {} (this page is older than the data): {}",
                    schema.version, error.message
                );
            }
            return Err(error);
        }
        Some(Ok(db)) => db,
    };

    let raw: IdbDatabase = database.into();
    let mut events = idb::Database::from(raw.clone());
    let for_close = raw.clone();
    events.on_version_change(move |event| {
        // Another connection wants a newer version (or a delete): step aside instead of blocking it.
        for_close.close();
        let next = event
            .dyn_ref::<IdbVersionChangeEvent>()
            .and_then(|e| e.new_version())
            .map(|v| app_version_of(v as u32));
        on_forced_close(next);
    });
    Ok(Connection { raw, _events: events })
}

/// A promise and the function that resolves it, for turning a callback into something to await.
fn signal() -> (Promise, impl FnOnce()) {
    let resolver: Rc<RefCell<Option<js_sys::Function>>> = Rc::default();
    let r = resolver.clone();
    let promise = Promise::new(&mut |resolve, _| *r.borrow_mut() = Some(resolve));
    let fire = move || {
        if let Some(f) = resolver.borrow_mut().take() {
            let _ = f.call0(&JsValue::UNDEFINED);
        }
    };
    (promise, fire)
}

/// Runs inside the versionchange transaction: brings stores and indexes to the schema. A brand
/// new database also records every declared migration as applied: its data is born in the
/// newest shape, so there is nothing to migrate.
fn upgrade(event: &VersionChangeEvent, schema: &Schema, created: bool, migrations: &[u32]) -> Result<()> {
    let context = format!("upgrading \"{}\" to version {}", schema.database_name(), schema.version);
    let fail = |e: idb::Error| idb_error(&context, e, ErrorKind::InvalidOptions);
    let database = event.database().map_err(fail)?;
    let tx = event
        .target()
        .map_err(fail)?
        .transaction()
        .ok_or_else(|| Error::new(ErrorKind::Storage, format!("{context}: no upgrade transaction")))?;

    let mut existing = Vec::new();
    for name in database.store_names() {
        let store = tx.object_store(&name).map_err(fail)?;
        let mut indexes = Vec::new();
        for index_name in store.index_names() {
            let index = store.index(&index_name).map_err(fail)?;
            let key_path = match index.key_path().map_err(fail)? {
                Some(KeyPath::Single(p)) => vec![p],
                Some(KeyPath::Array(ps)) => ps,
                None => vec![],
            };
            indexes.push(ExistingIndex { name: index_name, key_path, unique: index.unique(), multi_entry: index.multi_entry() });
        }
        existing.push(ExistingStore { name, indexes });
    }

    for step in plan_upgrade(&existing, schema) {
        match step {
            UpgradeStep::CreateStore { name, kind } => {
                let mut params = ObjectStoreParams::new();
                match kind {
                    StoreKind::Collection => params.key_path(Some(KeyPath::new_single("id"))),
                    StoreKind::Outbox => params.key_path(Some(KeyPath::new_single("seq"))).auto_increment(true),
                    StoreKind::Conflicts => params.key_path(Some(KeyPath::new_array(["collection", "id"]))),
                    StoreKind::Meta => &mut params,
                };
                database.create_object_store(&name, params).map_err(fail)?;
            }
            UpgradeStep::DeleteIndex { store, name } => {
                tx.object_store(&store).map_err(fail)?.delete_index(&name).map_err(fail)?;
            }
            UpgradeStep::CreateIndex { store, index } => {
                let key_path = if index.compound {
                    KeyPath::new_array(index.key_path.iter().map(String::as_str))
                } else {
                    KeyPath::new_single(&index.key_path[0])
                };
                let mut params = IndexParams::new();
                params.unique(index.unique).multi_entry(index.multi_entry);
                tx.object_store(&store)
                    .map_err(fail)?
                    .create_index(&index.name, key_path, Some(params))
                    .map_err(|e| idb_error(&format!("{context}: creating index \"{}\" on \"{store}\"", index.name), e, ErrorKind::InvalidOptions))?;
            }
        }
    }

    if created && !migrations.is_empty() {
        let applied = js_sys::Array::new();
        for v in migrations {
            applied.push(&JsValue::from_f64(*v as f64));
        }
        tx.object_store(META_STORE)
            .map_err(fail)?
            .put(&applied, Some(&JsValue::from_str(APPLIED_MIGRATIONS_KEY)))
            .map_err(fail)?;
    }
    Ok(())
}

/// Deletes a tenant's database; waits until every connection to it has closed.
pub async fn delete(name: &str) -> Result<()> {
    let factory = Factory::new().map_err(|e| idb_error("IndexedDB is not available", e, ErrorKind::StorageUnavailable))?;
    factory
        .delete(name)
        .map_err(|e| idb_error(&format!("deleting \"{name}\""), e, ErrorKind::Storage))?
        .await
        .map_err(|e| idb_error(&format!("deleting \"{name}\""), e, ErrorKind::Storage))
}
