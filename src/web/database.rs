//! One open database handle, shared by its `Database` and every `Collection` of it: the
//! connection, the listeners, the status snapshot, the other tabs, and the sync driver. It is the
//! [`Host`] the driver reports to.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::JsValue;
use web_sys::IdbDatabase;

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::eviction::Marker;
use crate::core::ids::IdGenerator;
use crate::core::schema::Schema;
use crate::core::status::SyncStatus;
use crate::core::sync::engine::Event;
use crate::core::sync::settings::Settings;
use crate::core::sync::storage::{Changes, Decided};

use super::driver::{Driver, Host};
use super::events::{notify, once_fn, Listeners, StatusState};
use super::idb::connection::Connection;
use super::idb::marker;
use super::idb::writes::{self, Write, Written};
use super::idb::IdbStore;
use super::js::{get, now};
use super::records::change_event;
use super::tabs::Tabs;
use super::transport::Transport;

pub struct Inner {
    pub schema: Rc<Schema>,
    connection: RefCell<Option<Connection>>,
    pub ids: IdGenerator,
    listeners: RefCell<Listeners>,
    status: RefCell<StatusState>,
    /// The `{subscribe, getSnapshot}` object of `statusStore()`, made once.
    pub status_store: RefCell<Option<JsValue>>,
    tabs: RefCell<Option<Tabs>>,
    pub driver: Rc<Driver>,
    /// The database's instance id, for its eviction marker (unknown if the marker failed).
    instance: RefCell<Option<String>>,
}

impl Inner {
    /// A handle on `schema`'s database, not yet connected.
    pub fn new(schema: Schema, sync: Option<(Settings, Transport)>, resolvers: Vec<(String, Function)>) -> Rc<Inner> {
        let lock_name = format!("ferrysync:{}:sync", schema.database_name());
        // The tag of the Background Sync registration that `ferrysync/sw` answers (its
        // `tagOf()` builds the same name from the options).
        let tag = format!("ferrysync:{}", schema.database_name());
        Rc::new_cyclic(|weak: &std::rc::Weak<Inner>| Inner {
            schema: Rc::new(schema),
            connection: RefCell::new(None),
            ids: IdGenerator::default(),
            listeners: RefCell::default(),
            status: RefCell::default(),
            status_store: RefCell::default(),
            tabs: RefCell::default(),
            driver: Rc::new(Driver::new(weak.clone(), sync, lock_name, tag, resolvers)),
            instance: RefCell::default(),
        })
    }

    /// Connected: other tabs are heard from, and the engine starts.
    pub fn connected(self: &Rc<Self>, connection: Connection) {
        *self.connection.borrow_mut() = Some(connection);
        let (on_change, on_status) = (Rc::downgrade(self), Rc::downgrade(self));
        *self.tabs.borrow_mut() = Tabs::open(
            &self.schema.database_name(),
            move |event| {
                if let Some(inner) = on_change.upgrade().filter(|i| i.is_open()) {
                    inner.remote_change(event);
                }
            },
            move |status| {
                if let Some(inner) = on_status.upgrade().filter(|i| i.is_open()) {
                    inner.driver.feed(Event::RemoteStatus(status));
                }
            },
        );
    }

    pub fn db(&self) -> Result<IdbDatabase> {
        self.connection.borrow().as_ref().map(|c| c.raw.clone()).ok_or_else(|| self.closed_error())
    }

    pub fn closed_error(&self) -> Error {
        Error::new(ErrorKind::DatabaseClosed, format!("database \"{}\" is closed", self.schema.database_name()))
    }

    pub fn is_open(&self) -> bool {
        self.connection.borrow().is_some()
    }

    pub fn check_collection(&self, name: &str) -> Result<()> {
        if self.schema.collection(name).is_none() {
            let known: Vec<&str> = self.schema.collections.iter().map(|c| c.name.as_str()).collect();
            return Err(Error::new(
                ErrorKind::UnknownCollection,
                format!("no collection \"{name}\" in the schema (declared: {})", known.join(", ")),
            ));
        }
        Ok(())
    }

    pub fn close(&self) {
        self.driver.stop();
        if let Some(tabs) = self.tabs.borrow_mut().take() {
            tabs.close();
        }
        if let Some(c) = self.connection.borrow_mut().take() {
            c.raw.close();
            // After the connection is gone, so that the engine's last commands find it closed.
            self.driver.feed(Event::Closed { error: self.closed_error() });
        }
    }

    pub fn status_snapshot(&self) -> JsValue {
        self.status.borrow().snapshot()
    }

    pub fn set_instance(&self, instance: String) {
        *self.instance.borrow_mut() = Some(instance);
    }

    /// Whether the status (as of its last count) lists `space` among the spaces this device syncs.
    pub fn syncs_space(&self, space: &str) -> bool {
        self.status.borrow().status().spaces.iter().any(|s| s.space == space)
    }

    pub fn add_status_listener(&self, listener: Function) -> u32 {
        self.status.borrow_mut().add(listener)
    }

    pub fn remove_status_listener(&self, id: u32) {
        self.status.borrow_mut().remove(id)
    }

    /// Runs `writes` in one transaction; the engine hears of it (counts, listeners, a sync soon).
    pub async fn write(&self, collection: &str, mut writes: Vec<Write>) -> Result<Written> {
        if let Some(definition) = self.schema.collection(collection).filter(|c| !c.blobs.is_empty()) {
            let as_parts = !super::blobs::stores_blobs(&self.db()?).await;
            for (i, w) in writes.iter_mut().enumerate() {
                if let Some((data, rows)) = super::blobs::prepare::take(definition, i, &w.data, as_parts, now()).await?
                {
                    (w.data, w.blobs) = (data, rows);
                }
            }
        }
        let mut written =
            writes::write(&self.db()?, collection, &self.ids, now(), writes, self.driver.blob_cap()).await?;
        let changes = std::mem::take(&mut written.changes);
        self.driver.feed(Event::WriteCommitted { pending_delta: written.pending_delta, changes });
        Ok(written)
    }

