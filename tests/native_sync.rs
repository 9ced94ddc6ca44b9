//! The engine driven natively, the simplest way: each client is the real engine over the
//! in-memory store, its commands carried out one after another, talking to a server in the same
//! process through the in-process transport. The server applies the protocol's own rules
//! (`Mutation::check`, `decide`). (The simulation in `sim/` does this with many clients, faults
//! and the reference server's code; this test shows the seams on their own.)

#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ferrysync::core::outbox::Op;
use ferrysync::core::sync::conflict::tree::Tree;
use ferrysync::core::sync::engine::{Command, Engine, Event, Summary, Waiter};
use ferrysync::core::sync::failure::Failure;
use ferrysync::core::sync::memory::{MemoryStore, Patch};
use ferrysync::core::sync::settings::Settings;
use ferrysync::core::sync::storage::{Choice, SyncStorage};
use ferrysync::core::sync::transport::{InProcess, Transport};
use ferrysync::core::write::Intent;
use ferrysync::protocol::{
    decide, decode_cursor, encode_cursor, Current, Decision, Mutation, MutationResult, PullResponse, PushResponse,
    ServerRecord,
};

/// Record data: a title.
#[derive(Debug, Clone, PartialEq)]
struct Title(String);

impl Patch for Title {
    fn patched(&self, patch: &Self) -> Self {
        patch.clone()
    }
}

/// A title is one value: conflicts over it are never merged field by field.
impl Tree for Title {
    fn fields(&self) -> Option<Vec<(String, Title)>> {
        None
    }

    fn object(_: Vec<(String, Title)>) -> Title {
        unreachable!("a merge builds objects only from objects")
    }

    fn same(&self, other: &Title) -> bool {
        self == other
    }
}

/// A server in this process: records by key with their version, the change order, and the
/// answer to every mutation id.
#[derive(Default)]
struct Server {
    records: BTreeMap<(String, String), (u64, Option<Title>, u64)>,
    seq: u64,
    answers: BTreeMap<uuid::Uuid, MutationResult<Title>>,
}

impl Server {
    fn push(&mut self, mutations: &[Mutation<Title>]) -> PushResponse<Title> {
        let mut results = Vec::new();
        for m in mutations {
            if let Some(answer) = self.answers.get(&m.mutation_id) {
                results.push(answer.clone());
                continue;
            }
            let key = (m.collection.clone(), m.id.clone());
            let change = m.check().expect("the client sends valid mutations");
            let current =
                self.records.get(&key).map(|(v, d, _)| Current { version: *v, deleted: d.is_none(), data: d.as_ref() });
            let result = match decide(current, change, m.base_version, m.force) {
                Decision::Unchanged { version } => MutationResult::Applied { mutation_id: m.mutation_id, version },
                Decision::Write { version, deleted } => {
                    self.seq += 1;
                    self.records.insert(key, (version, if deleted { None } else { m.data.clone() }, self.seq));
                    MutationResult::Applied { mutation_id: m.mutation_id, version }
                }
                Decision::Conflict => {
                    let (version, data) = self.records.get(&key).map(|(v, d, _)| (*v, d.clone())).unwrap_or((0, None));
                    let current = ServerRecord {
                        collection: m.collection.clone(),
                        id: m.id.clone(),
                        version,
                        deleted: data.is_none(),
                        data,
                        updated_at: None,
                        forced: false,
                    };
                    MutationResult::Conflict { mutation_id: m.mutation_id, current }
                }
            };
            self.answers.insert(m.mutation_id, result.clone());
            results.push(result);
        }
        PushResponse { results, server_time: None }
    }

