//! When a sync starts: on open, every `intervalMs`, shortly after local writes, when the network
//! comes back, and on `syncNow()`. The `offline` event stops attempts until `online`.

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

/// Installs the triggers and, if asked, syncs now.
pub fn start(inner: &Rc<Inner>) {
    let Some(engine) = engine(inner) else { return };
    let window = web_sys::window();
    let mut state = engine.state.borrow_mut();
    state.offline = window.as_ref().is_some_and(|w| !w.navigator().on_line());
    if let Some(window) = &window {
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
            let _ = window.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
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
    if let Some(window) = web_sys::window() {
        for (name, listener) in state.window_listeners.drain(..) {
            let _ = window.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
    }
}
