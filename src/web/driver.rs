//! Runs the core's sync engine in the browser (a window or a worker): hands it events and carries
//! out its commands with IndexedDB ([`IdbStore`]), the transport, timers, the Web Lock and the
//! [`Host`] (listeners and other tabs). It decides nothing: each command is a few lines of I/O
//! whose outcome goes back to the engine as the event named after it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

use crate::core::blobs::download::{Downloaded, Step};
use crate::core::blobs::Download;
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::status::SyncStatus;
use crate::core::sync::engine::{Command, Engine, Event, Summary, Timer, Waiter};
use crate::core::sync::failure::Failure;
use crate::core::sync::rules::force::Force;
use crate::core::sync::settings::Settings;
use crate::core::sync::storage::{Changes, Decided, SyncStorage};
use crate::core::sync::transport::Transport as _;

use super::blobs::digest;
use super::blobs::download::Received;
use super::error::to_js;
use super::glue;
use super::idb::IdbStore;
use super::js::{now, set_field};
use super::resolvers::Resolvers;
use super::transport::Transport;
use super::wire::{JsData, PullResponse, PushResponse};
use crate::protocol::{BlobRef, Mutation};

/// What the driver needs of the open database it serves.
pub trait Host {
    /// The database's storage; an error once it is closed.
    fn store(&self) -> Result<IdbStore>;
    /// A new mutation id, for a change the engine's steps queue.
    fn mutation_id(&self) -> String;
    /// Tell this tab's change listeners and the other tabs.
    fn announce(&self, changes: &Changes);
    /// Tell this tab's status listeners.
    fn publish(&self, status: &SyncStatus);
    /// Tell the other tabs this tab's sync status.
    fn post_status(&self, status: &SyncStatus);
    /// Write the eviction marker with this many unsent changes.
    fn mark(&self, unsent: u64);
}

pub struct Driver {
    engine: RefCell<Engine<JsData>>,
    /// Events waiting for the engine: one is handled at a time, even when carrying out a command
    /// (a listener calling `syncNow()`, say) feeds another.
    queue: RefCell<VecDeque<Event<JsData>>>,
    busy: Cell<bool>,
    host: Weak<dyn Host>,
    transport: Option<Transport>,
    lock_name: String,
    /// The database's Background Sync tag.
    tag: String,
    /// Gives the sync lock back (held, or asked for).
    release_lock: RefCell<Option<Function>>,
    timers: RefCell<Vec<(Timer, Timeout)>>,
    waiters: RefCell<Vec<(Waiter, Function, Function)>>,
    next_waiter: Cell<u64>,
    /// The `online`/`offline` listeners, and the function that removes them.
    network: RefCell<Option<NetworkListeners>>,
    resolvers: Rc<Resolvers>,
    /// The bytes of the sync's download under way (one at a time).
    received: Rc<RefCell<Option<Received>>>,
}

type NetworkListeners = (Closure<dyn FnMut()>, Closure<dyn FnMut()>, Function);

impl Driver {
    /// `sync`: the `sync` options of `open()`, if any; `lock_name`: the database's sync lock;
    /// `tag`: its Background Sync tag. `resolvers`: the collections' own conflict resolvers.
    pub fn new(
        host: Weak<dyn Host>,
        sync: Option<(Settings, Transport)>,
        lock_name: String,
        tag: String,
        resolvers: Vec<(String, Function)>,
    ) -> Driver {
        let (settings, transport) = match sync {
            Some((s, t)) => (Some(s), Some(t)),
            None => (None, None),
        };
        let seed = (js_sys::Math::random() * (1u64 << 53) as f64) as u64;
        Driver {
            engine: RefCell::new(Engine::new(settings, seed)),
            queue: RefCell::default(),
            busy: Cell::new(false),
            host,
            transport,
            lock_name,
            tag,
            release_lock: RefCell::default(),
            timers: RefCell::default(),
            waiters: RefCell::default(),
            next_waiter: Cell::new(0),
            network: RefCell::default(),
            resolvers: Rc::new(Resolvers(resolvers)),
            received: Rc::default(),
        }
    }

