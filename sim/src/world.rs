//! One simulated run: clients (each the real engine over the in-memory store, some with two tabs
//! sharing the store and the sync lock) and one server (the reference server's own code), with a
//! seeded scheduler choosing which of the steps that could happen next does.
//!
//! A step is one of: a user action (a write, a sync asked for, a conflict resolved, going offline
//! or online, a tab killed or restarted), one storage transaction of a client (run in the order
//! the tabs asked for them, as IndexedDB runs a database's transactions), a request reaching the
//! server, an answer reaching its tab, a timer, the sync lock granted or seen free, a message
//! between tabs.
//!
//! This file holds the world as its seed makes it, the scheduler and the quiesce; the actors
//! have their own files: `client.rs` (clients and their tabs, each driving an engine),
//! `storage.rs` (a client's store transactions), `user.rs` (what the users do), `network.rs`
//! (requests, their fates, their answers), `trace.rs` (the trace's lines and names).

use ferrysync::core::sync::conflict::merge::Fallback;
use ferrysync::core::sync::conflict::strategy::Strategy;
use ferrysync::core::sync::storage::SyncStorage;
use std::collections::{BTreeMap, VecDeque};

use ferrysync::core::sync::engine::{Event, Timer, Waiter};
use ferrysync::core::sync::memory::MemoryStore;
use ferrysync::core::sync::storage::Choice;
use ferrysync::core::write::Intent;

use crate::checks::History;
use crate::client::{Client, Message, Tab, TabRef};
use crate::data::Data;
use crate::network::Request;
use crate::rng::Rng;
use crate::server::Server;
use crate::storage::StorageOp;

pub const COLLECTIONS: [&str; 2] = ["items", "notes"];

/// The field of `items` that a unique index keeps to one record per client, as an app's schema
/// may declare (`unique: true`). The server knows nothing of it: two clients can each give the
/// same value to a different record, and a client then cannot store the other's.
pub const UNIQUE_FIELD: &str = "u";

/// `notes` syncs by space: its records' field `s` names one of these (or none).
pub const SPACE_FIELD: &str = "s";
pub const SPACES: [&str; 3] = ["s0", "s1", "s2"];

/// The conflict strategies a client's collection may declare.
const STRATEGIES: [Strategy; 9] = [
    Strategy::Manual,
    Strategy::ServerWins,
    Strategy::ClientWins,
    Strategy::Merge(Fallback::Manual),
    Strategy::Merge(Fallback::ServerWins),
    Strategy::Merge(Fallback::ClientWins),
    Strategy::Custom,
    Strategy::LastWriteWins,
    Strategy::Merge(Fallback::LastWriteWins),
];

/// The clock the simulation starts at (ms since the epoch).
pub(crate) const EPOCH_MS: u64 = 1_700_000_000_000;

/// What the scheduler may do next, once its time has come.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// The next user action of a client.
    User(usize),
    /// A request reaches the server.
    Deliver(u64),
    /// The answer to a request (or its failure) reaches the tab.
    Answer(u64),
    Timer(TabRef, Timer),
    /// The sync lock is granted to the tab.
    LockGranted(TabRef),
    /// The tab sees the sync lock free.
    LockFree(TabRef),
    /// Another tab's message (BroadcastChannel) reaches the tab: the oldest one the tab
    /// `from` (of the same client) posted to it that has not arrived yet. A channel delivers
    /// one sender's messages in the order they were posted, whatever their delays.
    Message {
        to: TabRef,
        from: usize,
    },
}

/// Parameters of a run, drawn from its seed.
#[derive(Debug, Clone)]
pub struct Shape {
    pub clients: usize,
    pub two_tabs: Vec<bool>,
    pub ids: usize,
    pub user_actions: u32,
    pub fault_percent: u64,
    pub batch_size: u32,
    pub pull_limit: u32,
    /// Pulled changes written per transaction: below `pull_limit`, pages are applied in slices.
    pub apply_limit: u32,
    /// `notes` syncs by space (pulls by space); otherwise every client pulls the whole tenant.
    pub by_space: bool,
    /// The server's batch limit: below a client's batch size, pushes are refused with 413 and
    /// the client halves its batches.
    pub max_batch: usize,
}

