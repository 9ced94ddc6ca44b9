//! One simulated run: clients (each the real engine over the in-memory store, some with two tabs
//! sharing the store and the sync lock) and one server (the reference server's own code), with a
//! seeded scheduler choosing which of the steps that could happen next does.
//!
//! A step is one of: a user action (a write, a sync asked for, a conflict resolved, going offline
//! or online, a tab killed or restarted), one storage transaction of a client (run in the order
//! the tabs asked for them, as IndexedDB runs a database's transactions), a request reaching the
//! server, an answer reaching its tab, a timer, the sync lock granted or seen free, a message
//! between tabs. Faults are drawn per request: a 500 or a 429 before anything is applied, an
//! expired token, the answer lost after the server applied it, a request delivered twice, or a
//! slow answer that the client gives up on while the server applies it later, after the
//! client's retry.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ferrysync::core::error::Error;
use ferrysync::core::sync::engine::{Command, Engine, Event, Summary, Timer, Waiter};
use ferrysync::core::sync::failure::Failure;
use ferrysync::core::sync::memory::MemoryStore;
use ferrysync::core::sync::settings::Settings;
use ferrysync::core::sync::storage::{Batch, Choice, SyncStorage};
use ferrysync::core::write::Intent;
use ferrysync::protocol::{codes, decode_cursor, PullResponse, PushResponse};
use uuid::Uuid;

use crate::checks::History;
use crate::data::Data;
use crate::rng::Rng;
use crate::server::Server;

pub const COLLECTIONS: [&str; 2] = ["items", "notes"];

/// The clock the simulation starts at (ms since the epoch).
const EPOCH_MS: u64 = 1_700_000_000_000;
/// How long a client waits for an answer before it gives up (the transport's timeout).
const REQUEST_TIMEOUT_MS: u64 = 5_000;

/// What the scheduler may do next, once its time has come.
#[derive(Debug, Clone)]
enum Action {
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
    /// Another tab's message (BroadcastChannel).
    Message(TabRef, Message),
}

#[derive(Debug, Clone)]
enum Message {
    Change,
    Status(ferrysync::core::status::SyncStatus),
}

/// A tab of a client, in one life: a killed tab's late events are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TabRef {
    client: usize,
    tab: usize,
    life: u32,
}

#[derive(Debug)]
enum Kind {
    Push(Batch<Data>),
    Pull { cursor: Option<String>, limit: u32 },
    Probe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Ok,
    ServerError,
    Throttled,
    TokenExpired,
    AnswerLost,
    DeliveredTwice,
    /// The client times out; the server gets the request later.
    Slow,
}

/// Every fate but `Ok`, in the order `Stats::faults` counts them.
const FAULTS: [Fate; 6] =
    [Fate::ServerError, Fate::Throttled, Fate::TokenExpired, Fate::AnswerLost, Fate::DeliveredTwice, Fate::Slow];

#[derive(Debug)]
enum Answer {
    Push(Result<PushResponse<Data>, Failure>),
    Pull(Result<PullResponse<Data>, Failure>),
    Probe(Result<(), Failure>),
}

struct Request {
    from: TabRef,
    kind: Kind,
    fate: Fate,
    /// The answer on its way to the client (a client gets one answer, whatever the server saw).
    answer: Option<Answer>,
    answered: bool,
    /// Times the request will still reach the server.
    deliveries_left: u32,
}

/// One transaction a client's store runs, in the order it was asked for.
enum StorageOp {
    Engine(TabRef, Command<Data>),
    Write { tab: TabRef, collection: &'static str, id: String, intent: Intent, data: Option<Data> },
    Resolve { tab: TabRef, collection: String, id: String, choice: Choice },
}

struct Tab {
    engine: Option<Engine<Data>>,
    life: u32,
    timers: Vec<(Timer, u64)>,
}

struct Client {
    store: MemoryStore<Data>,
    tabs: Vec<Tab>,
    offline: bool,
    /// This client's clock is off by this much.
    skew_ms: i64,
    counter: u64,
    holder: Option<usize>,
    waiting: VecDeque<usize>,
    watchers: Vec<usize>,
    storage: VecDeque<StorageOp>,
    last_cursor: Option<u64>,
    /// Outcomes of `syncNow()` calls, by waiter.
    settled: BTreeMap<u64, Result<Summary, Error>>,
    user_actions_left: u32,
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
    pub conflicts_resolved: u64,
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
    }
}