    /// Starts the engine: network events (on the global scope, so workers get them too), the
    /// first count, the timers, and the sync on open. With `counted`, the promise settles once
    /// the first count is in.
    pub fn start(self: &Rc<Self>, counted: bool) -> Option<Promise> {
        if self.transport.is_some() {
            let weak = Rc::downgrade(self);
            let online = Closure::<dyn FnMut()>::new(move || feed_weak(&weak, Event::Online));
            let weak = Rc::downgrade(self);
            let offline = Closure::<dyn FnMut()>::new(move || feed_weak(&weak, Event::Offline));
            let unlisten = glue::listen_network(online.as_ref().unchecked_ref(), offline.as_ref().unchecked_ref());
            *self.network.borrow_mut() = Some((online, offline, unlisten));
        }
        let (waiter, promise) =
            if counted { self.waiter().map(|(w, p)| (Some(w), Some(p))).unwrap_or_default() } else { (None, None) };
        self.feed(Event::Started { online: glue::is_online(), waiter });
        promise
    }

    /// A new waiter and the promise that settles with it.
    fn waiter(&self) -> Option<(Waiter, Promise)> {
        let waiter = Waiter(self.next_waiter.get());
        self.next_waiter.set(waiter.0 + 1);
        let mut settle = None;
        let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        let (resolve, reject) = settle?;
        self.waiters.borrow_mut().push((waiter, resolve, reject));
        Some((waiter, promise))
    }

    /// `syncNow()`: a promise settled when a sync that starts after this call ends.
    pub fn sync_now(self: &Rc<Self>) -> Promise {
        let Some((waiter, promise)) = self.waiter() else { return Promise::resolve(&JsValue::UNDEFINED) };
        self.feed(Event::SyncAsked { waiter: Some(waiter) });
        promise
    }

    /// `forcePush()` / `forcePull()`: a promise settled when the sync it runs ends.
    pub fn force(self: &Rc<Self>, force: Force) -> Promise {
        let Some((waiter, promise)) = self.waiter() else { return Promise::resolve(&JsValue::UNDEFINED) };
        self.feed(Event::ForceAsked { force, waiter });
        promise
    }

    /// `collection.wipe()`: a promise settled once the wipe is done, under the sync lock.
    pub fn wipe(self: &Rc<Self>, collection: String, discard_pending: bool) -> Promise {
        let Some((waiter, promise)) = self.waiter() else { return Promise::resolve(&JsValue::UNDEFINED) };
        self.feed(Event::WipeAsked { collection, discard_pending, waiter });
        promise
    }

    /// `db.spaces.add()` committed: the engine counts and syncs (nothing to do for a space synced
    /// already, unless the caller waits for it). With `wait`, a promise settled once the space's
    /// first full pull is done.
    pub fn space_added(self: &Rc<Self>, space: String, added: bool, wait: bool) -> Option<Promise> {
        if !added && !wait {
            return None;
        }
        let (waiter, promise) = match wait.then(|| self.waiter()).flatten() {
            Some((w, p)) => (Some(w), Some(p)),
            None => (None, None),
        };
        self.feed(Event::SpaceAdded { space, waiter });
        promise
    }

    /// `db.spaces.remove()`: a promise settled once the space's records are wiped, under the
    /// sync lock (or the removal refused).
    pub fn remove_space(self: &Rc<Self>, space: String, discard_pending: bool) -> Promise {
        let Some((waiter, promise)) = self.waiter() else { return Promise::resolve(&JsValue::UNDEFINED) };
        self.feed(Event::SpaceRemoveAsked { space, discard_pending, waiter });
        promise
    }

