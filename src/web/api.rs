//! The wasm-bindgen facade: `open`, `Database` and `Collection`. Each method reads its
//! arguments (`records`, `query_args`, `options`), calls the store or the sync engine through the
//! open handle (`database`) and hands back a promise; the typed surface is package/src/index.d.ts.

use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::eviction::Verdict;
use crate::core::integrity::Tally;
use crate::core::order::sort_positions;
use crate::core::outbox::Op;
use crate::core::schema::database_name;
use crate::core::sync::conflict::tree::Tree;
use crate::core::sync::engine::Event;
use crate::core::sync::log::LOG_CHANGES;
use crate::core::sync::rules::force::{Force, Scope};
use crate::core::sync::storage::{Changes, Choice, Decided, SyncStorage};
use crate::core::write::Intent;
use crate::protocol::check_space;

use super::database::Inner;
use super::driver::Host;
use super::error::{promise, to_js};
use super::events::{external_store, once_fn};
use super::idb::connection::{self, ForcedClose};
use super::idb::writes::Write;
use super::idb::{integrity, marker, migrations, reads};
use super::js::{get as field, now, set_field, type_name};
use super::live::{live_store, LiveSource, Plan};
use super::options::{read_discard, read_open_options, read_progress};
use super::query_args::read_query;
use super::records::{check_record, read_id};
use super::spaces::Spaces;
use super::wire::JsData;

/// A failure of the browser's storage manager.
fn storage_error(e: JsValue) -> Error {
    super::error::from_js("asking the browser about storage", &e, ErrorKind::Storage)
}

