//! The engine's decisions, event by event. (The whole loop, over the in-memory store and the
//! reference server's storage, is exercised by the simulation in `sim/`.)

use super::*;
use crate::core::sync::storage::{
    Answer, Batch, Changes, Counts, Decided, PageApplied, PullFrom, PushApplied, Settled,
};
use crate::protocol::{codes, LeftRecord, Mutation, MutationResult, Op, PullResponse, PushResponse};
use uuid::Uuid;

type E = Engine<()>;
type C = Command<()>;

fn settings() -> Settings {
    Settings { interval_ms: None, debounce_ms: None, sync_on_open: false, ..Settings::default() }
}

fn started(settings: Settings) -> E {
    let mut e = E::new(Some(settings), 7);
    e.handle(Event::Started { online: true, waiter: None }, 0.0);
    e
}

fn batch(n: usize) -> Batch<()> {
    Batch {
        mutations: (0..n)
            .map(|i| Mutation {
                mutation_id: Uuid::from_u128(i as u128 + 1),
                collection: "c".into(),
                id: format!("r{i}"),
                op: Op::Delete,
                data: None,
                base_version: None,
                force: false,
                written_at: None,
                space: None,
            })
            .collect(),
        seqs: (1..=n as u64).collect(),
    }
}

fn applied(n: u64) -> PushApplied {
    PushApplied { answered: n, acknowledged: n, ..PushApplied::default() }
}

fn page(cursor: &str, has_more: bool) -> PullResponse<()> {
    PullResponse { changes: Vec::new(), cursor: cursor.into(), has_more, server_time: None }
}

fn http(status: u16, code: &str) -> Failure {
    Failure::Http { status, code: code.into(), message: "m".into(), retry_after_ms: None }
}

fn has(out: &[C], wanted: impl Fn(&C) -> bool) -> bool {
    out.iter().any(wanted)
}

/// Handles `event`, then answers the count it asked for, if any.
fn handled(e: &mut E, event: Event<()>) -> Vec<C> {
    let out = e.handle(event, 1.0);
    counted(e, out)
}

/// Answers the newest count among `out` (as storage would) and returns `out` with what the
/// engine answered to that.
fn counted(e: &mut E, mut out: Vec<C>) -> Vec<C> {
    let id = out.iter().rev().find_map(|c| match c {
        Command::Count { id } => Some(*id),
        _ => None,
    });
    if let Some(id) = id {
        let more = e.handle(Event::Counted { id, counts: Ok(Counts::default()) }, 5.0);
        out.extend(more);
    }
    out
}

/// The pull is over and `out` asks for the next blob to upload: there is none, nor any to
/// download, and the sync ends. Returns `out` with what the engine answered to that.
fn no_uploads(e: &mut E, mut out: Vec<C>) -> Vec<C> {
    assert!(has(&out, |c| matches!(c, Command::NextUpload { .. })), "{out:?}");
    let next = e.handle(Event::UploadRead(Ok(None)), e.now);
    assert_eq!(next, vec![Command::NextDownload { skip: Vec::new() }], "downloads come after the uploads");
    out.extend(e.handle(Event::DownloadRead(Ok(None)), e.now));
    out
}

/// Drives a sync from `syncNow()` to its first batch read, the server already known to answer.
fn to_first_read(e: &mut E, waiter: u64) -> Vec<C> {
    e.handle(Event::SyncAsked { waiter: Some(Waiter(waiter)) }, 1.0);
    let out = e.handle(Event::LockTaken, 1.0);
    if !has(&out, |c| matches!(c, Command::Probe)) {
        return out;
    }
    e.handle(Event::Probed(Ok(())), 1.0)
}

/// The read of the batch after `seqs` (sent, not applied yet), asked for while they are out.
fn ahead(seqs: std::ops::RangeInclusive<u64>) -> C {
    Command::ReadBatch { max: 100, unapplied: seqs.collect() }
}

/// The batch read ahead finds nothing to send beside the batches before it.
fn nothing_ahead(e: &mut E) -> Vec<C> {
    e.handle(Event::BatchRead(Ok(None)), e.now)
}

/// Finishes a sync whose push is done: an empty cursor read and one last page.
fn finish(e: &mut E) -> Vec<C> {
    let out = e.handle(Event::BatchRead(Ok(None)), 2.0);
    assert_eq!(out.last(), Some(&Command::ReadCursor));
    let out = e.handle(Event::CursorRead(Ok(PullFrom::Tenant(None))), 2.0);
    assert_eq!(out.last(), Some(&Command::Pull { cursor: None, limit: 500 }));
    e.handle(Event::Pulled(Ok(page("c1.0", false))), 2.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 3.0);
    assert_eq!(out.last(), Some(&Command::NextUpload { skip: Vec::new() }));
    let out = no_uploads(e, out);
    counted(e, out)
}

#[test]
fn one_sync_takes_the_lock_probes_pushes_pulls_and_settles() {
    let mut e = started(settings());
    let out = e.handle(Event::SyncAsked { waiter: Some(Waiter(1)) }, 1.0);
    assert_eq!(out, vec![Command::Cancel { timer: Timer::Retry }, Command::TakeLock]);
    e.handle(Event::LockTaken, 1.0);
    let out = e.handle(Event::Probed(Ok(())), 1.0);
    assert!(matches!(out[0], Command::Publish(ref s) if s.syncing && s.online), "{out:?}");
    assert!(matches!(out[1], Command::PostStatus(_)));
    assert_eq!(out.last(), Some(&Command::ReadBatch { max: 100, unapplied: vec![] }));
    let out = e.handle(Event::BatchRead(Ok(Some(batch(2)))), 1.0);
    assert_eq!(out, vec![Command::Push { batch: batch(2) }, ahead(1..=2)], "the next batch is read meanwhile");
    let answer = PushResponse { results: Vec::new(), server_time: None };
    let out = e.handle(Event::Pushed { batch: batch(2), answer: Ok(answer.clone()) }, 1.0);
    assert_eq!(out, vec![Command::ApplyPush { batch: batch(2), answer }]);
    let out = e.handle(Event::PushApplied(Ok(applied(2))), 1.0);
    assert!(!has(&out, |c| matches!(c, Command::ReadBatch { .. })), "the read ahead is still out: {out:?}");
    let out = nothing_ahead(&mut e);
    assert_eq!(out, vec![Command::ReadBatch { max: 100, unapplied: vec![] }], "all applied: read from the queue");
    let out = finish(&mut e);
    assert!(has(&out, |c| matches!(c, Command::Publish(s) if !s.syncing && s.last_sync_at == Some(3.0))));
    assert!(has(&out, |c| *c == Command::ReleaseLock));
    assert!(has(&out, |c| matches!(c, Command::Count { .. })));
    let settled = Command::Settle {
        waiters: vec![Waiter(1)],
        outcome: Ok(Summary { pushed: 2, pulled: 0, conflicts: 0, rejected: 0, resolved: 0 }),
    };
    assert!(has(&out, |c| *c == settled), "{out:?}");
    assert!(!e.is_syncing());
}