    /// A decision committed: a promise settled once the counts that follow it are in.
    pub fn decided(self: &Rc<Self>, decided: Decided) -> Promise {
        let (waiter, promise) = match self.waiter() {
            Some((w, p)) => (Some(w), p),
            None => (None, Promise::resolve(&JsValue::UNDEFINED)),
        };
        self.feed(Event::Decided { decided, waiter });
        promise
    }

    /// Hands `event` to the engine and carries out what it answers.
    pub fn feed(self: &Rc<Self>, event: Event<JsData>) {
        self.queue.borrow_mut().push_back(event);
        if self.busy.replace(true) {
            return;
        }
        loop {
            let Some(event) = self.queue.borrow_mut().pop_front() else { break };
            let commands = self.engine.borrow_mut().handle(event, now());
            for command in commands {
                self.run(command);
            }
        }
        self.busy.set(false);
    }

    /// Stops listening for network events (on close; the engine cancels its own timers).
    pub fn stop(&self) {
        if let Some((_online, _offline, unlisten)) = self.network.borrow_mut().take() {
            let _ = unlisten.call0(&JsValue::UNDEFINED);
        }
    }

    fn run(self: &Rc<Self>, command: Command<JsData>) {
        let Some(host) = self.host.upgrade() else { return };
        match command {
            Command::TakeLock => {
                let weak = Rc::downgrade(self);
                let granted = Closure::once_into_js(move || feed_weak(&weak, Event::LockTaken));
                *self.release_lock.borrow_mut() = Some(glue::take_lock(&self.lock_name, granted.unchecked_ref()));
            }
            Command::ReleaseLock => {
                if let Some(release) = self.release_lock.borrow_mut().take() {
                    let _ = release.call0(&JsValue::UNDEFINED);
                }
            }
            Command::WatchLock => {
                let weak = Rc::downgrade(self);
                let free = Closure::once_into_js(move || feed_weak(&weak, Event::LockFree));
                glue::when_lock_free(&self.lock_name, free.unchecked_ref());
            }
            Command::Probe => self.io(|d| async move { Event::Probed(d.probe().await) }),
            Command::ReadBatch { max, unapplied } => self.io(move |_| async move {
                Event::BatchRead(async { host.store()?.read_batch(max, &unapplied, now()).await }.await)
            }),
            Command::Push { batch } => self.io(|d| async move {
                let answer = d.push(&batch.mutations).await;
                Event::Pushed { batch, answer }
            }),
            Command::ApplyPush { batch, answer } => self.io(move |_| async move {
                Event::PushApplied(async { host.store()?.apply_push(batch, answer, now()).await }.await)
            }),
            Command::ReadCursor => {
                self.io(move |_| async move { Event::CursorRead(async { host.store()?.pull_from().await }.await) })
            }
            Command::Pull { cursor, limit } => {
                self.io(move |d| async move { Event::Pulled(d.pull(cursor.as_deref(), limit).await) })
            }
            Command::ApplyPage { asked_from, page, last } => self.io(move |_| async move {
                let applied = async { host.store()?.apply_page(asked_from.as_deref(), page, last, now()).await };
                Event::PageApplied(applied.await)
            }),
            Command::PullSpaces { request } => {
                self.io(move |d| async move { Event::SpacesPulled(d.pull_spaces(&request).await) })
            }
            Command::ApplySpaces { asked, answer } => self.io(move |_| async move {
                Event::PageApplied(async { host.store()?.apply_spaces(&asked, answer, now()).await }.await)
            }),
            Command::RemoveSpace { space, discard_pending } => self.io(move |_| async move {
                Event::Wiped(async { host.store()?.remove_space(&space, discard_pending, now()).await }.await)
            }),
            Command::ResetCursor => {
                self.io(move |_| async move { Event::CursorReset(async { host.store()?.reset_cursor().await }.await) })
            }
            Command::BeginForce(force) => self.io(move |_| async move {
                let begun = async { host.store()?.begin_force(&force, now(), &mut || host.mutation_id()).await };
                Event::ForceBegun(begun.await)
            }),
            Command::Wipe { collection, discard_pending } => self.io(move |_| async move {
                Event::Wiped(async { host.store()?.wipe(&collection, discard_pending, now()).await }.await)
            }),
            Command::FinishForcePull => self.io(move |_| async move {
                Event::ForcePullFinished(async { host.store()?.finish_force_pull(now()).await }.await)
            }),
            Command::NextUpload { skip } => self
                .io(move |_| async move { Event::UploadRead(async { host.store()?.next_upload(&skip).await }.await) }),
            Command::EndUpload { hash, outcome } => self.io(move |_| async move {
                Event::UploadEnded(async { host.store()?.end_upload(&hash, outcome, now()).await }.await)
            }),
            Command::BlobStatus { hash } => {
                self.io(move |d| async move { Event::BlobAnswered(d.blob_status(&hash).await) })
            }
            // The chunk goes as a slice of the stored Blob: its bytes never pass through here.
            Command::SendChunk { hash, offset, len, size } => self.io(move |d| async move {
                let blob = match async { host.store()?.blob_of(&hash).await }.await {
                    Ok(blob) => blob,
                    Err(e) => return Event::BlobAnswered(Err(Failure::BadAnswer(e.message))),
                };
                let body = super::blobs::blob_slice(&blob, offset as f64, (offset + len) as f64);
                Event::BlobAnswered(d.send_chunk(&hash, offset, size, &body).await)
            }),
            Command::NextDownload { skip } => self.io(move |_| async move {
                Event::DownloadRead(async { host.store()?.next_download(&skip).await }.await)
            }),
            Command::FetchRange { hash, offset, len } => {
                let received = self.received.clone();
                self.io(move |d| async move {
                    let answer = d.transport().map(|t| t.fetch_range(&hash, offset, len));
                    let answer = match answer {
                        Ok(fetch) => fetch.await,
                        Err(failure) => Err(failure),
                    };
                    Event::RangeFetched(answer.map(|(fetched, buffer)| {
                        if let Some(buffer) = buffer {
                            let mut kept = received.borrow_mut();
                            kept.get_or_insert_with(|| Received::new(&hash)).keep(offset, &buffer);
                        }
                        fetched
                    }))
                })
            }
            Command::CheckDownload { hash } => {
                let parts = self.received.borrow().as_ref().filter(|r| r.hash == hash).map(|r| r.parts().clone());
                let parts = parts.unwrap_or_default();
                self.io(move |_| async move { Event::DownloadChecked(Ok(digest(&parts).await)) })
            }
            Command::EndDownload { hash, outcome } => {
                let received = self.received.borrow_mut().take().filter(|r| r.hash == hash);
                self.io(move |_| async move {
                    let ended = async {
                        // The sync downloads only blobs with a row (a pulled reference): it says
                        // their size and type.
                        let store = host.store()?;
                        let row = super::idb::downloads::row(&store.db, &hash).await?;
                        if row.is_undefined() {
                            return Ok(());
                        }
                        let blob = super::idb::downloads::reference_of(&row);
                        store
                            .end_download(&blob, outcome, received.as_ref().map(Received::parts), now())
                            .await
                            .map(|_| ())
                    };
                    Event::DownloadEnded(ended.await)
                })
            }
            Command::AskResolvers(asks) => {
                let resolvers = self.resolvers.clone();
                self.io(move |_| async move {
                    let rows = async { host.store()?.conflicts().await }.await.unwrap_or(JsValue::NULL);
                    Event::ResolversAnswered(resolvers.ask(asks, &rows).await)
                })
            }
            Command::ApplyAnswers(answers) => self.io(move |_| async move {
                let applied = async { host.store()?.apply_answers(answers, now(), &mut || host.mutation_id()).await };
                Event::AnswersApplied(applied.await)
            }),
            Command::SettleConflicts { clock_offset } => self.io(move |_| async move {
                let settled =
                    async { host.store()?.settle_conflicts(now(), clock_offset, &mut || host.mutation_id()).await };
                Event::ConflictsSettled(settled.await)
            }),
            Command::Count { id } => {
                self.io(
                    move |_| async move { Event::Counted { id, counts: async { host.store()?.counts().await }.await } },
                )
            }
            Command::Arm { timer, after_ms } => {
                let weak = Rc::downgrade(self);
                let timeout = Timeout::new(after_ms.min(i32::MAX as u64) as u32, move || {
                    feed_weak(&weak, Event::TimerFired(timer))
                });
                let mut timers = self.timers.borrow_mut();
                // Replacing a timer drops (cancels) the one it replaces.
                timers.retain(|(t, _)| *t != timer);
                timers.push((timer, timeout));
            }
            Command::Cancel { timer } => self.timers.borrow_mut().retain(|(t, _)| *t != timer),
            Command::Announce(changes) => host.announce(&changes),
            Command::Publish(status) => host.publish(&status),
            Command::PostStatus(status) => host.post_status(&status),
            Command::Mark { unsent } => host.mark(unsent),
            Command::AskBackgroundSync => glue::ask_background_sync(&self.tag),
            Command::AskPeriodicSync { min_interval_ms } => glue::ask_periodic_sync(&self.tag, min_interval_ms),
            Command::Settle { waiters, outcome } => {
                let settled: Vec<_> = {
                    let mut all = self.waiters.borrow_mut();
                    let (mine, rest) = all.drain(..).partition(|(w, _, _)| waiters.contains(w));
                    *all = rest;
                    mine
                };
                let value = match &outcome {
                    Ok(summary) => Ok(summary_to_js(summary)),
                    Err(e) => Err(to_js(e.clone())),
                };
                for (_, resolve, reject) in settled {
                    let _ = match &value {
                        Ok(v) => resolve.call1(&JsValue::UNDEFINED, v),
                        Err(e) => reject.call1(&JsValue::UNDEFINED, e),
                    };
                }
            }
        }
    }