/// What a run exercised, to show what the seeds cover.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub writes: u64,
    pub pushes: u64,
    pub pulls: u64,
    /// Requests by fate other than `Ok`: 500, 429, expired token, answer lost, delivered twice,
    /// slow (the client gave up, the server applied it later).
    pub faults: [u64; 6],
    pub offline_periods: u64,
    pub tabs_killed: u64,
    /// Conflicts a user (or the quiesce) decided.
    pub conflicts_resolved: u64,
    /// Conflicts settled by a collection's strategy.
    pub auto_resolved: u64,
    /// Force pushes and pulls asked for.
    pub forces: u64,
    /// Force pulls by space asked for.
    pub space_forces: u64,
    /// Those refused (a space not synced here, or none named).
    pub space_forces_refused: u64,
    /// Those that dropped queued changes, as their log entries say.
    pub space_forces_dropping: u64,
    /// Records their sweeps removed (the server no longer had them in those spaces).
    pub space_swept: u64,
    /// Collection wipes asked for.
    pub wipes: u64,
    /// Spaces added or removed.
    pub space_changes: u64,
    /// Dead letters retried or discarded.
    pub dead_letter_decisions: u64,
    /// Pushes the server refused as too many mutations (413): the client halves its batches.
    pub batches_refused: u64,
    /// Local writes refused for a value a unique index already holds here.
    pub unique_refused: u64,
    /// Pulled versions that clashed on a unique index, found by the quiesce (which gave the
    /// record here another value).
    pub clashes: u64,
    /// Pull requests sent while the page before them was being applied (a page asked for ahead).
    pub pages_ahead: u64,
    /// Push requests sent while the answer before them was being applied (a pipelined push),
    /// and those of them that met a fault (a lost answer, a 500, a slow answer...) meanwhile.
    pub batches_ahead: u64,
    pub batches_cut: u64,
    /// Pulled pages whose transaction aborted (a storage fault): the page ahead, if any, is
    /// thrown away.
    pub pages_failed: u64,
    /// Slices of pulled pages written before their page's last one (the cursor stays).
    pub slices: u64,
    /// Blob upload status requests, chunk requests, and the bytes those chunks carried.
    pub blob_asks: u64,
    pub chunks: u64,
    pub chunk_bytes: u64,
    /// Blob range requests (downloads), and those answered with a byte changed on the way.
    pub ranges: u64,
    pub ranges_corrupted: u64,
    /// Writes of a record with a blob.
    pub blob_writes: u64,
}

impl Stats {
    pub fn add(&mut self, other: &Stats) {
        self.writes += other.writes;
        self.pushes += other.pushes;
        self.pulls += other.pulls;
        for (a, b) in self.faults.iter_mut().zip(other.faults) {
            *a += b;
        }
        self.offline_periods += other.offline_periods;
        self.tabs_killed += other.tabs_killed;
        self.conflicts_resolved += other.conflicts_resolved;
        self.auto_resolved += other.auto_resolved;
        self.forces += other.forces;
        self.space_forces += other.space_forces;
        self.space_forces_refused += other.space_forces_refused;
        self.space_forces_dropping += other.space_forces_dropping;
        self.space_swept += other.space_swept;
        self.wipes += other.wipes;
        self.space_changes += other.space_changes;
        self.dead_letter_decisions += other.dead_letter_decisions;
        self.batches_refused += other.batches_refused;
        self.unique_refused += other.unique_refused;
        self.clashes += other.clashes;
        self.pages_ahead += other.pages_ahead;
        self.batches_ahead += other.batches_ahead;
        self.batches_cut += other.batches_cut;
        self.pages_failed += other.pages_failed;
        self.slices += other.slices;
        self.blob_asks += other.blob_asks;
        self.chunks += other.chunks;
        self.chunk_bytes += other.chunk_bytes;
        self.ranges += other.ranges;
        self.ranges_corrupted += other.ranges_corrupted;
        self.blob_writes += other.blob_writes;
    }
}

