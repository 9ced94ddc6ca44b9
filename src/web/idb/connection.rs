//! Opening a tenant's database: the schema upgrade, the blocked and versionchange protocol, and
//! the two primitives every operation uses (await a request, await a transaction).
//!
//! `idb` drives the open request (its typed upgrade and blocked events); the data paths then use
//! the raw web-sys handle, so that results such as `getAll` arrays stay JS values instead of
//! being copied element by element into Rust vectors.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future, IntoFuture};
use std::pin::{pin, Pin};
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
use wasm_bindgen::closure::Closure;

use super::super::error::from_js;
use super::super::glue;

/// `_meta` key of the list of applied migration versions.
pub const APPLIED_MIGRATIONS_KEY: &str = "appliedMigrations";

/// An open connection. `events` keeps the versionchange and close handlers alive; `raw` serves
/// the data.
pub struct Connection {
    pub raw: IdbDatabase,
    _events: idb::Database,
}

impl Drop for Connection {
    /// A handle that is dropped (closed, or collected without `close()`) must not keep the
    /// database open: that would block every other tab's upgrade and any delete.
    fn drop(&mut self) {
        self.raw.set_onversionchange(None);
        self.raw.set_onclose(None);
        self.raw.close();
    }
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

/// Maps a store call that threw (a request that could not be issued) to an error of `context`.
pub fn js_err(context: &str) -> impl Fn(JsValue) -> Error + '_ {
    move |e| from_js(context, &e, ErrorKind::Storage)
}

/// Runs `work` in `tx` and waits for the commit. On any error the transaction is aborted, so
/// nothing of it is half-applied.
pub async fn commit_or_abort<T>(
    tx: &IdbTransaction,
    context: &str,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let done = committed(tx);
    match work.await {
        Ok(value) => {
            done.await.map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
            Ok(value)
        }
        Err(e) => {
            let _ = tx.abort();
            let _ = done.await;
            Err(e)
        }
    }
}

/// [`commit_or_abort`] that asks for the commit as soon as `work` has issued its last request,
/// instead of leaving the browser to notice that the transaction went idle: one round trip less
/// between the page and the browser's storage process per transaction. For the sync steps, whose
/// work issues every request it makes before it ends.
pub async fn commit_now_or_abort<T>(
    tx: &IdbTransaction,
    context: &str,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    commit_or_abort(tx, context, async {
        let value = work.await?;
        glue::commit_now(tx);
        Ok(value)
    })
    .await
}

pub fn transaction(db: &IdbDatabase, stores: &[&str], write: bool) -> Result<IdbTransaction> {
    let mode = if write { IdbTransactionMode::Readwrite } else { IdbTransactionMode::Readonly };
    let started = if let [one] = stores {
        // The common case (every read) needs no array of names.
        db.transaction_with_str_and_mode(one, mode)
    } else {
        let names = js_sys::Array::new();
        for s in stores {
            names.push(&JsValue::from_str(s));
        }
        db.transaction_with_str_sequence_and_mode(&names, mode)
    };
    started.map_err(|e| from_js(&format!("starting a transaction on {stores:?}"), &e, ErrorKind::Storage))
}

/// Why a connection closed without being asked to.
pub enum ForcedClose {
    /// Another connection asked for this app version (None: the database is being deleted).
    VersionChange(Option<u32>),
    /// The browser closed it (storage cleared, connection lost).
    Lost,
}

/// How many changes the database `name` has queued (0 if it has none, or does not exist).
pub async fn queued_changes(name: &str) -> Result<u64> {
    let context = format!("counting the queued changes of \"{name}\"");
    let count = wasm_bindgen_futures::JsFuture::from(glue::count_queued(name))
        .await
        .map_err(|e| from_js(&context, &e, ErrorKind::StorageUnavailable))?;
    Ok(count.as_f64().unwrap_or(0.0) as u64)
}

