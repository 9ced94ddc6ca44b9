//! The eviction marker beside a database, and the database's instance id in `_meta`: what the
//! core's [`verdict`] compares at open ([`crate::core::eviction`]).

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbDatabase;

use crate::core::error::{ErrorKind, Result};
use crate::core::eviction::{verdict, Instance, Marker, Verdict};
use crate::core::schema::{LOG_STORE, META_STORE, OUTBOX_STORE};
use crate::core::sync::log::LogKind;

use super::super::error::from_js;
use super::super::glue;
use super::super::js::{get, set_field};
use super::connection::{commit_or_abort, js_err, request, transaction};
use super::entries::store;
use super::log;
use super::meta_check;

/// `_meta` key of the database's instance id, made when it is first opened.
pub const INSTANCE_KEY: &str = "instance";

/// Starts reading the marker of database `name` (read while the database itself opens).
pub fn start_read(name: &str) -> JsFuture {
    JsFuture::from(glue::read_marker(name))
}

async fn read_marker(reading: JsFuture) -> Result<Option<Marker>> {
    let context = "reading the eviction marker";
    let found = reading.await.map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
    Ok(get(&found, "instance").as_string().map(|instance| Marker {
        instance,
        unsent: get(&found, "unsent").as_f64().unwrap_or(0.0) as u64,
        seen_at: get(&found, "seenAt").as_f64().unwrap_or(0.0),
    }))
}

/// Writes the marker of database `name`.
pub async fn write(name: &str, marker: &Marker) -> Result<()> {
    let written = glue::write_marker(name, &marker.instance, marker.unsent as f64, marker.seen_at);
    JsFuture::from(written).await.map_err(|e| from_js("writing the eviction marker", &e, ErrorKind::Storage))?;
    Ok(())
}

/// Deletes the marker of database `name` (the database is being deleted on purpose).
pub async fn delete(name: &str) -> Result<()> {
    JsFuture::from(glue::delete_marker(name))
        .await
        .map_err(|e| from_js("deleting the eviction marker", &e, ErrorKind::Storage))?;
    Ok(())
}

/// At open: the database's instance id (made now, with `new_id`, if it has none) and what the
/// marker (`reading`, from [`start_read`]) says of it. A database found cleared gets an `evicted`
/// entry in its sync log; a new marker is written unless the one there already names this
/// instance. The same transaction sets aside the damaged `_meta` rows ([`meta_check`];
/// `migrations`: the versions the app declares), so that an open costs one transaction for both.
pub async fn check_at_open(
    db: &IdbDatabase,
    name: &str,
    reading: JsFuture,
    new_id: impl FnOnce() -> String,
    migrations: &[u32],
    now: f64,
) -> Result<(String, Verdict)> {
    let context = "checking the eviction marker and the stored sync state";
    let marker = read_marker(reading).await?;
    let tx = transaction(db, &[META_STORE, LOG_STORE, OUTBOX_STORE], true)?;
    let meta = store(&tx, META_STORE)?;
    let (instance, found) = commit_or_abort(&tx, context, async {
        meta_check::set_aside_damaged(&tx, migrations, now, context).await?;
        let key = JsValue::from_str(INSTANCE_KEY);
        let raw = request(&meta.get(&key).map_err(js_err(context))?, context).await?;
        let stored = raw.as_string();
        let held = match (&stored, raw.is_undefined()) {
            (Some(id), _) => Instance::Id(id),
            (None, true) => Instance::Missing,
            (None, false) => Instance::Unreadable,
        };
        let found = verdict(marker.as_ref(), held, now);
        if held == Instance::Unreadable {
            // Set aside with its raw value, as a damaged queue row is; a new id takes its place.
            let why = "the database's instance id does not decode; a new one was made".into();
            log::quarantined(&tx, now, (META_STORE, INSTANCE_KEY), &raw, why, context).await?;
        }
        let instance = match stored {
            Some(instance) => instance,
            None => {
                let instance = new_id();
                meta.put_with_key(&JsValue::from_str(&instance), &key).map_err(js_err(context))?;
                instance
            }
        };
        if let Verdict::Lost(lost) = &found {
            let entry = glue::make_log_entry(
                now,
                LogKind::Evicted.as_str(),
                "*",
                "",
                None,
                None,
                &JsValue::UNDEFINED,
                &JsValue::UNDEFINED,
                None,
                Some(format!(
                    "the database was cleared outside ferrysync; it had {} unsent changes when last seen",
                    lost.lost_unsent
                )),
            );
            set_field(entry.unchecked_ref(), "count", &JsValue::from_f64(lost.lost_unsent as f64));
            log::append(&tx, &entry, context).await?;
        }
        Ok((instance, found))
    })
    .await?;
    if marker.as_ref().is_none_or(|m| m.instance != instance) {
        write(name, &Marker { instance: instance.clone(), unsent: 0, seen_at: now }).await?;
    }
    Ok((instance, found))
}