#[test]
fn a_sync_asked_for_during_a_sync_runs_after_it_and_settles_its_own_waiter() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    let out = e.handle(Event::SyncAsked { waiter: Some(Waiter(2)) }, 1.5);
    assert!(out.is_empty(), "joins nothing: the running sync may have read its batch already");
    let out = finish(&mut e);
    assert!(has(&out, |c| matches!(c, Command::Settle { waiters, .. } if waiters == &[Waiter(1)])));
    assert!(has(&out, |c| *c == Command::TakeLock), "the next sync starts: {out:?}");
    // The server answered last time: no probe now.
    let out = e.handle(Event::LockTaken, 4.0);
    assert_eq!(out.last(), Some(&Command::ReadBatch { max: 100, unapplied: vec![] }));
    let out = finish(&mut e);
    assert!(has(&out, |c| matches!(c, Command::Settle { waiters, .. } if waiters == &[Waiter(2)])));
}

#[test]
fn a_413_halves_the_batch_then_dead_letters_the_one_change_left() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(Some(batch(100)))), 1.0);
    let too_large = http(413, codes::PAYLOAD_TOO_LARGE);
    let out = e.handle(Event::Pushed { batch: batch(100), answer: Err(too_large.clone()) }, 1.0);
    assert!(out.is_empty(), "the read ahead is still out: {out:?}");
    // The batch read ahead of the refused one would overtake it: it is not sent.
    let out = e.handle(Event::BatchRead(Ok(Some(batch(100)))), 1.0);
    assert_eq!(out, vec![Command::ReadBatch { max: 50, unapplied: vec![] }]);
    let out = e.handle(Event::BatchRead(Ok(Some(batch(1)))), 1.0);
    assert_eq!(out[1], Command::ReadBatch { max: 50, unapplied: vec![1] });
    let out = e.handle(Event::Pushed { batch: batch(1), answer: Err(too_large) }, 1.0);
    let [Command::ApplyPush { answer, .. }] = out.as_slice() else { panic!("{out:?}") };
    assert!(matches!(&answer.results[..], [MutationResult::Rejected { code, mutation_id, .. }]
        if code == codes::PAYLOAD_TOO_LARGE && *mutation_id == Uuid::from_u128(1)));
    nothing_ahead(&mut e);
    let out = e.handle(Event::PushApplied(Ok(PushApplied { answered: 1, rejected: 1, ..Default::default() })), 1.0);
    assert_eq!(out.last(), Some(&Command::ReadBatch { max: 100, unapplied: vec![] }), "back to full batches");
}

#[test]
fn an_expired_token_is_refreshed_once_per_sync() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(Some(batch(1)))), 1.0);
    let expired = http(401, codes::TOKEN_EXPIRED);
    let out = e.handle(Event::Pushed { batch: batch(1), answer: Err(expired.clone()) }, 1.0);
    assert_eq!(out, vec![Command::Push { batch: batch(1) }], "the transport asks the token function again");
    let out = e.handle(Event::Pushed { batch: batch(1), answer: Err(expired) }, 1.0);
    assert!(out.is_empty(), "the sync ends once the read ahead is in: {out:?}");
    let out = nothing_ahead(&mut e);
    let out = counted(&mut e, out);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(e), .. } if e.kind == ErrorKind::Sync)));
    assert!(has(&out, |c| matches!(c, Command::Arm { timer: Timer::Retry, .. })));
}

#[test]
fn an_unknown_cursor_restarts_the_pull_from_the_beginning() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(None)), 1.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(Some("c1.9".into())))), 1.0);
    let out = e.handle(Event::Pulled(Err(http(400, codes::INVALID_CURSOR))), 1.0);
    assert_eq!(out, vec![Command::ResetCursor]);
    let out = e.handle(Event::CursorReset(Ok(())), 1.0);
    assert_eq!(out, vec![Command::Pull { cursor: None, limit: 500 }]);
    // From the beginning, the same answer is a real error.
    let out = handled(&mut e, Event::Pulled(Err(http(400, codes::INVALID_CURSOR))));
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(_), .. })));
}

#[test]
fn pages_are_pulled_until_the_server_has_no_more_and_a_reset_restarts_them() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(None)), 1.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(Some("c1.2".into())))), 1.0);
    let out = e.handle(Event::Pulled(Ok(page("c1.5", true))), 1.0);
    assert!(matches!(&out[..], [Command::ApplyPage { asked_from: Some(a), .. }, _] if a == "c1.2"));
    assert_eq!(out[1], Command::Pull { cursor: Some("c1.5".into()), limit: 500 }, "the next page is asked for ahead");
    let mut changes = Changes::default();
    changes.add("c", "a", crate::core::outbox::Op::Create);
    let out = e.handle(
        Event::PageApplied(Ok(PageApplied { received: 3, changes: changes.clone(), ..Default::default() })),
        1.0,
    );
    assert_eq!(out, vec![Command::Announce(changes)], "the page asked for ahead is on its way");
    let out = e.handle(Event::Pulled(Ok(page("c1.7", false))), 1.0);
    assert!(matches!(&out[..], [Command::ApplyPage { asked_from: Some(a), .. }] if a == "c1.5"), "{out:?}");
    let out = e.handle(Event::PageApplied(Ok(PageApplied { restart: true, ..Default::default() })), 1.0);
    assert_eq!(out, vec![Command::Pull { cursor: None, limit: 500 }], "a discard reset the cursor meanwhile");
}

#[test]
fn an_answer_that_matches_no_mutation_backs_off_instead_of_spinning() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(Some(batch(3)))), 1.0);
    e.handle(
        Event::Pushed { batch: batch(3), answer: Ok(PushResponse { results: Vec::new(), server_time: None }) },
        1.0,
    );
    e.handle(Event::PushApplied(Ok(PushApplied::default())), 1.0);
    let out = nothing_ahead(&mut e);
    let out = counted(&mut e, out);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(e), .. } if e.kind == ErrorKind::Sync)));
    assert!(has(&out, |c| matches!(c, Command::Arm { timer: Timer::Retry, .. })));
    assert!(!has(&out, |c| matches!(c, Command::ReadBatch { .. })));
}

