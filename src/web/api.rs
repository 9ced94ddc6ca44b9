//! The wasm-bindgen facade: `open`, `Database` and `Collection`. Each method reads its
//! arguments (interop), calls the store (reads, writes) and hands back a promise; the typed
//! surface is in ferrysync.d.ts.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Date, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::IdbDatabase;

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::ids::IdGenerator;
use crate::core::schema::{database_name, Schema};

use super::connection::{self, Connection, ForcedClose};
use super::error::to_js;
use super::events::{external_store, live_store, notify, once_fn, Listeners, StatusState};
use super::interop::{change_event, check_record, get as field, read_id, read_open_options, read_query};
use super::sync;
use super::tabs::Tabs;
use super::writes::{self, Intent, Write};
use super::{migrations, reads};

/// One open database handle, shared by its `Database` and every `Collection` of it.
pub struct Inner {
    pub schema: Schema,
    connection: RefCell<Option<Connection>>,
    pub ids: IdGenerator,
    listeners: RefCell<Listeners>,
    status: RefCell<StatusState>,
    status_store: RefCell<Option<JsValue>>,
    /// None without a `sync` option.
    pub sync: Option<sync::Engine>,
    tabs: RefCell<Option<Tabs>>,
    /// Coalesces the recounts other tabs' changes ask for.
    recount_timer: RefCell<Option<gloo_timers::callback::Timeout>>,
}

impl Inner {
    pub fn db(&self) -> Result<IdbDatabase> {
        self.connection.borrow().as_ref().map(|c| c.raw.clone()).ok_or_else(|| self.closed_error())
    }

    pub fn closed_error(&self) -> Error {
        Error::new(ErrorKind::DatabaseClosed, format!("database \"{}\" is closed", self.schema.database_name()))
    }

    pub fn is_open(&self) -> bool {
        self.connection.borrow().is_some()
    }

    pub fn status_now(&self) -> crate::core::status::SyncStatus {
        self.status.borrow().status.clone()
    }

    /// Tells other tabs this tab's sync status.
    pub fn post_status(&self) {
        if let Some(tabs) = self.tabs.borrow().as_ref() {
            tabs.post_status(&self.status.borrow().status);
        }
    }

    /// Counts the queue, the dead letters and the conflicts again, and sets them.
    pub async fn recount(&self) {
        let Ok(db) = self.db() else { return };
        if let Ok((pending, failed, conflicts)) = reads::sync_counts(&db).await {
            self.update_status(|s| s.set_counts(pending, failed, conflicts));
        }
    }

    /// Recounts shortly, once for a burst of calls.
    fn recount_soon(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        *self.recount_timer.borrow_mut() = Some(gloo_timers::callback::Timeout::new(20, move || {
            if let Some(inner) = weak.upgrade() {
                wasm_bindgen_futures::spawn_local(async move { inner.recount().await });
            }
        }));
    }

    /// A change another tab committed: this tab's listeners hear it, and the counts follow.
    pub fn remote_change(self: &Rc<Self>, event: &JsValue) {
        if let Some(collection) = field(event, "collection").as_string() {
            // Copied out first: a listener may subscribe, unsubscribe or close.
            let listeners = self.listeners.borrow().for_collection(&collection);
            notify(&listeners, event);
        }
        self.recount_soon();
    }

    /// Another tab's sync status (only one tab syncs at a time).
    pub fn remote_status(self: &Rc<Self>, status: &JsValue) {
        // While this tab syncs, its own status is the truth (a post from another tab may have
        // been sent before it learned of this sync).
        if self.sync.as_ref().is_some_and(|e| e.state.borrow().holding) {
            return;
        }
        self.update_status(|s| {
            let next = super::tabs::adopt_remote(s, status);
            s.replace(next)
        });
        if self.status_now().syncing {
            sync::watch_remote_sync(self);
        }
    }

