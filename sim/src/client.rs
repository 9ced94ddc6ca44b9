//! A client (one store shared by its tabs, its clock, its network state) and its tabs, each a
//! life of the real engine: the events a tab's engine is handed, and the commands it gives back
//! carried out (the sync lock between the tabs, the messages between them, the timers; requests
//! go to `network.rs`, storage transactions to `storage.rs`).

use std::collections::{BTreeMap, VecDeque};

use ferrysync::core::error::Error;
use ferrysync::core::sync::engine::{Command, Engine, Event, Summary, Timer, Waiter};
use ferrysync::core::sync::memory::MemoryStore;
use ferrysync::core::sync::settings::Settings;
use ferrysync::core::sync::storage::Batch;

use crate::data::Data;
use crate::network::{Kind, REQUEST_TIMEOUT_MS};
use crate::storage::StorageOp;
use crate::trace::{command_name, short};
use crate::world::{Action, World};

#[derive(Debug, Clone)]
pub(crate) enum Message {
    Change,
    Status(Box<ferrysync::core::status::SyncStatus>),
}

/// A tab of a client, in one life: a killed tab's late events are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TabRef {
    pub(crate) client: usize,
    pub(crate) tab: usize,
    pub(crate) life: u32,
}

pub(crate) struct Tab {
    pub(crate) engine: Option<Engine<Data>>,
    pub(crate) life: u32,
    pub(crate) timers: Vec<(Timer, u64)>,
}

pub(crate) struct Client {
    pub(crate) store: MemoryStore<Data>,
    pub(crate) tabs: Vec<Tab>,
    pub(crate) offline: bool,
    /// This client's clock is off by this much.
    pub(crate) skew_ms: i64,
    pub(crate) counter: u64,
    pub(crate) holder: Option<usize>,
    pub(crate) waiting: VecDeque<usize>,
    pub(crate) watchers: Vec<usize>,
    pub(crate) storage: VecDeque<StorageOp>,
    pub(crate) last_cursor: Option<u64>,
    /// Outcomes of `syncNow()` calls, by waiter.
    pub(crate) settled: BTreeMap<u64, Result<Summary, Error>>,
    pub(crate) user_actions_left: u32,
    /// The records with queued changes in the spaces of the force pull being begun (as they are
    /// here): what it drops, if its log entry says it dropped them.
    pub(crate) in_forced_spaces: Vec<(String, String)>,
}

impl World {
    pub(crate) fn client_now(&self, client: usize) -> f64 {
        (self.now as i64 + self.clients[client].skew_ms) as f64
    }

    fn settings(&self, client: usize) -> Settings {
        Settings {
            batch_size: self.shape.batch_size,
            pull_limit: self.shape.pull_limit,
            apply_limit: self.shape.apply_limit,
            interval_ms: Some(20_000),
            debounce_ms: Some(300),
            sync_on_open: true,
            request_timeout_ms: REQUEST_TIMEOUT_MS as u32,
            background_sync: false,
            chunk_bytes: crate::blobs::CHUNK_BYTES[client % crate::blobs::CHUNK_BYTES.len()],
            // Ranges as small as chunks: many cut points.
            download_chunk_bytes: crate::blobs::CHUNK_BYTES[client % crate::blobs::CHUNK_BYTES.len()],
            blob_cache_bytes: None,
        }
    }

    pub(crate) fn start_tab(&mut self, client: usize, tab: usize) {
        let seed = self.rng.next_u64();
        let settings = self.settings(client);
        let t = &mut self.clients[client].tabs[tab];
        t.life += 1;
        t.engine = Some(Engine::new(Some(settings), seed));
        t.timers.clear();
        let at = TabRef { client, tab, life: t.life };
        self.note(|| format!("client {client} tab {tab}: opened (life {})", at.life));
        let online = !self.clients[client].offline;
        self.feed(at, Event::Started { online, waiter: None });
    }

    pub(crate) fn kill_tab(&mut self, client: usize, tab: usize) {
        let t = &mut self.clients[client].tabs[tab];
        if t.engine.take().is_none() {
            return;
        }
        t.life += 1;
        t.timers.clear();
        self.stats.tabs_killed += 1;
        self.note(|| format!("client {client} tab {tab}: killed"));
        // The browser gives the lock of a closed tab back, and forgets its requests for it.
        let c = &mut self.clients[client];
        c.waiting.retain(|t| *t != tab);
        c.watchers.retain(|t| *t != tab);
        if c.holder == Some(tab) {
            c.holder = None;
            self.lock_freed(client);
        }
    }

