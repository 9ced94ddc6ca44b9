//! Live queries: a query's latest result as a `{ subscribe, getSnapshot }` store, kept up to date
//! in place.
//!
//! While anyone listens, the store hears every change event of its collection (local writes,
//! sync steps, other tabs: each names the records it changed). It reads those records by id, in
//! one transaction, and the core ([`patch`]) says whether the result is untouched (the same
//! snapshot, no listener called), what the new one is (made from the old rows and the records
//! read), or that the query must run again: a row left a full `limit`, a commit changed more
//! records than are worth reading one by one, a multiEntry index. Work is done one step at a
//! time; changes heard meanwhile are gathered into the next step, so a burst of writes costs one
//! read. Each row's sort position (index key and id) is kept beside the result for the core.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbKeyRange};

use crate::core::error::Result;
use crate::core::order::sorted_by;
use crate::core::query::key::Key;
use crate::core::query::live::{apply, patch, worth_patching, Changed, LiveQuery, Now, Patch, Row, Source};
use crate::core::query::QuerySpec;
use crate::core::schema::CollectionDef;

use super::events::{external_store, notify, once_fn};
use super::glue;
use super::idb::reads;
use super::js::get;
use super::query_args::{js_key, live_range};

/// What a live query reads, and how its rows are placed.
pub struct Plan {
    pub collection: String,
    /// The rows kept: the caller's query from its start (`offset + limit` rows).
    window_spec: QuerySpec,
    range: Option<IdbKeyRange>,
    query: LiveQuery,
    /// The index's key path, each path split at its dots (None: the query reads ids).
    key_path: Option<Vec<Vec<JsValue>>>,
    compound: bool,
    filters_tombstones: bool,
    /// The collection, when it has blob fields: the rows get their `Blob`s put back as any read.
    with_blobs: Option<CollectionDef>,
}

impl Plan {
    /// The plan of `query` (already read into `spec` and `range`) over `collection`.
    pub fn new(collection: &CollectionDef, query: &JsValue, spec: &QuerySpec, range: Option<IdbKeyRange>) -> Plan {
        let index = spec.index.as_ref().and_then(|name| collection.indexes.iter().find(|i| &i.name == name));
        let key_range = live_range(query);
        // An index the schema does not declare fails when the query runs; nothing to patch.
        let known = spec.index.is_none() || index.is_some();
        let mut live =
            LiveQuery::new(spec, key_range.clone().unwrap_or_default(), index.is_some_and(|i| i.multi_entry));
        live.patchable &= known && key_range.is_some();
        let key_path =
            index.map(|i| i.key_path.iter().map(|p| p.split('.').map(JsValue::from_str).collect()).collect());
        Plan {
            collection: collection.name.clone(),
            window_spec: LiveQuery::window_spec(spec),
            range,
            query: live,
            key_path,
            compound: index.is_some_and(|i| i.compound),
            filters_tombstones: spec.filters_tombstones(),
            with_blobs: (!collection.blobs.is_empty()).then(|| collection.clone()),
        }
    }

    /// `records` with the blobs stored here in place of their references, as any read.
    async fn with_blobs(&self, db: &IdbDatabase, records: Array) -> Result<Array> {
        match &self.with_blobs {
            Some(collection) => Ok(super::idb::blobs::resolve(db, collection, records.into()).await?.into()),
            None => Ok(records),
        }
    }

    /// Where a record read by id now sits for this query.
    fn now_of(&self, id: &str, record: &JsValue) -> Now {
        if record.is_undefined() || (self.filters_tombstones && glue::is_tombstone(record)) {
            return Now::Absent;
        }
        match &self.key_path {
            None => Now::At(Key::String(id.to_string())),
            Some(paths) if self.compound => {
                let mut parts = Vec::with_capacity(paths.len());
                for path in paths {
                    match value_at(record, path) {
                        Now::At(k) => parts.push(k),
                        other => return other,
                    }
                }
                Now::At(Key::Array(parts))
            }
            Some(paths) => value_at(record, &paths[0]),
        }
    }

    /// The rows of a result as the core places them (None: a row whose key cannot be read
    /// exactly; the next change runs the query again).
    fn rows_of(&self, result: &Array) -> Option<Vec<Row>> {
        let id_key = JsValue::from_str("id");
        let mut rows = Vec::with_capacity(result.length() as usize);
        for record in result.iter() {
            let id = Reflect::get(&record, &id_key).ok()?.as_string()?;
            match self.now_of(&id, &record) {
                Now::At(key) => rows.push(Row { key, id }),
                _ => return None,
            }
        }
        Some(rows)
    }

