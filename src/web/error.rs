//! Turning core errors and browser exceptions into the JS `Error`s callers switch on.

use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::future_to_promise;

use crate::core::error::{Error, ErrorKind, Result};
use web_sys::DomException;

use super::glue;
use super::js::describe;

/// The JS `Error` for a core error: `name` from its kind, plus `domName`/`domMessage` when a
/// DOMException caused it.
pub fn to_js(error: Error) -> JsValue {
    let (dom_name, dom_message) = match error.dom {
        Some(d) => (Some(d.name), Some(d.message)),
        None => (None, None),
    };
    let js = glue::make_error(error.kind.name(), &error.message, dom_name, dom_message);
    if let Some(count) = error.pending {
        let _ = js_sys::Reflect::set(&js, &JsValue::from_str("pending"), &JsValue::from_f64(count as f64));
    }
    js
}

/// A core error from whatever a browser API threw or rejected with; `context` says what we
/// were doing, `fallback` is the kind when the DOMException name says nothing more specific.
pub fn from_js(context: &str, thrown: &JsValue, fallback: ErrorKind) -> Error {
    if let Some(dom) = thrown.dyn_ref::<DomException>() {
        return Error::from_dom(context, &dom.name(), &dom.message(), fallback);
    }
    if let Some(e) = thrown.dyn_ref::<js_sys::Error>() {
        let name: String = e.name().into();
        let message: String = e.message().into();
        // An error already shaped by us (a listener or migration rethrowing one) keeps its kind.
        if let Some(kind) = ErrorKind::ALL.iter().find(|k| k.name() == name) {
            return Error::new(*kind, message);
        }
        if name == "DataCloneError" {
            return Error::from_dom(context, &name, &message, fallback);
        }
        return Error::new(fallback, format!("{context}: {name}: {message}"));
    }
    Error::new(fallback, format!("{context}: {}", describe(thrown)))
}

/// The promise of a method's work. The work is boxed, so that one copy of the promise machinery
/// serves every method (each would otherwise be a copy of it in the wasm).
pub fn promise<F>(work: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue>> + 'static,
{
    boxed_promise(Box::pin(work))
}

fn boxed_promise(work: std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue>>>>) -> Promise {
    future_to_promise(async move { work.await.map_err(to_js) })
}