    pub(crate) fn alive(&self, at: TabRef) -> bool {
        let t = &self.clients[at.client].tabs[at.tab];
        t.life == at.life && t.engine.is_some()
    }

    pub(crate) fn tab_ref(&self, client: usize, tab: usize) -> TabRef {
        TabRef { client, tab, life: self.clients[client].tabs[tab].life }
    }

    pub(crate) fn alive_tabs(&self, client: usize) -> Vec<usize> {
        (0..self.clients[client].tabs.len()).filter(|t| self.clients[client].tabs[*t].engine.is_some()).collect()
    }

    /// Hands an event to a tab's engine and carries out its commands.
    pub(crate) fn feed(&mut self, at: TabRef, event: Event<Data>) {
        if !self.alive(at) {
            return;
        }
        let now = self.client_now(at.client);
        let trace = self.trace.is_some();
        let label = if trace { format!("{event:?}") } else { String::new() };
        let Some(engine) = self.clients[at.client].tabs[at.tab].engine.as_mut() else { return };
        let commands = engine.handle(event, now);
        let applies = commands.iter().any(|c| matches!(c, Command::ApplyPage { .. } | Command::ApplySpaces { .. }));
        if applies && commands.iter().any(|c| matches!(c, Command::Pull { .. } | Command::PullSpaces { .. })) {
            self.stats.pages_ahead += 1;
        }
        let applies_push = commands.iter().any(|c| matches!(c, Command::ApplyPush { .. }));
        if applies_push && commands.iter().any(|c| matches!(c, Command::Push { .. })) {
            self.stats.batches_ahead += 1;
        }
        if trace {
            let names: Vec<String> = commands.iter().map(command_name).collect();
            self.note(|| format!("client {} tab {}: {} -> [{}]", at.client, at.tab, short(&label), names.join(", ")));
        }
        for command in commands {
            self.carry_out(at, command);
        }
    }

    fn carry_out(&mut self, at: TabRef, command: Command<Data>) {
        let client = at.client;
        match command {
            Command::TakeLock => {
                let c = &mut self.clients[client];
                if c.holder.is_none() {
                    c.holder = Some(at.tab);
                    self.schedule(0, Action::LockGranted(at));
                } else {
                    c.waiting.push_back(at.tab);
                }
            }
            Command::ReleaseLock => {
                let c = &mut self.clients[client];
                c.waiting.retain(|t| *t != at.tab);
                if c.holder == Some(at.tab) {
                    c.holder = None;
                    self.lock_freed(client);
                }
            }
            Command::WatchLock => {
                if self.clients[client].holder.is_none() {
                    self.schedule(0, Action::LockFree(at));
                } else {
                    self.clients[client].watchers.push(at.tab);
                }
            }
            Command::Probe => self.send(at, Kind::Probe),
            // The eviction marker lives outside the database; the simulation evicts nothing.
            Command::Mark { .. } => {}
            Command::Push { batch } => {
                if let Some(problem) = self.overtakes(client, &batch) {
                    self.violations.push(problem);
                }
                for m in &batch.mutations {
                    self.history.sent.entry(m.mutation_id).or_insert((client, self.tick));
                }
                self.send(at, Kind::Push(batch))
            }
            Command::Pull { cursor, limit } => self.send(at, Kind::Pull { cursor, limit }),
            Command::PullSpaces { request } => self.send(at, Kind::PullSpaces(request)),
            command @ (Command::ReadBatch { .. }
            | Command::ApplyPush { .. }
            | Command::ReadCursor
            | Command::ApplyPage { .. }
            | Command::ResetCursor
            | Command::SettleConflicts { .. }
            | Command::BeginForce(_)
            | Command::FinishForcePull
            | Command::Wipe { .. }
            | Command::ApplySpaces { .. }
            | Command::RemoveSpace { .. }
            | Command::AskResolvers(_)
            | Command::ApplyAnswers(_)
            | Command::NextUpload { .. }
            | Command::EndUpload { .. }
            | Command::NextDownload { .. }
            | Command::CheckDownload { .. }
            | Command::EndDownload { .. }
            | Command::Count { .. }) => self.clients[client].storage.push_back(StorageOp::Engine(at, command)),
            Command::BlobStatus { hash } => self.send(at, Kind::BlobStatus { hash }),
            Command::FetchRange { hash, offset, len } => self.send(at, Kind::Range { hash, offset, len }),
            Command::SendChunk { hash, offset, len, size } => {
                if let Some(problem) = self.heard.sending(client, &hash, offset) {
                    self.violations.push(problem);
                }
                let bytes = self.clients[client].store.blob_bytes(&hash).unwrap_or_default();
                let end = (offset + len).min(bytes.len() as u64);
                let chunk = bytes.get(offset as usize..end as usize).unwrap_or_default().to_vec();
                self.send(at, Kind::Chunk { hash, offset, size, bytes: chunk })
            }
            Command::Arm { timer, after_ms } => {
                let due = self.now + after_ms;
                let timers = &mut self.clients[client].tabs[at.tab].timers;
                timers.retain(|(t, _)| *t != timer);
                timers.push((timer, due));
                self.actions.push((due, Action::Timer(at, timer)));
            }
            Command::Cancel { timer } => self.clients[client].tabs[at.tab].timers.retain(|(t, _)| *t != timer),
            Command::Announce(_) => self.post_to_other_tabs(at, Message::Change),
            // No browser here to wake a closed tab: a tab that is gone resumes when reopened.
            Command::Publish(_) | Command::AskBackgroundSync | Command::AskPeriodicSync { .. } => {}
            Command::PostStatus(status) => self.post_to_other_tabs(at, Message::Status(Box::new(status))),
            Command::Settle { waiters, outcome } => {
                for Waiter(w) in waiters {
                    self.clients[client].settled.insert(w, outcome.clone());
                }
            }
        }
    }