#[test]
fn failures_back_off_with_a_growing_ceiling_and_the_server_s_floor() {
    let mut e = started(settings());
    let mut waits = Vec::new();
    for attempt in 0..8 {
        to_first_read(&mut e, attempt);
        let retry_after = if attempt == 7 { Some(45_000) } else { None };
        let failure =
            Failure::Http { status: 503, code: "unavailable".into(), message: "m".into(), retry_after_ms: retry_after };
        let out = e.handle(Event::BatchRead(Ok(Some(batch(1)))), 1.0);
        assert_eq!(out, vec![Command::Push { batch: batch(1) }, ahead(1..=1)]);
        e.handle(Event::Pushed { batch: batch(1), answer: Err(failure) }, 1.0);
        let out = nothing_ahead(&mut e);
        let out = counted(&mut e, out);
        let wait = out.iter().find_map(|c| match c {
            Command::Arm { timer: Timer::Retry, after_ms } => Some(*after_ms),
            _ => None,
        });
        let wait = wait.expect("a retry is armed");
        assert!(wait <= backoff::ceiling_ms(attempt as u32).max(retry_after.unwrap_or(0)), "attempt {attempt}: {wait}");
        assert!(matches!(out[0], Command::Publish(ref s) if s.online && !s.syncing && s.last_error.is_some()));
        waits.push(wait);
    }
    assert!(waits[7] >= 45_000, "Retry-After is a floor: {waits:?}");
    assert!(waits.iter().any(|w| *w > 0), "jittered, not all zero: {waits:?}");
}

#[test]
fn offline_means_no_request_until_online() {
    let mut e = started(settings());
    e.handle(Event::Offline, 1.0);
    let out = handled(&mut e, Event::SyncAsked { waiter: Some(Waiter(1)) });
    assert!(!has(&out, |c| matches!(c, Command::TakeLock | Command::Probe)), "{out:?}");
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(e), .. } if e.kind == ErrorKind::Network)));
    assert!(!has(&out, |c| matches!(c, Command::Arm { timer: Timer::Retry, .. })), "waits for `online`");
    let out = e.handle(Event::Online, 2.0);
    assert!(has(&out, |c| *c == Command::TakeLock));
}

#[test]
fn a_started_engine_counts_arms_its_interval_and_syncs_on_open() {
    let mut e = E::new(Some(Settings::default()), 1);
    let out = e.handle(Event::Started { online: false, waiter: None }, 0.0);
    assert!(has(&out, |c| *c == Command::Arm { timer: Timer::Recount, after_ms: 0 }));
    assert!(has(&out, |c| *c == Command::Arm { timer: Timer::Interval, after_ms: 300_000 }));
    // Offline from the start: the sync on open fails at once, without a request.
    assert!(has(&out, |c| matches!(c, Command::Publish(s) if s.last_error.is_some())));
    assert!(!has(&out, |c| *c == Command::TakeLock));
    let out = e.handle(Event::TimerFired(Timer::Interval), 1.0);
    assert!(has(&out, |c| *c == Command::Arm { timer: Timer::Interval, after_ms: 300_000 }));
}

#[test]
fn writes_count_announce_and_debounce() {
    let mut e = E::new(Some(Settings { debounce_ms: Some(1000), ..settings() }), 1);
    e.handle(Event::Started { online: true, waiter: None }, 0.0);
    let mut changes = Changes::default();
    changes.add("c", "a", crate::core::outbox::Op::Create);
    let out = e.handle(Event::WriteCommitted { pending_delta: 1, changes: changes.clone() }, 1.0);
    assert!(matches!(out[0], Command::Publish(ref s) if s.pending == 1));
    assert!(has(&out, |c| *c == Command::Announce(changes.clone())));
    assert!(has(&out, |c| *c == Command::Arm { timer: Timer::Debounce, after_ms: 1000 }));
    let out = e.handle(Event::TimerFired(Timer::Debounce), 2.0);
    assert!(has(&out, |c| *c == Command::TakeLock));
    // Without a `sync` option the counts still follow, and syncNow() says why nothing happens.
    let mut e = E::new(None, 1);
    e.handle(Event::Started { online: true, waiter: None }, 0.0);
    let out = e.handle(Event::WriteCommitted { pending_delta: 2, changes }, 1.0);
    assert!(matches!(out[0], Command::Publish(ref s) if s.pending == 2));
    assert!(!has(&out, |c| matches!(c, Command::Arm { .. })));
    let out = e.handle(Event::SyncAsked { waiter: Some(Waiter(3)) }, 1.0);
    assert!(matches!(&out[..], [Command::Settle { outcome: Err(e), .. }] if e.kind == ErrorKind::InvalidOptions));
    let out = e.handle(
        Event::Counted {
            id: 100,
            counts: Ok(Counts { pending: 5, failed: 1, conflicts: 0, spaces: Vec::new(), ..Counts::default() }),
        },
        1.0,
    );
    // The counts are known: the eviction marker is written soon.
    assert!(
        matches!(&out[..], [Command::Publish(s), Command::Arm { timer: Timer::Mark, .. }] if s.pending == 5 && s.failed == 1)
    );
}

#[test]
fn other_tabs_status_is_adopted_unless_this_tab_syncs_and_their_sync_ends_with_their_lock() {
    let mut e = started(settings());
    let theirs = SyncStatus { online: true, syncing: true, progress: Some((1, 9)), ..SyncStatus::default() };
    let out = e.handle(Event::RemoteStatus(theirs.clone()), 1.0);
    assert!(matches!(out[0], Command::Publish(ref s) if s.syncing && s.progress == Some((1, 9))));
    assert_eq!(out.last(), Some(&Command::WatchLock));
    assert!(!has(&e.handle(Event::RemoteStatus(theirs.clone()), 1.0), |c| *c == Command::WatchLock), "watched once");
    let out = e.handle(Event::LockFree, 2.0);
    assert!(matches!(&out[0], Command::Publish(s) if !s.syncing && s.progress.is_none()));
    let recount = Command::Arm { timer: Timer::Recount, after_ms: RECOUNT_DELAY_MS };
    assert_eq!(out[1..], *std::slice::from_ref(&recount), "what their sync did is counted here");
    let done = SyncStatus { online: true, ..SyncStatus::default() };
    assert!(has(&e.handle(Event::RemoteStatus(done), 2.0), |c| *c == recount));
    // While this tab holds the lock, its own status is the truth.
    to_first_read(&mut e, 1);
    let out = e.handle(Event::RemoteStatus(SyncStatus::default()), 3.0);
    assert!(out.is_empty(), "{out:?}");
    let out = e.handle(Event::RemoteChange, 3.0);
    assert_eq!(out, vec![Command::Arm { timer: Timer::Recount, after_ms: RECOUNT_DELAY_MS }]);
}