pub struct World {
    pub stats: Stats,
    pub(crate) rng: Rng,
    pub(crate) now: u64,
    /// Steps taken, the order the checks compare events by.
    pub tick: u64,
    pub server: Server,
    pub(crate) clients: Vec<Client>,
    pub(crate) actions: Vec<(u64, Action)>,
    /// Messages posted and not delivered yet, by (client, from tab, to tab), oldest first.
    pub(crate) mail: BTreeMap<(usize, usize, usize), std::collections::VecDeque<Message>>,
    pub(crate) requests: BTreeMap<u64, Request>,
    pub(crate) next_request: u64,
    pub(crate) next_waiter: u64,
    pub(crate) faults: bool,
    pub(crate) shape: Shape,
    pub trace: Option<Vec<String>>,
    pub history: History,
    pub violations: Vec<String>,
    /// The blobs users attach, and what each client heard the server hold of each.
    pub(crate) pool: crate::blobs::Pool,
    pub(crate) heard: crate::blobs::Heard,
}

impl World {
    pub fn new(seed: u64, trace: bool) -> World {
        World::build(seed, trace, None)
    }

    /// A world whose clients all declare `strategies` (one per collection of `COLLECTIONS`) and
    /// whose users do nothing by themselves: the caller scripts what happens (`order.rs`).
    pub fn scripted(seed: u64, trace: bool, strategies: [Strategy; 2]) -> World {
        let mut world = World::build(seed, trace, Some(strategies));
        for client in &mut world.clients {
            client.user_actions_left = 0;
        }
        world
    }

    fn build(seed: u64, trace: bool, fixed: Option<[Strategy; 2]>) -> World {
        let mut rng = Rng::new(seed);
        // Drawn from a stream of their own, so that the main one stays as it was before them.
        let mut side = Rng::new(seed.rotate_left(17) ^ 0xA991);
        let clients = rng.range(2, 3) as usize;
        let shape = Shape {
            clients,
            two_tabs: (0..clients).map(|_| rng.chance(40)).collect(),
            ids: rng.range(2, 4) as usize,
            user_actions: rng.range(12, 30) as u32,
            fault_percent: rng.range(0, 35),
            batch_size: rng.range(1, 4) as u32,
            pull_limit: rng.range(1, 4) as u32,
            max_batch: rng.range(1, 5) as usize,
            apply_limit: side.range(1, 3) as u32,
            by_space: side.chance(75),
        };
        let mut world = World {
            stats: Stats::default(),
            now: EPOCH_MS,
            tick: 0,
            server: Server::new(shape.max_batch),
            clients: Vec::new(),
            actions: Vec::new(),
            mail: BTreeMap::new(),
            requests: BTreeMap::new(),
            next_request: 0,
            next_waiter: 0,
            faults: true,
            trace: trace.then(Vec::new),
            history: History::default(),
            violations: Vec::new(),
            shape: shape.clone(),
            rng,
            pool: crate::blobs::Pool::new(seed),
            heard: crate::blobs::Heard::default(),
        };
        world.note(|| format!("seed {seed}: {shape:?}"));
        for c in 0..shape.clients {
            let skew_ms = world.rng.range(0, 600_000) as i64 - 300_000;
            // Each client declares its own strategy per collection: clients that disagree must
            // still converge.
            let strategies: Vec<(&str, Strategy)> = match fixed {
                Some(fixed) => COLLECTIONS.iter().copied().zip(fixed).collect(),
                None => COLLECTIONS
                    .iter()
                    .map(|c| (*c, *world.rng.pick(&STRATEGIES).unwrap_or(&Strategy::Manual)))
                    .collect(),
            };
            world.note(|| format!("client {c}: conflicts {strategies:?}"));
            let store = MemoryStore::with_strategies(&strategies).with_unique(COLLECTIONS[0], UNIQUE_FIELD);
            let store = if world.shape.by_space { store.with_space(COLLECTIONS[1], SPACE_FIELD) } else { store };
            world.clients.push(Client {
                store: store.with_blob_policy(crate::blobs::policy(c).0, crate::blobs::policy(c).1),
                tabs: Vec::new(),
                offline: false,
                skew_ms,
                counter: 0,
                holder: None,
                waiting: VecDeque::new(),
                watchers: Vec::new(),
                storage: VecDeque::new(),
                last_cursor: None,
                settled: BTreeMap::new(),
                user_actions_left: shape.user_actions,
                in_forced_spaces: Vec::new(),
            });
            // Each client syncs its own spaces (maybe none: then only what belongs to none).
            for space in SPACES {
                if world.rng.chance(60) {
                    let _ = crate::storage::ready(world.clients[c].store.add_space(space));
                }
            }
            let spaces = world.clients[c].store.space_cursors();
            world.note(|| format!("client {c}: spaces {:?}", spaces.keys().collect::<Vec<_>>()));
            let tabs = if shape.two_tabs[c] { 2 } else { 1 };
            for t in 0..tabs {
                world.clients[c].tabs.push(Tab { engine: None, life: 0, timers: Vec::new() });
                world.start_tab(c, t);
            }
            let first = world.rng.range(0, 500);
            world.schedule(first, Action::User(c));
        }
        world
    }