pub struct World {
    pub stats: Stats,
    rng: Rng,
    now: u64,
    /// Steps taken, the order the checks compare events by.
    pub tick: u64,
    pub server: Server,
    clients: Vec<Client>,
    actions: Vec<(u64, Action)>,
    requests: BTreeMap<u64, Request>,
    next_request: u64,
    next_waiter: u64,
    faults: bool,
    shape: Shape,
    pub trace: Option<Vec<String>>,
    pub history: History,
    pub violations: Vec<String>,
}

/// Polls a future that is ready at once (the in-memory store's), without an executor.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the in-memory store never waits"),
    }
}

impl World {
    pub fn new(seed: u64, trace: bool) -> World {
        let mut rng = Rng::new(seed);
        let clients = rng.range(2, 3) as usize;
        let shape = Shape {
            clients,
            two_tabs: (0..clients).map(|_| rng.chance(40)).collect(),
            ids: rng.range(2, 4) as usize,
            user_actions: rng.range(12, 30) as u32,
            fault_percent: rng.range(0, 35),
            batch_size: rng.range(1, 4) as u32,
            pull_limit: rng.range(1, 4) as u32,
        };
        let mut world = World {
            stats: Stats::default(),
            now: EPOCH_MS,
            tick: 0,
            server: Server::new(),
            clients: Vec::new(),
            actions: Vec::new(),
            requests: BTreeMap::new(),
            next_request: 0,
            next_waiter: 0,
            faults: true,
            trace: trace.then(Vec::new),
            history: History::default(),
            violations: Vec::new(),
            shape: shape.clone(),
            rng,
        };
        world.note(|| format!("seed {seed}: {shape:?}"));
        for c in 0..shape.clients {
            let skew_ms = world.rng.range(0, 600_000) as i64 - 300_000;
            world.clients.push(Client {
                store: MemoryStore::new(&COLLECTIONS),
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
            });
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

    fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(format!("[{:>6} t+{:>7}ms] {}", self.tick, self.now - EPOCH_MS, line()));
        }
    }

    fn schedule(&mut self, after_ms: u64, action: Action) {
        self.actions.push((self.now + after_ms, action));
    }

    fn client_now(&self, client: usize) -> f64 {
        (self.now as i64 + self.clients[client].skew_ms) as f64
    }

    fn settings(&self) -> Settings {
        Settings {
            batch_size: self.shape.batch_size,
            pull_limit: self.shape.pull_limit,
            interval_ms: Some(20_000),
            debounce_ms: Some(300),
            sync_on_open: true,
            request_timeout_ms: REQUEST_TIMEOUT_MS as u32,
        }
    }

    // ----- tabs -----

    fn start_tab(&mut self, client: usize, tab: usize) {
        let seed = self.rng.next_u64();
        let settings = self.settings();
        let t = &mut self.clients[client].tabs[tab];
        t.life += 1;
        t.engine = Some(Engine::new(Some(settings), seed));
        t.timers.clear();
        let at = TabRef { client, tab, life: t.life };
        self.note(|| format!("client {client} tab {tab}: opened (life {})", at.life));
        let online = !self.clients[client].offline;
        self.feed(at, Event::Started { online, waiter: None });
    }

