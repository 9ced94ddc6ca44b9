//! What goes into the engine ([`Event`]) and what comes out ([`Command`]). Every I/O the engine
//! needs is a command; its outcome comes back as the event named after it. The engine issues at
//! most one storage command of a sync at a time, and at most one network request, except that a
//! pull asks for the next page while the page before it is applied (a [`Command::Pull`] or
//! [`Command::PullSpaces`] beside [`Command::ApplyPage`] or [`Command::ApplySpaces`]); the two
//! outcomes are different events, and no pull goes out while an unwanted pull answer is still on
//! its way, so an outcome needs no request id.

use crate::core::blobs::{Answer as BlobAnswer, Downloaded, Uploaded};
use crate::core::error::Error;
use crate::core::status::SyncStatus;
use crate::protocol::{BlobRef, PullResponse, PushResponse, SpaceCursor, SpacesPullRequest, SpacesPullResponse};

use super::super::failure::Failure;
use super::super::rules::force::Force;
use super::super::storage::{Answer, Batch, Changes, Counts, Decided, PageApplied, PullFrom, PushApplied, Settled};

/// A caller waiting for the engine (`syncNow()`, a decision, an `open()`), by a number the edge
/// chose; settled by [`Command::Settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Waiter(pub u64);

/// The engine's timers. Arming one that is armed re-arms it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The backoff after a failed sync.
    Retry,
    /// A sync shortly after the last local write of a burst.
    Debounce,
    /// The periodic sync.
    Interval,
    /// Counting the queue again, shortly after other tabs' changes (once for a burst).
    Recount,
    /// Writing the eviction marker, shortly after the number of unsent changes changed.
    Mark,
}

impl Timer {
    pub const ALL: [Timer; 5] = [Timer::Retry, Timer::Debounce, Timer::Interval, Timer::Recount, Timer::Mark];
}