    /// The rows the caller sees: the window past `offset`.
    fn visible(&self, window: &Array) -> JsValue {
        if self.query.offset == 0 {
            window.clone().into()
        } else {
            window.slice(self.query.offset as u32, window.length()).into()
        }
    }
}

/// The value at a key path, read as a key ([`Now::Unknown`] where IndexedDB would read a
/// property of a non-object, such as a string's `length`).
fn value_at(record: &JsValue, path: &[JsValue]) -> Now {
    let mut value = record.clone();
    for part in path {
        if value.is_undefined() || value.is_null() {
            return Now::Absent;
        }
        if !value.is_object() {
            return Now::Unknown;
        }
        value = Reflect::get(&value, part).unwrap_or(JsValue::UNDEFINED);
    }
    js_key(&value)
}

/// A live query's state.
#[derive(Default)]
struct State {
    /// What `getSnapshot()` returns (undefined until the first answer).
    snapshot: JsValue,
    /// The rows read from the query's start (the snapshot itself without an offset).
    window: Array,
    /// Each row's position, beside `window` (None: not known; the next step runs the query).
    rows: Option<Vec<Row>>,
    listeners: Vec<(u32, Function)>,
    next: u32,
    /// The change subscription, while anyone listens.
    detach: Option<Box<dyn FnOnce()>>,
    /// A step is under way; what arrives meanwhile waits in `rerun` and `changed`.
    busy: bool,
    rerun: bool,
    changed: Vec<String>,
}

/// What a live query needs of the open database: how to hear its collection's changes (returns
/// how to stop), and the connection (None once closed: the last answer stands).
pub struct LiveSource {
    pub attach: Box<dyn Fn(Function) -> Box<dyn FnOnce()>>,
    pub db: Box<dyn Fn() -> Option<IdbDatabase>>,
}

/// The `{ subscribe, getSnapshot }` store of a live query.
pub fn live_store(plan: Plan, source: LiveSource) -> JsValue {
    let state: Rc<RefCell<State>> = Rc::default();
    let shared = Rc::new((plan, source));
    let for_snapshot = state.clone();
    external_store(
        move |listener| {
            let first = {
                let mut s = state.borrow_mut();
                s.next += 1;
                let id = s.next;
                s.listeners.push((id, listener));
                s.listeners.len() == 1
            };
            if first {
                let on_change = Closure::<dyn Fn(JsValue)>::new({
                    let weak = Rc::downgrade(&state);
                    let shared = shared.clone();
                    move |event: JsValue| heard(&weak, &shared, &event)
                })
                .into_js_value();
                let detach = (shared.1.attach)(on_change.into());
                // Changes made while nobody listened were not heard: the query runs again.
                let mut s = state.borrow_mut();
                s.detach = Some(detach);
                s.rerun = true;
                drop(s);
                schedule(&Rc::downgrade(&state), &shared);
            }
            let id = state.borrow().next;
            let weak = Rc::downgrade(&state);
            once_fn(move || {
                if let Some(state) = weak.upgrade() {
                    let detach = {
                        let mut s = state.borrow_mut();
                        s.listeners.retain(|(i, _)| *i != id);
                        if s.listeners.is_empty() {
                            s.detach.take()
                        } else {
                            None
                        }
                    };
                    if let Some(detach) = detach {
                        detach();
                    }
                }
            })
        },
        move || for_snapshot.borrow().snapshot.clone(),
    )
}

/// A change event of the collection: its records wait for the next step.
fn heard(state: &Weak<RefCell<State>>, shared: &Rc<(Plan, LiveSource)>, event: &JsValue) {
    let Some(s) = state.upgrade() else { return };
    {
        let mut st = s.borrow_mut();
        let changes = get(event, "changes");
        if Array::is_array(&changes) {
            for change in Array::from(&changes).iter() {
                match get(&change, "id").as_string() {
                    Some(id) => st.changed.push(id),
                    None => st.rerun = true,
                }
            }
        } else {
            st.rerun = true;
        }
        if !worth_patching(st.changed.len()) {
            st.rerun = true;
        }
        if st.rerun {
            st.changed.clear();
        }
    }
    schedule(state, shared);
}

/// Starts the steps, unless they are under way.
fn schedule(state: &Weak<RefCell<State>>, shared: &Rc<(Plan, LiveSource)>) {
    let Some(s) = state.upgrade() else { return };
    if std::mem::replace(&mut s.borrow_mut().busy, true) {
        return;
    }
    let (state, shared) = (state.clone(), shared.clone());
    wasm_bindgen_futures::spawn_local(async move {
        steps(&state, &shared).await;
        if let Some(s) = state.upgrade() {
            s.borrow_mut().busy = false;
        }
    });
}