    fn pull(&self, cursor: Option<&str>, limit: u32) -> Result<PullResponse<Title>, Failure> {
        let after = cursor.map_or(Some(0), decode_cursor).ok_or(Failure::BadAnswer("unknown cursor".into()))?;
        let mut changed: Vec<_> = self.records.iter().filter(|(_, (_, _, seq))| *seq > after).collect();
        changed.sort_by_key(|(_, (_, _, seq))| *seq);
        let page: Vec<_> = changed.iter().take(limit as usize).collect();
        let last = page.last().map_or(after, |(_, (_, _, seq))| *seq);
        Ok(PullResponse {
            changes: page
                .iter()
                .map(|((c, i), (v, d, _))| ServerRecord {
                    collection: c.clone(),
                    id: i.clone(),
                    version: *v,
                    deleted: d.is_none(),
                    data: d.clone(),
                    updated_at: None,
                    forced: false,
                })
                .collect(),
            cursor: encode_cursor(last),
            has_more: changed.len() > page.len(),
            server_time: None,
        })
    }
}

fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("nothing here waits"),
    }
}

/// Client `name`'s next mutation id: unique across clients.
fn mutation_id(name: u128, counter: &mut u64) -> String {
    *counter += 1;
    uuid::Uuid::from_u128((name << 64) | *counter as u128).hyphenated().to_string()
}

type PushFn<'s> = Box<dyn Fn(&[Mutation<Title>]) -> Result<PushResponse<Title>, Failure> + 's>;
type PullFn<'s> = Box<dyn Fn(Option<&str>, u32) -> Result<PullResponse<Title>, Failure> + 's>;

/// One client: the engine, its store, and a transport to the server.
struct Client<'s> {
    engine: Engine<Title>,
    store: MemoryStore<Title>,
    transport: InProcess<PushFn<'s>, PullFn<'s>>,
    ids: u64,
    name: u128,
    settled: Option<Result<Summary, ferrysync::core::error::Error>>,
}