    /// Whether an answer to a push waits in `client`'s storage queue to be applied.
    pub(crate) fn applying_push(&self, client: usize) -> bool {
        self.batches_applying(client).next().is_some()
    }

    /// The batches whose answers wait in `client`'s storage queue to be applied.
    fn batches_applying(&self, client: usize) -> impl Iterator<Item = &Batch<Data>> {
        self.clients[client].storage.iter().filter_map(|op| match op {
            StorageOp::Engine(_, Command::ApplyPush { batch, .. }) => Some(batch),
            _ => None,
        })
    }

    /// A batch leaving with an entry whose answer waits to be applied (sent twice at once), or
    /// with a change of a record while an earlier change of it is still queued (sent in a batch
    /// whose answer is not applied yet, or held): the later change would go out on a base
    /// version the server is about to move.
    fn overtakes(&self, client: usize, batch: &Batch<Data>) -> Option<String> {
        let applying = self.batches_applying(client).find_map(|b| b.seqs.iter().find(|s| batch.seqs.contains(s)));
        if let Some(seq) = applying {
            return Some(format!("client {client}: entry {seq} sent again while the answer to it waits to be applied"));
        }
        let outbox = self.clients[client].store.outbox();
        batch.mutations.iter().zip(&batch.seqs).find_map(|(m, seq)| {
            let earlier = outbox.iter().find(|e| e.is(&m.collection, &m.id) && e.seq < *seq)?;
            Some(format!(
                "client {client}: entry {seq} of {}/{} sent while entry {} of the same record is still queued",
                m.collection, m.id, earlier.seq
            ))
        })
    }

    fn lock_freed(&mut self, client: usize) {
        let c = &mut self.clients[client];
        let watchers = std::mem::take(&mut c.watchers);
        if let Some(next) = c.waiting.pop_front() {
            c.holder = Some(next);
            let at = self.tab_ref(client, next);
            self.schedule(0, Action::LockGranted(at));
        }
        for tab in watchers {
            let at = self.tab_ref(client, tab);
            self.schedule(1, Action::LockFree(at));
        }
    }

    fn post_to_other_tabs(&mut self, from: TabRef, message: Message) {
        for tab in self.alive_tabs(from.client) {
            if tab != from.tab {
                let at = self.tab_ref(from.client, tab);
                let delay = self.rng.range(0, 5);
                self.mail.entry((from.client, from.tab, tab)).or_default().push_back(message.clone());
                self.schedule(delay, Action::Message { to: at, from: from.tab });
            }
        }
    }
}