    /// Runs one storage or network command in the background; its outcome goes to the engine.
    fn io<F, Fut>(self: &Rc<Self>, work: F)
    where
        F: FnOnce(Rc<Driver>) -> Fut,
        Fut: std::future::Future<Output = Event<JsData>> + 'static,
    {
        // Boxed, so that one spawned task type serves every command (each would otherwise be a
        // copy of the executor's code in the wasm).
        let future: Pin<Box<dyn std::future::Future<Output = Event<JsData>>>> = Box::pin(work(self.clone()));
        spawn_event(self.clone(), future);
    }

    /// What this tab's syncs did since it opened the database, the bytes of the transport with
    /// them.
    pub fn metrics(&self) -> crate::core::sync::metrics::Metrics {
        let mut metrics = self.engine.borrow().metrics().clone();
        if let Some(transport) = &self.transport {
            let (sent, received) = transport.bytes();
            metrics.transferred(sent, received);
        }
        metrics
    }

    /// The cap on the bytes of blobs kept here.
    pub fn blob_cap(&self) -> Option<u64> {
        self.engine.borrow().settings().and_then(|s| s.blob_cache_bytes)
    }

    /// Downloads `blob` now (a read of a blob that is not here), stores it and gives its Blob.
    pub async fn fetch_blob(self: &Rc<Self>, store: &IdbStore, blob: &crate::protocol::BlobRef) -> Result<JsValue> {
        let (Some(transport), Some(chunk)) =
            (&self.transport, self.engine.borrow().settings().map(|s| s.download_chunk_bytes))
        else {
            let message =
                format!("blob {} is not on this device, and there is no `sync` option to download it", blob.hash);
            return Err(Error::new(ErrorKind::BlobNotDownloaded, message));
        };
        let stored = fetch(store, transport, blob, chunk, now()).await?;
        // Stored: the status's bytes are counted again.
        self.feed(Event::RemoteChange);
        Ok(stored)
    }

