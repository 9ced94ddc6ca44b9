//! A client's storage transactions: the engine's and the users', run one at a time in the order
//! the tabs asked for them (as IndexedDB runs a database's transactions), against the client's
//! in-memory store; and what the checks watch after each one.

use ferrysync::core::blobs::blob_hashes;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ferrysync::core::error::{Error, ErrorKind};
use ferrysync::core::sync::conflict::merge::Fallback;
use ferrysync::core::sync::conflict::strategy::Strategy;
use ferrysync::core::sync::engine::{Command, Event};
use ferrysync::core::sync::log::{By, Kept, LogEntry, LogKind};
use ferrysync::core::sync::memory::Patch;
use ferrysync::core::sync::rules::force::Force;
use ferrysync::core::sync::storage::{Answer, Choice, Decided, SyncStorage};
use ferrysync::core::write::Intent;
use ferrysync::protocol::decode_cursor;
use uuid::Uuid;

use crate::client::TabRef;
use crate::data::Data;
use crate::world::{World, COLLECTIONS};

/// One transaction a client's store runs, in the order it was asked for.
pub(crate) enum StorageOp {
    Engine(TabRef, Command<Data>),
    Write {
        tab: TabRef,
        collection: &'static str,
        id: String,
        intent: Intent,
        data: Option<Data>,
    },
    Resolve {
        tab: TabRef,
        collection: String,
        id: String,
        choice: Choice,
    },
    /// A dead letter sent again.
    Retry {
        tab: TabRef,
        collection: String,
        id: String,
    },
    /// A dead letter and the record's later changes dropped.
    Discard {
        tab: TabRef,
        collection: String,
        id: String,
    },
}

/// Polls a future that is ready at once (the in-memory store's), without an executor.
pub(crate) fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the in-memory store never waits"),
    }
}

/// A mutation id of `client`: unique across clients, deterministic for a seed.
fn next_id(client: usize, counter: &mut u64) -> String {
    *counter += 1;
    Uuid::from_u128(((client as u128 + 1) << 64) | *counter as u128).hyphenated().to_string()
}