    /// After a sync step or a decision committed: the pending count, the listeners here and in
    /// other tabs.
    pub fn announce_sync(&self, changes: &sync::Changes, pending_delta: i64) {
        self.update_status(|s| s.add_pending(pending_delta));
        for (collection, list) in &changes.0 {
            self.broadcast(collection, list);
        }
    }

    /// Tells this tab's listeners of `collection` and the other tabs.
    fn broadcast(&self, collection: &str, changes: &[(String, &'static str)]) {
        if changes.is_empty() {
            return;
        }
        let listeners = self.listeners.borrow().for_collection(collection);
        let has_tabs = self.tabs.borrow().is_some();
        if listeners.length() == 0 && !has_tabs {
            return;
        }
        let event = change_event(collection, changes);
        // Other tabs first: a listener here may close the database (and its channel).
        if let Some(tabs) = self.tabs.borrow().as_ref() {
            tabs.post_change(&event);
        }
        notify(&listeners, &event);
    }

    fn check_collection(&self, name: &str) -> Result<()> {
        if self.schema.collection(name).is_none() {
            let known: Vec<&str> = self.schema.collections.iter().map(|c| c.name.as_str()).collect();
            return Err(Error::new(
                ErrorKind::UnknownCollection,
                format!("no collection \"{name}\" in the schema (declared: {})", known.join(", ")),
            ));
        }
        Ok(())
    }

    fn close(&self) {
        sync::stop(self);
        if let Some(tabs) = self.tabs.borrow_mut().take() {
            tabs.close();
        }
        if let Some(c) = self.connection.borrow_mut().take() {
            c.raw.close();
        }
    }

    pub fn update_status(&self, change: impl FnOnce(&mut crate::core::status::SyncStatus) -> bool) {
        let listeners = self.status.borrow_mut().update(change);
        if let Some(listeners) = listeners {
            notify(&listeners, &JsValue::UNDEFINED);
        }
    }

    /// After a local write committed: the pending count, the change listeners here and in
    /// other tabs, and a sync soon.
    fn announce(self: &Rc<Self>, collection: &str, written: &writes::Written, ids: &[String]) {
        self.update_status(|s| s.add_pending(written.pending_delta));
        if self.listeners.borrow().any_for(collection) || self.tabs.borrow().is_some() {
            let changes: Vec<(String, &'static str)> = written
                .outcomes
                .iter()
                .zip(ids)
                .filter_map(|(o, id)| o.change.map(|op| (id.clone(), op.as_str())))
                .collect();
            self.broadcast(collection, &changes);
        }
        sync::after_write(self);
    }

    fn subscribe(self: &Rc<Self>, collection: Option<String>, listener: Function) -> JsValue {
        let id = self.listeners.borrow_mut().add(collection, listener);
        let weak = Rc::downgrade(self);
        once_fn(move || {
            if let Some(inner) = weak.upgrade() {
                inner.listeners.borrow_mut().remove(id);
            }
        })
    }
}

fn promise<F>(work: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue>> + 'static,
{
    future_to_promise(async move { work.await.map_err(to_js) })
}

/// A listener argument, or the typed error for anything that is not a function.
fn listener_fn(listener: JsValue) -> std::result::Result<Function, JsValue> {
    listener.dyn_into::<Function>().map_err(|v| {
        to_js(Error::new(
            ErrorKind::InvalidOptions,
            format!("subscribe() takes a listener function, got {}", super::interop::type_name(&v)),
        ))
    })
}

pub fn now() -> f64 {
    Date::now()
}

/// An open database of one app and tenant.
#[wasm_bindgen(skip_typescript)]
pub struct Database {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl Database {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.schema.database_name()
    }

    #[wasm_bindgen(getter)]
    pub fn app(&self) -> String {
        self.inner.schema.app.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn tenant(&self) -> JsValue {
        self.inner.schema.tenant.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL)
    }

    #[wasm_bindgen(getter)]
    pub fn version(&self) -> u32 {
        self.inner.schema.version
    }

    #[wasm_bindgen(getter, js_name = collectionNames)]
    pub fn collection_names(&self) -> Vec<String> {
        self.inner.schema.collections.iter().map(|c| c.name.clone()).collect()
    }

    #[wasm_bindgen(getter, js_name = isOpen)]
    pub fn is_open(&self) -> bool {
        self.inner.connection.borrow().is_some()
    }

    pub fn collection(&self, name: &str) -> std::result::Result<Collection, JsValue> {
        self.inner.check_collection(name).map_err(to_js)?;
        // Every write passes the collection name to JS; interned, it crosses as a cached handle.
        wasm_bindgen::intern(name);
        Ok(Collection { inner: self.inner.clone(), name: name.to_string() })
    }

    pub fn subscribe(&self, listener: JsValue) -> std::result::Result<JsValue, JsValue> {
        Ok(self.inner.subscribe(None, listener_fn(listener)?))
    }

    pub fn status(&self) -> JsValue {
        self.inner.status.borrow().snapshot()
    }

    /// The same object on every call, so it can be passed to useSyncExternalStore directly.
    #[wasm_bindgen(js_name = statusStore)]
    pub fn status_store(&self) -> JsValue {
        if let Some(store) = self.inner.status_store.borrow().as_ref() {
            return store.clone();
        }
        let weak = Rc::downgrade(&self.inner);
        let weak2 = weak.clone();
        let store = external_store(
            move |listener| {
                let Some(inner) = weak.upgrade() else { return once_fn(|| {}) };
                let id = inner.status.borrow_mut().add(listener);
                let weak = Rc::downgrade(&inner);
                once_fn(move || {
                    if let Some(inner) = weak.upgrade() {
                        inner.status.borrow_mut().remove(id);
                    }
                })
            },
            move || weak2.upgrade().map(|i| i.status.borrow().snapshot()).unwrap_or(JsValue::UNDEFINED),
        );
        *self.inner.status_store.borrow_mut() = Some(store.clone());
        store
    }

    /// Pushes the queue and pulls the server's changes now; resolves with what the sync did.
    #[wasm_bindgen(js_name = syncNow)]
    pub fn sync_now(&self) -> Promise {
        sync::sync_now(&self.inner)
    }

    /// Every unresolved conflict.
    pub fn conflicts(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { sync::conflicts(&inner.db()?).await })
    }

    /// Settles a conflict by keeping `"local"` or `"server"`.
    #[wasm_bindgen(js_name = resolveConflict)]
    pub fn resolve_conflict(&self, collection: String, id: JsValue, keep: JsValue) -> Promise {
        let inner = self.inner.clone();
        let checked = self.decision_target(&collection, &id).and_then(|id| Ok((id, sync::Choice::parse(&keep)?)));
        promise(async move {
            let (id, choice) = checked?;
            let decided = sync::resolve_conflict(&inner.db()?, &inner.ids, &collection, &id, choice, now()).await?;
            inner.decided(decided).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Every change the server rejected (dead letters), with its error.
    pub fn failed(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { sync::dead_letters(&inner.db()?).await })
    }

    /// Sends a rejected change again (as a new mutation).
    #[wasm_bindgen(js_name = retryFailed)]
    pub fn retry_failed(&self, collection: String, id: JsValue) -> Promise {
        let inner = self.inner.clone();
        let checked = self.decision_target(&collection, &id);
        promise(async move {
            let id = checked?;
            let decided = sync::retry_failed(&inner.db()?, &inner.ids, &collection, &id, now()).await?;
            inner.decided(decided).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Drops a rejected change (and the record's later ones); the server's version comes back
    /// on the next sync.
    #[wasm_bindgen(js_name = discardFailed)]
    pub fn discard_failed(&self, collection: String, id: JsValue) -> Promise {
        let inner = self.inner.clone();
        let checked = self.decision_target(&collection, &id);
        promise(async move {
            let id = checked?;
            let decided = sync::discard_failed(&inner.db()?, &collection, &id, now()).await?;
            inner.decided(decided).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    pub fn outbox(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { reads::outbox(&inner.db()?).await })
    }

    pub fn close(&self) {
        self.inner.close();
    }
}

impl Database {
    fn decision_target(&self, collection: &str, id: &JsValue) -> Result<String> {
        self.inner.check_collection(collection)?;
        super::interop::read_id(collection, id)
    }
}

impl Inner {
    /// After a decision committed: counts, listeners, and a sync for what it queued.
    async fn decided(self: &Rc<Self>, decided: sync::Decided) {
        self.announce_sync(&decided.changes, decided.pending_delta);
        self.recount().await;
        sync::after_write(self);
    }
}

/// One collection of a database: CRUD, queries, subscriptions.
#[wasm_bindgen(skip_typescript)]
pub struct Collection {
    inner: Rc<Inner>,
    name: String,
}

impl Collection {
    /// Runs `writes` in one transaction and announces what changed.
    async fn write(inner: Rc<Inner>, collection: String, writes: Vec<Write>) -> Result<writes::Written> {
        let db = inner.db()?;
        let ids: Vec<String> = writes.iter().map(|w| w.id.clone()).collect();
        let written = writes::write(&db, &collection, &inner.ids, now(), writes).await?;
        inner.announce(&collection, &written, &ids);
        Ok(written)
    }

    /// A write of one record, from what the caller passed.
    fn single(&self, id: Option<&JsValue>, data: &JsValue, intent: fn(JsValue) -> Intent) -> Promise {
        let inner = self.inner.clone();
        let collection = self.name.clone();
        let prepared = (|| -> Result<Write> {
            let own_id = check_record(&collection, data)?;
            let (id, generated) = match (id, own_id) {
                (Some(target), own) => {
                    let target = read_id(&collection, target)?;
                    if own.as_ref().is_some_and(|o| *o != target) {
                        return Err(Error::new(
                            ErrorKind::InvalidRecord,
                            format!("the data's id \"{}\" differs from the record's id \"{target}\"", own.unwrap()),
                        ));
                    }
                    (target, false)
                }
                (None, Some(own)) => (own, false),
                (None, None) => (inner.ids.next_at(now()), true),
            };
            Ok(Write { key: JsValue::from_str(&id), id, generated, intent: intent(data.clone()) })
        })();
        promise(async move {
            let written = Self::write(inner, collection, vec![prepared?]).await?;
            Ok(written.outcomes.into_iter().next().and_then(|o| o.stored).unwrap_or(JsValue::UNDEFINED))
        })
    }

    fn bulk(&self, records: &JsValue, intent: fn(JsValue) -> Intent, refuse_duplicates: bool) -> Promise {
        let inner = self.inner.clone();
        let collection = self.name.clone();
        let prepared = (|| -> Result<Vec<Write>> {
            if !Array::is_array(records) {
                return Err(Error::new(ErrorKind::InvalidRecord, "bulk writes take an array of records"));
            }
            let mut seen = std::collections::HashSet::new();
            let mut writes = Vec::new();
            for (i, record) in Array::from(records).iter().enumerate() {
                let own = check_record(&collection, &record)
                    .map_err(|e| Error { message: format!("record #{i}: {}", e.message), ..e })?;
                let (id, generated) = match own {
                    Some(id) => (id, false),
                    None => (inner.ids.next_at(now()), true),
                };
                if refuse_duplicates && !generated && !seen.insert(id.clone()) {
                    return Err(Error::new(
                        ErrorKind::RecordExists,
                        format!("record #{i}: id \"{id}\" appears twice in the batch"),
                    ));
                }
                writes.push(Write { key: JsValue::from_str(&id), id, generated, intent: intent(record) });
            }
            Ok(writes)
        })();
        promise(async move {
            let writes = prepared?;
            let ids: Array = writes.iter().map(|w| w.key.clone()).collect();
            Self::write(inner, collection, writes).await?;
            Ok(ids.into())
        })
    }
}

#[wasm_bindgen]
impl Collection {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    pub fn create(&self, data: JsValue) -> Promise {
        self.single(None, &data, Intent::Create)
    }

    pub fn put(&self, data: JsValue) -> Promise {
        self.single(None, &data, Intent::Put)
    }

    pub fn update(&self, id: JsValue, patch: JsValue) -> Promise {
        self.single(Some(&id), &patch, Intent::Update)
    }

    pub fn replace(&self, id: JsValue, data: JsValue) -> Promise {
        self.single(Some(&id), &data, Intent::Replace)
    }

    pub fn delete(&self, id: JsValue) -> Promise {
        let inner = self.inner.clone();
        let collection = self.name.clone();
        let id = read_id(&collection, &id);
        promise(async move {
            let id = id?;
            let write = Write { key: JsValue::from_str(&id), id, generated: false, intent: Intent::Delete };
            let written = Self::write(inner, collection, vec![write]).await?;
            Ok(JsValue::from_bool(written.outcomes.iter().any(|o| o.change.is_some())))
        })
    }

    #[wasm_bindgen(js_name = bulkCreate)]
    pub fn bulk_create(&self, records: JsValue) -> Promise {
        self.bulk(&records, Intent::Create, true)
    }

    #[wasm_bindgen(js_name = bulkPut)]
    pub fn bulk_put(&self, records: JsValue) -> Promise {
        self.bulk(&records, Intent::Put, false)
    }

    pub fn get(&self, id: JsValue, options: JsValue) -> Promise {
        let inner = self.inner.clone();
        let collection = self.name.clone();
        let checked = read_id(&collection, &id);
        let include_deleted = !options.is_undefined() && field(&options, "includeDeleted").as_bool().unwrap_or(false);
        promise(async move {
            checked?;
            reads::get(&inner.db()?, &collection, &id, include_deleted).await
        })
    }

    pub fn query(&self, query: JsValue) -> Promise {
        let inner = self.inner.clone();
        let collection = self.name.clone();
        let parsed = read_query(&query);
        promise(async move {
            let (spec, range) = parsed?;
            Ok(reads::query(&inner.db()?, &collection, &spec, &range).await?.into())
        })
    }

    pub fn count(&self, query: JsValue) -> Promise {
        let inner = self.inner.clone();
        let collection = self.name.clone();
        let parsed = read_query(&query);
        promise(async move {
            let (spec, range) = parsed?;
            Ok(JsValue::from_f64(reads::count(&inner.db()?, &collection, &spec, &range).await? as f64))
        })
    }

    pub fn subscribe(&self, listener: JsValue) -> std::result::Result<JsValue, JsValue> {
        Ok(self.inner.subscribe(Some(self.name.clone()), listener_fn(listener)?))
    }

    pub fn live(&self, query: JsValue) -> std::result::Result<JsValue, JsValue> {
        // Refuse a bad query now rather than on every re-run.
        read_query(&query).map_err(to_js)?;
        let weak: Weak<Inner> = Rc::downgrade(&self.inner);
        let collection = self.name.clone();
        let attach = {
            let weak = weak.clone();
            let collection = collection.clone();
            move |on_change: Function| -> Box<dyn FnOnce()> {
                let Some(inner) = weak.upgrade() else { return Box::new(|| {}) };
                let unsubscribe: Function = inner.subscribe(Some(collection.clone()), on_change).into();
                Box::new(move || {
                    let _ = unsubscribe.call0(&JsValue::UNDEFINED);
                })
            }
        };
        let run = move || match weak.upgrade() {
            Some(inner) if inner.connection.borrow().is_some() => {
                Collection { inner, name: collection.clone() }.query(query.clone())
            }
            // Closed: keep the last answer rather than fail on every change.
            _ => Promise::reject(&JsValue::UNDEFINED),
        };
        Ok(live_store(attach, run))
    }
}

/// Opens (creating or upgrading) the database of `options.app` and `options.tenant`.
#[wasm_bindgen(skip_typescript)]
pub fn open(options: JsValue) -> Promise {
    let parsed = read_open_options(&options);
    promise(async move {
        let options = parsed?;
        intern_constants();
        let inner = Rc::new(Inner {
            schema: options.schema.clone(),
            connection: RefCell::new(None),
            ids: IdGenerator::default(),
            listeners: RefCell::default(),
            status: RefCell::default(),
            status_store: RefCell::default(),
            sync: options.sync.map(|(settings, transport)| sync::Engine::new(settings, transport)),
            tabs: RefCell::default(),
            recount_timer: RefCell::default(),
        });
        let weak = Rc::downgrade(&inner);
        let on_version_change = options.on_version_change.clone();
        let versions: Vec<u32> = options.migrations.iter().map(|(v, _)| *v).collect();
        let connection = connection::open(&options.schema, versions, options.blocked_timeout_ms, move |why| {
            if let Some(inner) = weak.upgrade() {
                inner.close();
            }
            let ForcedClose::VersionChange(next) = why else { return };
            if let Some(callback) = &on_version_change {
                let info = js_sys::Object::new();
                let next = next.map(|v| JsValue::from_f64(v as f64)).unwrap_or(JsValue::NULL);
                let _ = js_sys::Reflect::set(&info, &"newVersion".into(), &next);
                if let Err(e) = callback.call1(&JsValue::UNDEFINED, &info) {
                    web_sys::console::error_2(&"ferrysync: onVersionChange threw".into(), &e);
                }
            }
        })
        .await?;
        let db = connection.raw.clone();
        *inner.connection.borrow_mut() = Some(connection);
        let handle: JsValue = Database { inner: inner.clone() }.into();
        *inner.tabs.borrow_mut() = Tabs::open(&inner);
        if options.migrations.is_empty() {
            count_pending_soon(&inner);
            sync::start(&inner);
            return Ok(handle);
        }
        let ready = async {
            migrations::run_exclusively(&options.schema.database_name(), &db, &options.migrations, &handle).await?;
            // Migrations (here or in another tab that held the lock) write through the API, so
            // count after them; set, never add, since this tab's writes were announced one by one.
            inner.recount().await;
            Ok::<_, Error>(())
        };
        if let Err(e) = ready.await {
            inner.close();
            return Err(e);
        }
        sync::start(&inner);
        Ok(handle)
    })
}

/// Counts the outbox once the page's first transactions are on their way: a count takes time
/// proportional to the queue, and the browser runs a database's transactions one after another,
/// so counting first would hold up the first query. Setting the count is exact whenever it
/// lands: writes created before the count's transaction are in it and have already added their
/// deltas; writes created after it commit after it, and add theirs on top.
fn count_pending_soon(inner: &Rc<Inner>) {
    let weak = Rc::downgrade(inner);
    wasm_bindgen_futures::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(0).await;
        if let Some(inner) = weak.upgrade() {
            inner.recount().await;
        }
    });
}

/// Caches the JS strings every write passes (op and status names), so they are not decoded
/// from wasm memory once per record.
fn intern_constants() {
    use crate::core::outbox::Op;
    use crate::core::status::RecordStatus;
    for op in [Op::Create, Op::Update, Op::Delete] {
        wasm_bindgen::intern(op.as_str());
    }
    for status in [RecordStatus::Pending, RecordStatus::Synced, RecordStatus::Conflict, RecordStatus::Failed] {
        wasm_bindgen::intern(status.as_str());
    }
}

/// How long a delete waits for other connections to close before it reports UpgradeBlockedError.
const DELETE_BLOCKED_TIMEOUT_MS: u32 = 5000;

/// Deletes the database of `app` and `tenant`.
#[wasm_bindgen(js_name = deleteDatabase, skip_typescript)]
pub fn delete_database(app: String, tenant: Option<String>) -> Promise {
    promise(async move {
        connection::delete(&database_name(&app, tenant.as_deref()), DELETE_BLOCKED_TIMEOUT_MS).await?;
        Ok(JsValue::UNDEFINED)
    })
}
