//! When a sync starts: on open, every `intervalMs`, shortly after local writes, when the network
//! comes back, and on `syncNow()`. The `offline` event stops attempts until `online`.
//!
//! The network events and `navigator.onLine` are read from the global scope, so that they work
//! the same in a page (`window`), a dedicated or shared worker and a service worker (`self`).

use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::super::api::Inner;
use super::{engine, trigger};

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

/// `navigator.onLine` of the global scope; true where there is no navigator to ask.
fn navigator_on_line() -> bool {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or(JsValue::UNDEFINED);
    if navigator.is_undefined() || navigator.is_null() {
        return true;
    }
    js_sys::Reflect::get(&navigator, &"onLine".into()).ok().and_then(|v| v.as_bool()).unwrap_or(true)
}

/// Installs the triggers and, if asked, syncs now.
pub fn start(inner: &Rc<Inner>) {
    let Some(engine) = engine(inner) else { return };
    let events = global_events();
    let mut state = engine.state.borrow_mut();
    state.offline = !navigator_on_line();
    if let Some(events) = &events {
        let weak = Rc::downgrade(inner);
        let on_offline = Closure::<dyn FnMut()>::new(move || {
            with_inner(&weak, |inner| {
                if let Some(engine) = super::engine(inner) {
                    engine.state.borrow_mut().offline = true;
                }
                inner.update_status(|s| std::mem::replace(&mut s.online, false));
                inner.post_status();
            })
        });
        let weak = Rc::downgrade(inner);
        let on_online = Closure::<dyn FnMut()>::new(move || {
            with_inner(&weak, |inner| {
                if let Some(engine) = super::engine(inner) {
                    let mut state = engine.state.borrow_mut();
                    state.offline = false;
                    // The network is back: no reason to wait out an old backoff.
                    state.attempt = 0;
                }
                trigger(inner);
            })
        });
        for (name, listener) in [("offline", on_offline), ("online", on_online)] {
            let _ = events.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            state.window_listeners.push((name, listener));
        }
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