impl World {
    /// Runs the oldest storage transaction of `client`.
    pub(crate) fn run_storage(&mut self, client: usize) {
        let Some(op) = self.clients[client].storage.pop_front() else { return };
        let now = self.client_now(client);
        match op {
            StorageOp::Engine(at, command) => {
                // A tab that died before its transaction ran: the transaction never happened.
                if !self.alive(at) {
                    return;
                }
                // A pulled page whose transaction aborts (a quota, a closed database): nothing
                // of it is stored, and the page asked for ahead of it is thrown away.
                let page = matches!(command, Command::ApplyPage { .. } | Command::ApplySpaces { .. });
                if page && self.faults && self.rng.chance(self.shape.fault_percent / 2) {
                    self.stats.pages_failed += 1;
                    self.note(|| format!("client {client}: the page's transaction aborts"));
                    let error = Error::new(ErrorKind::Storage, "the page's transaction aborted (simulated)");
                    self.after_storage(client);
                    return self.feed(at, Event::PageApplied(Err(error)));
                }
                let store = &self.clients[client].store;
                let event = match command {
                    Command::ReadBatch { max, unapplied } => {
                        Event::BatchRead(ready(store.read_batch(max, &unapplied, now)))
                    }
                    Command::ApplyPush { batch, answer } => {
                        Event::PushApplied(ready(store.apply_push(batch, answer, now)))
                    }
                    Command::ReadCursor => Event::CursorRead(ready(store.pull_from())),
                    Command::ApplyPage { asked_from, page, last } => {
                        if !last {
                            self.stats.slices += 1;
                        }
                        Event::PageApplied(ready(store.apply_page(asked_from.as_deref(), page, last, now)))
                    }
                    Command::ResetCursor => Event::CursorReset(ready(store.reset_cursor())),
                    Command::Count { id } => Event::Counted { id, counts: ready(store.counts()) },
                    Command::SettleConflicts { clock_offset } => {
                        let times = self.write_times(client);
                        let c = &mut self.clients[client];
                        let counter = &mut c.counter;
                        let settled =
                            ready(c.store.settle_conflicts(now, clock_offset, &mut || next_id(client, counter)));
                        if let Ok(s) = &settled {
                            self.stats.auto_resolved += s.resolved;
                        }
                        self.check_last_write_wins(client, &times);
                        Event::ConflictsSettled(settled)
                    }
                    Command::BeginForce(force) => {
                        if let Force::PullSpaces { spaces, .. } = &force {
                            self.clients[client].in_forced_spaces = self.queued_in_spaces(client, spaces);
                        }
                        let c = &mut self.clients[client];
                        let counter = &mut c.counter;
                        let begun = ready(c.store.begin_force(&force, now, &mut || next_id(client, counter)));
                        if let Force::PullSpaces { spaces, .. } = &force {
                            self.check_space_force_refusal(client, spaces, &begun);
                        }
                        Event::ForceBegun(begun)
                    }
                    Command::FinishForcePull => Event::ForcePullFinished(ready(store.finish_force_pull(now))),
                    Command::AskResolvers(asks) => Event::ResolversAnswered(self.resolver_answers(client, asks)),
                    Command::ApplyAnswers(answers) => {
                        let c = &mut self.clients[client];
                        let counter = &mut c.counter;
                        let applied = ready(c.store.apply_answers(answers, now, &mut || next_id(client, counter)));
                        if let Ok(s) = &applied {
                            self.stats.auto_resolved += s.resolved;
                        }
                        Event::AnswersApplied(applied)
                    }
                    Command::Wipe { collection, discard_pending } => {
                        Event::Wiped(ready(store.wipe(&collection, discard_pending, now)))
                    }
                    Command::ApplySpaces { asked, answer } => {
                        Event::PageApplied(ready(store.apply_spaces(&asked, answer, now)))
                    }
                    Command::NextUpload { skip } => Event::UploadRead(ready(store.next_upload(&skip))),
                    Command::NextDownload { skip } => Event::DownloadRead(ready(store.next_download(&skip))),
                    Command::CheckDownload { hash } => Event::DownloadChecked(Ok(store.check_download(&hash))),
                    Command::EndDownload { hash, outcome } => {
                        store.end_download(&hash, outcome, now);
                        Event::DownloadEnded(Ok(()))
                    }
                    Command::EndUpload { hash, outcome } => {
                        Event::UploadEnded(ready(store.end_upload(&hash, outcome, now)))
                    }
                    Command::RemoveSpace { space, discard_pending } => {
                        let removed = ready(store.remove_space(&space, discard_pending, now));
                        self.note(|| format!("client {client}: remove space {space}: {:?}", removed.as_ref().err()));
                        Event::Wiped(removed)
                    }
                    _ => return,
                };
                self.after_storage(client);
                self.feed(at, event);
            }
            StorageOp::Write { tab, collection, id, intent, data } => {
                if !self.alive(tab) {
                    return;
                }
                let token = data.as_ref().and_then(|d| d.token()).map(str::to_string);
                // The file's bytes go in with the record, as the browser stores them.
                for hash in data.as_ref().map(blob_hashes).unwrap_or_default() {
                    if let Some(bytes) = self.pool.bytes(&hash) {
                        self.clients[client].store.put_blob(bytes.clone(), "");
                    }
                }
                let c = &mut self.clients[client];
                let counter = &mut c.counter;
                let mut mutation_id = || next_id(client, counter);
                let written = c.store.write(collection, vec![(id.clone(), intent, data)], &mut mutation_id, now);
                match written {
                    Ok(written) => {
                        let cancelled = written.pending_delta < 0;
                        self.stats.writes += 1;
                        self.note(|| format!("client {client}: {intent:?} {collection}/{id} {token:?} ok"));
                        if !written.changes.is_empty() {
                            self.history.wrote(client, collection, &id, token, cancelled, self.tick);
                        }
                        self.after_storage(client);
                        let changes = written.changes;
                        self.feed(tab, Event::WriteCommitted { pending_delta: written.pending_delta, changes });
                    }
                    Err(e) => {
                        if e.message.contains("unique index") {
                            self.stats.unique_refused += 1;
                        }
                        self.note(|| format!("client {client}: {intent:?} {collection}/{id} refused: {}", e.message))
                    }
                }
            }
            StorageOp::Retry { tab, collection, id } => self.decide_dead_letter(client, tab, &collection, &id, true),
            StorageOp::Discard { tab, collection, id } => self.decide_dead_letter(client, tab, &collection, &id, false),
            StorageOp::Resolve { tab, collection, id, choice } => {
                if !self.alive(tab) {
                    return;
                }
                let c = &mut self.clients[client];
                let mutation_id = next_id(client, &mut c.counter);
                let decided = ready(c.store.resolve_conflict(&collection, &id, choice, &mutation_id, now));
                self.note(|| format!("client {client}: resolve {collection}/{id} {choice:?}: {:?}", decided.is_ok()));
                if let Ok(decided) = decided {
                    self.stats.conflicts_resolved += 1;
                    self.history.resolved(client, &collection, &id, choice, self.tick);
                    self.after_storage(client);
                    self.feed(tab, Event::Decided { decided, waiter: None });
                }
            }
        }
    }