/// A listener argument, or the typed error for anything that is not a function.
fn listener_fn(listener: JsValue) -> std::result::Result<Function, JsValue> {
    listener.dyn_into::<Function>().map_err(|v| {
        to_js(Error::new(
            ErrorKind::InvalidOptions,
            format!("subscribe() takes a listener function, got {}", type_name(&v)),
        ))
    })
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
        self.inner.is_open()
    }

    pub fn collection(&self, name: &str) -> std::result::Result<Collection, JsValue> {
        self.inner.check_collection(name).map_err(to_js)?;
        // Every write passes the collection name to JS; interned, it crosses as a cached handle.
        wasm_bindgen::intern(name);
        Ok(Collection { inner: self.inner.clone(), name: name.to_string() })
    }

    /// The spaces this device syncs: `list()`, `add()`, `remove()`.
    #[wasm_bindgen(getter)]
    pub fn spaces(&self) -> Spaces {
        Spaces { inner: self.inner.clone() }
    }

    pub fn subscribe(&self, listener: JsValue) -> std::result::Result<JsValue, JsValue> {
        Ok(self.inner.subscribe(None, listener_fn(listener)?))
    }

    pub fn status(&self) -> JsValue {
        self.inner.status_snapshot()
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
                let id = inner.add_status_listener(listener);
                let weak = Rc::downgrade(&inner);
                once_fn(move || {
                    if let Some(inner) = weak.upgrade() {
                        inner.remove_status_listener(id);
                    }
                })
            },
            move || weak2.upgrade().map(|i| i.status_snapshot()).unwrap_or(JsValue::UNDEFINED),
        );
        *self.inner.status_store.borrow_mut() = Some(store.clone());
        store
    }

    /// Pushes the queue and pulls the server's changes now; resolves with what the sync did.
    #[wasm_bindgen(js_name = syncNow)]
    pub fn sync_now(&self) -> Promise {
        self.inner.driver.sync_now()
    }

    /// Makes the server take the local version of every queued change (of `collections`, or
    /// all), whatever it holds, then syncs; resolves with what the sync did.
    #[wasm_bindgen(js_name = forcePush)]
    pub fn force_push(&self, options: JsValue) -> Promise {
        match self.read_force(&options, false) {
            Ok(force) => self.inner.driver.force(force),
            Err(e) => Promise::reject(&to_js(e)),
        }
    }

    /// Replaces local data (of `collections` or `spaces`, or all) with the server's, pulled from
    /// the start; queued changes are dropped, or with `keepLocalChanges` re-applied on top.
    #[wasm_bindgen(js_name = forcePull)]
    pub fn force_pull(&self, options: JsValue) -> Promise {
        match self.read_force(&options, true) {
            Ok(force) => self.inner.driver.force(force),
            Err(e) => Promise::reject(&to_js(e)),
        }
    }

    /// Every unresolved conflict.
    pub fn conflicts(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let conflicts = inner.store()?.conflicts().await?;
            inner.conflicts_with_blobs(conflicts).await
        })
    }

    /// Settles a conflict by keeping `"local"` or `"server"`, or with `{ merged }` data (pushed
    /// over the server's version).
    #[wasm_bindgen(js_name = resolveConflict)]
    pub fn resolve_conflict(&self, collection: String, id: JsValue, keep: JsValue) -> Promise {
        let inner = self.inner.clone();
        let checked = self.decision_target(&collection, &id).and_then(|id| {
            let choice = read_choice(&collection, &id, &keep)?;
            Ok((id, choice))
        });
        promise(async move {
            let (id, choice) = checked?;
            let mutation_id = inner.ids.next_at(now());
            let store = inner.store()?;
            let decided = match choice {
                Resolution::Keep(choice) => {
                    store.resolve_conflict(&collection, &id, choice, &mutation_id, now()).await?
                }
                Resolution::Merged(data) => store.merge_conflict(&collection, &id, data, &mutation_id, now()).await?,
            };
            inner.decided(decided).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The sync log, newest first: automatic resolutions (with both versions), decisions and
    /// rejections.
    #[wasm_bindgen(js_name = syncLog)]
    pub fn sync_log(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.store()?.log().await })
    }

    /// Calls `listener({ collection: "_log", changes })` whenever entries are added to the sync
    /// log or it is cleared, here or in another tab; returns the unsubscribe function.
    #[wasm_bindgen(js_name = subscribeSyncLog)]
    pub fn subscribe_sync_log(&self, listener: JsValue) -> std::result::Result<JsValue, JsValue> {
        Ok(self.inner.subscribe(Some(LOG_CHANGES.to_string()), listener_fn(listener)?))
    }

    /// Empties the sync log.
    #[wasm_bindgen(js_name = clearSyncLog)]
    pub fn clear_sync_log(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.store()?.clear_log().await?;
            // Announced like an addition, so that every view of the log (here and in other tabs)
            // reads it again.
            let mut changes = Changes::default();
            changes.add(LOG_CHANGES, "", Op::Delete);
            inner.decided(Decided { pending_delta: 0, changes }).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Every change the server rejected (dead letters), with its error.
    pub fn failed(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.store()?.dead_letters().await })
    }

    /// Sends a rejected change again (as a new mutation).
    #[wasm_bindgen(js_name = retryFailed)]
    pub fn retry_failed(&self, collection: String, id: JsValue) -> Promise {
        let inner = self.inner.clone();
        let checked = self.decision_target(&collection, &id);
        promise(async move {
            let id = checked?;
            let mutation_id = inner.ids.next_at(now());
            let decided = inner.store()?.retry_failed(&collection, &id, &mutation_id, now()).await?;
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
            let decided = inner.store()?.discard_failed(&collection, &id, now()).await?;
            inner.decided(decided).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Sync health: what this tab's syncs did since it opened the database, and the age of the
    /// oldest change still queued.
    pub fn metrics(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let oldest = reads::oldest_queued_at(&inner.db()?).await?;
            Ok(super::metrics::to_js(&inner.driver.metrics(), oldest, now()))
        })
    }

    /// The origin's storage: `{ usage, quota, persisted }` (bytes; null where the browser does
    /// not say).
    pub fn storage(&self) -> Promise {
        promise(async { JsFuture::from(super::glue::storage_estimate()).await.map_err(storage_error) })
    }

    /// Asks the browser to keep this origin's data under storage pressure (Safari and others
    /// otherwise evict it); resolves to whether it is persistent now.
    pub fn persist(&self) -> Promise {
        promise(async { JsFuture::from(super::glue::request_persistence()).await.map_err(storage_error) })
    }

    /// The `Blob` of a blob field's value: a `Blob` as it is; a reference (`{ $blob, size, type }`,
    /// what a read gives for a file not on this device) downloaded now, checked and stored.
    /// Rejects with BlobNotDownloadedError when it cannot be (offline, say), InvalidRecordError
    /// for anything else.
    pub fn blob(&self, value: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.blob(&value).await })
    }

    /// Every queued change with its record as it is here, as plain JSON data, for a backup
    /// before a risky step: `{ app, tenant, exportedAt, changes }`.
    #[wasm_bindgen(js_name = exportPending)]
    pub fn export_pending(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let changes = reads::pending_export(&inner.db()?).await?;
            let out = js_sys::Object::new();
            let tenant = inner.schema.tenant.as_deref().map_or(JsValue::NULL, JsValue::from_str);
            set_field(&out, "app", &JsValue::from_str(&inner.schema.app));
            set_field(&out, "tenant", &tenant);
            set_field(&out, "exportedAt", &JsValue::from_f64(now()));
            set_field(&out, "changes", &changes);
            Ok(out.into())
        })
    }

    /// Reads every record, a page at a time, and repairs each one whose metadata does not
    /// decode (`core::integrity`); `{ onProgress }` hears `{ checked, total, setAside, rebuilt }`
    /// after each page. Resolves to the same tally at the end.
    #[wasm_bindgen(js_name = checkIntegrity)]
    pub fn check_integrity(&self, options: JsValue) -> Promise {
        let inner = self.inner.clone();
        let on_progress = read_progress(&options);
        promise(async move {
            let on_progress = on_progress?;
            let names: Vec<&str> = inner.schema.collections.iter().map(|c| c.name.as_str()).collect();
            let mut tally = Tally { total: integrity::total(&inner.db()?, &names).await?, ..Tally::default() };
            for name in &names {
                let mut after = JsValue::UNDEFINED;
                loop {
                    let page = integrity::check_page(&inner.db()?, name, &after, now()).await?;
                    tally.page(page.read, &page.repairs);
                    if !page.repairs.is_empty() {
                        inner.decided(Decided { pending_delta: 0, changes: page.changes }).await;
                    }
                    if page.read > 0 {
                        if let Some(callback) = &on_progress {
                            // A throwing callback is the app's; the check goes on.
                            let _ = callback.call1(&JsValue::UNDEFINED, &tally_to_js(&tally));
                        }
                    }
                    if page.read < integrity::PAGE as u64 {
                        break;
                    }
                    after = page.last;
                }
            }
            Ok(tally_to_js(&tally))
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
    /// `{ collections?: string[], keepLocalChanges?: boolean }` (the latter for a pull only).
    /// The options of `forcePush()` (`pull` false) or `forcePull()`: `{ collections? }`, and for a
    /// pull `keepLocalChanges?` and `spaces?` (instead of `collections`).
    fn read_force(&self, options: &JsValue, pull: bool) -> Result<Force> {
        let invalid = |m: String| Error::new(ErrorKind::InvalidOptions, m);
        let force = |scope, keep_local| if pull { Force::Pull { scope, keep_local } } else { Force::Push(scope) };
        if options.is_undefined() {
            return Ok(force(Scope::All, false));
        }
        if !options.is_object() || Array::is_array(options) {
            return Err(invalid(format!("force options must be an object, got {}", type_name(options))));
        }
        let keep = field(options, "keepLocalChanges");
        let keep_local = match (keep.as_bool(), keep.is_undefined(), pull) {
            (_, true, _) => false,
            (Some(k), false, true) => k,
            (_, false, true) => return Err(invalid("`keepLocalChanges` must be a boolean".into())),
            (_, false, false) => return Err(invalid("`keepLocalChanges` is an option of forcePull()".into())),
        };
        let (list, spaces) = (field(options, "collections"), field(options, "spaces"));
        if !spaces.is_undefined() {
            if !pull {
                return Err(invalid("`spaces` is an option of forcePull()".into()));
            }
            if !list.is_undefined() {
                return Err(invalid("forcePull() takes `collections` or `spaces`, not both".into()));
            }
            if !Array::is_array(&spaces) || Array::from(&spaces).length() == 0 {
                return Err(invalid("`spaces` must be a non-empty array of space ids".into()));
            }
            let mut ids = Vec::new();
            for space in Array::from(&spaces).iter() {
                let id = space.as_string().ok_or_else(|| invalid("`spaces` must hold strings".into()))?;
                check_space(&id).map_err(|r| invalid(r.message))?;
                // Refused here, before a sync is started for it (storage checks again, against
                // the set as stored, when the force begins).
                if !self.inner.syncs_space(&id) {
                    return Err(invalid(format!("space \"{id}\" is not synced on this device")));
                }
                ids.push(id);
            }
            return Ok(Force::PullSpaces { spaces: ids, keep_local });
        }
        if list.is_undefined() {
            return Ok(force(Scope::All, keep_local));
        }
        if !Array::is_array(&list) || Array::from(&list).length() == 0 {
            return Err(invalid("`collections` must be a non-empty array of collection names".into()));
        }
        let mut names = Vec::new();
        for name in Array::from(&list).iter() {
            let name = name.as_string().ok_or_else(|| invalid("`collections` must hold strings".into()))?;
            self.inner.check_collection(&name)?;
            names.push(name);
        }
        Ok(force(Scope::Only(names), keep_local))
    }

    fn decision_target(&self, collection: &str, id: &JsValue) -> Result<String> {
        self.inner.check_collection(collection)?;
        read_id(collection, id)
    }
}

/// How `resolveConflict` was asked to settle.
enum Resolution {
    Keep(Choice),
    Merged(JsData),
}

/// `"local"`, `"server"`, or `{ merged: {...} }` (a plain object of the record's fields, checked
/// as a record is: no `_sync`, and no `id` but the conflict's).
fn read_choice(collection: &str, id: &str, value: &JsValue) -> Result<Resolution> {
    let merged = if value.is_object() { field(value, "merged") } else { JsValue::UNDEFINED };
    match value.as_string().as_deref() {
        Some("local") => Ok(Resolution::Keep(Choice::Local)),
        Some("server") => Ok(Resolution::Keep(Choice::Server)),
        None if JsData(merged.clone()).fields().is_some() => {
            if check_record(collection, &merged)?.is_some_and(|other| other != id) {
                return Err(Error::new(
                    ErrorKind::InvalidRecord,
                    format!("merged data for \"{id}\" has another id (collection \"{collection}\")"),
                ));
            }
            Ok(Resolution::Merged(JsData(merged)))
        }
        _ => Err(Error::new(
            ErrorKind::InvalidOptions,
            format!(
                "a conflict is resolved with \"local\", \"server\" or {{ merged: {{...}} }} (a plain object), got {}",
                type_name(value)
            ),
        )),
    }
}

/// One collection of a database: CRUD, queries, subscriptions.
#[wasm_bindgen(skip_typescript)]
pub struct Collection {
    inner: Rc<Inner>,
    name: String,
}

impl Collection {
    /// A write of one record, from what the caller passed.
    fn single(&self, id: Option<&JsValue>, data: &JsValue, intent: Intent) -> Promise {
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
            Ok(Write { key: JsValue::from_str(&id), id, generated, intent, data: data.clone(), blobs: Vec::new() })
        })();
        promise(async move {
            let written = inner.write(&collection, vec![prepared?]).await?;
            let stored = written.stored.into_iter().next().flatten().unwrap_or(JsValue::UNDEFINED);
            Ok(super::spaces::mark_outside(&inner, &collection, stored))
        })
    }

    fn bulk(&self, records: &JsValue, intent: Intent, refuse_duplicates: bool) -> Promise {
        let inner = self.inner.clone();
        let collection = self.name.clone();
        let prepared = (|| -> Result<Vec<Write>> {
            if !Array::is_array(records) {
                return Err(Error::new(ErrorKind::InvalidRecord, "bulk writes take an array of records"));
            }
            let mut writes = Vec::new();
            // The first invalid record; a repeated id before it is reported first.
            let mut invalid = None;
            for (i, record) in Array::from(records).iter().enumerate() {
                let own = match check_record(&collection, &record) {
                    Ok(own) => own,
                    Err(e) => {
                        invalid = Some(Error { message: format!("record #{i}: {}", e.message), ..e });
                        break;
                    }
                };
                let (id, generated) = match own {
                    Some(id) => (id, false),
                    None => (inner.ids.next_at(now()), true),
                };
                writes.push(Write {
                    key: JsValue::from_str(&id),
                    id,
                    generated,
                    intent,
                    data: record,
                    blobs: Vec::new(),
                });
            }
            if let Some(i) = refuse_duplicates.then(|| first_repeat(&writes)).flatten() {
                return Err(Error::new(
                    ErrorKind::RecordExists,
                    format!("record #{i}: id \"{}\" appears twice in the batch", writes[i].id),
                ));
            }
            match invalid {
                Some(e) => Err(e),
                None => Ok(writes),
            }
        })();
        promise(async move {
            let writes = prepared?;
            let ids: Array = writes.iter().map(|w| w.key.clone()).collect();
            inner.write(&collection, writes).await?;
            Ok(ids.into())
        })
    }
}

