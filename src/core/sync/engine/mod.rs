//! The sync engine: a state machine fed with [`Event`]s that answers with [`Command`]s. It holds
//! no JS value, reads no clock (every event comes with `now`) and draws its randomness from the
//! seed it was made with, so the browser, a worker and the native simulation drive the same
//! engine, each carrying out its commands with their own storage, network and timers.
//!
//! One sync: take the sync lock, probe the server unless it answered last time, push the outbox
//! batch by batch (read a batch, send it, apply the answer, the next batch read and sent
//! meanwhile: `pipeline.rs`), read the cursor, pull page by page
//! (ask, apply with the next cursor, the next page asked for meanwhile: `prefetch.rs`) until the
//! server has no more, upload the blobs queued changes wait for (`uploads.rs`), each followed by
//! a push of the changes it lets go, release the lock. A failure ends the sync, and the backoff timer (or the
//! `online` event) starts the next one.

mod downloads;
mod io;
mod pipeline;
mod prefetch;
mod slices;
mod uploads;

pub use io::{Command, Event, Summary, Timer, Waiter};

use crate::core::error::{Error, ErrorKind};
use crate::core::status::SyncStatus;
use crate::protocol::{PullResponse, SpaceCursor, SpacesPullRequest};

use super::backoff;
use super::failure::{Failure, NextStep};
use super::metrics::Metrics;
use super::rules::force::Force;
use super::settings::Settings;
use super::storage::{Changes, Counts, PullFrom};
use prefetch::{next_spaces, Asked, Landed, Prefetch};

/// How long after another tab's change the queue is counted again (one count for a burst).
pub const RECOUNT_DELAY_MS: u64 = 20;

/// Why a sync stopped early.
#[derive(Debug, Clone, PartialEq)]
enum Stop {
    /// The network or the server.
    Failure(Failure),
    /// Local storage (a quota, a closed database): retried with backoff like a failure.
    Local(Error),
}

/// Where the running sync is: which command's answer it waits for.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Locking,
    Probing,
    /// Reading the first batch of a push (or the next, once nothing is out).
    ReadingBatch,
    /// Pushing: batches sent, read ahead and applied at once (`pipeline.rs`).
    Pushing,
    ReadingCursor,
    Pulling,
    ResettingCursor,
    /// Settling conflicts by their strategies, once the pull is done.
    Settling,
    /// Waiting for collections' own resolvers, then for their answers to be carried out.
    Asking,
    ApplyingAnswers,
    /// Starting the force this sync was asked for, under the lock.
    BeginningForce,
    /// Sweeping after a force pull's pull from the start.
    FinishingForcePull,
    /// Reading the next blob to upload.
    ReadingUpload,
    /// Uploading a blob: waiting for the server's answer to the step before.
    Uploading(crate::core::blobs::Upload),
    /// Storing how an upload ended.
    EndingUpload,
    /// Reading the next blob to download.
    ReadingDownload,
    /// Downloading a blob: waiting for a range.
    Downloading(crate::core::blobs::Download),
    /// Waiting for the hash of the bytes received.
    CheckingDownload(crate::core::blobs::Download),
    /// Storing how a download ended.
    EndingDownload,
    /// Wiping a collection (or a space), under the lock (no sync runs with it).
    Wiping,
    /// Applying the pages of a pull by space: `more` whether a space has more; `finished` the
    /// spaces whose page ended theirs.
    ApplyingSpaces {
        more: bool,
        finished: Vec<Option<String>>,
    },
    /// `next`: the cursor after the page; `has_more`: the server has more after it.
    ApplyingPage {
        next: String,
        has_more: bool,
    },
    /// Over, and the lock given back: waiting for count `count`, so that the status counts what
    /// the sync did when the waiters learn how it ended.
    Finishing {
        count: u64,
        outcome: Result<Summary, Error>,
    },
}

/// The sync that is running.
#[derive(Debug)]
struct Job<D> {
    phase: Phase,
    /// `syncNow()` callers settled when this sync ends.
    waiters: Vec<Waiter>,
    summary: Summary,
    /// Entries pushed so far, for the progress.
    done: u64,
    /// The cursor the next pull asks from.
    cursor: Option<String>,
    /// A request was already sent again with a fresh token after `token_expired`.
    token_refreshed: bool,
    /// The force this sync begins with (`forcePush()`, `forcePull()`), and its caller (among
    /// `waiters` too).
    force: Option<(Force, Waiter)>,
    /// When the request in flight was sent, to measure the server's clock by its answer.
    sent_at: f64,
    /// When the sync started, for its duration.
    started_at: f64,
    /// Not a sync but a wipe of a collection or a space (`discard_pending`), under the lock.
    wipe: Option<(Wipe, bool)>,
    /// Pulling by space: the spaces asked for last.
    spaces: Option<Vec<SpaceCursor>>,
    /// Spaces pulled to their end in this sync: not asked again, unless a cursor was reset.
    finished: Vec<Option<String>>,
    /// The last page applied said a force pull's sweep is due.
    sweep_due: bool,
    /// The next page, asked for while the one before it is applied ([`prefetch`]).
    prefetch: Option<Prefetch<D>>,
    /// The slices of the page being applied that come after the one being written ([`slices`]).
    rest: Option<PullResponse<D>>,
    /// What the push has out ([`pipeline`]).
    pipe: pipeline::Pipe<D>,
    /// A pull waits for an unwanted answer to land before it goes out (see
    /// [`Engine::stray_pull`]).
    deferred: bool,
    /// The blobs this sync uploaded or tried, once its uploads have begun (`None` before): each
    /// is tried once per sync, and a push after the uploads goes on to the next one, not to a
    /// pull.
    uploads: Option<Vec<String>>,
    /// The blobs this sync downloaded or tried: each is tried once per sync.
    downloads: Vec<String>,
}