#[test]
fn closing_cancels_timers_gives_the_lock_back_and_settles_every_waiter() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::SyncAsked { waiter: Some(Waiter(2)) }, 1.0);
    let closed = Error::new(ErrorKind::DatabaseClosed, "closed");
    let out = e.handle(Event::Closed { error: closed.clone() }, 1.0);
    for timer in Timer::ALL {
        assert!(has(&out, |c| *c == Command::Cancel { timer }));
    }
    assert!(has(&out, |c| *c == Command::ReleaseLock));
    assert!(has(
        &out,
        |c| matches!(c, Command::Settle { waiters, outcome: Err(e) } if waiters.len() == 2 && e.kind == ErrorKind::DatabaseClosed)
    ));
    // Late answers are dropped; a later syncNow() gets the same error.
    assert!(e.handle(Event::BatchRead(Ok(Some(batch(1)))), 2.0).is_empty());
    let out = e.handle(Event::SyncAsked { waiter: Some(Waiter(3)) }, 2.0);
    assert_eq!(out, vec![Command::Settle { waiters: vec![Waiter(3)], outcome: Err(closed) }]);
}

#[test]
fn progress_counts_the_pushed_entries_against_a_total_that_grows_with_new_writes() {
    let mut e = started(settings());
    e.handle(
        Event::Counted {
            id: 100,
            counts: Ok(Counts { pending: 250, failed: 0, conflicts: 0, spaces: Vec::new(), ..Counts::default() }),
        },
        0.0,
    );
    let out = to_first_read(&mut e, 1);
    assert!(matches!(out[0], Command::Publish(ref s) if s.progress == Some((0, 250))));
    e.handle(Event::BatchRead(Ok(Some(batch(100)))), 1.0);
    e.handle(
        Event::Pushed { batch: batch(100), answer: Ok(PushResponse { results: Vec::new(), server_time: None }) },
        1.0,
    );
    let out = e.handle(Event::PushApplied(Ok(applied(100))), 1.0);
    assert!(matches!(out[0], Command::Publish(ref s) if s.progress == Some((100, 250))), "{out:?}");
    e.handle(Event::WriteCommitted { pending_delta: 50, changes: Changes::default() }, 1.0);
    e.handle(Event::BatchRead(Ok(Some(batch(100)))), 1.0);
    e.handle(
        Event::Pushed { batch: batch(100), answer: Ok(PushResponse { results: Vec::new(), server_time: None }) },
        1.0,
    );
    let out = e.handle(Event::PushApplied(Ok(applied(100))), 1.0);
    assert!(matches!(out[0], Command::Publish(ref s) if s.progress == Some((200, 300))), "{out:?}");
}

#[test]
fn a_storage_failure_ends_the_sync_and_is_retried_with_backoff() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    let quota = Error::new(ErrorKind::QuotaExceeded, "full");
    let out = handled(&mut e, Event::BatchRead(Err(quota)));
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(e), .. } if e.kind == ErrorKind::QuotaExceeded)));
    assert!(has(&out, |c| matches!(c, Command::Arm { timer: Timer::Retry, .. })));
    assert!(has(&out, |c| *c == Command::ReleaseLock));
    assert!(e.status().online, "a local failure says nothing of the network");
}

#[test]
fn waiters_learn_the_outcome_once_the_counts_that_follow_are_in() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(None))), 2.0);
    e.handle(Event::Pulled(Ok(page("c1.0", false))), 2.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 3.0);
    let out = no_uploads(&mut e, out);
    assert!(!has(&out, |c| matches!(c, Command::Settle { .. })), "not before the count: {out:?}");
    let Some(Command::Count { id }) = out.iter().find(|c| matches!(c, Command::Count { .. })).cloned() else {
        panic!()
    };
    // An older count's answer does not settle it, nor overwrite a newer count.
    let out = e.handle(
        Event::Counted {
            id: id + 1,
            counts: Ok(Counts { pending: 4, failed: 0, conflicts: 1, spaces: Vec::new(), ..Counts::default() }),
        },
        3.0,
    );
    assert!(
        has(&out, |c| matches!(c, Command::Settle { waiters, .. } if waiters == &[Waiter(1)])),
        "a later count will do"
    );
    let out = e.handle(Event::Counted { id, counts: Ok(Counts::default()) }, 3.0);
    assert!(out.is_empty(), "an older count changes nothing: {out:?}");
    assert_eq!((e.status().pending, e.status().conflicts), (4, 1));

    // An open that ran migrations, and a decision, wait for their own count.
    let mut e = E::new(Some(settings()), 1);
    let out = e.handle(Event::Started { online: true, waiter: Some(Waiter(7)) }, 0.0);
    let [Command::Count { id }] = out[..] else { panic!("{out:?}") };
    let out = e.handle(
        Event::Counted {
            id,
            counts: Ok(Counts { pending: 3, failed: 0, conflicts: 0, spaces: Vec::new(), ..Counts::default() }),
        },
        0.0,
    );
    assert!(
        matches!(&out[..], [Command::Publish(s), Command::Settle { waiters, outcome: Ok(_) }, Command::Arm { timer: Timer::Mark, .. }] if s.pending == 3 && waiters == &[Waiter(7)])
    );
    let decided = crate::core::sync::storage::Decided { pending_delta: -1, changes: Changes::default() };
    let out = e.handle(Event::Decided { decided, waiter: Some(Waiter(8)) }, 1.0);
    let Some(Command::Count { id }) = out.iter().find(|c| matches!(c, Command::Count { .. })).cloned() else {
        panic!()
    };
    let out = e.handle(
        Event::Counted {
            id,
            counts: Ok(Counts { pending: 2, failed: 0, conflicts: 0, spaces: Vec::new(), ..Counts::default() }),
        },
        1.0,
    );
    assert!(has(&out, |c| matches!(c, Command::Settle { waiters, .. } if waiters == &[Waiter(8)])));
}

#[test]
fn a_force_is_refused_offline_or_without_sync_and_changes_nothing() {
    let force = || Force::Push(super::super::rules::force::Scope::All);
    let mut e = E::new(None, 1);
    let out = e.handle(Event::ForceAsked { force: force(), waiter: Waiter(1) }, 0.0);
    assert!(matches!(&out[..], [Command::Settle { outcome: Err(err), .. }] if err.kind == ErrorKind::InvalidOptions));
    let mut e = started(settings());
    e.handle(Event::Offline, 0.0);
    let out = e.handle(Event::ForceAsked { force: force(), waiter: Waiter(2) }, 0.0);
    assert!(
        matches!(&out[..], [Command::Settle { outcome: Err(err), .. }] if err.kind == ErrorKind::Network),
        "{out:?}"
    );
}