/// Opens (creating or upgrading) the tenant's database, then checks that the database really has
/// the declared layout. `on_forced_close` runs when the connection later closes without being
/// asked to.
pub async fn open(
    schema: &Schema,
    migration_versions: Vec<u32>,
    blocked_timeout_ms: u32,
    on_forced_close: impl Fn(ForcedClose) + 'static,
) -> Result<Connection> {
    let name = schema.database_name();
    let context = format!("opening database \"{name}\"");
    let factory = Factory::new()
        .map_err(|e| idb_error("IndexedDB is not available in this context", e, ErrorKind::StorageUnavailable))?;
    let mut open_request = factory
        .open(&name, Some(schema.idb_version()))
        .map_err(|e| idb_error(&context, e, ErrorKind::StorageUnavailable))?;

    let upgrade_error: Rc<RefCell<Option<Error>>> = Rc::default();
    let upgrading = Rc::new(Cell::new(false));
    {
        let schema = schema.clone();
        let upgrade_error = upgrade_error.clone();
        let upgrading = upgrading.clone();
        open_request.on_upgrade_needed(move |event| {
            upgrading.set(true);
            let old = event.old_version().unwrap_or(0);
            if let Err(e) = upgrade(&event, &schema, old == 0, &migration_versions, &upgrade_error) {
                *upgrade_error.borrow_mut() = Some(e);
                if let Ok(Some(tx)) = event.target().map(|r| r.transaction()) {
                    let _ = tx.abort();
                }
            }
        });
    }
    let (blocked_promise, blocked_signal) = signal();
    open_request.on_blocked(move |_| blocked_signal());

    let opening = Box::pin(open_request.into_future());
    let database = match race_blocked(opening, blocked_promise, blocked_timeout_ms, upgrading).await {
        Err(opening) => {
            // Gave up waiting; if the upgrade goes through later, close that connection at once.
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(db) = opening.await {
                    db.close();
                }
            });
            return Err(blocked_error(
                &format!(
                    "upgrading \"{name}\" to version {} is blocked: another tab holds an older version open",
                    schema.version
                ),
                blocked_timeout_ms,
            ));
        }
        Ok(Err(e)) => {
            if let Some(e) = upgrade_error.borrow_mut().take() {
                return Err(e);
            }
            let mut error = idb_error(&context, e, ErrorKind::StorageUnavailable);
            match error.dom.as_ref().map(|d| d.name.as_str()) {
                Some("VersionError") => {
                    error.kind = ErrorKind::InvalidOptions;
                    error.message = format!(
                        "database \"{name}\" is at a newer schema than version {} (this page is older than the data): {}",
                        schema.version, error.message
                    );
                }
                // On the open path these mean the storage itself refused (e.g. private mode).
                Some("InvalidStateError") | Some("AbortError") => error.kind = ErrorKind::StorageUnavailable,
                _ => {}
            }
            return Err(error);
        }
        Ok(Ok(db)) => db,
    };

    let raw: IdbDatabase = database.into();
    let mut events = idb::Database::from(raw.clone());
    let on_forced_close = Rc::new(on_forced_close);
    let for_close = raw.clone();
    let notify = on_forced_close.clone();
    events.on_version_change(move |event| {
        // Another connection wants a newer version (or a delete): step aside instead of blocking it.
        for_close.close();
        let next =
            event.dyn_ref::<IdbVersionChangeEvent>().and_then(|e| e.new_version()).map(|v| app_version_of(v as u32));
        notify(ForcedClose::VersionChange(next));
    });
    events.on_close(move |_| on_forced_close(ForcedClose::Lost));
    let connection = Connection { raw, _events: events };

    // A schema changed without raising `version` runs no upgrade; it would otherwise fail later
    // with confusing errors.
    let existing = layout(&connection.raw)?;
    let missing = plan_upgrade(&existing, schema);
    if !missing.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidOptions,
            format!(
                "the schema differs from database \"{name}\" at version {} ({}); raise `version` to apply it",
                schema.version,
                describe_steps(&missing)
            ),
        ));
    }
    Ok(connection)
}

fn blocked_error(what: &str, timeout_ms: u32) -> Error {
    Error::new(
        ErrorKind::UpgradeBlocked,
        format!("{what} and did not close it within {timeout_ms} ms; close or reload the other tabs"),
    )
}

fn describe_steps(steps: &[UpgradeStep]) -> String {
    let texts: Vec<String> = steps
        .iter()
        .map(|s| match s {
            UpgradeStep::CreateStore { name, .. } => format!("missing collection \"{name}\""),
            UpgradeStep::CreateIndex { store, index } => format!("missing index \"{}\" on \"{store}\"", index.name),
            UpgradeStep::DeleteIndex { store, name } => format!("undeclared index \"{name}\" on \"{store}\""),
        })
        .collect();
    texts.join(", ")
}