/// What a wipe clears.
#[derive(Debug, Clone, PartialEq)]
enum Wipe {
    Collection(String),
    Space(String),
}

/// The engine of one open database in one tab (or worker).
#[derive(Debug)]
pub struct Engine<D> {
    /// `None` without a `sync` option: the engine then only keeps the counts of the status.
    settings: Option<Settings>,
    status: SyncStatus,
    /// From the `offline`/`online` events: while offline no sync is attempted.
    offline: bool,
    job: Option<Job<D>>,
    /// A pull request is in flight whose answer nobody wants (a prefetch thrown away): it is
    /// dropped when it lands, and no pull goes out before, so that no answer is ever taken for
    /// another request's.
    stray_pull: bool,
    /// A sync was asked for while one ran: run one more when it ends.
    rerun: bool,
    /// `syncNow()` callers waiting for the next sync to start.
    next_waiters: Vec<Waiter>,
    /// The server's clock minus this client's (ms), measured from answers that carry
    /// `serverTime`: a push's write times are put on the server's clock with it.
    clock_offset: Option<f64>,
    /// The time of the event being handled.
    now: f64,
    /// Forces asked for, each run by a sync of its own, in order.
    forces: std::collections::VecDeque<(Force, Waiter)>,
    /// Wipes asked for (collection, discard pending), each run under the lock, in order.
    wipes: std::collections::VecDeque<(Wipe, bool, Waiter)>,
    /// Failed syncs in a row, for the backoff.
    attempt: u32,
    /// Halved on 413 and kept for this session.
    batch_size: Option<u32>,
    /// This tab holds the sync lock: its own status is the truth, whatever other tabs post.
    holding: bool,
    /// Waiting for another tab's sync lock, to see its sync end.
    watching: bool,
    /// After close: the error every later `syncNow()` gets.
    closed: Option<Error>,
    rng: u64,
    /// Status changes to post to other tabs once this event is handled.
    post: bool,
    /// The number of the next [`Command::Count`], and of the newest count applied.
    next_count: u64,
    applied_count: Option<u64>,
    /// Waiters settled once the count of this number (or a later one) is applied.
    count_waiters: Vec<(u64, Waiter)>,
    /// `db.spaces.add(space, { wait: true })` callers: settled once the space's first pull is
    /// done, or refused once a count after the number given no longer finds the space (removed).
    space_waiters: Vec<(String, u64, Waiter)>,
    /// What this tab's syncs did, for `db.metrics()`.
    metrics: Metrics,
    /// The unsent changes the eviction marker was last written with, and whether its timer runs.
    marked: Option<u64>,
    mark_armed: bool,
    /// A sync failed (not for being offline) with changes still queued: with `backgroundSync`,
    /// the browser is asked again once this event is handled (it may have given up on an
    /// earlier registration, and this page may close before its own retry).
    failed_with_changes: bool,
    _data: std::marker::PhantomData<fn() -> D>,
}

impl<D> Engine<D> {
    /// `seed`: the source of the backoff's jitter.
    pub fn new(settings: Option<Settings>, seed: u64) -> Engine<D> {
        Engine {
            settings,
            status: SyncStatus::default(),
            offline: false,
            job: None,
            stray_pull: false,
            rerun: false,
            next_waiters: Vec::new(),
            forces: std::collections::VecDeque::new(),
            clock_offset: None,
            now: 0.0,
            wipes: std::collections::VecDeque::new(),
            attempt: 0,
            batch_size: None,
            holding: false,
            watching: false,
            closed: None,
            rng: seed,
            post: false,
            next_count: 0,
            applied_count: None,
            count_waiters: Vec::new(),
            space_waiters: Vec::new(),
            marked: None,
            mark_armed: false,
            metrics: Metrics::default(),
            failed_with_changes: false,
            _data: std::marker::PhantomData,
        }
    }

    pub fn status(&self) -> &SyncStatus {
        &self.status
    }

    /// The `sync` options (`None` without them).
    pub fn settings(&self) -> Option<&Settings> {
        self.settings.as_ref()
    }

    /// What this tab's syncs did since it opened the database.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether a sync runs in this tab.
    pub fn is_syncing(&self) -> bool {
        self.job.is_some()
    }

    /// Handles one event at `now` (milliseconds since the epoch) and returns what to do, in
    /// order. A status change comes first ([`Command::Publish`], then [`Command::PostStatus`]),
    /// so that whoever a later command wakes sees the new status.
    pub fn handle(&mut self, event: Event<D>, now: f64) -> Vec<Command<D>> {
        self.now = now;
        let before = self.status.clone();
        let mut out = Vec::new();
        if self.closed.is_some() {
            if let Event::SyncAsked { waiter: Some(w) } = event {
                out.push(Command::Settle { waiters: vec![w], outcome: Err(self.closed.clone().unwrap()) });
            }
            return out;
        }
        self.step(event, now, &mut out);
        self.mark_soon(&mut out);
        let mut first = Vec::new();
        if self.status != before {
            first.push(Command::Publish(self.status.clone()));
        }
        if std::mem::take(&mut self.post) {
            first.push(Command::PostStatus(self.status.clone()));
        }
        first.extend(out);
        let failed_with_changes = std::mem::take(&mut self.failed_with_changes);
        if self.background_sync() && ((before.pending == 0 && self.status.pending > 0) || failed_with_changes) {
            first.push(Command::AskBackgroundSync);
        }
        first
    }

    /// Whether `open()` asked for Background Sync (`sync.backgroundSync`).
    fn background_sync(&self) -> bool {
        self.settings.as_ref().is_some_and(|s| s.background_sync)
    }

