//! Change listeners, the status snapshot, and the `{ subscribe, getSnapshot }` stores a React
//! component reads with `useSyncExternalStore` (live queries are `live`'s).

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;

use crate::core::status::SyncStatus;

use crate::core::error::{Error, ErrorKind};

use super::error::to_js;
use crate::core::sync::log::LOG_CHANGES;

use super::glue;
use super::js::{set_field, type_name};
use super::records::status_to_js;

/// Listeners by id, each for one collection or (None) for all.
#[derive(Default)]
pub struct Listeners {
    next: u32,
    entries: Vec<(u32, Option<String>, Function)>,
}

impl Listeners {
    pub fn add(&mut self, collection: Option<String>, listener: Function) -> u32 {
        self.next += 1;
        self.entries.push((self.next, collection, listener));
        self.next
    }

    pub fn remove(&mut self, id: u32) {
        self.entries.retain(|(i, _, _)| *i != id);
    }

    pub fn any_for(&self, collection: &str) -> bool {
        self.entries.iter().any(|(_, c, _)| reaches(c.as_deref(), collection))
    }

    /// The listeners a change to `collection` must reach (copied, so a listener may subscribe
    /// or unsubscribe while being called).
    pub fn for_collection(&self, collection: &str) -> Array {
        self.entries
            .iter()
            .filter(|(_, c, _)| reaches(c.as_deref(), collection))
            .map(|(_, _, f)| JsValue::from(f))
            .collect()
    }
}

/// Whether a listener of `wanted` (None: every collection) hears of a change to `collection`.
/// The sync log's events ([`LOG_CHANGES`]) reach only the log's own listeners.
fn reaches(wanted: Option<&str>, collection: &str) -> bool {
    match wanted {
        Some(w) => w == collection,
        None => collection != LOG_CHANGES,
    }
}

/// The status snapshot object the engine last published (rebuilt only when a value changes, so
/// that its identity says whether anything did), and its listeners.
pub struct StatusState {
    status: SyncStatus,
    snapshot: JsValue,
    listeners: Vec<(u32, Function)>,
    next: u32,
}

impl StatusState {
    /// The status as last published.
    pub fn status(&self) -> &SyncStatus {
        &self.status
    }
}

impl Default for StatusState {
    fn default() -> Self {
        let status = SyncStatus::default();
        StatusState { snapshot: status_to_js(&status), status, listeners: Vec::new(), next: 0 }
    }
}

impl StatusState {
    pub fn snapshot(&self) -> JsValue {
        self.snapshot.clone()
    }

    /// Takes the engine's new status; when it differs, rebuilds the snapshot and returns the
    /// listeners to call (the caller calls them after releasing the borrow).
    pub fn set(&mut self, status: &SyncStatus) -> Option<Array> {
        if self.status == *status {
            return None;
        }
        self.status = status.clone();
        self.snapshot = status_to_js(&self.status);
        Some(self.listeners.iter().map(|(_, f)| JsValue::from(f)).collect())
    }

    pub fn add(&mut self, listener: Function) -> u32 {
        self.next += 1;
        self.listeners.push((self.next, listener));
        self.next
    }

    pub fn remove(&mut self, id: u32) {
        self.listeners.retain(|(i, _)| *i != id);
    }
}

pub fn notify(listeners: &Array, event: &JsValue) {
    if listeners.length() > 0 {
        glue::notify_all(listeners, event);
    }
}

/// A JS function that runs `f` (at most once: a second call does nothing).
pub fn once_fn(f: impl FnOnce() + 'static) -> JsValue {
    let mut f = Some(f);
    Closure::<dyn FnMut()>::new(move || {
        if let Some(f) = f.take() {
            f()
        }
    })
    .into_js_value()
}

/// `{ subscribe, getSnapshot }`, both plain functions (no `this`), as useSyncExternalStore wants.
pub fn external_store(
    subscribe: impl Fn(Function) -> JsValue + 'static,
    get_snapshot: impl Fn() -> JsValue + 'static,
) -> JsValue {
    let o = Object::new();
    let subscribe =
        Closure::<dyn Fn(JsValue) -> JsValue>::new(move |listener: JsValue| match listener.dyn_into::<Function>() {
            Ok(f) => subscribe(f),
            Err(v) => wasm_bindgen::throw_val(to_js(Error::new(
                ErrorKind::InvalidOptions,
                format!("subscribe() takes a function, got {}", type_name(&v)),
            ))),
        });
    set_field(&o, "subscribe", &subscribe.into_js_value());
    let get_snapshot = Closure::<dyn Fn() -> JsValue>::new(get_snapshot);
    set_field(&o, "getSnapshot", &get_snapshot.into_js_value());
    Object::freeze(&o).into()
}
