//! Data migrations: JS callbacks per schema version that run once, in ascending order, after the
//! schema is in place, each recorded in `_meta` as soon as it succeeds, so a failed or
//! interrupted one runs again on the next open and a finished one never does.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::future_to_promise;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbDatabase;

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::schema::META_STORE;

use super::super::error::from_js;
use super::super::glue;
use super::super::js::describe;
use super::connection::{committed, request, transaction, APPLIED_MIGRATIONS_KEY};

async fn applied(db: &IdbDatabase) -> Result<Vec<u32>> {
    let context = "reading applied migrations";
    let tx = transaction(db, &[META_STORE], false)?;
    let store = tx.object_store(META_STORE).map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
    let req =
        store.get(&JsValue::from_str(APPLIED_MIGRATIONS_KEY)).map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
    let value = request(&req, context).await?;
    if !Array::is_array(&value) {
        return Ok(Vec::new());
    }
    Ok(Array::from(&value).iter().filter_map(|v| v.as_f64()).map(|v| v as u32).collect())
}

async fn record(db: &IdbDatabase, versions: &[u32]) -> Result<()> {
    let context = "recording an applied migration";
    let tx = transaction(db, &[META_STORE], true)?;
    let done = committed(&tx);
    let store = tx.object_store(META_STORE).map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
    let list: Array = versions.iter().map(|v| JsValue::from_f64(*v as f64)).collect();
    store
        .put_with_key(&list, &JsValue::from_str(APPLIED_MIGRATIONS_KEY))
        .map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
    done.await.map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
    Ok(())
}

/// Runs [`run`] holding a Web Lock named after the database, so that two tabs (or two `open()`
/// calls in one tab) never run the same migration at once: the second reads the applied list
/// only after the first has recorded its work.
pub async fn run_exclusively(
    database_name: &str,
    db: &IdbDatabase,
    migrations: &[(u32, Function)],
    handle: &JsValue,
) -> Result<()> {
    let outcome: Rc<RefCell<Option<Result<()>>>> = Rc::default();
    let slot = outcome.clone();
    let (db, migrations, handle) = (db.clone(), migrations.to_vec(), handle.clone());
    let critical = Closure::once_into_js(move |_lock: JsValue| {
        future_to_promise(async move {
            let result = run(&db, &migrations, &handle).await.map(|_| ());
            *slot.borrow_mut() = Some(result);
            Ok(JsValue::UNDEFINED)
        })
    });
    let lock_name = format!("ferrysync:{database_name}:migrations");
    JsFuture::from(glue::with_lock(&lock_name, &critical))
        .await
        .map_err(|e| from_js("waiting for the migration lock", &e, ErrorKind::Migration))?;
    let result = outcome.borrow_mut().take();
    result.unwrap_or_else(|| Err(Error::new(ErrorKind::Migration, "the migrations did not run")))
}

/// Runs the migrations not yet recorded. `handle` is the Database object passed to each one.
pub async fn run(db: &IdbDatabase, migrations: &[(u32, Function)], handle: &JsValue) -> Result<Vec<u32>> {
    let mut done = applied(db).await?;
    let mut ran = Vec::new();
    for (version, migration) in migrations {
        if done.contains(version) {
            continue;
        }
        let failed = |cause: &JsValue| {
            let text = cause
                .dyn_ref::<js_sys::Error>()
                .map(|e| format!("{}: {}", String::from(e.name()), String::from(e.message())))
                .unwrap_or_else(|| describe(cause));
            Error::new(ErrorKind::Migration, format!("the migration to version {version} failed: {text}"))
        };
        let result = glue::call1(migration, handle).map_err(|e| failed(&e))?;
        if let Some(promise) = result.dyn_ref::<Promise>() {
            JsFuture::from(promise.clone()).await.map_err(|e| failed(&e))?;
        }
        done.push(*version);
        record(db, &done).await?;
        ran.push(*version);
    }
    Ok(ran)
}