    fn step(&mut self, event: Event<D>, now: f64, out: &mut Vec<Command<D>>) {
        match event {
            Event::Started { online, waiter } => {
                self.offline = !online;
                match waiter {
                    Some(w) => {
                        let id = self.count(out);
                        self.count_waiters.push((id, w));
                    }
                    // Counted on the next task, behind the page's first transactions
                    // (docs/storage.md, "Opening").
                    None => out.push(Command::Arm { timer: Timer::Recount, after_ms: 0 }),
                }
                if let Some(settings) = &self.settings {
                    if let Some(ms) = settings.interval_ms {
                        out.push(Command::Arm { timer: Timer::Interval, after_ms: ms.into() });
                        if settings.background_sync {
                            out.push(Command::AskPeriodicSync { min_interval_ms: ms });
                        }
                    }
                    if settings.sync_on_open {
                        self.trigger(out);
                    }
                }
            }
            Event::SyncAsked { waiter } => {
                let Some(waiter) = waiter else { return self.trigger(out) };
                if self.settings.is_none() {
                    let error = Error::new(ErrorKind::InvalidOptions, "syncNow() needs a `sync` option in open()");
                    out.push(Command::Settle { waiters: vec![waiter], outcome: Err(error) });
                    return;
                }
                // A waiter joining a running sync waits for the next one: the running one may
                // have read its batch before the caller's last write.
                self.next_waiters.push(waiter);
                self.trigger(out);
            }
            Event::WriteCommitted { pending_delta, changes } => self.committed(pending_delta, changes, out),
            Event::WipeAsked { collection, discard_pending, waiter } => {
                // A wipe needs no server, only the lock: it waits for a running sync, and a sync
                // never sees it half done.
                self.wipes.push_back((Wipe::Collection(collection), discard_pending, waiter));
                if self.job.is_none() {
                    self.start_wipe(out);
                }
            }
            Event::SpaceAdded { space, waiter } => {
                if let (None, Some(waiter)) = (&self.settings, waiter) {
                    let error =
                        Error::new(ErrorKind::InvalidOptions, "waiting for a space needs a `sync` option in open()");
                    out.push(Command::Settle { waiters: vec![waiter], outcome: Err(error) });
                    return;
                }
                // The status learns of the space from the count; its pull starts at once.
                let id = self.count(out);
                self.space_waiters.extend(waiter.map(|w| (space, id, w)));
                self.trigger(out);
            }
            Event::SpaceRemoveAsked { space, discard_pending, waiter } => {
                // Like a wipe: under the lock, so that no page of the space lands after it.
                self.wipes.push_back((Wipe::Space(space), discard_pending, waiter));
                if self.job.is_none() {
                    self.start_wipe(out);
                }
            }
            Event::ForceAsked { force, waiter } => {
                // Refused before anything changes: a force is destructive, and it needs the server.
                let refused = if self.settings.is_none() {
                    Some(Error::new(
                        ErrorKind::InvalidOptions,
                        "forcePush() and forcePull() need a `sync` option in open()",
                    ))
                } else if self.offline {
                    Some(Failure::Offline.to_error())
                } else {
                    None
                };
                if let Some(error) = refused {
                    out.push(Command::Settle { waiters: vec![waiter], outcome: Err(error) });
                    return;
                }
                self.forces.push_back((force, waiter));
                self.trigger(out);
            }
            Event::Decided { decided, waiter } => {
                self.committed(decided.pending_delta, decided.changes, out);
                let id = self.count(out);
                self.count_waiters.extend(waiter.map(|w| (id, w)));
            }
            Event::Online => {
                self.offline = false;
                // The network is back: no reason to wait out an old backoff.
                self.attempt = 0;
                self.trigger(out);
            }
            Event::Offline => {
                self.offline = true;
                self.status.went_offline();
                self.post = true;
            }
            Event::TimerFired(Timer::Retry | Timer::Debounce) => self.trigger(out),
            Event::TimerFired(Timer::Interval) => {
                if let Some(ms) = self.settings.as_ref().and_then(|s| s.interval_ms) {
                    out.push(Command::Arm { timer: Timer::Interval, after_ms: ms.into() });
                }
                self.trigger(out);
            }
            Event::TimerFired(Timer::Recount) => {
                self.count(out);
            }
            Event::TimerFired(Timer::Mark) => {
                self.mark_armed = false;
                let unsent = self.status.unsent();
                if self.marked != Some(unsent) {
                    self.marked = Some(unsent);
                    out.push(Command::Mark { unsent });
                }
            }
            Event::Evicted(evicted) => self.status.evicted = Some(evicted),
            Event::RemoteChange => out.push(Command::Arm { timer: Timer::Recount, after_ms: RECOUNT_DELAY_MS }),
            Event::Counted { id, counts } => self.counted(id, counts, out),
            Event::RemoteStatus(theirs) => {
                // While this tab syncs, its own status is the truth (a post from another tab may
                // have been sent before it learned of this sync).
                if self.holding {
                    return;
                }
                self.status.adopt_remote(&theirs);
                // What the other tab's sync did to the queue is counted from the database (a
                // purged tombstone, say, is announced to nobody).
                if !theirs.syncing {
                    out.push(Command::Arm { timer: Timer::Recount, after_ms: RECOUNT_DELAY_MS });
                }
                // The other tab says so again when it is done, unless it dies first (a reload, a
                // closed tab): then its lock is freed without a word. Waiting for the lock
                // catches both, so this tab never shows a sync that is gone.
                if self.status.syncing && !self.watching {
                    self.watching = true;
                    out.push(Command::WatchLock);
                }
            }
            Event::LockFree => {
                self.watching = false;
                if self.job.is_none() {
                    self.status.remote_sync_ended();
                    out.push(Command::Arm { timer: Timer::Recount, after_ms: RECOUNT_DELAY_MS });
                }
            }
            Event::Closed { error } => self.close(error, out),
            Event::Pulled(answer) => self.pull_answered(Landed::Page(answer), now, out),
            Event::SpacesPulled(answer) => self.pull_answered(Landed::Spaces(answer), now, out),
            event => self.sync_step(event, out),
        }
    }

