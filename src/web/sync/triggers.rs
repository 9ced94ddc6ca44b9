//! When a sync starts: on open, every `intervalMs`, shortly after local writes, when the network
//! comes back, and on `syncNow()`. The `offline` event stops attempts until `online`.
//!
//! The network events and `navigator.onLine` are read from the global scope, so that they work
//! the same in a page (`window`), a dedicated or shared worker and a service worker (`self`).
//! Chromium does not fire `online`/`offline` in workers, so outside a window `navigator.onLine`
//! is also read once a second, and a change counts as the event.

use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::super::api::Inner;
use super::{engine, trigger};

/// How often a worker reads `navigator.onLine`.
const NETWORK_POLL_MS: u32 = 1000;

/// Calls `f` with the database while it is still open.
fn with_inner(weak: &Weak<Inner>, f: impl FnOnce(&Rc<Inner>)) {
    if let Some(inner) = weak.upgrade().filter(|i| i.is_open()) {
        f(&inner)
    }
}

/// The global scope when it fires events (a window or a worker scope; not Node's `globalThis`).
fn global_events() -> Option<web_sys::EventTarget> {
    js_sys::global().dyn_into::<web_sys::EventTarget>().ok()
}

/// `navigator.onLine` of the global scope, if it has one (Node has none).
fn navigator_on_line() -> Option<bool> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    if navigator.is_undefined() || navigator.is_null() {
        return None;
    }
    js_sys::Reflect::get(&navigator, &"onLine".into()).ok()?.as_bool()
}

/// The network went away: no sync is attempted until it is back.
fn went_offline(inner: &Rc<Inner>) {
    if let Some(engine) = engine(inner) {
        engine.state.borrow_mut().offline = true;
    }
    inner.update_status(|s| std::mem::replace(&mut s.online, false));
    inner.post_status();
}

/// The network is back: sync now, with no reason to wait out an old backoff.
fn came_online(inner: &Rc<Inner>) {
    if let Some(engine) = engine(inner) {
        let mut state = engine.state.borrow_mut();
        state.offline = false;
        state.attempt = 0;
    }
    trigger(inner);
}

/// Reads `navigator.onLine` every NETWORK_POLL_MS while the database is open, and acts on a
/// change as the event would. Ends by itself once the database is closed.
fn poll_network(weak: Weak<Inner>) {
    Timeout::new(NETWORK_POLL_MS, move || {
        let mut open = false;
        with_inner(&weak, |inner| {
            open = true;
            let (Some(online), Some(engine)) = (navigator_on_line(), engine(inner)) else { return };
            let offline = engine.state.borrow().offline;
            if offline && online {
                came_online(inner);
            } else if !offline && !online {
                went_offline(inner);
            }
        });
        if open {
            poll_network(weak);
        }
    })
    .forget();
}

/// Installs the triggers and, if asked, syncs now.
pub fn start(inner: &Rc<Inner>) {
    let Some(engine) = engine(inner) else { return };
    let events = global_events();
    let mut state = engine.state.borrow_mut();
    let on_line = navigator_on_line();
    state.offline = on_line == Some(false);
    if let Some(events) = &events {
        for (name, act) in [("offline", went_offline as fn(&Rc<Inner>)), ("online", came_online)] {
            let weak = Rc::downgrade(inner);
            let listener = Closure::<dyn FnMut()>::new(move || with_inner(&weak, act));
            let _ = events.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            state.window_listeners.push((name, listener));
        }
    }
    if on_line.is_some() && js_sys::global().dyn_ref::<web_sys::Window>().is_none() {
        poll_network(Rc::downgrade(inner));
    }
    if let Some(ms) = engine.settings.interval_ms {
        let weak = Rc::downgrade(inner);
        state.interval = Some(Interval::new(ms, move || with_inner(&weak, trigger)));
    }
    drop(state);
    if engine.settings.sync_on_open {
        trigger(inner);
    }
}

/// A local write happened: sync once the burst of writes is over.
pub fn after_write(inner: &Rc<Inner>) {
    let Some(engine) = engine(inner) else { return };
    let Some(ms) = engine.settings.debounce_ms else { return };
    let weak = Rc::downgrade(inner);
    // Replacing the timer cancels the previous one.
    engine.state.borrow_mut().debounce = Some(Timeout::new(ms, move || with_inner(&weak, trigger)));
}

/// Removes every listener and timer (on close).
pub fn stop(inner: &Inner) {
    let Some(engine) = engine(inner) else { return };
    let mut state = engine.state.borrow_mut();
    state.retry = None;
    state.debounce = None;
    state.interval = None;
    if let Some(events) = global_events() {
        for (name, listener) in state.window_listeners.drain(..) {
            let _ = events.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
    }
}