#[test]
fn a_force_pull_begins_under_the_lock_and_sweeps_once_its_pull_is_complete() {
    let mut e = started(settings());
    let force = Force::Pull { scope: super::super::rules::force::Scope::All, keep_local: false };
    let out = e.handle(Event::ForceAsked { force: force.clone(), waiter: Waiter(1) }, 1.0);
    assert_eq!(out.last(), Some(&Command::TakeLock));
    let out = e.handle(Event::LockTaken, 1.0);
    assert_eq!(out, vec![Command::BeginForce(force)], "nothing is touched before the lock is held");
    let out = e.handle(Event::ForceBegun(Ok(Decided::default())), 1.0);
    assert_eq!(out.last(), Some(&Command::Probe));
    e.handle(Event::Probed(Ok(())), 1.0);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(None))), 2.0);
    e.handle(Event::Pulled(Ok(page("c1.3", false))), 2.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied { sweep_due: true, ..PageApplied::default() })), 3.0);
    assert_eq!(out, vec![Command::FinishForcePull]);
    let out = e.handle(Event::ForcePullFinished(Ok(Decided::default())), 3.0);
    let out = no_uploads(&mut e, out);
    let out = counted(&mut e, out);
    assert!(
        has(&out, |c| matches!(c, Command::Settle { waiters, outcome: Ok(_) } if waiters == &vec![Waiter(1)])),
        "{out:?}"
    );
    // A force asked for while a sync runs waits for it, then runs in a sync of its own.
    to_first_read(&mut e, 2);
    let out = e.handle(
        Event::ForceAsked { force: Force::Push(super::super::rules::force::Scope::All), waiter: Waiter(3) },
        4.0,
    );
    assert!(out.is_empty(), "{out:?}");
    let out = finish(&mut e);
    assert!(has(&out, |c| matches!(c, Command::TakeLock)), "the force's sync starts: {out:?}");
}

#[test]
fn a_wipe_runs_under_the_lock_without_a_sync_and_tells_no_other_tab() {
    let mut e = E::new(None, 1);
    e.handle(Event::Started { online: false, waiter: None }, 0.0);
    let out = e.handle(Event::WipeAsked { collection: "c".into(), discard_pending: false, waiter: Waiter(1) }, 1.0);
    assert_eq!(out, vec![Command::TakeLock], "no sync option and offline: a wipe needs neither");
    let out = e.handle(Event::LockTaken, 1.0);
    assert_eq!(out, vec![Command::Wipe { collection: "c".into(), discard_pending: false }]);
    let refused = Error::pending_changes(2, "\"c\"");
    let out = e.handle(Event::Wiped(Err(refused.clone())), 1.0);
    assert!(has(&out, |c| matches!(c, Command::ReleaseLock)));
    let out = counted(&mut e, out);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(err), .. } if *err == refused)), "{out:?}");
    assert!(!has(&out, |c| matches!(c, Command::PostStatus(_))), "a wipe's end is no news for other tabs: {out:?}");
    assert!(!e.status().syncing);
}

#[test]
fn collections_own_resolvers_are_asked_after_the_strategies_then_their_answers_applied() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(None))), 2.0);
    e.handle(Event::Pulled(Ok(page("c1.1", false))), 2.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied { conflicts: 1, ..PageApplied::default() })), 3.0);
    assert_eq!(out.last(), Some(&Command::SettleConflicts { clock_offset: 0.0 }));
    let asks = vec![("c".to_string(), "a".to_string())];
    let settled = Settled { asks: asks.clone(), ..Settled::default() };
    let out = e.handle(Event::ConflictsSettled(Ok(settled)), 3.0);
    assert_eq!(out, vec![Command::AskResolvers(asks)]);
    let answers = vec![("c".to_string(), "a".to_string(), Answer::Local)];
    let out = e.handle(Event::ResolversAnswered(answers.clone()), 3.0);
    assert_eq!(out, vec![Command::ApplyAnswers(answers)]);
    let applied = Settled { resolved: 1, decided: Decided { pending_delta: 1, ..Decided::default() }, asks: vec![] };
    let out = e.handle(Event::AnswersApplied(Ok(applied)), 3.0);
    let out = no_uploads(&mut e, out);
    let out = counted(&mut e, out);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Ok(s), .. } if s.resolved == 1)), "{out:?}");
    assert!(has(&out, |c| matches!(c, Command::TakeLock)), "what it queued goes out in the next sync: {out:?}");
}

#[test]
fn write_times_go_out_on_the_servers_clock_as_measured_from_its_answers() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    let stamped = |mut b: Batch<()>, t: u64| {
        b.mutations.iter_mut().for_each(|m| m.written_at = Some(t));
        b
    };
    // No answer yet: the local clock as it is.
    let out = e.handle(Event::BatchRead(Ok(Some(stamped(batch(1), 1_000)))), 100.0);
    assert!(
        matches!(&out[..], [Command::Push { batch }, _] if batch.mutations[0].written_at == Some(1_000)),
        "{out:?}"
    );
    // Read ahead before the answer came.
    let next = Batch { seqs: vec![2], ..stamped(batch(1), 1_000) };
    e.handle(Event::BatchRead(Ok(Some(next))), 200.0);
    // Sent at 100, answered at 300 by a server whose clock read 10_200 then: 10_000 ahead. The
    // batch read ahead goes out now, on the server's clock.
    let answer = PushResponse { results: Vec::new(), server_time: Some(10_200) };
    let out = e.handle(Event::Pushed { batch: batch(1), answer: Ok(answer) }, 300.0);
    assert!(
        matches!(&out[..], [Command::ApplyPush { .. }, Command::Push { batch }, _]
        if batch.mutations[0].written_at == Some(11_000)),
        "{out:?}"
    );
}

