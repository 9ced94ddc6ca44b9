//! Other tabs of the same database: every committed change and every sync status change is
//! posted on a BroadcastChannel, so that each tab's subscriptions, live queries and status see
//! what another tab did. What a tab does with a message is the caller's: it hands two callbacks.

use js_sys::Object;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::core::status::SyncStatus;

use super::js::{get, set_field};
use super::records::{status_from_js, status_to_js};

pub struct Tabs {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

const CHANGE: &str = "change";
const STATUS: &str = "status";

impl Tabs {
    /// The channel of database `name`: `on_change` gets another tab's change event (as its
    /// listeners got it), `on_status` its status. None where BroadcastChannel does not exist
    /// (the store works, alone).
    pub fn open(
        name: &str,
        on_change: impl Fn(&JsValue) + 'static,
        on_status: impl Fn(SyncStatus) + 'static,
    ) -> Option<Tabs> {
        let channel = BroadcastChannel::new(&format!("ferrysync:{name}")).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            match get(&data, "kind").as_string().as_deref() {
                Some(CHANGE) => on_change(&get(&data, "event")),
                Some(STATUS) => on_status(status_from_js(&get(&data, "status"))),
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