impl<'s> Client<'s> {
    fn new(server: &'s RefCell<Server>, name: u128) -> Client<'s> {
        let settings = Settings {
            interval_ms: None,
            debounce_ms: None,
            sync_on_open: false,
            batch_size: 2,
            ..Settings::default()
        };
        let transport = InProcess {
            push: Box::new(move |m: &[Mutation<Title>]| Ok(server.borrow_mut().push(m))) as PushFn<'s>,
            pull: Box::new(move |c: Option<&str>, l: u32| server.borrow().pull(c, l)) as PullFn<'s>,
        };
        let mut client = Client {
            engine: Engine::new(Some(settings), 1),
            store: MemoryStore::new(&["notes"]),
            transport,
            ids: 0,
            name,
            settled: None,
        };
        client.feed(Event::Started { online: true, waiter: None });
        client
    }

    fn next_id(&mut self) -> String {
        mutation_id(self.name, &mut self.ids)
    }

    fn write(&mut self, id: &str, intent: Intent, title: Option<&str>) {
        let (name, ids) = (self.name, &mut self.ids);
        let mut next = || mutation_id(name, ids);
        let data = title.map(|t| Title(t.into()));
        let written = self.store.write("notes", vec![(id.into(), intent, data)], &mut next, 0.0).expect("the write");
        self.feed(Event::WriteCommitted { pending_delta: written.pending_delta, changes: written.changes });
    }

    /// `syncNow()`, carried out to its end.
    fn sync(&mut self) -> Summary {
        self.feed(Event::SyncAsked { waiter: Some(Waiter(1)) });
        self.settled.take().expect("settled").expect("a successful sync")
    }

    /// Hands an event to the engine and carries out every command, and what they lead to.
    fn feed(&mut self, first: Event<Title>) {
        let mut events = vec![first];
        while let Some(event) = events.pop() {
            for command in self.engine.handle(event, 0.0) {
                let next = match command {
                    Command::TakeLock => Some(Event::LockTaken),
                    Command::Probe => Some(Event::Probed(ready(self.transport.probe()))),
                    Command::ReadBatch { max, unapplied } => {
                        Some(Event::BatchRead(ready(self.store.read_batch(max, &unapplied, 0.0))))
                    }
                    Command::Push { batch } => {
                        let answer = ready(self.transport.push(&batch.mutations));
                        Some(Event::Pushed { batch, answer })
                    }
                    Command::ApplyPush { batch, answer } => {
                        Some(Event::PushApplied(ready(self.store.apply_push(batch, answer, 0.0))))
                    }
                    Command::ReadCursor => Some(Event::CursorRead(ready(self.store.pull_from()))),
                    Command::Pull { cursor, limit } => {
                        Some(Event::Pulled(ready(self.transport.pull(cursor.as_deref(), limit))))
                    }
                    Command::ApplyPage { asked_from, page, last } => {
                        Some(Event::PageApplied(ready(self.store.apply_page(asked_from.as_deref(), page, last, 0.0))))
                    }
                    Command::ResetCursor => Some(Event::CursorReset(ready(self.store.reset_cursor()))),
                    Command::SettleConflicts { clock_offset } => {
                        let (name, ids) = (self.name, &mut self.ids);
                        let settled =
                            ready(self.store.settle_conflicts(0.0, clock_offset, &mut || mutation_id(name, ids)));
                        Some(Event::ConflictsSettled(settled))
                    }
                    Command::Count { id } => Some(Event::Counted { id, counts: ready(self.store.counts()) }),
                    // No files here: the upload phase finds nothing to upload, nor the download
                    // phase anything to download.
                    Command::NextUpload { skip } => Some(Event::UploadRead(ready(self.store.next_upload(&skip)))),
                    Command::NextDownload { skip } => Some(Event::DownloadRead(ready(self.store.next_download(&skip)))),
                    Command::Settle { outcome, .. } => {
                        self.settled = Some(outcome);
                        None
                    }
                    // One tab, no timers: nothing else to carry out.
                    _ => None,
                };
                events.extend(next);
            }
        }
    }

    fn titles(&self) -> Vec<(String, String)> {
        self.store.live_records().into_iter().map(|(_, id, t)| (id, t.0)).collect()
    }
}

#[test]
fn two_clients_converge_through_an_in_process_server_and_settle_a_conflict() {
    let server = RefCell::new(Server::default());
    let mut a = Client::new(&server, 1);
    let mut b = Client::new(&server, 2);
    // Offline writes: three creates, one of them deleted before any sync (nothing is sent).
    a.write("n1", Intent::Create, Some("one"));
    a.write("n2", Intent::Create, Some("two"));
    a.write("n3", Intent::Create, Some("three"));
    a.write("n3", Intent::Delete, None);
    assert_eq!(a.store.outbox().len(), 2);
    let summary = a.sync();
    assert_eq!((summary.pushed, summary.pulled), (2, 2), "pushed in batches of 2, then its own changes pulled back");
    assert_eq!(b.sync().pulled, 2);
    assert_eq!(b.titles(), a.titles());

    // Both edit n1: the second to push gets a conflict and keeps both versions.
    a.write("n1", Intent::Update, Some("from a"));
    b.write("n1", Intent::Update, Some("from b"));
    a.sync();
    let summary = b.sync();
    assert_eq!(summary.conflicts, 1);
    let rows = ready(b.store.conflicts()).unwrap();
    assert_eq!(
        (rows[0].server.data.clone(), rows[0].local.as_ref().and_then(|s| s.data.clone())),
        (Some(Title("from a".into())), Some(Title("from b".into())))
    );
    assert_eq!(b.engine.status().conflicts, 1, "the status counts it");

    // b keeps its own: a new change on top of the server's version, pushed, pulled by a.
    let id = b.next_id();
    let decided = ready(b.store.resolve_conflict("notes", "n1", Choice::Local, &id, 0.0)).unwrap();
    assert_eq!(decided.changes.0[0].1, vec![("n1".to_string(), Op::Update)]);
    b.feed(Event::Decided { decided, waiter: None });
    assert_eq!(b.sync().pushed, 1);
    a.sync();
    assert_eq!(a.titles(), vec![("n1".into(), "from b".into()), ("n2".into(), "two".into())]);
    assert_eq!(a.titles(), b.titles());
    assert!(a.store.outbox().is_empty() && b.store.outbox().is_empty());
    assert_eq!((a.engine.status().pending, b.engine.status().pending, b.engine.status().conflicts), (0, 0, 0));
}