    /// The events of a running sync, each the answer to the command of its phase. An answer
    /// that matches no phase (a late one, after the sync already failed) is dropped.
    fn sync_step(&mut self, event: Event<D>, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        match (&job.phase, event) {
            (Phase::Locking, Event::LockTaken) if job.wipe.is_some() => {
                self.holding = true;
                let Some((wipe, discard_pending)) = job.wipe.clone() else { return };
                job.phase = Phase::Wiping;
                out.push(match wipe {
                    Wipe::Collection(collection) => Command::Wipe { collection, discard_pending },
                    Wipe::Space(space) => Command::RemoveSpace { space, discard_pending },
                });
            }
            (Phase::Wiping, Event::Wiped(result)) => {
                let outcome = result.map(|decided| {
                    self.status.add_pending(decided.pending_delta);
                    if !decided.changes.is_empty() {
                        out.push(Command::Announce(decided.changes));
                    }
                    Summary::default()
                });
                self.end_job(outcome, out);
            }
            (Phase::Locking, Event::LockTaken) => {
                self.holding = true;
                if self.offline {
                    return self.fail(Stop::Failure(Failure::Offline), out);
                }
                if let Some((force, _)) = job.force.clone() {
                    job.phase = Phase::BeginningForce;
                    out.push(Command::BeginForce(force));
                } else {
                    self.connect(out);
                }
            }
            (Phase::BeginningForce, Event::ForceBegun(Err(e))) if e.kind == ErrorKind::InvalidOptions => {
                // Refused by storage before it changed anything (a space this device does not
                // sync, say): only the force's caller hears it, the sync carries on for whoever
                // else waits for it, and nothing is retried.
                if let Some((_, waiter)) = job.force.take() {
                    job.waiters.retain(|w| *w != waiter);
                    out.push(Command::Settle { waiters: vec![waiter], outcome: Err(e) });
                }
                self.connect(out);
            }
            (Phase::BeginningForce, Event::ForceBegun(Ok(decided))) => {
                self.status.add_pending(decided.pending_delta);
                if !decided.changes.is_empty() {
                    out.push(Command::Announce(decided.changes));
                }
                self.connect(out);
            }
            (Phase::FinishingForcePull, Event::ForcePullFinished(Ok(decided))) => {
                if !decided.changes.is_empty() {
                    out.push(Command::Announce(decided.changes));
                }
                self.pull_done(out);
            }
            (Phase::Probing, Event::Probed(Ok(()))) => self.begin_push(out),
            (Phase::Probing, Event::Probed(Err(f))) => self.fail(Stop::Failure(f), out),
            (Phase::ReadingBatch, Event::BatchRead(Ok(Some(batch)))) => self.push_first(batch, out),
            (Phase::ReadingBatch, Event::BatchRead(Ok(None))) if job.uploads.is_some() => self.upload_next(out),
            (Phase::ReadingBatch, Event::BatchRead(Ok(None))) => {
                job.phase = Phase::ReadingCursor;
                out.push(Command::ReadCursor);
            }
            (Phase::ReadingUpload, Event::UploadRead(Ok(blob))) => self.upload_read(blob, out),
            (Phase::Uploading(_), Event::BlobAnswered(answer)) => self.blob_answered(answer, out),
            (Phase::EndingUpload, Event::UploadEnded(Ok(decided))) => self.upload_ended(decided, out),
            (Phase::ReadingDownload, Event::DownloadRead(Ok(blob))) => self.download_read(blob, out),
            (Phase::Downloading(_), Event::RangeFetched(answer)) => self.range_fetched(answer, out),
            (Phase::CheckingDownload(_), Event::DownloadChecked(Ok(digest))) => self.download_checked(digest, out),
            (Phase::EndingDownload, Event::DownloadEnded(Ok(()))) => self.download_ended(out),
            (Phase::Pushing, Event::BatchRead(read)) => self.ahead_read(read, out),
            (Phase::Pushing, Event::Pushed { batch, answer }) => self.push_answered(batch, answer, out),
            (Phase::Pushing, Event::PushApplied(applied)) => self.push_applied(applied, out),
            (Phase::ReadingCursor, Event::CursorRead(Ok(PullFrom::Tenant(cursor)))) => {
                job.cursor = cursor.clone();
                self.pull_next(Asked::Page(cursor), out);
            }
            (Phase::ReadingCursor, Event::CursorRead(Ok(PullFrom::Spaces(mut spaces)))) => {
                // Spaces pulled to their end in this sync are not asked again; one added
                // meanwhile is (from its start).
                spaces.retain(|s| !job.finished.contains(&s.space));
                if spaces.is_empty() {
                    let sweep_due = job.sweep_due;
                    self.drop_prefetch();
                    return self.pull_complete_after(sweep_due, out);
                }
                job.spaces = Some(spaces.clone());
                self.pull_next(Asked::Spaces(spaces), out);
            }
            (Phase::ApplyingSpaces { more, finished }, Event::PageApplied(Ok(applied))) => {
                let (more, finished) = (*more, finished.clone());
                job.summary.pulled += applied.received;
                job.summary.conflicts += applied.conflicts;
                if !applied.changes.is_empty() {
                    out.push(Command::Announce(applied.changes));
                }
                // Spaces pulled to their end, stored with their cursors: the status reads when
                // (as stored) from the count, which also settles whoever waits for them.
                let synced = !applied.restart && finished.iter().any(Option::is_some);
                if applied.restart {
                    // A decision reset cursors while the pages were in flight: read them again.
                    job.finished.clear();
                } else {
                    job.finished.extend(finished);
                }
                job.sweep_due = applied.sweep_due;
                if applied.restart {
                    self.drop_prefetch();
                }
                let Some(job) = &mut self.job else { return };
                // The cursors are read again: a prefetched page is used only if they still ask
                // what it asked.
                if applied.restart || more {
                    job.phase = Phase::ReadingCursor;
                    out.push(Command::ReadCursor);
                } else {
                    self.pull_complete_after(applied.sweep_due, out);
                }
                if synced {
                    self.count(out);
                }
            }
            (Phase::ResettingCursor, Event::CursorReset(Ok(()))) if job.spaces.is_some() => {
                job.finished.clear();
                job.phase = Phase::ReadingCursor;
                out.push(Command::ReadCursor);
            }
            (Phase::ResettingCursor, Event::CursorReset(Ok(()))) => {
                job.cursor = None;
                self.pull(out);
            }
            (Phase::ApplyingPage { next, has_more }, Event::PageApplied(Ok(applied))) => {
                let (next, has_more) = (next.clone(), *has_more);
                job.summary.pulled += applied.received;
                job.summary.conflicts += applied.conflicts;
                if !applied.changes.is_empty() {
                    out.push(Command::Announce(applied.changes));
                }
                if applied.restart {
                    // A decision reset the cursor while this page was in flight; honour it (the
                    // rest of the page goes with it). The page asked for after this one follows
                    // a cursor that is gone.
                    job.rest = None;
                    job.cursor = None;
                    self.drop_prefetch();
                    self.pull(out);
                } else if let Some(rest) = job.rest.take() {
                    self.apply_rest(rest, out);
                } else if has_more {
                    job.cursor = Some(next.clone());
                    self.pull_next(Asked::Page(Some(next)), out);
                } else {
                    self.pull_complete_after(applied.sweep_due, out);
                }
            }
            (
                Phase::Settling | Phase::ApplyingAnswers,
                Event::ConflictsSettled(Ok(settled)) | Event::AnswersApplied(Ok(settled)),
            ) => {
                job.summary.resolved += settled.resolved;
                if settled.decided.pending_delta > 0 {
                    self.rerun = true;
                }
                self.status.add_pending(settled.decided.pending_delta);
                if !settled.decided.changes.is_empty() {
                    out.push(Command::Announce(settled.decided.changes));
                }
                if settled.asks.is_empty() || job.phase == Phase::ApplyingAnswers {
                    self.upload_next(out);
                } else {
                    job.phase = Phase::Asking;
                    out.push(Command::AskResolvers(settled.asks));
                }
            }
            (Phase::Asking, Event::ResolversAnswered(answers)) => {
                job.phase = Phase::ApplyingAnswers;
                out.push(Command::ApplyAnswers(answers));
            }
            (
                Phase::ReadingBatch
                | Phase::ReadingCursor
                | Phase::ResettingCursor
                | Phase::Settling
                | Phase::ApplyingAnswers
                | Phase::BeginningForce
                | Phase::FinishingForcePull
                | Phase::ApplyingPage { .. }
                | Phase::ApplyingSpaces { .. }
                | Phase::ReadingUpload
                | Phase::EndingUpload
                | Phase::ReadingDownload
                | Phase::CheckingDownload(_)
                | Phase::EndingDownload,
                Event::BatchRead(Err(e))
                | Event::CursorRead(Err(e))
                | Event::CursorReset(Err(e))
                | Event::ConflictsSettled(Err(e))
                | Event::AnswersApplied(Err(e))
                | Event::ForceBegun(Err(e))
                | Event::ForcePullFinished(Err(e))
                | Event::PageApplied(Err(e))
                | Event::UploadRead(Err(e))
                | Event::UploadEnded(Err(e))
                | Event::DownloadRead(Err(e))
                | Event::DownloadChecked(Err(e))
                | Event::DownloadEnded(Err(e)),
            ) => self.fail(Stop::Local(e), out),
            _ => {}
        }
    }