/// What one step needs done.
enum Work {
    Rerun,
    Patch(Vec<String>),
}

/// Steps until nothing waits: each runs the query or patches its result, then tells the
/// listeners if their snapshot changed.
async fn steps(state: &Weak<RefCell<State>>, shared: &Rc<(Plan, LiveSource)>) {
    let (plan, source) = (&shared.0, &shared.1);
    loop {
        let Some(s) = state.upgrade() else { return };
        let work = {
            let mut st = s.borrow_mut();
            if st.rerun || (st.rows.is_none() && !st.changed.is_empty()) {
                st.rerun = false;
                st.changed.clear();
                Work::Rerun
            } else if st.changed.is_empty() {
                return;
            } else {
                let mut ids = sorted_by(std::mem::take(&mut st.changed), &|a, b| a.cmp(b));
                ids.dedup();
                Work::Patch(ids)
            }
        };
        drop(s);
        let Some(db) = (source.db)() else {
            // Closed: the last answer stands.
            if let Some(s) = state.upgrade() {
                let mut st = s.borrow_mut();
                st.rerun = false;
                st.changed.clear();
            }
            return;
        };
        let done = match work {
            Work::Rerun => rerun(state, plan, &db).await,
            Work::Patch(ids) => patch_step(state, plan, &db, ids).await,
        };
        match done {
            Ok(Some(listeners)) => notify(&listeners, &JsValue::UNDEFINED),
            Ok(None) => {}
            // Closed meanwhile: the last answer stands.
            Err(_) if (source.db)().is_none() => {}
            Err(e) => {
                web_sys::console::error_2(&"ferrysync: a live query failed".into(), &super::error::to_js(e));
            }
        }
    }
}

fn listeners_of(st: &State) -> Array {
    st.listeners.iter().map(|(_, f)| JsValue::from(f)).collect()
}

/// Runs the query; the new snapshot goes to every listener.
async fn rerun(state: &Weak<RefCell<State>>, plan: &Plan, db: &IdbDatabase) -> Result<Option<Array>> {
    let window = reads::query(db, &plan.collection, &plan.window_spec, &plan.range).await?;
    let window = plan.with_blobs(db, window).await?;
    let rows = plan.rows_of(&window);
    let Some(s) = state.upgrade() else { return Ok(None) };
    let mut st = s.borrow_mut();
    st.snapshot = plan.visible(&window);
    st.window = window;
    st.rows = rows;
    Ok(Some(listeners_of(&st)))
}

/// Reads the changed records and patches the result (or asks for a re-run).
async fn patch_step(
    state: &Weak<RefCell<State>>,
    plan: &Plan,
    db: &IdbDatabase,
    ids: Vec<String>,
) -> Result<Option<Array>> {
    let keys: Vec<JsValue> = ids.iter().map(|id| JsValue::from_str(id)).collect();
    let records = reads::get_many(db, &plan.collection, &keys).await?;
    let records: Vec<JsValue> = match plan.with_blobs {
        Some(_) => plan.with_blobs(db, records.into_iter().collect()).await?.iter().collect(),
        None => records,
    };
    let changed: Vec<Changed> =
        ids.into_iter().zip(&records).map(|(id, r)| Changed { now: plan.now_of(&id, r), id }).collect();
    let Some(s) = state.upgrade() else { return Ok(None) };
    let mut st = s.borrow_mut();
    let Some(rows) = st.rows.take() else {
        st.rerun = true;
        return Ok(None);
    };
    match patch(&plan.query, &rows, &changed) {
        Patch::Untouched => {
            st.rows = Some(rows);
            Ok(None)
        }
        Patch::Rerun => {
            st.rerun = true;
            Ok(None)
        }
        Patch::Patched { sources, visible } => {
            let encoded: Vec<i32> = sources
                .iter()
                .map(|s| match *s {
                    Source::Kept(i) => i as i32,
                    Source::Changed(k) => -(k as i32) - 1,
                })
                .collect();
            let fresh_js: Array = records.iter().collect();
            st.window = glue::assemble_rows(&st.window, &fresh_js, &encoded);
            let fresh = changed
                .into_iter()
                .map(|c| match c.now {
                    Now::At(key) => Some(Row { key, id: c.id }),
                    _ => None,
                })
                .collect();
            st.rows = Some(apply(rows, fresh, &sources));
            if !visible {
                return Ok(None);
            }
            st.snapshot = plan.visible(&st.window);
            Ok(Some(listeners_of(&st)))
        }
    }
}
