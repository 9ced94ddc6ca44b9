//! The sync engine: one sync pushes the outbox in batches, then pulls until the server has no
//! more. The rules come from `crate::core` (batch planning, result application, backoff); this
//! module runs them over a transport, under a Web Lock so that one tab syncs at a time, and keeps
//! the status up to date.

mod decisions;
mod entries;
mod pull;
mod push;
mod transport;
mod triggers;
mod wire;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::core::backoff;
use crate::core::error::Error;
use crate::core::sync::{progress, Failure, NextStep, Settings};

use super::api::Inner;
use super::error::to_js;
use super::glue;
use super::interop::set_field;

pub use decisions::{conflicts, dead_letters, discard_failed, resolve_conflict, retry_failed, Choice, Decided};
pub use transport::{Token, Transport};
pub use triggers::{after_write, start, stop};

/// Records changed by one step, by collection, for the change listeners.
#[derive(Default)]
pub struct Changes(pub Vec<(String, Vec<(String, &'static str)>)>);

impl Changes {
    pub fn add(&mut self, collection: &str, id: &str, op: &'static str) {
        match self.0.iter_mut().find(|(c, _)| c == collection) {
            Some((_, list)) => list.push((id.to_string(), op)),
            None => self.0.push((collection.to_string(), vec![(id.to_string(), op)])),
        }
    }
}

/// The engine of one open database.
pub struct Engine {
    pub settings: Settings,
    pub transport: Transport,
    pub state: RefCell<State>,
}

/// An `online`/`offline` listener, kept to be removed on close.
pub type WindowListener = (&'static str, Closure<dyn FnMut()>);

#[derive(Default)]
pub struct State {
    running: bool,
    /// A sync was asked for while one ran: run again when it ends.
    rerun: bool,
    /// `syncNow()` callers (resolve, reject) waiting for the next complete sync.
    waiters: Vec<(Function, Function)>,
    /// Failed syncs in a row, for the backoff.
    attempt: u32,
    /// Halved on 413 and kept for this session.
    batch_size: Option<u32>,
    /// From the `offline`/`online` events: while offline no sync is attempted.
    pub offline: bool,
    /// Waiting for another tab's sync lock, to see its sync end.
    watching: bool,
    /// This tab holds the sync lock: its own status is the truth, whatever other tabs post.
    pub holding: bool,
    pub retry: Option<gloo_timers::callback::Timeout>,
    pub debounce: Option<gloo_timers::callback::Timeout>,
    pub interval: Option<gloo_timers::callback::Interval>,
    pub window_listeners: Vec<WindowListener>,
}

impl Engine {
    pub fn new(settings: Settings, transport: Transport) -> Engine {
        Engine { settings, transport, state: RefCell::default() }
    }
}

/// What a finished sync did, as `syncNow()` resolves it.
#[derive(Default)]
struct Summary {
    pushed: u64,
    pulled: u64,
    conflicts: u64,
    rejected: u64,
}

impl Summary {
    fn to_js(&self) -> JsValue {
        let o = Object::new();
        set_field(&o, "pushed", &JsValue::from_f64(self.pushed as f64));
        set_field(&o, "pulled", &JsValue::from_f64(self.pulled as f64));
        set_field(&o, "conflicts", &JsValue::from_f64(self.conflicts as f64));
        set_field(&o, "rejected", &JsValue::from_f64(self.rejected as f64));
        o.into()
    }
}

/// Why a sync stopped early.
enum Stop {
    /// The network or the server; decides the retry.
    Failure(Failure),
    /// Local storage (or a closed database); retried on the next trigger.
    Local(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Local(e)
    }
}

fn engine(inner: &Inner) -> Option<&Engine> {
    inner.sync.as_ref()
}

/// Starts a sync unless one is running (then one more runs after it).
pub fn trigger(inner: &Rc<Inner>) {
    let Some(engine) = engine(inner) else { return };
    {
        let mut state = engine.state.borrow_mut();
        if state.running {
            state.rerun = true;
            return;
        }
        state.running = true;
    }
    let inner = inner.clone();
    wasm_bindgen_futures::spawn_local(async move { run_loop(inner).await });
}

/// `syncNow()`: resolves with the summary of a sync that starts after this call, or rejects with
/// why it failed.
pub fn sync_now(inner: &Rc<Inner>) -> Promise {
    let Some(engine) = engine(inner) else {
        return Promise::reject(&to_js(Error::new(
            crate::core::error::ErrorKind::InvalidOptions,
            "syncNow() needs a `sync` option in open()",
        )));
    };
    if !inner.is_open() {
        return Promise::reject(&to_js(inner.closed_error()));
    }
    let mut waiter = None;
    let promise = Promise::new(&mut |resolve, reject| waiter = Some((resolve, reject)));
    {
        let mut state = engine.state.borrow_mut();
        state.waiters.extend(waiter);
        // A waiter joining a running sync waits for the next one: the running one may have
        // read its batch before the caller's last write.
        if state.running {
            state.rerun = true;
        }
    }
    trigger(inner);
    promise
}

async fn run_loop(inner: Rc<Inner>) {
    loop {
        let Some(engine) = engine(&inner) else { return };
        let waiters = {
            let mut state = engine.state.borrow_mut();
            state.rerun = false;
            state.retry = None;
            std::mem::take(&mut state.waiters)
        };
        let outcome = locked_sync(&inner).await;
        let settle = match &outcome {
            Ok(summary) => {
                engine.state.borrow_mut().attempt = 0;
                Ok(summary.to_js())
            }
            Err(stop) => Err(after_failure(&inner, stop)),
        };
        for (resolve, reject) in waiters {
            let _ = match &settle {
                Ok(v) => resolve.call1(&JsValue::UNDEFINED, v),
                Err(e) => reject.call1(&JsValue::UNDEFINED, e),
            };
        }
        let again = {
            let state = engine.state.borrow();
            state.rerun || !state.waiters.is_empty()
        };
        if !again || !inner.is_open() {
            let waiters = {
                let mut state = engine.state.borrow_mut();
                state.running = false;
                std::mem::take(&mut state.waiters)
            };
            // Waiters left on a closed database would never settle.
            for (_, reject) in waiters {
                let _ = reject.call1(&JsValue::UNDEFINED, &to_js(inner.closed_error()));
            }
            return;
        }
    }
}

/// Records the failure in the status, schedules the retry, and returns the error for waiters.
fn after_failure(inner: &Rc<Inner>, stop: &Stop) -> JsValue {
    let Some(engine) = engine(inner) else { return JsValue::UNDEFINED };
    let error = match stop {
        Stop::Local(e) => e.clone(),
        Stop::Failure(f) => f.to_error(),
    };
    let answered = matches!(stop, Stop::Failure(f) if f.server_answered());
    let message = error.message.clone();
    inner.update_status(|s| {
        let next = crate::core::status::SyncStatus {
            syncing: false,
            progress: None,
            online: answered,
            last_error: Some(message),
            ..s.clone()
        };
        s.replace(next)
    });
    inner.post_status();
    // A failed sync may have committed rejections or conflicts before it stopped.
    let counted = inner.clone();
    wasm_bindgen_futures::spawn_local(async move { counted.recount().await });
    let step = match stop {
        Stop::Failure(f) => f.next_step(1),
        Stop::Local(_) => NextStep::RetryLater { floor_ms: None },
    };
    if let NextStep::RetryLater { floor_ms } = step {
        if inner.is_open() {
            let mut state = engine.state.borrow_mut();
            let delay = backoff::delay_ms(state.attempt, js_sys::Math::random(), floor_ms);
            state.attempt = state.attempt.saturating_add(1);
            let weak = Rc::downgrade(inner);
            state.retry = Some(gloo_timers::callback::Timeout::new(delay.min(u32::MAX as u64) as u32, move || {
                if let Some(inner) = weak.upgrade() {
                    trigger(&inner);
                }
            }));
        }
    }
    to_js(error)
}

/// Another tab said it is syncing. It says so again when it is done, unless it dies first (a
/// reload, a closed tab): then its lock is released without a word. Waiting for the lock
/// catches both, so this tab never shows "syncing" for a sync that is gone.
pub fn watch_remote_sync(inner: &Rc<Inner>) {
    let Some(here) = engine(inner) else { return };
    // Without Web Locks there is no lock to wait for; the other tab's own "done" must do.
    if !glue::has_locks() {
        return;
    }
    if std::mem::replace(&mut here.state.borrow_mut().watching, true) {
        return;
    }
    let weak = Rc::downgrade(inner);
    let name = lock_name(inner);
    wasm_bindgen_futures::spawn_local(async move {
        let released = Closure::once_into_js(|_lock: JsValue| Promise::resolve(&JsValue::UNDEFINED));
        let _ = JsFuture::from(glue::with_lock(&name, &released)).await;
        let Some(inner) = weak.upgrade() else { return };
        let Some(engine) = engine(&inner) else { return };
        let running_here = {
            let mut state = engine.state.borrow_mut();
            state.watching = false;
            state.running
        };
        if !running_here {
            inner.update_status(|s| {
                let changed = s.syncing || s.progress.is_some();
                s.syncing = false;
                s.progress = None;
                changed
            });
        }
    });
}

fn lock_name(inner: &Inner) -> String {
    format!("ferrysync:{}:sync", inner.schema.database_name())
}

/// One sync, holding the database's sync lock (one tab at a time).
async fn locked_sync(inner: &Rc<Inner>) -> Result<Summary, Stop> {
    let outcome: Rc<RefCell<Option<Result<Summary, Stop>>>> = Rc::default();
    let slot = outcome.clone();
    let held = inner.clone();
    let callback = Closure::once_into_js(move |_lock: JsValue| -> Promise {
        future_to_promise(async move {
            let holding = |on: bool| {
                if let Some(engine) = engine(&held) {
                    engine.state.borrow_mut().holding = on;
                }
            };
            holding(true);
            *slot.borrow_mut() = Some(sync_once(&held).await);
            holding(false);
            Ok(JsValue::UNDEFINED)
        })
    });
    if let Err(e) = JsFuture::from(glue::with_lock(&lock_name(inner), &callback)).await {
        return Err(Stop::Local(super::error::from_js(
            "taking the sync lock",
            &e,
            crate::core::error::ErrorKind::Storage,
        )));
    }
    let result = outcome.borrow_mut().take();
    result.unwrap_or_else(|| Err(Stop::Local(inner.closed_error())))
}

async fn sync_once(inner: &Rc<Inner>) -> Result<Summary, Stop> {
    let engine = engine(inner).ok_or_else(|| Stop::Local(inner.closed_error()))?;
    if !inner.is_open() {
        return Err(Stop::Local(inner.closed_error()));
    }
    if engine.state.borrow().offline {
        return Err(Stop::Failure(Failure::Offline));
    }
    if !inner.status_now().online {
        engine.transport.probe().await.map_err(Stop::Failure)?;
    }
    let pending = inner.status_now().pending;
    inner.update_status(|s| {
        let next =
            crate::core::status::SyncStatus { online: true, syncing: true, progress: Some((0, pending)), ..s.clone() };
        s.replace(next)
    });
    inner.post_status();

    let mut summary = Summary::default();
    let mut done = 0u64;
    // Push until nothing is ready.
    loop {
        let db = inner.db()?;
        let size = engine.state.borrow().batch_size.unwrap_or(engine.settings.batch_size);
        let Some(batch) = push::read_batch(&db, size, super::api::now()).await? else { break };
        let sent = batch.sent.len() as u64;
        let answer = match engine.transport.push(&batch.request).await {
            Ok(answer) => wire::read_push_response(&answer).map_err(Stop::Failure)?,
            Err(failure) => match (failure.next_step(sent as u32), &failure) {
                (NextStep::ShrinkBatch(smaller), _) => {
                    engine.state.borrow_mut().batch_size = Some(smaller);
                    continue;
                }
                // One mutation alone is too large for the server: it can never be sent, so it
                // becomes a dead letter instead of blocking everything queued behind it.
                (_, Failure::Http { status: 413, message, .. }) => {
                    // The batches were small because of this one change, not the server.
                    engine.state.borrow_mut().batch_size = None;
                    push::too_large_answer(&batch.sent[0], message)
                }
                _ => return Err(Stop::Failure(failure)),
            },
        };
        let applied = push::apply_results(&inner.db()?, batch, answer, super::api::now()).await?;
        if applied.answered == 0 {
            // Sending the same batch again would get the same answer: back off instead.
            return Err(Stop::Failure(Failure::BadAnswer("no result matches a mutation of the batch".into())));
        }
        summary.pushed += applied.acknowledged;
        summary.conflicts += applied.conflicts;
        summary.rejected += applied.rejected;
        inner.announce_sync(&applied.changes, -(applied.acknowledged as i64));
        // Held entries (conflicts, dead letters) stay queued but are not part of this sync's work.
        let status = inner.status_now();
        let held = status.failed + status.conflicts + summary.conflicts + summary.rejected;
        let (d, total) = progress(done, sent, status.pending.saturating_sub(held));
        done = d;
        inner.update_status(|s| {
            let changed = s.progress != Some((done, total));
            s.progress = Some((done, total));
            changed
        });
    }
    // Pull until the server has no more.
    let mut cursor = pull::cursor(&inner.db()?).await?;
    loop {
        let answer = match engine.transport.pull(cursor.as_deref(), engine.settings.pull_limit).await {
            Ok(answer) => answer,
            // The server no longer knows the cursor (its data was reset or moved): start over.
            // Records already here are matched by version, so nothing is applied twice.
            Err(Failure::Http { status: 400, code, .. })
                if code == crate::protocol::codes::INVALID_CURSOR && cursor.is_some() =>
            {
                pull::reset_cursor(&inner.db()?).await?;
                cursor = None;
                continue;
            }
            Err(failure) => return Err(Stop::Failure(failure)),
        };
        let page = wire::read_pull_response(&answer).map_err(Stop::Failure)?;
        let applied =
            pull::apply_page(&inner.db()?, &inner.schema, cursor.as_deref(), &page, super::api::now()).await?;
        summary.pulled += applied.received;
        summary.conflicts += applied.conflicts;
        inner.announce_sync(&applied.changes, 0);
        if applied.restart {
            // A decision reset the cursor while this page was in flight; honour it.
            cursor = None;
            continue;
        }
        cursor = Some(page.cursor.clone());
        if !page.has_more {
            break;
        }
    }
    let now = super::api::now();
    inner.update_status(|s| {
        let next = crate::core::status::SyncStatus {
            syncing: false,
            progress: None,
            last_sync_at: Some(now),
            last_error: None,
            ..s.clone()
        };
        s.replace(next)
    });
    inner.recount().await;
    inner.post_status();
    Ok(summary)
}
