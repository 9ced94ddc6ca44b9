//! Opening a tenant's database: the schema upgrade, the blocked and versionchange protocol, and
//! the two primitives every operation uses (await a request, await a transaction).
//!
//! web-sys issues the open and delete requests; `glue.js` (`settleOpen`) waits for them, with the
//! blocked timeout, and calls back into [`upgrade`] inside the versionchange transaction. The data
//! paths use the same raw handle, so that results such as `getAll` arrays stay JS values instead
//! of being copied element by element into Rust vectors.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Array, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode, IdbVersionChangeEvent,
};

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::meta_rows::Row;
use crate::core::schema::{
    app_version_of, plan_upgrade, ExistingIndex, ExistingStore, Schema, StoreKind, UpgradeStep, META_STORE,
};
use wasm_bindgen::closure::Closure;

use super::super::error::from_js;
use super::super::glue;
use super::super::js::get;

/// `_meta` key of the list of applied migration versions.
pub const APPLIED_MIGRATIONS_KEY: &str = Row::AppliedMigrations.key();

/// An open connection. `events` keeps the versionchange and close handlers alive; `raw` serves
/// the data.
pub struct Connection {
    pub raw: IdbDatabase,
    _events: (VersionChangeHandler, Closure<dyn FnMut()>),
}

type VersionChangeHandler = Closure<dyn FnMut(IdbVersionChangeEvent)>;