    /// The records of `client` with queued changes whose space, as the record is here, is one of
    /// `spaces`: those a force pull of them drops.
    fn queued_in_spaces(&self, client: usize, spaces: &[String]) -> Vec<(String, String)> {
        let store = &self.clients[client].store;
        let mut records: Vec<(String, String)> = store
            .outbox()
            .into_iter()
            .filter(|e| {
                let data = store.stored(&e.collection, &e.record_id).and_then(|r| r.data);
                data.and_then(|d| store.space_in(&e.collection, &d)).is_some_and(|s| spaces.contains(&s))
            })
            .map(|e| (e.collection, e.record_id))
            .collect();
        records.sort();
        records.dedup();
        records
    }

    /// A force pull by space is refused exactly when it names no space or one the client does
    /// not sync, and then with `InvalidOptions`.
    fn check_space_force_refusal(&mut self, client: usize, spaces: &[String], begun: &Result<Decided, Error>) {
        let synced = self.clients[client].store.space_cursors();
        let valid = !spaces.is_empty() && spaces.iter().all(|s| synced.contains_key(s));
        match (begun, valid) {
            (Ok(_), true) => {}
            (Err(e), false) if e.kind == ErrorKind::InvalidOptions => self.stats.space_forces_refused += 1,
            (outcome, _) => self.violations.push(format!(
                "client {client}: a force pull of spaces {spaces:?} (synced: {:?}) ended {outcome:?}",
                synced.keys().collect::<Vec<_>>()
            )),
        }
    }

    /// When each side of each of `client`'s conflicts was written, on the world's clock: the
    /// record here by its `updatedAt` less the client's skew, the server's by the time it stamped.
    /// Only conflicts with a change queued here: a record with none (a pulled version that
    /// clashed on a unique index) was not written here, whatever its `updatedAt`.
    fn write_times(&self, client: usize) -> Vec<(String, String, f64, Option<u64>)> {
        let c = &self.clients[client];
        let outbox = c.store.outbox();
        c.store
            .conflict_rows()
            .into_iter()
            .filter(|row| outbox.iter().any(|e| e.is(&row.collection, &row.id)))
            .filter_map(|row| {
                let local = row.local.as_ref()?.meta.updated_at - c.skew_ms as f64;
                Some((row.collection, row.id, local, row.server.updated_at))
            })
            .collect()
    }