    /// Starts a sync unless one is running (then one more runs after it).
    fn trigger(&mut self, out: &mut Vec<Command<D>>) {
        if self.settings.is_none() {
            return;
        }
        if self.job.is_some() {
            self.rerun = true;
            return;
        }
        self.rerun = false;
        out.push(Command::Cancel { timer: Timer::Retry });
        let mut waiters = std::mem::take(&mut self.next_waiters);
        let force = self.forces.pop_front().inspect(|(_, waiter)| waiters.push(*waiter));
        self.job = Some(Job {
            phase: Phase::Locking,
            waiters,
            summary: Summary::default(),
            done: 0,
            cursor: None,
            token_refreshed: false,
            force,
            wipe: None,
            sent_at: self.now,
            started_at: self.now,
            spaces: None,
            finished: Vec::new(),
            sweep_due: false,
            prefetch: None,
            rest: None,
            pipe: pipeline::Pipe::default(),
            deferred: false,
            uploads: None,
            downloads: Vec::new(),
        });
        if self.offline {
            // Nothing is sent while offline; the `online` event starts the next sync.
            return self.fail(Stop::Failure(Failure::Offline), out);
        }
        out.push(Command::TakeLock);
    }

    /// Starts the oldest wipe asked for, if any: take the lock, then wipe.
    fn start_wipe(&mut self, out: &mut Vec<Command<D>>) {
        let Some((wipe, discard_pending, waiter)) = self.wipes.pop_front() else { return };
        self.job = Some(Job {
            phase: Phase::Locking,
            waiters: vec![waiter],
            summary: Summary::default(),
            done: 0,
            cursor: None,
            token_refreshed: false,
            force: None,
            wipe: Some((wipe, discard_pending)),
            sent_at: 0.0,
            started_at: self.now,
            spaces: None,
            finished: Vec::new(),
            sweep_due: false,
            prefetch: None,
            rest: None,
            pipe: pipeline::Pipe::default(),
            deferred: false,
            uploads: None,
            downloads: Vec::new(),
        });
        out.push(Command::TakeLock);
    }