    /// The transport; the engine only syncs with one configured.
    fn transport(&self) -> std::result::Result<&Transport, Failure> {
        self.transport.as_ref().ok_or_else(|| Failure::BadAnswer("no `sync` option was given".into()))
    }

    async fn probe(&self) -> std::result::Result<(), Failure> {
        self.transport()?.probe().await
    }

    async fn push(&self, mutations: &[Mutation<JsData>]) -> std::result::Result<PushResponse, Failure> {
        self.transport()?.push(mutations).await
    }

    async fn pull(&self, cursor: Option<&str>, limit: u32) -> std::result::Result<PullResponse, Failure> {
        self.transport()?.pull(cursor, limit).await
    }

    async fn blob_status(&self, hash: &str) -> std::result::Result<crate::core::blobs::Answer, Failure> {
        self.transport()?.blob_status(hash).await
    }

    async fn send_chunk(
        &self,
        hash: &str,
        offset: u64,
        size: u64,
        body: &JsValue,
    ) -> std::result::Result<crate::core::blobs::Answer, Failure> {
        self.transport()?.send_chunk(hash, offset, size, body).await
    }

    async fn pull_spaces(
        &self,
        request: &crate::protocol::SpacesPullRequest,
    ) -> std::result::Result<crate::protocol::SpacesPullResponse<JsData>, Failure> {
        self.transport()?.pull_spaces(request).await
    }
}

