//! Other tabs of the same database: every committed change and every sync status change is
//! posted on a BroadcastChannel, so that each tab's subscriptions, live queries and status see
//! what another tab did.

use std::rc::{Rc, Weak};

use js_sys::Object;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::core::status::SyncStatus;

use super::api::Inner;
use super::interop::{get, set_field, status_to_js};

pub struct Tabs {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

const CHANGE: &str = "change";
const STATUS: &str = "status";

impl Tabs {
    /// None where BroadcastChannel does not exist (the store works, alone).
    pub fn open(inner: &Rc<Inner>) -> Option<Tabs> {
        let channel = BroadcastChannel::new(&format!("ferrysync:{}", inner.schema.database_name())).ok()?;
        let weak: Weak<Inner> = Rc::downgrade(inner);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(inner) = weak.upgrade().filter(|i| i.is_open()) else { return };
            let data = event.data();
            match get(&data, "kind").as_string().as_deref() {
                Some(CHANGE) => inner.remote_change(&get(&data, "event")),
                Some(STATUS) => inner.remote_status(&get(&data, "status")),
                _ => {}
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Tabs { channel, _on_message: on_message })
    }

    fn post(&self, kind: &str, field: &str, value: &JsValue) {
        let message = Object::new();
        set_field(&message, "kind", &JsValue::from_str(kind));
        set_field(&message, field, value);
        let _ = self.channel.post_message(&message);
    }

    /// A change event as the local listeners got it.
    pub fn post_change(&self, event: &JsValue) {
        self.post(CHANGE, "event", event);
    }

    pub fn post_status(&self, status: &SyncStatus) {
        self.post(STATUS, "status", &status_to_js(status));
    }

    pub fn close(&self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}

/// The parts of another tab's status that only the syncing tab knows; the counts each tab
/// reads from the database itself.
pub fn adopt_remote(mine: &SyncStatus, theirs: &JsValue) -> SyncStatus {
    let progress = get(theirs, "progress");
    SyncStatus {
        online: get(theirs, "online").as_bool().unwrap_or(mine.online),
        syncing: get(theirs, "syncing").as_bool().unwrap_or(false),
        last_sync_at: get(theirs, "lastSyncAt").as_f64().or(mine.last_sync_at),
        last_error: get(theirs, "lastError").as_string(),
        progress: progress.is_object().then(|| {
            (
                get(&progress, "done").as_f64().unwrap_or(0.0) as u64,
                get(&progress, "total").as_f64().unwrap_or(0.0) as u64,
            )
        }),
        ..mine.clone()
    }
}