    /// Asks for a count; returns its number.
    fn count(&mut self, out: &mut Vec<Command<D>>) -> u64 {
        let id = self.next_count;
        self.next_count += 1;
        out.push(Command::Count { id });
        id
    }

    /// Count `id` answered: the counts are set (unless a newer count already was), and whoever
    /// waited for this count or an earlier one is settled, the sync that was finishing included.
    fn counted(&mut self, id: u64, counts: Result<Counts, Error>, out: &mut Vec<Command<D>>) {
        // On a failure the counts stay as they were; the next count corrects them.
        if let Ok(counts) = counts {
            if self.applied_count.is_none_or(|applied| id > applied) {
                self.status.set_counts(counts);
                self.applied_count = Some(id);
            }
        }
        self.settle_space_waiters(out);
        let (done, waiting): (Vec<_>, Vec<_>) = self.count_waiters.drain(..).partition(|(c, _)| *c <= id);
        self.count_waiters = waiting;
        if !done.is_empty() {
            let waiters = done.into_iter().map(|(_, w)| w).collect();
            out.push(Command::Settle { waiters, outcome: Ok(Summary::default()) });
        }
        if let Some(Job { phase: Phase::Finishing { count, .. }, .. }) = &self.job {
            if *count <= id {
                self.finished(out);
            }
        }
    }

    /// A pull request was answered: dropped if nobody wants it any more (a pull that waited for
    /// it then goes out), kept if it is a prefetch that came while the page before it is still
    /// being applied, used otherwise.
    fn pull_answered(&mut self, landed: Landed<D>, now: f64, out: &mut Vec<Command<D>>) {
        if std::mem::take(&mut self.stray_pull) {
            if let Some(job) = &mut self.job {
                if std::mem::take(&mut job.deferred) {
                    if job.spaces.is_some() {
                        self.pull_spaces(out);
                    } else {
                        self.pull(out);
                    }
                }
            }
            return;
        }
        let Some(job) = &mut self.job else { return };
        let sent_at = match &mut job.prefetch {
            Some(p) if p.landed.is_some() => return,
            Some(p) if job.phase != Phase::Pulling => {
                p.landed = Some((landed, now));
                return;
            }
            Some(p) => p.sent_at,
            // A late answer, after the sync already failed, is dropped.
            None if job.phase != Phase::Pulling => return,
            None => job.sent_at,
        };
        job.prefetch = None;
        self.use_pulled(landed, sent_at, now, out);
    }

    /// The pull goes on with the request `asked`: the prefetched one if it asked just that
    /// (its answer used as it lands, or now if it already did), else a new request.
    fn pull_next(&mut self, asked: Asked, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        match job.prefetch.take() {
            Some(p) if p.asked == asked => match p.landed {
                Some((landed, at)) => self.use_pulled(landed, p.sent_at, at, out),
                None => {
                    job.phase = Phase::Pulling;
                    job.prefetch = Some(p);
                }
            },
            other => {
                job.prefetch = other;
                self.drop_prefetch();
                match asked {
                    Asked::Page(_) => self.pull(out),
                    Asked::Spaces(_) => self.pull_spaces(out),
                }
            }
        }
    }

    /// Throws the prefetched page away; if its answer is still on its way, it is dropped when it
    /// lands.
    fn drop_prefetch(&mut self) {
        if let Some(p) = self.job.as_mut().and_then(|j| j.prefetch.take()) {
            self.stray_pull |= p.landed.is_none();
        }
    }

    /// A pull's answer (sent at `sent_at`, landed at `at`), for the request the sync now makes:
    /// apply the page, and ask for the next one meanwhile if the server has more.
    fn use_pulled(&mut self, landed: Landed<D>, sent_at: f64, at: f64, out: &mut Vec<Command<D>>) {
        let limit = self.settings.as_ref().map_or(1, |s| s.pull_limit);
        let apply_limit = self.apply_limit();
        let now = self.now;
        let stray = self.stray_pull;
        let Some(job) = &mut self.job else { return };
        let ahead = match landed {
            Landed::Page(Ok(page)) => {
                self.metrics.pulled(page.changes.len(), at - sent_at);
                if let Some(server) = page.server_time {
                    self.clock_offset = Some(clock_offset(server, sent_at, at));
                }
                let ahead = page.has_more.then(|| Asked::Page(Some(page.cursor.clone())));
                job.phase = Phase::ApplyingPage { next: page.cursor.clone(), has_more: page.has_more };
                out.push(slices::write_first(page, apply_limit, job.cursor.clone(), &mut job.rest));
                ahead
            }
            Landed::Page(Err(failure)) => {
                let from_somewhere = job.cursor.is_some();
                return self.pull_failed(failure, from_somewhere, out);
            }
            Landed::Spaces(Ok(answer)) => {
                let records = answer.spaces.iter().map(|p| p.changes.len() + p.left.len()).sum();
                self.metrics.pulled(records, at - sent_at);
                for page in &answer.spaces {
                    if let Some(space) = &page.space {
                        self.post |= self.status.space_pulled(space, (page.changes.len() + page.left.len()) as u64);
                    }
                }
                if let Some(server) = answer.server_time {
                    self.clock_offset = Some(clock_offset(server, sent_at, at));
                }
                let asked = job.spaces.clone().unwrap_or_default();
                let more = answer.spaces.iter().any(|p| p.has_more);
                let next = next_spaces(&asked, &answer);
                let ahead = (more && !next.is_empty()).then_some(Asked::Spaces(next));
                // A space the answer left out is asked again.
                let finished = answer.spaces.iter().filter(|p| !p.has_more).map(|p| p.space.clone()).collect();
                job.phase = Phase::ApplyingSpaces { more, finished };
                out.push(Command::ApplySpaces { asked, answer });
                ahead
            }
            Landed::Spaces(Err(failure)) => {
                let from_somewhere = job.spaces.iter().flatten().any(|s| s.cursor.is_some());
                return self.pull_failed(failure, from_somewhere, out);
            }
        };
        // The next page is asked for now, from the cursor the page being applied returned; it
        // is used only if the stored state asks the same once that page is in.
        if let (Some(asked), false) = (ahead, stray) {
            out.push(match &asked {
                Asked::Page(cursor) => Command::Pull { cursor: cursor.clone(), limit },
                Asked::Spaces(spaces) => Command::PullSpaces {
                    request: SpacesPullRequest { spaces: spaces.clone(), limit: Some(limit.into()) },
                },
            });
            job.prefetch = Some(Prefetch { asked, sent_at: now, landed: None });
        }
    }