    pub(crate) fn schedule(&mut self, after_ms: u64, action: Action) {
        self.actions.push((self.now + after_ms, action));
    }

    // ----- the scheduler -----

    /// Takes one step: one of the things that can happen now, chosen by the seed; when nothing
    /// can, the clock moves to the next thing that will. False when nothing is left to do
    /// (besides periodic syncs, when `ignore_interval`).
    pub fn step(&mut self, ignore_interval: bool) -> bool {
        loop {
            let ready_actions: Vec<usize> =
                (0..self.actions.len()).filter(|i| self.actions[*i].0 <= self.now).collect();
            let storage: Vec<usize> =
                (0..self.clients.len()).filter(|c| !self.clients[*c].storage.is_empty()).collect();
            let choices = ready_actions.len() + storage.len();
            if choices > 0 {
                self.tick += 1;
                let pick = self.rng.below(choices as u64) as usize;
                if pick < ready_actions.len() {
                    let (_, action) = self.actions.swap_remove(ready_actions[pick]);
                    self.act(action);
                } else {
                    self.run_storage(storage[pick - ready_actions.len()]);
                }
                return true;
            }
            let next = self
                .actions
                .iter()
                .filter(|(_, a)| !(ignore_interval && matches!(a, Action::Timer(_, Timer::Interval))))
                .filter(|(_, a)| !matches!(a, Action::User(_)) || self.faults)
                .map(|(due, _)| *due)
                .min();
            match next {
                Some(due) => self.now = due,
                None => return false,
            }
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::User(client) => self.user(client),
            Action::Deliver(id) => self.deliver(id),
            Action::Answer(id) => self.answer(id),
            Action::Timer(at, timer) => {
                if !self.alive(at) {
                    return;
                }
                // Only the timer as last armed fires (a re-armed or cancelled one does not).
                let timers = &mut self.clients[at.client].tabs[at.tab].timers;
                let Some(pos) = timers.iter().position(|(t, due)| *t == timer && *due == self.now) else { return };
                timers.remove(pos);
                self.feed(at, Event::TimerFired(timer));
            }
            Action::LockGranted(at) => {
                if self.alive(at) && self.clients[at.client].holder == Some(at.tab) {
                    self.feed(at, Event::LockTaken);
                }
            }
            Action::LockFree(at) => self.feed(at, Event::LockFree),
            Action::Message { to, from } => {
                let queue = self.mail.get_mut(&(to.client, from, to.tab));
                match queue.and_then(|q| q.pop_front()) {
                    Some(Message::Change) => self.feed(to, Event::RemoteChange),
                    Some(Message::Status(status)) => self.feed(to, Event::RemoteStatus(*status)),
                    None => {}
                }
            }
        }
    }