#[wasm_bindgen]
impl Collection {
    /// Clears this collection's local data (the server's is untouched), under the sync lock;
    /// refused with PendingChangesError while it has queued changes, unless `discardPending`.
    pub fn wipe(&self, options: JsValue) -> Promise {
        match read_discard(&options) {
            Ok(discard) => self.inner.driver.wipe(self.name.clone(), discard),
            Err(e) => Promise::reject(&to_js(e)),
        }
    }

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
            let write = Write {
                key: JsValue::from_str(&id),
                id,
                generated: false,
                intent: Intent::Delete,
                data: JsValue::UNDEFINED,
                blobs: Vec::new(),
            };
            let written = inner.write(&collection, vec![write]).await?;
            Ok(JsValue::from_bool(written.changed > 0))
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
            let record = reads::get(&inner.db()?, &collection, &id, include_deleted).await?;
            inner.with_blobs(&collection, record).await
        })
    }

    pub fn query(&self, query: JsValue) -> Promise {
        let inner = self.inner.clone();
        let collection = self.name.clone();
        let parsed = read_query(&query);
        promise(async move {
            let (spec, range) = parsed?;
            let records = reads::query(&inner.db()?, &collection, &spec, &range).await?;
            inner.with_blobs(&collection, records.into()).await
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
        let (spec, range) = read_query(&query).map_err(to_js)?;
        let definition = self.inner.schema.collection(&self.name).ok_or_else(|| to_js(self.inner.closed_error()))?;
        let plan = Plan::new(definition, &query, &spec, range);
        let weak: Weak<Inner> = Rc::downgrade(&self.inner);
        let collection = self.name.clone();
        let attach = {
            let weak = weak.clone();
            move |on_change: Function| -> Box<dyn FnOnce()> {
                let Some(inner) = weak.upgrade() else { return Box::new(|| {}) };
                let unsubscribe: Function = inner.subscribe(Some(collection.clone()), on_change).into();
                Box::new(move || {
                    let _ = unsubscribe.call0(&JsValue::UNDEFINED);
                })
            }
        };
        // Closed: the last answer stands rather than fail on every change.
        let db = move || weak.upgrade().and_then(|inner| inner.db().ok());
        Ok(live_store(plan, LiveSource { attach: Box::new(attach), db: Box::new(db) }))
    }
}

/// Opens (creating or upgrading) the database of `options.app` and `options.tenant`.
#[wasm_bindgen(skip_typescript)]
pub fn open(options: JsValue) -> Promise {
    let parsed = read_open_options(&options);
    promise(async move {
        let options = parsed?;
        intern_constants();
        let inner = Inner::new(options.schema.clone(), options.sync, options.resolvers);
        let weak = Rc::downgrade(&inner);
        let on_version_change = options.on_version_change.clone();
        let versions: Vec<u32> = options.migrations.iter().map(|(v, _)| *v).collect();
        let initial = &options.initial_spaces;
        let name = options.schema.database_name();
        let marker_read = marker::start_read(&name);
        let connection =
            connection::open(&options.schema, versions.clone(), initial, options.blocked_timeout_ms, move |why| {
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
        // A database cleared behind the library's back is reported once (the marker), and, in
        // the same transaction, before migrations or sync read them, damaged `_meta` rows are
        // set aside. A step that cannot run costs the report and leaves such rows read as
        // absent, never the open.
        match marker::check_at_open(&db, &name, marker_read, || inner.ids.next_at(now()), &versions, now()).await {
            Ok((instance, found)) => {
                inner.set_instance(instance);
                if let Verdict::Lost(evicted) = found {
                    inner.driver.feed(Event::Evicted(evicted));
                }
            }
            Err(e) => web_sys::console::warn_1(&format!("ferrysync: {}", e.message).into()),
        }
        inner.connected(connection);
        let handle: JsValue = Database { inner: inner.clone() }.into();
        if options.migrations.is_empty() {
            inner.driver.start(false);
            return Ok(handle);
        }
        // Migrations write through the API: the engine counts after them, and open() resolves
        // once it has (here or in another tab that held the lock).
        let ran = migrations::run_exclusively(&options.schema.database_name(), &db, &options.migrations, &handle).await;
        if let Err(e) = ran {
            inner.close();
            return Err(e);
        }
        if let Some(counted) = inner.driver.start(true) {
            let _ = JsFuture::from(counted).await;
        }
        Ok(handle)
    })
}

/// The first write (in call order) whose given id an earlier write of the call already has. Sorted
/// positions rather than a hash set, which weighs on the wasm build.
fn first_repeat(writes: &[Write]) -> Option<usize> {
    let mut given: Vec<usize> = (0..writes.len()).filter(|&i| !writes[i].generated).collect();
    sort_positions(&mut given, &|a, b| writes[a].id.cmp(&writes[b].id).then(a.cmp(&b)));
    given.windows(2).filter(|p| writes[p[0]].id == writes[p[1]].id).map(|p| p[1]).min()
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
pub fn delete_database(app: String, tenant: Option<String>, options: JsValue) -> Promise {
    let discard = read_discard(&options);
    promise(async move {
        let discard = discard?;
        let name = database_name(&app, tenant.as_deref());
        if !discard {
            let queued = connection::queued_changes(&name).await?;
            if queued > 0 {
                return Err(Error::pending_changes(queued, &format!("the database \"{name}\"")));
            }
        }
        connection::delete(&name, DELETE_BLOCKED_TIMEOUT_MS).await?;
        // Deleted on purpose: its next open is a new device, not an eviction.
        if let Err(e) = marker::delete(&name).await {
            web_sys::console::warn_1(&format!("ferrysync: {}", e.message).into());
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// `{ checked, total, setAside, rebuilt }`.
fn tally_to_js(tally: &Tally) -> JsValue {
    let out = js_sys::Object::new();
    for (name, n) in
        [("checked", tally.checked), ("total", tally.total), ("setAside", tally.set_aside), ("rebuilt", tally.rebuilt)]
    {
        set_field(&out, name, &JsValue::from_f64(n as f64));
    }
    out.into()
}
