//! Change listeners, the status snapshot, and live queries: the values a React component reads
//! with `useSyncExternalStore`.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

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

/// A live query's state: the latest result, who listens, and a generation counter so that an
/// answer to an older run never replaces a newer one.
pub struct LiveState {
    pub snapshot: JsValue,
    pub listeners: Vec<(u32, Function)>,
    pub next: u32,
    pub generation: u64,
    /// The change subscription that re-runs the query, while anyone listens.
    pub detach: Option<Box<dyn FnOnce()>>,
}

impl Default for LiveState {
    fn default() -> Self {
        LiveState { snapshot: JsValue::UNDEFINED, listeners: Vec::new(), next: 0, generation: 0, detach: None }
    }
}

/// Builds the external store of a live query. `attach` subscribes `refresh` to the collection's
/// changes and returns how to detach; `run` runs the query once.
pub fn live_store(
    attach: impl Fn(Function) -> Box<dyn FnOnce()> + 'static,
    run: impl Fn() -> js_sys::Promise + 'static,
) -> JsValue {
    let state: Rc<RefCell<LiveState>> = Rc::default();
    let run: Rc<dyn Fn() -> js_sys::Promise> = Rc::new(run);
    let refresh = make_refresh(Rc::downgrade(&state), run);
    let attach = Rc::new(attach);
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
                    let refresh = refresh.clone();
                    move |_| refresh()
                })
                .into_js_value();
                let detach = attach(on_change.into());
                state.borrow_mut().detach = Some(detach);
                refresh();
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

fn make_refresh(state: Weak<RefCell<LiveState>>, run: Rc<dyn Fn() -> js_sys::Promise>) -> Rc<dyn Fn()> {
    Rc::new(move || {
        let Some(s) = state.upgrade() else { return };
        let generation = {
            let mut st = s.borrow_mut();
            st.generation += 1;
            st.generation
        };
        let promise = run();
        let weak = Rc::downgrade(&s);
        wasm_bindgen_futures::spawn_local(async move {
            let result = wasm_bindgen_futures::JsFuture::from(promise).await;
            let Some(s) = weak.upgrade() else { return };
            let listeners: Array = {
                let mut st = s.borrow_mut();
                if st.generation != generation {
                    return;
                }
                match result {
                    Ok(rows) => st.snapshot = rows,
                    // `undefined`: the database is closed; the last answer stands.
                    Err(e) if e.is_undefined() => return,
                    Err(e) => {
                        web_sys::console::error_2(&"ferrysync: a live query failed".into(), &e);
                        return;
                    }
                }
                st.listeners.iter().map(|(_, f)| JsValue::from(f)).collect()
            };
            notify(&listeners, &JsValue::UNDEFINED);
        });
    })
}
