//! `db.spaces`: the spaces this device syncs (docs/sync.md, "Spaces"). `list()`, `add(space, {
//! wait })` and `remove(space, { discardPending })`; the set is stored with the database, so it
//! survives reloads, and it can change offline or while a sync runs.

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::meta::META_FIELD;
use crate::core::sync::storage::SyncStorage;
use crate::protocol::check_space;

use super::database::Inner;
use super::driver::Host;
use super::error::{from_js, promise, to_js};
use super::idb::spaces::space_of;
use super::js::{get, set_field, type_name};
use super::options::{flag_option, read_discard};

#[wasm_bindgen(skip_typescript)]
pub struct Spaces {
    pub(super) inner: Rc<Inner>,
}

impl Spaces {
    /// Spaces need a collection that says which field holds a record's space.
    fn check(&self) -> Result<()> {
        if self.inner.schema.collections.iter().any(|c| c.space.is_some()) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::InvalidOptions,
            "no collection declares a `space` field, so there are no spaces to sync",
        ))
    }
}

/// A record a write just stored, as its caller gets it: when the record is in a space this
/// device does not sync, a copy whose `_sync.outside` is true (it is sent, then goes from this
/// device once the server has it). The stored object itself is left as it is.
pub fn mark_outside(inner: &Inner, collection: &str, stored: JsValue) -> JsValue {
    let Some(space) = space_of(&inner.schema, collection, &stored) else { return stored };
    if inner.syncs_space(&space) {
        return stored;
    }
    let copy = js_sys::Object::assign(&js_sys::Object::new(), stored.unchecked_ref());
    let meta = js_sys::Object::assign(&js_sys::Object::new(), get(&stored, META_FIELD).unchecked_ref());
    set_field(&meta, "outside", &JsValue::TRUE);
    set_field(&copy, META_FIELD, &meta);
    copy.into()
}

/// A space id as the caller gave it, or the typed error.
fn read_space(space: &JsValue) -> Result<String> {
    let id = space.as_string().ok_or_else(|| {
        Error::new(ErrorKind::InvalidOptions, format!("a space id is a string, got {}", type_name(space)))
    })?;
    check_space(&id).map_err(|r| Error::new(ErrorKind::InvalidOptions, r.message))?;
    Ok(id)
}

#[wasm_bindgen]
impl Spaces {
    /// The spaces this device syncs, in order.
    pub fn list(&self) -> Promise {
        let (inner, checked) = (self.inner.clone(), self.check());
        promise(async move {
            checked?;
            let list: js_sys::Array = inner.store()?.spaces().await?.iter().map(|s| JsValue::from_str(s)).collect();
            Ok(list.into())
        })
    }

    /// Syncs `space` from now on, pulled from its start at the next sync (at once when online).
    /// Resolves with false when it was synced already; with `wait`, once its first full pull is
    /// done.
    pub fn add(&self, space: JsValue, options: JsValue) -> Promise {
        let inner = self.inner.clone();
        let checked =
            self.check().and_then(|_| Ok((read_space(&space)?, flag_option(&options, "wait", "add() options")?)));
        promise(async move {
            let (space, wait) = checked?;
            let added = inner.store()?.add_space(&space).await?;
            if let Some(waited) = inner.driver.space_added(space, added, wait) {
                // The engine's waiter rejects with a typed error, whose kind is kept.
                JsFuture::from(waited).await.map_err(|e| from_js("waiting for a space", &e, ErrorKind::Sync))?;
            }
            Ok(JsValue::from_bool(added))
        })
    }

    /// Stops syncing `space` and wipes its local records, under the sync lock; refused with
    /// PendingChangesError while some have queued changes, unless `discardPending`.
    pub fn remove(&self, space: JsValue, options: JsValue) -> Promise {
        let checked = self.check().and_then(|_| Ok((read_space(&space)?, read_discard(&options)?)));
        match checked {
            Ok((space, discard)) => self.inner.driver.remove_space(space, discard),
            Err(e) => Promise::reject(&to_js(e)),
        }
    }
}