impl Drop for Driver {
    /// A handle collected without `close()`: its network listeners go with it.
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_event(driver: Rc<Driver>, future: Pin<Box<dyn std::future::Future<Output = Event<JsData>>>>) {
    spawn_local(async move {
        let event = future.await;
        driver.feed(event);
    });
}

fn feed_weak(weak: &Weak<Driver>, event: Event<JsData>) {
    if let Some(driver) = weak.upgrade() {
        driver.feed(event);
    }
}

/// `{ pushed, pulled, conflicts, rejected, resolved }`, as `syncNow()` resolves.
fn summary_to_js(s: &Summary) -> JsValue {
    let o = Object::new();
    set_field(&o, "pushed", &JsValue::from_f64(s.pushed as f64));
    set_field(&o, "pulled", &JsValue::from_f64(s.pulled as f64));
    set_field(&o, "conflicts", &JsValue::from_f64(s.conflicts as f64));
    set_field(&o, "rejected", &JsValue::from_f64(s.rejected as f64));
    set_field(&o, "resolved", &JsValue::from_f64(s.resolved as f64));
    o.into()
}

/// Downloads `blob` from the server through `transport`, in chunks of `chunk` bytes, checks it
/// and stores it: its `Blob`. Any failure is a [`ErrorKind::BlobNotDownloaded`] and stores
/// nothing.
async fn fetch(store: &IdbStore, transport: &Transport, blob: &BlobRef, chunk: u64, now: f64) -> Result<JsValue> {
    let not_downloaded = |why: String| {
        Error::new(ErrorKind::BlobNotDownloaded, format!("blob {} is not on this device, and {why}", blob.hash))
    };
    let mut download = Download::new(blob.hash.clone(), blob.size, chunk);
    let mut received = Received::new(&blob.hash);
    let mut step = download.start();
    loop {
        step = match step {
            Step::Fetch { offset, len } => match transport.fetch_range(&blob.hash, offset, len).await {
                Ok((answer, buffer)) => {
                    if let Some(buffer) = &buffer {
                        received.keep(offset, buffer);
                    }
                    download.fetched(answer)
                }
                Err(failure) => {
                    return Err(not_downloaded(format!("downloading it failed: {}", failure.to_error().message)))
                }
            },
            Step::Check => download.checked(&digest(received.parts()).await),
            Step::Done => {
                return store.end_download(blob, Downloaded::Stored, Some(received.parts()), now).await;
            }
            Step::Failed { code, message } => {
                return Err(not_downloaded(format!("the server does not give it ({code}: {message})")))
            }
            Step::Unsupported => return Err(not_downloaded("the server has no blob endpoints".into())),
        };
    }
}