/// Waits for `work`, unless a `blocked` event fires and `timeout_ms` pass before the upgrade
/// starts (`started`); then gives the unfinished work back.
async fn race_blocked<F: Future + Unpin>(
    mut work: F,
    blocked: Promise,
    timeout_ms: u32,
    started: Rc<Cell<bool>>,
) -> std::result::Result<F::Output, F> {
    let timeout = async move {
        let _ = JsFuture::from(blocked).await;
        gloo_timers::future::TimeoutFuture::new(timeout_ms).await;
    };
    let mut timeout = pin!(timeout);
    let mut timed_out = false;
    let outcome = poll_fn(|cx| {
        if let Poll::Ready(r) = Pin::new(&mut work).poll(cx) {
            return Poll::Ready(Some(r));
        }
        if !timed_out && timeout.as_mut().poll(cx).is_ready() {
            timed_out = true;
        }
        // Once the upgrade runs, nothing blocks it any more: let it finish, however long.
        if timed_out && !started.get() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await;
    outcome.ok_or(work)
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

/// The stores and indexes of an open database, read in one readonly transaction (metadata only,
/// no requests).
fn layout(db: &IdbDatabase) -> Result<Vec<ExistingStore>> {
    let names: Vec<String> =
        (0..db.object_store_names().length()).filter_map(|i| db.object_store_names().get(i)).collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    read_layout(&transaction(db, &refs, false)?, &names)
}

/// The stores `names` as `tx` sees them, with their indexes.
fn read_layout(tx: &IdbTransaction, names: &[String]) -> Result<Vec<ExistingStore>> {
    let fail = |e: JsValue| from_js("reading the database layout", &e, ErrorKind::Storage);
    let mut stores = Vec::new();
    for name in names {
        let store = tx.object_store(name).map_err(fail)?;
        let index_names = store.index_names();
        let mut indexes = Vec::new();
        for i in 0..index_names.length() {
            let Some(index_name) = index_names.get(i) else { continue };
            let index = store.index(&index_name).map_err(fail)?;
            let key_path = index.key_path().map_err(fail)?;
            let (paths, compound) = match key_path.as_string() {
                Some(p) => (vec![p], false),
                None => (js_sys::Array::from(&key_path).iter().filter_map(|p| p.as_string()).collect(), true),
            };
            indexes.push(ExistingIndex {
                name: index_name,
                key_path: paths,
                compound,
                unique: index.unique(),
                multi_entry: index.multi_entry(),
            });
        }
        stores.push(ExistingStore { name: name.clone(), indexes });
    }
    Ok(stores)
}

/// Runs inside the versionchange transaction: brings stores and indexes to the schema. A brand
/// new database also records every declared migration as applied: its data is born in the
/// newest shape, so there is nothing to migrate. An index that fails while it is built (a unique
/// index over duplicate values) aborts the transaction later; `failure` receives that error.
fn upgrade(
    event: &VersionChangeEvent,
    schema: &Schema,
    created: bool,
    migrations: &[u32],
    failure: &Rc<RefCell<Option<Error>>>,
) -> Result<()> {
    let context = format!("upgrading \"{}\" to version {}", schema.database_name(), schema.version);
    let fail = |e: idb::Error| idb_error(&context, e, ErrorKind::InvalidOptions);
    let database = event.database().map_err(fail)?;
    let request = event.target().map_err(fail)?;
    let no_tx = || Error::new(ErrorKind::Storage, format!("{context}: no upgrade transaction"));
    let tx = request.transaction().ok_or_else(no_tx)?;
    let raw_tx: IdbTransaction = request.transaction().ok_or_else(no_tx)?.into();

    let failure = failure.clone();
    let abort_context = context.clone();
    let tx_for_error = raw_tx.clone();
    let on_abort = Closure::once_into_js(move || {
        let mut slot = failure.borrow_mut();
        if slot.is_none() {
            if let Some(dom) = tx_for_error.error() {
                let context = format!("{abort_context} failed (a unique index over duplicate values?)");
                let error = Error::from_dom(&context, &dom.name(), &dom.message(), ErrorKind::InvalidOptions);
                // A failed upgrade is a schema problem, whatever the DOMException (ConstraintError
                // would otherwise read as RecordExists).
                *slot = Some(Error { kind: ErrorKind::InvalidOptions, ..error });
            }
        }
    });
    let _ = raw_tx.add_event_listener_with_callback("abort", on_abort.unchecked_ref());

    let existing = read_layout(&raw_tx, &database.store_names())?;
    for step in plan_upgrade(&existing, schema) {
        match step {
            UpgradeStep::CreateStore { name, kind } => {
                let mut params = ObjectStoreParams::new();
                match kind {
                    StoreKind::Collection => params.key_path(Some(KeyPath::new_single("id"))),
                    StoreKind::Outbox => params.key_path(Some(KeyPath::new_single("seq"))).auto_increment(true),
                    StoreKind::Conflicts => params.key_path(Some(KeyPath::new_array(["collection", "id"]))),
                    StoreKind::Meta => &mut params,
                    StoreKind::Log => params.key_path(Some(KeyPath::new_single("seq"))).auto_increment(true),
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
                tx.object_store(&store).map_err(fail)?.create_index(&index.name, key_path, Some(params)).map_err(
                    |e| {
                        idb_error(
                            &format!("{context}: creating index \"{}\" on \"{store}\"", index.name),
                            e,
                            ErrorKind::InvalidOptions,
                        )
                    },
                )?;
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

/// Deletes a tenant's database. Every connection to it must close; one that does not within
/// `blocked_timeout_ms` of the `blocked` event fails the delete with UpgradeBlockedError.
pub async fn delete(name: &str, blocked_timeout_ms: u32) -> Result<()> {
    let context = format!("deleting \"{name}\"");
    let factory =
        Factory::new().map_err(|e| idb_error("IndexedDB is not available", e, ErrorKind::StorageUnavailable))?;
    let mut request = factory.delete(name).map_err(|e| idb_error(&context, e, ErrorKind::Storage))?;
    let (blocked_promise, blocked_signal) = signal();
    request.on_blocked(move |_| blocked_signal());
    let deleting = Box::pin(request.into_future());
    match race_blocked(deleting, blocked_promise, blocked_timeout_ms, Rc::new(Cell::new(false))).await {
        Ok(done) => done.map_err(|e| idb_error(&context, e, ErrorKind::Storage)),
        Err(pending) => {
            // The delete still happens once the other connections close; nobody waits for it.
            wasm_bindgen_futures::spawn_local(async move {
                let _ = pending.await;
            });
            Err(blocked_error(&format!("{context} is blocked: another tab holds it open"), blocked_timeout_ms))
        }
    }
}