    /// A pull failed, by space or not (`from_somewhere`: it asked after a cursor). A cursor the
    /// server no longer knows (its data was reset or moved) starts every cursor over: the answer
    /// does not say which space's it was, and records here are matched by version, so nothing
    /// is applied twice. An expired token is refreshed once; anything else ends the sync.
    fn pull_failed(&mut self, failure: Failure, from_somewhere: bool, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        if failure.is_unknown_cursor() && from_somewhere {
            self.metrics.retried();
            job.phase = Phase::ResettingCursor;
            out.push(Command::ResetCursor);
        } else if failure.next_step(1, job.token_refreshed) == NextStep::RefreshToken {
            self.metrics.retried();
            job.token_refreshed = true;
            // The same request again: the spaces asked for, or the page after the cursor.
            if job.spaces.is_some() {
                self.pull_spaces(out);
            } else {
                self.pull(out);
            }
        } else {
            self.fail(Stop::Failure(failure), out);
        }
    }

    /// Arms the marker's timer when the number of unsent changes differs from the one last
    /// written, once the counts are known (before, the status's zeros say nothing).
    fn mark_soon(&mut self, out: &mut Vec<Command<D>>) {
        if self.applied_count.is_none() || self.mark_armed || self.marked == Some(self.status.unsent()) {
            return;
        }
        self.mark_armed = true;
        out.push(Command::Arm { timer: Timer::Mark, after_ms: crate::core::eviction::MARK_DELAY_MS });
    }

    /// Settles the `add(space, { wait: true })` callers whose space's first pull is done, and
    /// refuses those whose space a count made after the add no longer finds.
    fn settle_space_waiters(&mut self, out: &mut Vec<Command<D>>) {
        let status = &self.status;
        let applied = self.applied_count;
        let mut ready = Vec::new();
        let mut gone = Vec::new();
        self.space_waiters.retain(|(space, after, waiter)| {
            match status.spaces.iter().find(|s| &s.space == space) {
                Some(s) if s.synced_at.is_some() => ready.push(*waiter),
                None if applied.is_some_and(|a| a >= *after) => gone.push((space.clone(), *waiter)),
                _ => return true,
            }
            false
        });
        if !ready.is_empty() {
            out.push(Command::Settle { waiters: ready, outcome: Ok(Summary::default()) });
        }
        for (space, waiter) in gone {
            let error = Error::new(
                ErrorKind::SpaceRemoved,
                format!("space \"{space}\" was removed before its first pull was done"),
            );
            out.push(Command::Settle { waiters: vec![waiter], outcome: Err(error) });
        }
    }

    /// A write or a decision committed here: the queue's size, the listeners, and a sync soon.
    fn committed(&mut self, pending_delta: i64, changes: Changes, out: &mut Vec<Command<D>>) {
        self.status.add_pending(pending_delta);
        if !changes.is_empty() {
            out.push(Command::Announce(changes));
        }
        self.debounce(out);
    }

    fn debounce(&mut self, out: &mut Vec<Command<D>>) {
        if let Some(ms) = self.settings.as_ref().and_then(|s| s.debounce_ms) {
            out.push(Command::Arm { timer: Timer::Debounce, after_ms: ms.into() });
        }
    }

    fn batch_size(&self) -> u32 {
        self.batch_size.or(self.settings.as_ref().map(|s| s.batch_size)).unwrap_or(1)
    }

    /// The lock is held (and a force begun): probe the server unless it answered last time, then
    /// push.
    fn connect(&mut self, out: &mut Vec<Command<D>>) {
        if self.status.online {
            self.begin_push(out);
        } else if let Some(job) = &mut self.job {
            job.phase = Phase::Probing;
            out.push(Command::Probe);
        }
    }

    /// The pull is complete: sweep if a force pull left one due, then settle.
    fn pull_complete_after(&mut self, sweep_due: bool, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        if sweep_due {
            job.phase = Phase::FinishingForcePull;
            out.push(Command::FinishForcePull);
        } else {
            self.pull_done(out);
        }
    }

    /// The pull is complete: settle conflicts if there are any, then upload.
    fn pull_done(&mut self, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        if job.summary.conflicts > 0 || self.status.conflicts > 0 {
            // Conflicts are settled once the server's state is in: a strategy then sees the
            // newest server version, and what it queues goes out in the sync that follows.
            job.phase = Phase::Settling;
            out.push(Command::SettleConflicts { clock_offset: self.clock_offset.unwrap_or(0.0) });
        } else {
            self.upload_next(out);
        }
    }

    fn begin_push(&mut self, out: &mut Vec<Command<D>>) {
        self.status.sync_began(self.status.pending);
        self.post = true;
        let max = self.batch_size();
        if let Some(job) = &mut self.job {
            job.phase = Phase::ReadingBatch;
            out.push(Command::ReadBatch { max, unapplied: Vec::new() });
        }
    }