impl Drop for Connection {
    /// A handle that is dropped (closed, or collected without `close()`) must not keep the
    /// database open: that would block every other tab's upgrade and any delete.
    fn drop(&mut self) {
        self.raw.set_onversionchange(None);
        self.raw.set_onclose(None);
        self.raw.close();
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

/// The global scope's IndexedDB (a window's or a worker's).
fn factory() -> Result<IdbFactory> {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .ok()
        .and_then(|f| f.dyn_into::<IdbFactory>().ok())
        .ok_or_else(|| Error::new(ErrorKind::StorageUnavailable, "IndexedDB is not available in this context"))
}

/// How an open or delete request ended (`glue.js` `settleOpen`).
enum Settled {
    /// The request succeeded with this result (the database of an open).
    Done(JsValue),
    /// The request failed with this error (a DOMException).
    Failed(JsValue),
    /// A `blocked` event came and the timeout passed before any upgrade started; the promise
    /// settles once the request ends after all (a late connection is closed at once).
    Blocked(Promise),
}

async fn settle(request: &IdbOpenDbRequest, upgrade: &JsValue, blocked_timeout_ms: u32) -> Settled {
    let outcome = JsFuture::from(glue::settle_open(request, upgrade, blocked_timeout_ms)).await.unwrap_or_default();
    if let Ok(late) = get(&outcome, "blocked").dyn_into::<Promise>() {
        return Settled::Blocked(late);
    }
    let error = get(&outcome, "error");
    if error.is_undefined() {
        Settled::Done(get(&outcome, "db"))
    } else {
        Settled::Failed(error)
    }
}

/// Opens (creating or upgrading) the tenant's database, then checks that the database really has
/// the declared layout. `on_forced_close` runs when the connection later closes without being
/// asked to.
pub async fn open(
    schema: &Schema,
    migration_versions: Vec<u32>,
    initial_spaces: &[String],
    blocked_timeout_ms: u32,
    on_forced_close: impl Fn(ForcedClose) + 'static,
) -> Result<Connection> {
    let name = schema.database_name();
    let context = format!("opening database \"{name}\"");
    let open_request = factory()?
        .open_with_u32(&name, schema.idb_version())
        .map_err(|e| from_js(&context, &e, ErrorKind::StorageUnavailable))?;

    let upgrade_error: Rc<RefCell<Option<Error>>> = Rc::default();
    let on_upgrade = {
        let schema = schema.clone();
        let upgrade_error = upgrade_error.clone();
        let initial_spaces = initial_spaces.to_vec();
        Closure::<dyn FnMut(IdbDatabase, IdbTransaction, f64)>::new(move |db, tx: IdbTransaction, old: f64| {
            let created = (old == 0.0).then_some(initial_spaces.as_slice());
            if let Err(e) = upgrade(&db, &tx, &schema, created, &migration_versions, &upgrade_error) {
                *upgrade_error.borrow_mut() = Some(e);
                let _ = tx.abort();
            }
        })
    };

    let database = match settle(&open_request, on_upgrade.as_ref(), blocked_timeout_ms).await {
        Settled::Blocked(late) => {
            // Gave up waiting; the upgrade may still run (its callback lives until the request
            // ends), and glue.js closes that late connection at once.
            wasm_bindgen_futures::spawn_local(async move {
                let _ = JsFuture::from(late).await;
                drop(on_upgrade);
            });
            return Err(blocked_error(
                &format!(
                    "upgrading \"{name}\" to version {} is blocked: another tab holds an older version open",
                    schema.version
                ),
                blocked_timeout_ms,
            ));
        }
        Settled::Failed(e) => {
            if let Some(e) = upgrade_error.borrow_mut().take() {
                return Err(e);
            }
            let mut error = from_js(&context, &e, ErrorKind::StorageUnavailable);
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
        Settled::Done(db) => db,
    };

    let raw: IdbDatabase = database.unchecked_into();
    let on_forced_close = Rc::new(on_forced_close);
    let for_close = raw.clone();
    let notify = on_forced_close.clone();
    let on_version_change = VersionChangeHandler::new(move |event: IdbVersionChangeEvent| {
        // Another connection wants a newer version (or a delete): step aside instead of blocking it.
        for_close.close();
        let next = event.new_version().map(|v| app_version_of(v as u32));
        notify(ForcedClose::VersionChange(next));
    });
    let on_close = Closure::<dyn FnMut()>::new(move || on_forced_close(ForcedClose::Lost));
    raw.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
    raw.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let connection = Connection { raw, _events: (on_version_change, on_close) };

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
/// new database (`created`, with the spaces it starts with) also records every declared
/// migration as applied (its data is born in the newest shape, so there is nothing to migrate)
/// and stores its space set. An index that fails while it is built (a unique index over
/// duplicate values) aborts the transaction later; `failure` receives that error.
fn upgrade(
    database: &IdbDatabase,
    tx: &IdbTransaction,
    schema: &Schema,
    created: Option<&[String]>,
    migrations: &[u32],
    failure: &Rc<RefCell<Option<Error>>>,
) -> Result<()> {
    let context = format!("upgrading \"{}\" to version {}", schema.database_name(), schema.version);
    let fail = |e: JsValue| from_js(&context, &e, ErrorKind::InvalidOptions);

    let failure = failure.clone();
    let abort_context = context.clone();
    let tx_for_error = tx.clone();
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
    let _ = tx.add_event_listener_with_callback("abort", on_abort.unchecked_ref());

    let names = database.object_store_names();
    let names: Vec<String> = (0..names.length()).filter_map(|i| names.get(i)).collect();
    let existing = read_layout(tx, &names)?;
    for step in plan_upgrade(&existing, schema) {
        match step {
            UpgradeStep::CreateStore { name, kind } => {
                let (key_path, auto_increment) = match kind {
                    StoreKind::Collection => (JsValue::from_str("id"), false),
                    StoreKind::Outbox | StoreKind::Log => (JsValue::from_str("seq"), true),
                    StoreKind::Conflicts => (Array::of2(&"collection".into(), &"id".into()).into(), false),
                    StoreKind::Meta => (JsValue::UNDEFINED, false),
                    StoreKind::Blobs => (JsValue::from_str("hash"), false),
                };
                glue::create_store(database, &name, &key_path, auto_increment).map_err(fail)?;
            }
            UpgradeStep::DeleteIndex { store, name } => {
                tx.object_store(&store).map_err(fail)?.delete_index(&name).map_err(fail)?;
            }
            UpgradeStep::CreateIndex { store, index } => {
                let key_path: JsValue = if index.compound {
                    index.key_path.iter().map(|p| JsValue::from_str(p)).collect::<Array>().into()
                } else {
                    JsValue::from_str(&index.key_path[0])
                };
                let store = tx.object_store(&store).map_err(fail)?;
                glue::create_index(&store, &index.name, &key_path, index.unique, index.multi_entry).map_err(|e| {
                    from_js(
                        &format!("{context}: creating index \"{}\" on \"{}\"", index.name, store.name()),
                        &e,
                        ErrorKind::InvalidOptions,
                    )
                })?;
            }
        }
    }

    if let Some(spaces) = created.filter(|s| !s.is_empty()) {
        let meta = tx.object_store(META_STORE).map_err(fail)?;
        super::spaces::start_set(&meta, spaces, &context)?;
    }
    if created.is_some() && !migrations.is_empty() {
        let applied = Array::new();
        for v in migrations {
            applied.push(&JsValue::from_f64(*v as f64));
        }
        tx.object_store(META_STORE)
            .map_err(fail)?
            .put_with_key(&applied, &JsValue::from_str(APPLIED_MIGRATIONS_KEY))
            .map_err(fail)?;
    }
    Ok(())
}

/// Deletes a tenant's database. Every connection to it must close; one that does not within
/// `blocked_timeout_ms` of the `blocked` event fails the delete with UpgradeBlockedError.
pub async fn delete(name: &str, blocked_timeout_ms: u32) -> Result<()> {
    let context = format!("deleting \"{name}\"");
    let request = factory()?.delete_database(name).map_err(|e| from_js(&context, &e, ErrorKind::Storage))?;
    match settle(&request, &JsValue::UNDEFINED, blocked_timeout_ms).await {
        Settled::Done(_) => Ok(()),
        Settled::Failed(e) => Err(from_js(&context, &e, ErrorKind::Storage)),
        // The delete still happens once the other connections close; nobody waits for it.
        Settled::Blocked(_) => {
            Err(blocked_error(&format!("{context} is blocked: another tab holds it open"), blocked_timeout_ms))
        }
    }
}
