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
use super::writes::{self, Intent, Write};
use super::{migrations, reads};

/// One open database handle, shared by its `Database` and every `Collection` of it.
pub struct Inner {
    schema: Schema,
    connection: RefCell<Option<Connection>>,
    ids: IdGenerator,
    listeners: RefCell<Listeners>,
    status: RefCell<StatusState>,
    status_store: RefCell<Option<JsValue>>,
}

impl Inner {
    fn db(&self) -> Result<IdbDatabase> {
        self.connection.borrow().as_ref().map(|c| c.raw.clone()).ok_or_else(|| {
            Error::new(
                ErrorKind::DatabaseClosed,
                format!("database \"{}\" is closed", self.schema.database_name()),
            )
        })
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
        if let Some(c) = self.connection.borrow_mut().take() {
            c.raw.close();
        }
    }

    fn update_status(&self, change: impl FnOnce(&mut crate::core::status::SyncStatus) -> bool) {
        let listeners = self.status.borrow_mut().update(change);
        if let Some(listeners) = listeners {
            notify(&listeners, &JsValue::UNDEFINED);
        }
    }

    /// After a commit: the pending count, then the change listeners.
    fn announce(&self, collection: &str, written: &writes::Written, ids: &[String]) {
        self.update_status(|s| s.add_pending(written.pending_delta));
        let listeners = self.listeners.borrow().for_collection(collection);
        if listeners.length() == 0 {
            return;
        }
        let changes: Vec<(String, &'static str)> = written
            .outcomes
            .iter()
            .zip(ids)
            .filter_map(|(o, id)| o.change.map(|op| (id.clone(), op.as_str())))
            .collect();
        if !changes.is_empty() {
            notify(&listeners, &change_event(collection, &changes));
        }
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

fn now() -> f64 {
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

    pub fn outbox(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { reads::outbox(&inner.db()?).await })
    }

    pub fn close(&self) {
        self.inner.close();
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
                    return Err(Error::new(ErrorKind::RecordExists, format!("record #{i}: id \"{id}\" appears twice in the batch")));
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
        });
        let weak = Rc::downgrade(&inner);
        let on_version_change = options.on_version_change.clone();
        let versions: Vec<u32> = options.migrations.iter().map(|(v, _)| *v).collect();
        let connection = connection::open(&options.schema, versions, options.blocked_timeout_ms, move |why| {
            if let Some(inner) = weak.upgrade() {
                inner.connection.borrow_mut().take();
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
        if options.migrations.is_empty() {
            count_pending_soon(&inner, db);
            return Ok(handle);
        }
        let ready = async {
            migrations::run_exclusively(&options.schema.database_name(), &db, &options.migrations, &handle).await?;
            // Migrations (here or in another tab that held the lock) write through the API, so
            // count after them; set, never add, since this tab's writes were announced one by one.
            let pending = reads::outbox_count(&db).await?;
            inner.update_status(|s| s.set_pending(pending));
            Ok::<_, Error>(())
        };
        if let Err(e) = ready.await {
            inner.close();
            return Err(e);
        }
        Ok(handle)
    })
}

/// Counts the outbox once the page's first transactions are on their way: a count takes time
/// proportional to the queue, and the browser runs a database's transactions one after another,
/// so counting first would hold up the first query. Setting the count is exact whenever it
/// lands: writes created before the count's transaction are in it and have already added their
/// deltas; writes created after it commit after it, and add theirs on top.
fn count_pending_soon(inner: &Rc<Inner>, db: IdbDatabase) {
    let weak = Rc::downgrade(inner);
    wasm_bindgen_futures::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(0).await;
        let counted = reads::outbox_count(&db).await;
        if let (Some(inner), Ok(pending)) = (weak.upgrade(), counted) {
            inner.update_status(|s| s.set_pending(pending));
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