/// What a finished sync did, as `syncNow()` resolves it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub pushed: u64,
    pub pulled: u64,
    pub conflicts: u64,
    pub rejected: u64,
    /// Conflicts settled by their collections' strategies.
    pub resolved: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event<D> {
    /// The database is open. `online`: what the platform believes (`navigator.onLine`);
    /// `waiter`: settled once the queue is counted (an `open()` that ran migrations resolves
    /// then, so that its status counts what they queued).
    Started {
        online: bool,
        waiter: Option<Waiter>,
    },
    /// `syncNow()` (with its waiter), or any other reason to sync.
    SyncAsked {
        waiter: Option<Waiter>,
    },
    /// A local write committed here.
    WriteCommitted {
        pending_delta: i64,
        changes: Changes,
    },
    /// A user's decision committed here (a conflict resolved, a dead letter retried or dropped);
    /// `waiter` is settled once the counts that follow it are read.
    Decided {
        decided: Decided,
        waiter: Option<Waiter>,
    },
    Online,
    Offline,
    TimerFired(Timer),
    /// The sync lock ([`Command::TakeLock`]) is held.
    LockTaken,
    /// The lock was free at last ([`Command::WatchLock`]): another tab's sync is over.
    LockFree,
    Probed(Result<(), Failure>),
    BatchRead(Result<Option<Batch<D>>, Error>),
    /// The answer to [`Command::Push`], with the batch it was for.
    Pushed {
        batch: Batch<D>,
        answer: Result<PushResponse<D>, Failure>,
    },
    PushApplied(Result<PushApplied, Error>),
    /// Where the pull starts ([`Command::ReadCursor`]): one cursor, or the device's spaces.
    CursorRead(Result<PullFrom, Error>),
    Pulled(Result<PullResponse<D>, Failure>),
    /// The answer to [`Command::PullSpaces`].
    SpacesPulled(Result<SpacesPullResponse<D>, Failure>),
    PageApplied(Result<PageApplied, Error>),
    CursorReset(Result<(), Error>),
    ConflictsSettled(Result<Settled, Error>),
    /// What the resolvers answered ([`Command::AskResolvers`]).
    ResolversAnswered(Vec<(String, String, Answer<D>)>),
    AnswersApplied(Result<Settled, Error>),
    /// `forcePush()` / `forcePull()`: settled when the sync it runs ends.
    ForceAsked {
        force: Force,
        waiter: Waiter,
    },
    ForceBegun(Result<Decided, Error>),
    /// `collection.wipe()`: settled once the wipe is done (or refused).
    WipeAsked {
        collection: String,
        discard_pending: bool,
        waiter: Waiter,
    },
    /// `db.spaces.add(space)` committed: the status learns of it, and a sync pulls it. `waiter`
    /// (`{ wait: true }`) is settled once its first pull is done.
    SpaceAdded {
        space: String,
        waiter: Option<Waiter>,
    },
    /// `db.spaces.remove(space)`: settled once its records are wiped (or the removal refused);
    /// answered, like a wipe, by [`Event::Wiped`].
    SpaceRemoveAsked {
        space: String,
        discard_pending: bool,
        waiter: Waiter,
    },
    Wiped(Result<Decided, Error>),
    /// The next blob to upload ([`Command::NextUpload`]), if any.
    UploadRead(Result<Option<BlobRef>, Error>),
    /// The server's answer to [`Command::BlobStatus`] or [`Command::SendChunk`]: a 200 or a
    /// refusal (a 4xx with its code) is an answer; a lost connection, a 5xx, a 429 or a 401 is a
    /// failure.
    BlobAnswered(Result<BlobAnswer, Failure>),
    /// [`Command::EndUpload`] is stored.
    UploadEnded(Result<Decided, Error>),
    /// The next blob to download ([`Command::NextDownload`]), if any.
    DownloadRead(Result<Option<BlobRef>, Error>),
    /// The server's answer to [`Command::FetchRange`] (the bytes are kept by the edge): a 200,
    /// a 206 or a refusal is an answer; a lost connection, a 5xx, a 429 or a 401 is a failure.
    RangeFetched(Result<crate::core::blobs::download::Fetched, Failure>),
    /// The SHA-256 (hex) of the bytes received for the download under way
    /// ([`Command::CheckDownload`]).
    DownloadChecked(Result<String, Error>),
    /// [`Command::EndDownload`] is carried out.
    DownloadEnded(Result<(), Error>),
    ForcePullFinished(Result<Decided, Error>),
    /// The answer to [`Command::Count`] number `id`.
    Counted {
        id: u64,
        counts: Result<Counts, Error>,
    },
    /// Another tab committed a change.
    RemoteChange,
    /// At open: the database this device had under this name was found cleared
    /// ([`crate::core::eviction`]).
    Evicted(crate::core::eviction::Evicted),
    /// Another tab posted its status.
    RemoteStatus(SyncStatus),
    /// The database was closed; waiters get `error`.
    Closed {
        error: Error,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command<D> {
    /// Take the database's sync lock (one syncing tab at a time); answer [`Event::LockTaken`].
    TakeLock,
    /// Give the lock back (or, if it was not granted yet, give it back as soon as it is).
    ReleaseLock,
    /// Wait until the lock is free without keeping it; answer [`Event::LockFree`].
    WatchLock,
    /// Ask whether the server answers; answer [`Event::Probed`].
    Probe,
    /// Storage: read the next batch and mark it sent; answer [`Event::BatchRead`]. `unapplied`:
    /// the seqs of batches sent and not applied yet, planned around as held entries.
    ReadBatch {
        max: u32,
        unapplied: Vec<u64>,
    },
    /// Send the batch; answer [`Event::Pushed`].
    Push {
        batch: Batch<D>,
    },
    /// Storage: apply the answer; answer [`Event::PushApplied`].
    ApplyPush {
        batch: Batch<D>,
        answer: PushResponse<D>,
    },
    /// Storage: read where the pull starts (the cursor, or the spaces with theirs); answer
    /// [`Event::CursorRead`].
    ReadCursor,
    /// Ask for the page after `cursor`; answer [`Event::Pulled`].
    Pull {
        cursor: Option<String>,
        limit: u32,
    },
    /// Ask for the pages of these spaces (`POST /v1/pull`); answer [`Event::SpacesPulled`].
    PullSpaces {
        request: SpacesPullRequest,
    },
    /// Storage: apply the pages of a pull by space and store their cursors; answer
    /// [`Event::PageApplied`].
    ApplySpaces {
        asked: Vec<SpaceCursor>,
        answer: SpacesPullResponse<D>,
    },
    /// Storage: remove a space and wipe its local records, under the sync lock; answer
    /// [`Event::Wiped`].
    RemoveSpace {
        space: String,
        discard_pending: bool,
    },
    /// Storage: apply a slice of a page, and store the page's cursor with its `last` slice;
    /// answer [`Event::PageApplied`].
    ApplyPage {
        asked_from: Option<String>,
        page: PullResponse<D>,
        last: bool,
    },
    /// Storage: forget the cursor; answer [`Event::CursorReset`].
    ResetCursor,
    /// Storage: the next blob to upload, passing over `skip` (those this sync uploaded or
    /// tried); answer [`Event::UploadRead`].
    NextUpload {
        skip: Vec<String>,
    },
    /// Ask how far the upload of `hash` is (`GET /v1/blobs/{hash}/upload`); answer
    /// [`Event::BlobAnswered`].
    BlobStatus {
        hash: String,
    },
    /// Send bytes `offset .. offset + len` of blob `hash` (of `size` bytes), read from where
    /// this store keeps it (`PATCH /v1/blobs/{hash}/upload`); answer [`Event::BlobAnswered`].
    SendChunk {
        hash: String,
        offset: u64,
        len: u64,
        size: u64,
    },
    /// Storage: how the upload of `hash` ended ([`crate::core::sync::storage::SyncStorage::end_upload`]);
    /// answer [`Event::UploadEnded`].
    EndUpload {
        hash: String,
        outcome: Uploaded,
    },
    /// Storage: the next blob to download, passing over `skip` (those this sync downloaded or
    /// tried): one referred to by a pulled record of a collection that downloads it eagerly, not
    /// stored here; answer [`Event::DownloadRead`].
    NextDownload {
        skip: Vec<String>,
    },
    /// Fetch bytes `offset .. offset + len` of blob `hash` (`GET /v1/blobs/{hash}` with
    /// `Range`) and keep them after those received before; an `offset` of 0 drops what was kept.
    /// Answer [`Event::RangeFetched`] with the number of bytes received.
    FetchRange {
        hash: String,
        offset: u64,
        len: u64,
    },
    /// Hash the bytes kept for the download of `hash`; answer [`Event::DownloadChecked`].
    CheckDownload {
        hash: String,
    },
    /// Storage: store the bytes kept for `hash` ([`Downloaded::Stored`]), or drop them;
    /// answer [`Event::DownloadEnded`].
    EndDownload {
        hash: String,
        outcome: Downloaded,
    },
    /// Write the eviction marker with this many unsent changes ([`crate::core::eviction`]); no
    /// answer.
    Mark {
        unsent: u64,
    },
    /// Storage: settle the conflicts of collections with an automatic strategy, `clock_offset`
    /// turning this client's clock into the server's; answer [`Event::ConflictsSettled`].
    SettleConflicts {
        clock_offset: f64,
    },
    /// Ask collections' own resolvers about these conflicts (collection, id), each within a
    /// bounded time; answer [`Event::ResolversAnswered`] with one answer each.
    AskResolvers(Vec<(String, String)>),
    /// Storage: carry out the resolvers' answers; answer [`Event::AnswersApplied`].
    ApplyAnswers(Vec<(String, String, Answer<D>)>),
    /// Storage: start a force, under the sync lock; answer [`Event::ForceBegun`].
    BeginForce(Force),
    /// Storage: sweep what a force pull left marked, once its pull is complete; answer
    /// [`Event::ForcePullFinished`].
    FinishForcePull,
    /// Storage: wipe a collection's local data, under the sync lock; answer [`Event::Wiped`].
    Wipe {
        collection: String,
        discard_pending: bool,
    },
    /// Storage: count the queue, dead letters and conflicts; answer [`Event::Counted`] with the
    /// same `id` (counts are numbered so that an older answer never overwrites a newer one).
    Count {
        id: u64,
    },
    /// Arm (or re-arm) a timer; answer [`Event::TimerFired`].
    Arm {
        timer: Timer,
        after_ms: u64,
    },
    Cancel {
        timer: Timer,
    },
    /// Tell this tab's change listeners, and the other tabs.
    Announce(Changes),
    /// The status changed: tell this tab's status listeners.
    Publish(SyncStatus),
    /// Tell the other tabs this tab's sync status.
    PostStatus(SyncStatus),
    /// Ask the browser to sync later even if this page is gone (a Background Sync registration
    /// through the page's service worker; nothing where there is none). Asked for, with
    /// `backgroundSync`, whenever changes are queued that no sync may carry before the page
    /// closes: when the queue stops being empty, and when a sync fails with changes left.
    AskBackgroundSync,
    /// Ask the browser for a Periodic Background Sync of this database every `min_interval_ms`
    /// at least, where it grants one (Chromium, for an installed app): the page's service
    /// worker then pulls, and pushes what is left, with every page closed. Asked for once at
    /// open, with `backgroundSync` and the periodic sync (`intervalMs`) on.
    AskPeriodicSync {
        min_interval_ms: u32,
    },
    /// Resolve (or reject) these waiters. Waiters of a count (an open, a decision) are resolved
    /// with an empty summary, which their caller ignores.
    Settle {
        waiters: Vec<Waiter>,
        outcome: Result<Summary, Error>,
    },
}