#[test]
fn metrics_count_what_the_syncs_did() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(Some(batch(3)))), 10.0);
    // An expired token: the same batch again, counted as a retry.
    let out = e.handle(Event::Pushed { batch: batch(3), answer: Err(http(401, codes::TOKEN_EXPIRED)) }, 20.0);
    assert_eq!(out, vec![Command::Push { batch: batch(3) }]);
    let answer = PushResponse { results: Vec::new(), server_time: None };
    e.handle(Event::Pushed { batch: batch(3), answer: Ok(answer) }, 45.0);
    e.handle(Event::PushApplied(Ok(applied(3))), 46.0);
    e.handle(Event::BatchRead(Ok(None)), 47.0);
    e.handle(Event::BatchRead(Ok(None)), 47.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(None))), 50.0);
    let mut two = page("c1.2", false);
    two.changes = vec![crate::protocol::ServerRecord {
        collection: "c".into(),
        id: "x".into(),
        version: 1,
        deleted: true,
        data: None,
        updated_at: None,
        forced: false,
    }];
    e.handle(Event::Pulled(Ok(two)), 80.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 90.0);
    let out = no_uploads(&mut e, out);
    counted(&mut e, out);
    let m = e.metrics().clone();
    assert_eq!((m.pushes, m.changes_sent, m.last_push_ms, m.retries), (1, 3, Some(25.0), 1));
    assert_eq!((m.pulls, m.records_received, m.last_pull_ms), (1, 1, Some(30.0)));
    assert_eq!((m.syncs, m.last_sync_ms, m.last_success_at), (1, Some(89.0), Some(90.0)));
    assert_eq!(m.failed_syncs, 0);

    // A failed sync, by the error name an app sees; offline is not a failure of the sync.
    to_first_read(&mut e, 2);
    e.handle(Event::BatchRead(Ok(Some(batch(1)))), 100.0);
    e.handle(Event::Pushed { batch: batch(1), answer: Err(http(503, "unavailable")) }, 110.0);
    let out = e.handle(Event::BatchRead(Ok(None)), 110.0);
    counted(&mut e, out);
    e.handle(Event::Offline, 120.0);
    let out = e.handle(Event::SyncAsked { waiter: Some(Waiter(3)) }, 130.0);
    counted(&mut e, out);
    let m = e.metrics();
    assert_eq!((m.failed_syncs, m.last_failure_at), (1, Some(110.0)));
    assert_eq!(m.failures.get("NetworkError"), Some(&1));
}

fn cursor(space: Option<&str>, cursor: Option<&str>) -> SpaceCursor {
    SpaceCursor { space: space.map(str::to_string), cursor: cursor.map(str::to_string) }
}

fn space_page(space: Option<&str>, cursor: &str, has_more: bool) -> crate::protocol::SpacePage<()> {
    crate::protocol::SpacePage {
        space: space.map(str::to_string),
        changes: Vec::new(),
        left: Vec::new(),
        cursor: cursor.into(),
        has_more,
    }
}

#[test]
fn a_pull_by_space_asks_every_space_once_and_follows_has_more_per_space() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    let asked = vec![cursor(Some("p1"), Some("c1.4")), cursor(Some("p2"), None), cursor(None, Some("c1.4"))];
    let out = e.handle(Event::CursorRead(Ok(PullFrom::Spaces(asked.clone()))), 2.0);
    let request = SpacesPullRequest { spaces: asked.clone(), limit: Some(500) };
    assert_eq!(out, vec![Command::PullSpaces { request }]);
    // p2 (added later, from its start) has more; the others are done.
    let answer = crate::protocol::SpacesPullResponse {
        spaces: vec![
            space_page(Some("p1"), "c1.9", false),
            space_page(Some("p2"), "c1.6", true),
            space_page(None, "c1.9", false),
        ],
        server_time: None,
    };
    let out = e.handle(Event::SpacesPulled(Ok(answer.clone())), 2.0);
    let ahead = SpacesPullRequest { spaces: vec![cursor(Some("p2"), Some("c1.6"))], limit: Some(500) };
    assert_eq!(out, vec![Command::ApplySpaces { asked, answer }, Command::PullSpaces { request: ahead }]);
    let out = e.handle(Event::PageApplied(Ok(PageApplied { received: 3, ..PageApplied::default() })), 2.0);
    assert_eq!(out[0], Command::ReadCursor, "the cursors are read again");
    assert!(matches!(out[1..], [Command::Count { .. }]), "p1 is pulled to its end: the status counts: {out:?}");
    // A space added meanwhile (p3) is asked for; those pulled to their end are not.
    let stored = vec![
        cursor(Some("p1"), Some("c1.9")),
        cursor(Some("p2"), Some("c1.6")),
        cursor(Some("p3"), None),
        cursor(None, Some("c1.9")),
    ];
    let out = e.handle(Event::CursorRead(Ok(PullFrom::Spaces(stored))), 2.0);
    assert_eq!(out, vec![], "the page asked for ahead did not ask for p3: its answer is waited for, then dropped");
    let dropped =
        crate::protocol::SpacesPullResponse { spaces: vec![space_page(Some("p2"), "c1.7", true)], server_time: None };
    let out = e.handle(Event::SpacesPulled(Ok(dropped)), 2.0);
    let next = vec![cursor(Some("p2"), Some("c1.6")), cursor(Some("p3"), None)];
    assert_eq!(out, vec![Command::PullSpaces { request: SpacesPullRequest { spaces: next, limit: Some(500) } }]);
    let answer = crate::protocol::SpacesPullResponse {
        spaces: vec![space_page(Some("p2"), "c1.9", false), space_page(Some("p3"), "c1.9", false)],
        server_time: None,
    };
    e.handle(Event::SpacesPulled(Ok(answer)), 2.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 2.0);
    let out = no_uploads(&mut e, out);
    let out = counted(&mut e, out);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Ok(s), .. } if s.pulled == 3)), "{out:?}");
}

#[test]
fn an_unknown_cursor_in_a_pull_by_space_starts_every_space_over() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    let asked = vec![cursor(Some("p1"), Some("c1.4")), cursor(None, None)];
    e.handle(Event::CursorRead(Ok(PullFrom::Spaces(asked))), 2.0);
    let out = e.handle(Event::SpacesPulled(Err(http(400, codes::INVALID_CURSOR))), 2.0);
    assert_eq!(out, vec![Command::ResetCursor]);
    assert_eq!(e.handle(Event::CursorReset(Ok(())), 2.0), vec![Command::ReadCursor]);
}

#[test]
fn removing_a_space_runs_under_the_lock_like_a_wipe() {
    let mut e = started(settings());
    let out = e.handle(Event::SpaceRemoveAsked { space: "p1".into(), discard_pending: true, waiter: Waiter(1) }, 1.0);
    assert_eq!(out, vec![Command::TakeLock]);
    let out = e.handle(Event::LockTaken, 1.0);
    assert_eq!(out, vec![Command::RemoveSpace { space: "p1".into(), discard_pending: true }]);
    let refused = Error::pending_changes(2, "space \"p1\"");
    let out = handled(&mut e, Event::Wiped(Err(refused.clone())));
    assert!(has(&out, |c| matches!(c, Command::ReleaseLock)));
    assert!(has(&out, |c| *c == Command::Settle { waiters: vec![Waiter(1)], outcome: Err(refused.clone()) }));
}

fn spaces_counted(spaces: &[(&str, Option<f64>)]) -> Counts {
    let spaces = spaces
        .iter()
        .map(|(space, synced_at)| crate::core::sync::storage::SpaceState {
            space: space.to_string(),
            synced_at: *synced_at,
        })
        .collect();
    Counts { spaces, ..Counts::default() }
}