    /// `db.blob(value)`: a Blob as it is; a reference's Blob, stored here or downloaded now.
    pub async fn blob(self: &Rc<Self>, value: &JsValue) -> Result<JsValue> {
        if super::blobs::is_blob(value) {
            return Ok(value.clone());
        }
        let hash = get(value, "$blob").as_string().filter(|h| crate::protocol::blobs::is_hash(h));
        let size = get(value, "size").as_f64().filter(|n| *n >= 0.0 && n.fract() == 0.0);
        let (Some(hash), Some(size)) = (hash, size) else {
            return Err(Error::new(
                ErrorKind::InvalidRecord,
                format!(
                    "db.blob() takes a Blob or a blob reference read from a record ({{ $blob, size, type }}), got {}",
                    super::js::describe(value)
                ),
            ));
        };
        let db = self.db()?;
        let row = super::idb::downloads::row(&db, &hash).await?;
        let stored = super::blobs::blob_of_row(&row);
        if !stored.is_undefined() {
            super::idb::downloads::touch(&db, &[JsValue::from_str(&hash)], now()).await?;
            return Ok(stored);
        }
        let media_type = get(value, "type").as_string().unwrap_or_default();
        let blob = crate::protocol::BlobRef { hash, size: size as u64, media_type };
        self.driver.fetch_blob(&self.store()?, &blob).await
    }

    /// `conflicts` (as stored) with the files stored here in place of their references, on both
    /// sides: a conflict on a file shows both (the other device's, if it is not here, as its
    /// reference, for `db.blob()`).
    pub async fn conflicts_with_blobs(&self, conflicts: JsValue) -> Result<JsValue> {
        for conflict in js_sys::Array::from(&conflicts).iter() {
            let collection = get(&conflict, "collection").as_string().unwrap_or_default();
            if self.schema.collection(&collection).is_none_or(|c| c.blobs.is_empty()) {
                continue;
            }
            let server = get(&conflict, "server");
            for (holder, field) in [(&conflict, "local"), (&server, "data")] {
                let resolved = self.with_blobs(&collection, get(holder, field)).await?;
                let _ = js_sys::Reflect::set(holder, &JsValue::from_str(field), &resolved);
            }
        }
        Ok(conflicts)
    }

    /// `records` (one, or an array) read from `collection`, with the blobs stored here in place
    /// of their references.
    pub async fn with_blobs(&self, collection: &str, records: JsValue) -> Result<JsValue> {
        match self.schema.collection(collection) {
            Some(definition) => super::idb::blobs::resolve(&self.db()?, definition, records).await,
            None => Ok(records),
        }
    }

    /// After a decision committed: the engine hears of it (counts, listeners, a sync for what it
    /// queued); done once the status counts it. The decision has committed whatever the count
    /// says (a close meanwhile rejects the wait), so that answer is not the caller's.
    pub async fn decided(&self, decided: Decided) {
        let _ = wasm_bindgen_futures::JsFuture::from(self.driver.decided(decided)).await;
    }

    /// A change another tab committed: this tab's listeners hear it, and the engine counts again.
    fn remote_change(&self, event: &JsValue) {
        if let Some(collection) = get(event, "collection").as_string() {
            // Copied out first: a listener may subscribe, unsubscribe or close.
            let listeners = self.listeners.borrow().for_collection(&collection);
            notify(&listeners, event);
        }
        self.driver.feed(Event::RemoteChange);
    }

    pub fn subscribe(self: &Rc<Self>, collection: Option<String>, listener: Function) -> JsValue {
        let id = self.listeners.borrow_mut().add(collection, listener);
        let weak = Rc::downgrade(self);
        once_fn(move || {
            if let Some(inner) = weak.upgrade() {
                inner.listeners.borrow_mut().remove(id);
            }
        })
    }
}

impl Host for Inner {
    fn store(&self) -> Result<IdbStore> {
        Ok(IdbStore { db: self.db()?, schema: self.schema.clone(), blob_cap: self.driver.blob_cap() })
    }

    fn mutation_id(&self) -> String {
        self.ids.next_at(now())
    }

    fn announce(&self, changes: &Changes) {
        let has_tabs = self.tabs.borrow().is_some();
        for (collection, list) in &changes.0 {
            if list.is_empty() || (!has_tabs && !self.listeners.borrow().any_for(collection)) {
                continue;
            }
            let event = change_event(collection, list);
            // Other tabs first: a listener here may close the database (and its channel).
            if let Some(tabs) = self.tabs.borrow().as_ref() {
                tabs.post_change(&event);
            }
            let listeners = self.listeners.borrow().for_collection(collection);
            notify(&listeners, &event);
        }
    }

    fn publish(&self, status: &SyncStatus) {
        let listeners = self.status.borrow_mut().set(status);
        if let Some(listeners) = listeners {
            notify(&listeners, &JsValue::UNDEFINED);
        }
    }

    fn post_status(&self, status: &SyncStatus) {
        if let Some(tabs) = self.tabs.borrow().as_ref() {
            tabs.post_status(status);
        }
    }

    fn mark(&self, unsent: u64) {
        let Some(instance) = self.instance.borrow().clone() else { return };
        let name = self.schema.database_name();
        let marker = Marker { instance, unsent, seen_at: now() };
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = marker::write(&name, &marker).await {
                web_sys::console::warn_1(&format!("ferrysync: {}", e.message).into());
            }
        });
    }
}