    /// A last-write-wins settlement kept the newer write, wherever the times are clearly apart
    /// (the offset a client measures is good to half a round trip, so close calls are not judged).
    fn check_last_write_wins(&mut self, client: usize, times: &[(String, String, f64, Option<u64>)]) {
        const CLEARLY_MS: f64 = 2_000.0;
        let store = &self.clients[client].store;
        for entry in store.log_entries() {
            // Two sides already the same are no conflict, whatever their times.
            let lww = matches!(entry.by, Some(By::Strategy(Strategy::LastWriteWins))) && entry.local != entry.server;
            let Some((_, _, local, Some(server))) =
                times.iter().find(|(c, i, ..)| *c == entry.collection && *i == entry.id).filter(|_| lww)
            else {
                continue;
            };
            let (local, server) = (*local, *server as f64);
            let wrong = match entry.kept {
                Some(Kept::Server) => local > server + CLEARLY_MS,
                Some(Kept::Local) => server > local + CLEARLY_MS,
                _ => false,
            };
            if wrong {
                self.violations.push(format!(
                    "client {client}: last-write-wins kept the older write of {}/{} (here {local}, server {server})",
                    entry.collection, entry.id
                ));
            }
        }
    }

    /// The app's own resolver, as the seed makes it: keeps one side, merges the local fields
    /// over the server's, leaves it for a person, or fails (throws, or never answers in time).
    fn resolver_answers(&mut self, client: usize, asks: Vec<(String, String)>) -> Vec<(String, String, Answer<Data>)> {
        let rows = self.clients[client].store.conflict_rows();
        asks.into_iter()
            .map(|(collection, id)| {
                let row = rows.iter().find(|r| r.collection == collection && r.id == id);
                let local = row.and_then(|r| r.local.as_ref()).and_then(|s| s.data.clone());
                let server = row.and_then(|r| r.server.data.clone());
                let answer = match (self.rng.below(6), local, server) {
                    (0, ..) => Answer::Local,
                    (1, ..) => {
                        // The app chose to drop its local version: what it drops is excused.
                        self.history.replaced(client, &collection, &id, self.tick);
                        Answer::Server
                    }
                    (2, Some(local), Some(server)) => Answer::Merged(server.patched(&local)),
                    (3, ..) => Answer::Manual(None),
                    (4, ..) => Answer::Manual(Some("the resolver threw: no".into())),
                    _ => Answer::Manual(Some("the resolver did not answer in time".into())),
                };
                (collection, id, answer)
            })
            .collect()
    }

    /// A user's decision on a dead letter: sent again, or dropped (what it drops is dropped as
    /// asked: a rejected change, and the record's changes queued after it).
    fn decide_dead_letter(&mut self, client: usize, tab: TabRef, collection: &str, id: &str, retry: bool) {
        if !self.alive(tab) {
            return;
        }
        let now = self.client_now(client);
        let c = &mut self.clients[client];
        let mutation_id = next_id(client, &mut c.counter);
        let decided = if retry {
            ready(c.store.retry_failed(collection, id, &mutation_id, now))
        } else {
            ready(c.store.discard_failed(collection, id, now))
        };
        self.note(|| {
            format!(
                "client {client}: {} {collection}/{id}: {:?}",
                if retry { "retry" } else { "discard" },
                decided.is_ok()
            )
        });
        if let Ok(decided) = decided {
            self.stats.dead_letter_decisions += 1;
            if !retry {
                self.history.discarded(client, collection, id, self.tick);
            }
            self.after_storage(client);
            self.feed(tab, Event::Decided { decided, waiter: None });
        }
    }

