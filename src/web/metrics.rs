//! `db.metrics()`: the core's sync health counters as the JS object an app sends to its own
//! monitoring (camelCase fields, `null` for what never happened).

use js_sys::Object;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::sync::metrics::{oldest_pending_age_ms, Metrics};

use super::js::set_field;

/// `metrics` at `now`, with the age of the oldest change still queued (queued at
/// `oldest_queued_at`).
pub fn to_js(metrics: &Metrics, oldest_queued_at: Option<f64>, now: f64) -> JsValue {
    let o = Object::new();
    let num = |v: u64| JsValue::from_f64(v as f64);
    let opt = |v: Option<f64>| v.map_or(JsValue::NULL, JsValue::from_f64);
    let counters = [
        ("syncs", metrics.syncs),
        ("failedSyncs", metrics.failed_syncs),
        ("pushes", metrics.pushes),
        ("pulls", metrics.pulls),
        ("changesSent", metrics.changes_sent),
        ("recordsReceived", metrics.records_received),
        ("bytesSent", metrics.bytes_sent),
        ("bytesReceived", metrics.bytes_received),
        ("retries", metrics.retries),
    ];
    for (name, value) in counters {
        set_field(&o, name, &num(value));
    }
    let failures = Object::new();
    for (name, count) in &metrics.failures {
        set_field(&failures, name, &num(*count));
    }
    set_field(&o, "failures", &failures);
    let timings = [
        ("lastSuccessAt", metrics.last_success_at),
        ("lastSyncMs", metrics.last_sync_ms),
        ("lastFailureAt", metrics.last_failure_at),
        ("lastPushMs", metrics.last_push_ms),
        ("lastPullMs", metrics.last_pull_ms),
        ("sinceLastSuccessMs", metrics.since_last_success_ms(now)),
        ("oldestPendingAgeMs", oldest_pending_age_ms(oldest_queued_at, now)),
    ];
    for (name, value) in timings {
        set_field(&o, name, &opt(value));
    }
    set_field(&o, "wasmMemoryBytes", &JsValue::from_f64(wasm_memory_bytes()));
    o.into()
}

/// The size of this module's linear memory. It grows and never shrinks, so it is also the peak.
fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
}