    fn kill_tab(&mut self, client: usize, tab: usize) {
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

    fn alive(&self, at: TabRef) -> bool {
        let t = &self.clients[at.client].tabs[at.tab];
        t.life == at.life && t.engine.is_some()
    }

    fn tab_ref(&self, client: usize, tab: usize) -> TabRef {
        TabRef { client, tab, life: self.clients[client].tabs[tab].life }
    }

    fn alive_tabs(&self, client: usize) -> Vec<usize> {
        (0..self.clients[client].tabs.len()).filter(|t| self.clients[client].tabs[*t].engine.is_some()).collect()
    }

    /// Hands an event to a tab's engine and carries out its commands.
    fn feed(&mut self, at: TabRef, event: Event<Data>) {
        if !self.alive(at) {
            return;
        }
        let now = self.client_now(at.client);
        let trace = self.trace.is_some();
        let label = if trace { format!("{event:?}") } else { String::new() };
        let Some(engine) = self.clients[at.client].tabs[at.tab].engine.as_mut() else { return };
        let commands = engine.handle(event, now);
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
            Command::Push { batch } => {
                for m in &batch.mutations {
                    self.history.sent.entry(m.mutation_id).or_insert((client, self.tick));
                }
                self.send(at, Kind::Push(batch))
            }
            Command::Pull { cursor, limit } => self.send(at, Kind::Pull { cursor, limit }),
            command @ (Command::ReadBatch { .. }
            | Command::ApplyPush { .. }
            | Command::ReadCursor
            | Command::ApplyPage { .. }
            | Command::ResetCursor
            | Command::Count { .. }) => self.clients[client].storage.push_back(StorageOp::Engine(at, command)),
            Command::Arm { timer, after_ms } => {
                let due = self.now + after_ms;
                let timers = &mut self.clients[client].tabs[at.tab].timers;
                timers.retain(|(t, _)| *t != timer);
                timers.push((timer, due));
                self.actions.push((due, Action::Timer(at, timer)));
            }
            Command::Cancel { timer } => self.clients[client].tabs[at.tab].timers.retain(|(t, _)| *t != timer),
            Command::Announce(_) => self.post_to_other_tabs(at, Message::Change),
            Command::Publish(_) => {}
            Command::PostStatus(status) => self.post_to_other_tabs(at, Message::Status(status)),
            Command::Settle { waiters, outcome } => {
                for Waiter(w) in waiters {
                    self.clients[client].settled.insert(w, outcome.clone());
                }
            }
        }
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
                self.schedule(delay, Action::Message(at, message.clone()));
            }
        }
    }

    // ----- network -----

    fn send(&mut self, from: TabRef, kind: Kind) {
        let id = self.next_request;
        self.next_request += 1;
        let fate = if self.clients[from.client].offline {
            // The request cannot leave; the transport fails it at once.
            let request = Request { from, kind, fate: Fate::Ok, answer: None, answered: false, deliveries_left: 0 };
            self.requests.insert(id, request);
            self.fail(id, Failure::Network { message: "offline".into(), retry_after_ms: None });
            self.schedule(0, Action::Answer(id));
            return;
        } else if self.faults && self.rng.chance(self.shape.fault_percent) {
            *self.rng.pick(&FAULTS).unwrap_or(&Fate::Ok)
        } else {
            Fate::Ok
        };
        self.note(|| {
            format!("request {id} from client {} tab {}: {} ({fate:?})", from.client, from.tab, kind_name(&kind))
        });
        match kind {
            Kind::Push(_) => self.stats.pushes += 1,
            Kind::Pull { .. } => self.stats.pulls += 1,
            Kind::Probe => {}
        }
        let fault = FAULTS.iter().position(|f| *f == fate);
        if let Some(i) = fault {
            self.stats.faults[i] += 1;
        }
        let deliveries_left = match fate {
            Fate::ServerError | Fate::Throttled | Fate::TokenExpired => 0,
            Fate::DeliveredTwice => 2,
            Fate::Ok | Fate::AnswerLost | Fate::Slow => 1,
        };
        self.requests.insert(id, Request { from, kind, fate, answer: None, answered: false, deliveries_left });
        let latency = self.rng.range(1, 60);
        match fate {
            Fate::ServerError => {
                self.fail(id, http(500, codes::INTERNAL, None));
                self.schedule(latency, Action::Answer(id));
            }
            Fate::Throttled => {
                self.fail(id, http(429, codes::RATE_LIMITED, Some(1_000)));
                self.schedule(latency, Action::Answer(id));
            }
            Fate::TokenExpired => {
                self.fail(id, http(401, codes::TOKEN_EXPIRED, None));
                self.schedule(latency, Action::Answer(id));
            }
            Fate::Slow => {
                // The client gives up first; the server gets it after the client's retry.
                self.fail(id, Failure::Network { message: "timed out".into(), retry_after_ms: None });
                self.schedule(REQUEST_TIMEOUT_MS, Action::Answer(id));
                let late = REQUEST_TIMEOUT_MS + self.rng.range(1, 30_000);
                self.schedule(late, Action::Deliver(id));
            }
            Fate::DeliveredTwice => {
                self.schedule(latency, Action::Deliver(id));
                let again = latency + self.rng.range(0, 3_000);
                self.schedule(again, Action::Deliver(id));
            }
            Fate::Ok | Fate::AnswerLost => self.schedule(latency, Action::Deliver(id)),
        }
    }

    fn fail(&mut self, id: u64, failure: Failure) {
        if let Some(r) = self.requests.get_mut(&id) {
            r.answer = Some(match r.kind {
                Kind::Push(_) => Answer::Push(Err(failure)),
                Kind::Pull { .. } => Answer::Pull(Err(failure)),
                Kind::Probe => Answer::Probe(Err(failure)),
            });
        }
    }

    fn deliver(&mut self, id: u64) {
        let Some(request) = self.requests.get(&id) else { return };
        let answer = match &request.kind {
            Kind::Push(batch) => Answer::Push(self.server.push(&batch.mutations)),
            Kind::Pull { cursor, limit } => Answer::Pull(self.server.pull(cursor.as_deref(), *limit)),
            Kind::Probe => Answer::Probe(Ok(())),
        };
        self.note(|| format!("request {id} reaches the server: {}", answer_name(&answer)));
        let latency = self.rng.range(1, 60);
        let Some(request) = self.requests.get_mut(&id) else { return };
        request.deliveries_left = request.deliveries_left.saturating_sub(1);
        if request.answered || request.answer.is_some() {
            // The client has its one answer already, or has one on its way (a timeout, or the
            // first of two deliveries): this one is lost.
            self.forget_if_done(id);
            return;
        }
        request.answer = Some(match (request.fate, answer) {
            (Fate::AnswerLost, _) => match request.kind {
                Kind::Push(_) => Answer::Push(Err(dropped())),
                Kind::Pull { .. } => Answer::Pull(Err(dropped())),
                Kind::Probe => Answer::Probe(Err(dropped())),
            },
            (_, answer) => answer,
        });
        self.schedule(latency, Action::Answer(id));
    }

    fn forget_if_done(&mut self, id: u64) {
        if self.requests.get(&id).is_some_and(|r| r.answered && r.deliveries_left == 0) {
            self.requests.remove(&id);
        }
    }

    fn answer(&mut self, id: u64) {
        let Some(request) = self.requests.get_mut(&id) else { return };
        let Some(answer) = request.answer.take() else { return };
        request.answered = true;
        let from = request.from;
        let event = match (&request.kind, answer) {
            (Kind::Push(batch), Answer::Push(answer)) => Event::Pushed { batch: batch.clone(), answer },
            (_, Answer::Pull(answer)) => Event::Pulled(answer),
            (_, Answer::Probe(answer)) => Event::Probed(answer),
            (_, Answer::Push(_)) => return,
        };
        self.forget_if_done(id);
        self.feed(from, event);
    }

    // ----- storage -----

    /// Runs the oldest storage transaction of `client`.
    fn run_storage(&mut self, client: usize) {
        let Some(op) = self.clients[client].storage.pop_front() else { return };
        let now = self.client_now(client);
        match op {
            StorageOp::Engine(at, command) => {
                // A tab that died before its transaction ran: the transaction never happened.
                if !self.alive(at) {
                    return;
                }
                let store = &self.clients[client].store;
                let event = match command {
                    Command::ReadBatch { max } => Event::BatchRead(ready(store.read_batch(max, now))),
                    Command::ApplyPush { batch, answer } => {
                        Event::PushApplied(ready(store.apply_push(batch, answer, now)))
                    }
                    Command::ReadCursor => Event::CursorRead(ready(store.cursor())),
                    Command::ApplyPage { asked_from, page } => {
                        Event::PageApplied(ready(store.apply_page(asked_from.as_deref(), page, now)))
                    }
                    Command::ResetCursor => Event::CursorReset(ready(store.reset_cursor())),
                    Command::Count { id } => Event::Counted { id, counts: ready(store.counts()) },
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
                        self.note(|| format!("client {client}: {intent:?} {collection}/{id} refused: {}", e.message))
                    }
                }
            }
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

    /// What the checks watch after every transaction: conflicts as they appear (both versions
    /// held), and the cursor, which never goes back (it may be forgotten, to start over).
    fn after_storage(&mut self, client: usize) {
        let store = &self.clients[client].store;
        for row in store.conflict_rows() {
            let local = row.local.as_ref().map(|s| s.data.as_ref().and_then(|d| d.token()).map(str::to_string));
            self.history.conflict(client, &row.collection, &row.id, local, self.tick);
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

    // ----- users -----

    fn user(&mut self, client: usize) {
        if self.clients[client].user_actions_left == 0 || !self.faults {
            return;
        }
        self.clients[client].user_actions_left -= 1;
        let next = self.rng.range(10, 2_500);
        self.schedule(next, Action::User(client));
        let alive = self.alive_tabs(client);
        let roll = self.rng.below(100);
        let Some(&tab) = self.rng.pick(&alive) else {
            // Every tab of this client is closed: open one again.
            return self.start_tab(client, 0);
        };
        let at = self.tab_ref(client, tab);
        match roll {
            0..=59 => self.user_write(at),
            60..=69 => {
                let w = self.next_waiter;
                self.next_waiter += 1;
                self.note(|| format!("client {client} tab {tab}: syncNow"));
                self.feed(at, Event::SyncAsked { waiter: Some(Waiter(w)) });
            }
            70..=77 => {
                let rows = self.clients[client].store.conflict_rows();
                if let Some(row) = self.rng.pick(&rows) {
                    let choice = if self.rng.chance(50) { Choice::Local } else { Choice::Server };
                    let op =
                        StorageOp::Resolve { tab: at, collection: row.collection.clone(), id: row.id.clone(), choice };
                    self.clients[client].storage.push_back(op);
                }
            }
            78..=85 => {
                let offline = !self.clients[client].offline;
                self.set_offline(client, offline);
            }
            86..=92 => self.kill_tab(client, tab),
            _ => {
                // Reopen a closed tab, if there is one.
                if let Some(closed) = (0..self.clients[client].tabs.len()).find(|t| !alive.contains(t)) {
                    self.start_tab(client, closed);
                } else {
                    self.user_write(at);
                }
            }
        }
    }

    fn user_write(&mut self, at: TabRef) {
        let collection = if self.rng.chance(80) { COLLECTIONS[0] } else { COLLECTIONS[1] };
        let id = format!("r{}", self.rng.below(self.shape.ids as u64));
        let c = &mut self.clients[at.client];
        c.counter += 1;
        let token = format!("c{}w{}", at.client, c.counter);
        let n = c.counter;
        let (intent, data) = match self.rng.below(100) {
            0..=24 => (Intent::Create, Some(Data::record(&token, n))),
            25..=44 => (Intent::Put, Some(Data::record(&token, n))),
            45..=69 => (Intent::Update, Some(Data::patch(&token))),
            70..=79 => (Intent::Replace, Some(Data::record(&token, n))),
            _ => (Intent::Delete, None),
        };
        self.clients[at.client].storage.push_back(StorageOp::Write { tab: at, collection, id, intent, data });
    }

    fn set_offline(&mut self, client: usize, offline: bool) {
        self.clients[client].offline = offline;
        self.stats.offline_periods += u64::from(offline);
        self.note(|| format!("client {client}: {}", if offline { "offline" } else { "online" }));
        for tab in self.alive_tabs(client) {
            let at = self.tab_ref(client, tab);
            self.feed(at, if offline { Event::Offline } else { Event::Online });
        }
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
            Action::Message(at, Message::Change) => self.feed(at, Event::RemoteChange),
            Action::Message(at, Message::Status(status)) => self.feed(at, Event::RemoteStatus(status)),
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
                    let op =
                        StorageOp::Resolve { tab: at, collection: row.collection, id: row.id, choice: Choice::Server };
                    self.clients[client].storage.push_back(op);
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
                        && c.store.stored_cursor().as_deref() == Some(now_head.as_str())
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

/// A mutation id of `client`: unique across clients, deterministic for a seed.
fn next_id(client: usize, counter: &mut u64) -> String {
    *counter += 1;
    Uuid::from_u128(((client as u128 + 1) << 64) | *counter as u128).hyphenated().to_string()
}

fn dropped() -> Failure {
    Failure::Network { message: "the connection dropped".into(), retry_after_ms: None }
}

fn http(status: u16, code: &str, retry_after_ms: Option<u64>) -> Failure {
    Failure::Http { status, code: code.into(), message: "injected".into(), retry_after_ms }
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Push(b) => {
            let ids: Vec<String> =
                b.mutations.iter().map(|m| format!("{}/{}:{:?}", m.collection, m.id, m.op)).collect();
            format!("push [{}]", ids.join(", "))
        }
        Kind::Pull { cursor, limit } => format!("pull after {cursor:?} limit {limit}"),
        Kind::Probe => "probe".into(),
    }
}

fn answer_name(answer: &Answer) -> String {
    match answer {
        Answer::Push(Ok(r)) => {
            let s: Vec<&str> = r.results.iter().map(|r| r.status()).collect();
            format!("[{}]", s.join(", "))
        }
        Answer::Pull(Ok(p)) => format!("{} changes to {}", p.changes.len(), p.cursor),
        Answer::Probe(Ok(())) => "ok".into(),
        Answer::Push(Err(f)) | Answer::Pull(Err(f)) | Answer::Probe(Err(f)) => format!("{f:?}"),
    }
}

fn command_name(c: &Command<Data>) -> String {
    match c {
        Command::Push { batch } => format!("Push({})", batch.len()),
        Command::ApplyPush { batch, .. } => format!("ApplyPush({})", batch.len()),
        Command::ApplyPage { page, .. } => format!("ApplyPage({}, {})", page.changes.len(), page.cursor),
        Command::Publish(_) => "Publish".into(),
        Command::PostStatus(_) => "PostStatus".into(),
        Command::Announce(_) => "Announce".into(),
        other => {
            let text = format!("{other:?}");
            short(&text).to_string()
        }
    }
}

fn short(s: &str) -> &str {
    let end = s.char_indices().nth(120).map_or(s.len(), |(i, _)| i);
    &s[..end]
}