    /// What the checks watch after every transaction: the sync log (what it says was dropped,
    /// and why), and the cursor, which never goes back (it may be forgotten, to start over).
    fn after_storage(&mut self, client: usize) {
        let in_forced_spaces = std::mem::take(&mut self.clients[client].in_forced_spaces);
        let store = &self.clients[client].store;
        // The log is read whole and cleared, so each entry is seen once.
        let log = store.log_entries();
        if !log.is_empty() {
            let _ = ready(store.clear_log());
        }
        // Only two strategies may drop a local value: server-wins, and a merge whose fallback takes
        // the server's value of a field both sides changed. Any other resolution that loses a
        // write is a bug, however it was logged.
        // The strategy is the one the client declared, not the one the log names.
        let drops_local = |e: &LogEntry<Data>| match (e.by, e.kept, store.strategy(&e.collection)) {
            (Some(By::User), ..) => false,
            // The two sides were the same (a delete against the server's own delete, say): the
            // write is what the server has, though nothing was sent.
            (_, Some(Kept::Server), _) if e.local == e.server => true,
            (_, Some(Kept::Server), Strategy::ServerWins) => true,
            (_, Some(Kept::Server | Kept::Merged), Strategy::Merge(Fallback::ServerWins)) => true,
            // The newer write wins: an older local one may give way.
            (_, Some(Kept::Server), Strategy::LastWriteWins) => true,
            (_, Some(Kept::Server | Kept::Merged), Strategy::Merge(Fallback::LastWriteWins)) => true,
            _ => false,
        };
        for entry in log.iter().filter(|e| drops_local(e)) {
            self.history.replaced(client, &entry.collection, &entry.id, self.tick);
        }
        // Forces, by the collections they name: a force pull that dropped the queued changes, as
        // asked; a force push, after which the server must have them.
        let in_scope = |e: &LogEntry<Data>, c: &str| e.collection == "*" || e.collection.split(',').any(|n| n == c);
        for entry in &log {
            if let Some(problem) = crate::blobs::check_log_entry(client, entry) {
                self.violations.push(problem);
            }
            if entry.kind == LogKind::Swept && !entry.id.is_empty() {
                self.stats.space_swept += entry.count.unwrap_or(0);
            }
            // A force pull by space (it names its spaces in `id`) drops the queued changes of the
            // records that were in its spaces, and only those.
            if (entry.kind, entry.kept) == (LogKind::ForcePull, Some(Kept::Server)) && !entry.id.is_empty() {
                self.stats.space_forces_dropping += u64::from(entry.count.unwrap_or(0) > 0);
                for (collection, id) in &in_forced_spaces {
                    self.history.force_dropped(client, collection, id, self.tick);
                }
                continue;
            }
            for collection in COLLECTIONS.iter().filter(|c| in_scope(entry, c)) {
                match (entry.kind, entry.kept) {
                    (LogKind::ForcePull, Some(Kept::Server)) if entry.id.is_empty() => {
                        self.history.dropped(client, collection, self.tick)
                    }
                    // A space removed: its records may go (the check expects only the spaces
                    // synced), and its queued changes only if they were to be discarded.
                    (LogKind::Wipe, _)
                        if !entry.id.is_empty()
                            && self.history.may_discard.contains(&(client, collection.to_string())) =>
                    {
                        self.history.dropped(client, collection, self.tick);
                    }
                    (LogKind::Wipe, _) if !entry.id.is_empty() => {}
                    (LogKind::Wipe, _) => {
                        if self.history.may_discard.contains(&(client, collection.to_string())) {
                            self.history.dropped(client, collection, self.tick);
                        }
                        self.history.wiped(client, collection);
                    }
                    (LogKind::ForcePush, _) => self.history.forced(client, collection, self.tick),
                    _ => {}
                }
            }
        }
        let cursor = store.stored_cursor();
        let seq = cursor.as_deref().and_then(decode_cursor);
        if let (Some(now), Some(before)) = (seq, self.clients[client].last_cursor) {
            if now < before {
                self.violations.push(format!("client {client}: the cursor went back from {before} to {now}"));
            }
        }
        self.clients[client].last_cursor = seq;
    }
}