fn count_id(out: &[C]) -> u64 {
    out.iter().find_map(|c| if let Command::Count { id } = c { Some(*id) } else { None }).expect("a count")
}

#[test]
fn a_space_added_shows_its_progress_and_its_waiter_learns_when_its_first_pull_is_done() {
    let mut e = started(settings());
    let out = e.handle(Event::SpaceAdded { space: "p1".into(), waiter: Some(Waiter(7)) }, 1.0);
    assert!(has(&out, |c| matches!(c, Command::TakeLock)), "its pull starts at once: {out:?}");
    let out = e.handle(Event::Counted { id: count_id(&out), counts: Ok(spaces_counted(&[("p1", None)])) }, 1.0);
    assert!(!has(&out, |c| matches!(c, Command::Settle { .. })), "not pulled yet: {out:?}");
    assert_eq!(e.status().spaces[0].synced_at, None);
    e.handle(Event::LockTaken, 1.0);
    e.handle(Event::Probed(Ok(())), 1.0);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Spaces(vec![cursor(Some("p1"), None), cursor(None, None)]))), 2.0);
    let mut first = space_page(Some("p1"), "c1.4", true);
    first.left.push(LeftRecord { collection: "todos".into(), id: "a".into(), version: 3 });
    let answer =
        crate::protocol::SpacesPullResponse { spaces: vec![first, space_page(None, "c1.4", false)], server_time: None };
    e.handle(Event::SpacesPulled(Ok(answer)), 3.0);
    assert_eq!(e.status().spaces[0].pulled, Some(1), "its entries so far");
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 3.0);
    assert!(!has(&out, |c| matches!(c, Command::Settle { .. } | Command::Count { .. })), "p1 has more: {out:?}");
    e.handle(Event::CursorRead(Ok(PullFrom::Spaces(vec![cursor(Some("p1"), Some("c1.4")), cursor(None, None)]))), 4.0);
    let answer =
        crate::protocol::SpacesPullResponse { spaces: vec![space_page(Some("p1"), "c1.9", false)], server_time: None };
    e.handle(Event::SpacesPulled(Ok(answer)), 4.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 5.0);
    assert!(!has(&out, |c| matches!(c, Command::Settle { waiters, .. } if waiters.contains(&Waiter(7)))), "{out:?}");
    // The status learns when p1 was stored as pulled (the stored time) from the count that
    // follows, which settles the waiter.
    let id = count_id(&out);
    let out = e.handle(Event::Counted { id, counts: Ok(spaces_counted(&[("p1", Some(4.5))])) }, 5.0);
    let settled = Command::Settle { waiters: vec![Waiter(7)], outcome: Ok(Summary::default()) };
    assert!(has(&out, |c| *c == settled), "{out:?}");
    assert_eq!(e.status().spaces[0].synced_at, Some(4.5));
}

#[test]
fn waiting_for_a_space_removed_before_its_first_pull_is_refused_not_forever() {
    let mut e = started(Settings { sync_on_open: false, ..settings() });
    e.handle(Event::Offline, 0.0);
    let before = count_id(&e.handle(Event::TimerFired(Timer::Recount), 0.0));
    let out = e.handle(Event::SpaceAdded { space: "p1".into(), waiter: Some(Waiter(7)) }, 1.0);
    let added = count_id(&out);
    assert!(added > before);
    // A count issued before the add (still in flight) does not see it: no verdict yet.
    let out = e.handle(Event::Counted { id: before, counts: Ok(spaces_counted(&[])) }, 1.0);
    assert!(!has(&out, |c| matches!(c, Command::Settle { .. })), "{out:?}");
    let out = e.handle(Event::Counted { id: added, counts: Ok(spaces_counted(&[("p1", None)])) }, 1.0);
    assert!(!has(&out, |c| matches!(c, Command::Settle { .. })), "{out:?}");
    // Removed (by another tab, say) before its first pull.
    let out = e.handle(Event::Counted { id: added + 1, counts: Ok(spaces_counted(&[])) }, 2.0);
    let refused = out.iter().any(|c| {
        matches!(c, Command::Settle { waiters, outcome: Err(err) }
            if waiters == &vec![Waiter(7)] && err.kind == ErrorKind::SpaceRemoved)
    });
    assert!(refused, "{out:?}");
}

#[test]
fn the_eviction_marker_follows_the_unsent_changes_once_per_burst_after_the_counts() {
    let mut e = E::new(None, 1);
    e.handle(Event::Started { online: true, waiter: None }, 0.0);
    let out = e.handle(Event::WriteCommitted { pending_delta: 1, changes: Changes::default() }, 1.0);
    assert!(!has(&out, |c| matches!(c, Command::Arm { timer: Timer::Mark, .. })), "not before the counts: {out:?}");
    let counts = Counts { pending: 4, failed: 1, conflicts: 2, spaces: Vec::new(), ..Counts::default() };
    let out = e.handle(Event::Counted { id: 0, counts: Ok(counts) }, 2.0);
    let armed = Command::Arm { timer: Timer::Mark, after_ms: crate::core::eviction::MARK_DELAY_MS };
    assert!(has(&out, |c| *c == armed), "{out:?}");
    // More writes while the timer runs: one marker write, with the count at that time.
    for at in [3.0, 4.0] {
        let out = e.handle(Event::WriteCommitted { pending_delta: 1, changes: Changes::default() }, at);
        assert!(!has(&out, |c| matches!(c, Command::Arm { .. })), "{out:?}");
    }
    let out = e.handle(Event::TimerFired(Timer::Mark), 5.0);
    assert_eq!(out, vec![Command::Mark { unsent: 9 }], "queued, rejected and in conflict");
    // Nothing changed since: nothing to write.
    let out = e.handle(Event::Offline, 6.0);
    assert!(!has(&out, |c| matches!(c, Command::Arm { timer: Timer::Mark, .. })), "{out:?}");
    let out = e.handle(Event::WriteCommitted { pending_delta: -6, changes: Changes::default() }, 7.0);
    assert!(has(&out, |c| *c == armed), "{out:?}");
}

#[test]
fn an_eviction_found_at_open_is_in_the_status() {
    let mut e = E::new(None, 1);
    let evicted = crate::core::eviction::Evicted { detected_at: 3.0, lost_unsent: 2, last_seen_at: 1.0 };
    let out = e.handle(Event::Evicted(evicted.clone()), 3.0);
    assert!(matches!(&out[..], [Command::Publish(s)] if s.evicted == Some(evicted.clone())), "{out:?}");
}