    /// Runs the chaos phase: every user action, with faults, until the users are done.
    pub fn run_chaos(&mut self, max_steps: u64) {
        let mut steps = 0;
        while self.clients.iter().any(|c| c.user_actions_left > 0) && steps < max_steps {
            if !self.step(false) {
                break;
            }
            steps += 1;
        }
    }

    /// Faults off, everyone online with a tab open, then rounds of: conflicts resolved (the
    /// server's version kept), a sync on every client, run until idle; until a round changes
    /// nothing. Returns whether it got there.
    pub fn quiesce(&mut self, max_rounds: u32) -> bool {
        self.faults = false;
        self.note(|| "quiesce: faults off".into());
        for client in 0..self.clients.len() {
            if self.clients[client].offline {
                self.set_offline(client, false);
            }
            if self.alive_tabs(client).is_empty() {
                self.start_tab(client, 0);
            }
        }
        for round in 0..max_rounds {
            let head = self.server.head();
            for client in 0..self.clients.len() {
                let tab = self.alive_tabs(client)[0];
                let at = self.tab_ref(client, tab);
                for row in self.clients[client].store.conflict_rows() {
                    // The server's version clashes with a record here on the unique index: the
                    // user gives that record another value first, as an app would ask them to.
                    let holder = row
                        .server
                        .data
                        .as_ref()
                        .and_then(|d| self.clients[client].store.unique_holder(&row.collection, &row.id, d));
                    if let Some(holder) = holder {
                        self.stats.clashes += 1;
                        let c = &mut self.clients[client];
                        c.counter += 1;
                        let token = format!("c{client}w{}", c.counter);
                        let data = Some(Data::unique_patch(&token, &format!("{token}u")));
                        let collection = COLLECTIONS[0];
                        c.storage.push_back(StorageOp::Write {
                            tab: at,
                            collection,
                            id: holder,
                            intent: Intent::Update,
                            data,
                        });
                    }
                    let op =
                        StorageOp::Resolve { tab: at, collection: row.collection, id: row.id, choice: Choice::Server };
                    self.clients[client].storage.push_back(op);
                }
                // What the server rejected stays rejected: dropped, so that the run can go quiet.
                let dead = crate::storage::ready(self.clients[client].store.dead_letters()).unwrap_or_default();
                for d in dead {
                    let (collection, id) = (d.entry.collection, d.entry.record_id);
                    self.clients[client].storage.push_back(StorageOp::Discard { tab: at, collection, id });
                }
            }
            let mut waiters = Vec::new();
            for client in 0..self.clients.len() {
                let tab = self.alive_tabs(client)[0];
                let at = self.tab_ref(client, tab);
                let w = self.next_waiter;
                self.next_waiter += 1;
                waiters.push((client, w));
                self.feed(at, Event::SyncAsked { waiter: Some(Waiter(w)) });
            }
            let mut steps = 0u64;
            while self.step(true) {
                steps += 1;
                if steps > 200_000 {
                    self.violations.push("quiesce: a round never became idle".into());
                    return false;
                }
            }
            // Quiet: nothing reached the server this round, and every client has all of it.
            let now_head = self.server.head();
            let quiet = now_head == head
                && waiters.iter().all(|(client, w)| {
                    let c = &self.clients[*client];
                    matches!(c.settled.get(w), Some(Ok(_)))
                        && c.store.outbox().is_empty()
                        && c.store.conflict_rows().is_empty()
                        // A space's cursor stays where its last change was; the sync ended with
                        // every space pulled to its end, after the last write.
                        && (c.store.by_space() || c.store.stored_cursor().as_deref() == Some(now_head.as_str()))
                });
            self.note(|| format!("quiesce: round {round} {}", if quiet { "quiet" } else { "busy" }));
            if quiet {
                return true;
            }
        }
        false
    }

    // ----- what the checks read -----

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    pub fn store(&self, client: usize) -> &MemoryStore<Data> {
        &self.clients[client].store
    }

    /// The status of every open tab of `client`.
    pub fn statuses(&self, client: usize) -> Vec<ferrysync::core::status::SyncStatus> {
        self.clients[client].tabs.iter().filter_map(|t| t.engine.as_ref().map(|e| e.status().clone())).collect()
    }
}