    fn pull(&mut self, out: &mut Vec<Command<D>>) {
        let limit = self.settings.as_ref().map_or(1, |s| s.pull_limit);
        let now = self.now;
        let stray = self.stray_pull;
        if let Some(job) = &mut self.job {
            job.phase = Phase::Pulling;
            if stray {
                job.deferred = true;
                return;
            }
            job.sent_at = now;
            out.push(Command::Pull { cursor: job.cursor.clone(), limit });
        }
    }

    fn pull_spaces(&mut self, out: &mut Vec<Command<D>>) {
        let limit = self.settings.as_ref().map_or(1, |s| s.pull_limit);
        let now = self.now;
        let stray = self.stray_pull;
        if let Some(job) = &mut self.job {
            job.phase = Phase::Pulling;
            if stray {
                job.deferred = true;
                return;
            }
            job.sent_at = now;
            let spaces = job.spaces.clone().unwrap_or_default();
            out.push(Command::PullSpaces { request: SpacesPullRequest { spaces, limit: Some(limit.into()) } });
        }
    }

    fn succeed(&mut self, now: f64, out: &mut Vec<Command<D>>) {
        self.attempt = 0;
        self.status.sync_succeeded(now);
        if let Some(job) = &self.job {
            self.metrics.synced(job.started_at, now);
        }
        let summary = self.job.as_ref().map(|j| j.summary).unwrap_or_default();
        self.end_job(Ok(summary), out);
    }

    /// Ends the sync with `stop`, and schedules the next attempt.
    fn fail(&mut self, stop: Stop, out: &mut Vec<Command<D>>) {
        let (error, answered, retry) = match &stop {
            Stop::Failure(f) => {
                // Offline waits for the `online` event; anything else is retried after a backoff.
                let retry = (*f != Failure::Offline).then(|| f.retry_after_ms());
                (f.to_error(), f.server_answered(), retry)
            }
            Stop::Local(e) => (e.clone(), self.status.online, Some(None)),
        };
        self.status.sync_failed(error.message.clone(), answered);
        // Offline, nothing was tried: not a failure of the sync's health (and the browser's
        // Background Sync waits for the network by itself).
        if stop != Stop::Failure(Failure::Offline) {
            self.metrics.failed(error.kind, self.now);
            self.failed_with_changes = self.status.pending > 0;
        }
        if let Some(floor_ms) = retry {
            let delay = backoff::delay_ms(self.attempt, self.random(), floor_ms);
            self.attempt = self.attempt.saturating_add(1);
            out.push(Command::Arm { timer: Timer::Retry, after_ms: delay });
        }
        self.end_job(Err(error), out);
    }

    /// What every end of a sync does: give the lock back and count again (a failed sync may have
    /// committed conflicts or dead letters before it stopped; a successful one settles the
    /// counts). The waiters learn the outcome once the count is in ([`Engine::finished`]).
    fn end_job(&mut self, outcome: Result<Summary, Error>, out: &mut Vec<Command<D>>) {
        if self.job.is_none() {
            return;
        }
        // A page asked for ahead is of no use to the next sync, which reads where to pull from.
        self.drop_prefetch();
        if std::mem::take(&mut self.holding) {
            out.push(Command::ReleaseLock);
        }
        let count = self.count(out);
        if let Some(job) = &mut self.job {
            job.phase = Phase::Finishing { count, outcome };
        }
    }

    /// The finishing sync's count is in: tell the other tabs and the waiters, and start the sync
    /// asked for meanwhile.
    fn finished(&mut self, out: &mut Vec<Command<D>>) {
        let Some(Job { phase: Phase::Finishing { outcome, .. }, waiters, wipe, .. }) = self.job.take() else { return };
        // A sync's end is news for the other tabs; a wipe's is not (this tab's sync status is
        // whatever it last heard, and posting it would pass on stale news).
        self.post = wipe.is_none();
        if !waiters.is_empty() {
            out.push(Command::Settle { waiters, outcome });
        }
        if !self.wipes.is_empty() {
            self.start_wipe(out);
        } else if self.rerun || !self.next_waiters.is_empty() || !self.forces.is_empty() {
            self.trigger(out);
        }
    }

    fn close(&mut self, error: Error, out: &mut Vec<Command<D>>) {
        for timer in Timer::ALL {
            out.push(Command::Cancel { timer });
        }
        let mut waiters = std::mem::take(&mut self.next_waiters);
        waiters.extend(self.count_waiters.drain(..).map(|(_, w)| w));
        waiters.extend(self.forces.drain(..).map(|(_, w)| w));
        waiters.extend(self.wipes.drain(..).map(|(_, _, w)| w));
        waiters.extend(self.space_waiters.drain(..).map(|(_, _, w)| w));
        if let Some(job) = self.job.take() {
            // Taken, or asked for and not granted yet: either way it is given back.
            if self.holding || job.phase == Phase::Locking {
                out.push(Command::ReleaseLock);
            }
            match job.phase {
                // Over already: its waiters learn how, without the count.
                Phase::Finishing { outcome, .. } if !job.waiters.is_empty() => {
                    out.push(Command::Settle { waiters: job.waiters, outcome })
                }
                _ => waiters.extend(job.waiters),
            }
        }
        self.holding = false;
        self.status.syncing = false;
        self.status.progress = None;
        if !waiters.is_empty() {
            out.push(Command::Settle { waiters, outcome: Err(error.clone()) });
        }
        self.closed = Some(error);
    }

    /// Uniform in [0, 1), from the seed (splitmix64).
    fn random(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The server's clock minus this client's, from an answer stamped `server` (ms) to a request
/// sent at `sent` and answered at `now` (this client's clock): the server read its clock about
/// half-way.
fn clock_offset(server: u64, sent: f64, now: f64) -> f64 {
    server as f64 - (sent + now) / 2.0
}

#[cfg(test)]
mod tests;