#[test]
fn a_force_refused_by_storage_settles_its_caller_and_the_sync_carries_on() {
    let mut e = started(settings());
    e.handle(Event::SyncAsked { waiter: Some(Waiter(2)) }, 1.0);
    e.handle(Event::LockTaken, 1.0);
    e.handle(Event::Probed(Ok(())), 1.0);
    // Asked while a sync runs, with a syncNow() caller: both go into the next sync.
    let force = Force::PullSpaces { spaces: vec!["p9".into()], keep_local: false };
    e.handle(Event::ForceAsked { force: force.clone(), waiter: Waiter(1) }, 1.0);
    e.handle(Event::SyncAsked { waiter: Some(Waiter(3)) }, 1.0);
    let out = finish(&mut e);
    assert!(has(&out, |c| matches!(c, Command::TakeLock)), "{out:?}");
    assert_eq!(e.handle(Event::LockTaken, 2.0), vec![Command::BeginForce(force)]);
    let refused = Error::new(ErrorKind::InvalidOptions, "space \"p9\" is not synced on this device");
    let out = e.handle(Event::ForceBegun(Err(refused.clone())), 2.0);
    assert!(
        has(
            &out,
            |c| matches!(c, Command::Settle { waiters, outcome: Err(err) } if waiters == &vec![Waiter(1)] && *err == refused)
        ),
        "only the force's caller hears it: {out:?}"
    );
    assert_eq!(out.last(), Some(&Command::ReadBatch { max: 100, unapplied: vec![] }), "the sync goes on: {out:?}");
    assert!(!has(&out, |c| matches!(c, Command::Arm { timer: Timer::Retry, .. })), "nothing to retry");
    assert_eq!(e.status().last_error, None, "not a failed sync");
    let out = finish(&mut e);
    assert!(
        has(&out, |c| matches!(c, Command::Settle { waiters, outcome: Ok(_) } if waiters == &vec![Waiter(3)])),
        "{out:?}"
    );
}

fn pending(n: u64) -> Counts {
    Counts { pending: n, ..Counts::default() }
}

fn write(e: &mut E, pending_delta: i64) -> Vec<C> {
    e.handle(Event::WriteCommitted { pending_delta, changes: Changes::default() }, 1.0)
}

fn asks(out: &[C]) -> usize {
    out.iter().filter(|c| **c == Command::AskBackgroundSync).count()
}

#[test]
fn a_periodic_sync_is_asked_for_at_open_with_background_sync_and_the_interval_on() {
    let periodic = |settings: Settings| {
        let mut e = E::new(Some(settings), 7);
        let out = e.handle(Event::Started { online: true, waiter: None }, 0.0);
        out.into_iter()
            .filter_map(
                |c| if let Command::AskPeriodicSync { min_interval_ms } = c { Some(min_interval_ms) } else { None },
            )
            .collect::<Vec<_>>()
    };
    let background = Settings { background_sync: true, interval_ms: Some(60_000), ..settings() };
    assert_eq!(periodic(background.clone()), vec![60_000]);
    assert_eq!(
        periodic(Settings { interval_ms: None, ..background.clone() }),
        Vec::<u32>::new(),
        "no periodic sync asked for"
    );
    assert_eq!(
        periodic(Settings { background_sync: false, ..background }),
        Vec::<u32>::new(),
        "no background sync asked for"
    );
}

#[test]
fn background_sync_is_asked_for_when_the_queue_stops_being_empty_and_after_a_failure_with_changes_left() {
    let background = Settings { background_sync: true, ..settings() };
    // Opened with changes queued: the first count asks.
    let mut e = started(background.clone());
    let out = e.handle(Event::Counted { id: 0, counts: Ok(pending(2)) }, 1.0);
    assert_eq!(asks(&out), 1, "{out:?}");
    // More writes while some are queued: asked already.
    assert_eq!(asks(&write(&mut e, 1)), 0);
    // Another tab's sync emptied the queue (counted here), then a write: the queue stops being
    // empty again.
    assert_eq!(asks(&e.handle(Event::Counted { id: 1, counts: Ok(pending(0)) }, 1.0)), 0);
    let out = write(&mut e, 1);
    assert_eq!(asks(&out), 1, "{out:?}");
    // A write that queues nothing (a change coalesced into a queued entry) asks nothing.
    assert_eq!(asks(&e.handle(Event::Counted { id: 2, counts: Ok(pending(0)) }, 1.0)), 0);
    assert_eq!(asks(&write(&mut e, 0)), 0);

    // A sync that fails with changes left asks again (the browser may have given up on the
    // registration, and this page may close before its own retry)...
    write(&mut e, 1);
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(Some(batch(1)))), 1.0);
    e.handle(Event::Pushed { batch: batch(1), answer: Err(http(503, "unavailable")) }, 1.0);
    let out = nothing_ahead(&mut e);
    assert_eq!(asks(&out), 1, "{out:?}");
    // ...and the count that follows (the queue as it is) does not ask once more.
    let out = e.handle(Event::Counted { id: count_id(&out), counts: Ok(pending(1)) }, 1.0);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(_), .. })), "{out:?}");
    assert_eq!(asks(&out), 0, "{out:?}");
    // A sync that fails for being offline does not: the browser waits for the network itself,
    // and the registration made when the changes were queued stands.
    e.handle(Event::Offline, 2.0);
    let out = handled(&mut e, Event::SyncAsked { waiter: Some(Waiter(2)) });
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(e), .. } if e.kind == ErrorKind::Network)));
    assert_eq!(asks(&out), 0, "{out:?}");
    // Nor does a sync that fails with nothing queued (a failed pull).
    e.handle(Event::Online, 3.0);
    e.handle(Event::Counted { id: 100, counts: Ok(pending(0)) }, 3.0);
    e.handle(Event::LockTaken, 3.0);
    e.handle(Event::Probed(Ok(())), 3.0);
    e.handle(Event::BatchRead(Ok(None)), 3.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(None))), 3.0);
    let out = e.handle(Event::Pulled(Err(http(500, "internal"))), 3.0);
    assert!(has(&out, |c| matches!(c, Command::Arm { timer: Timer::Retry, .. })), "{out:?}");
    assert_eq!(asks(&out), 0, "{out:?}");

    // Without the option, or without a `sync` option at all, nothing is ever asked.
    for mut e in [started(settings()), E::new(None, 1)] {
        e.handle(Event::Started { online: true, waiter: None }, 0.0);
        let mut out = e.handle(Event::Counted { id: 0, counts: Ok(pending(3)) }, 1.0);
        out.extend(e.handle(Event::Counted { id: 1, counts: Ok(pending(0)) }, 1.0));
        out.extend(write(&mut e, 1));
        assert_eq!(asks(&out), 0, "{out:?}");
    }
}

mod downloads;
mod pipeline;
mod prefetch;
mod slices;
mod uploads;
