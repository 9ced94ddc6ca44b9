//! The sent mark in the in-memory store, as the IndexedDB store keeps it: a batch read counts its
//! send without writing on its entries, and a later write never coalesces into one of them; an
//! entry sent again counts on itself; a batch passing over a held change leaves it able to absorb
//! writes; a retried dead letter and a forced change, under new mutation ids, too.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use super::memory::{MemoryStore, Patch};
use super::rules::force::{Force, Scope};
use super::storage::SyncStorage;
use crate::core::outbox::Op;
use crate::core::write::Intent;
use crate::protocol::{MutationResult, PushResponse};

use super::conflict::tree::Tree;

/// Record data: one number, whole.
#[derive(Debug, Clone, PartialEq)]
struct N(u32);

impl Patch for N {
    fn patched(&self, patch: &Self) -> Self {
        patch.clone()
    }
}

impl Tree for N {
    fn fields(&self) -> Option<Vec<(String, N)>> {
        None
    }

    fn object(_: Vec<(String, N)>) -> N {
        unreachable!("no merge here")
    }

    fn same(&self, other: &N) -> bool {
        self == other
    }
}

fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the in-memory store never waits"),
    }
}

struct Client {
    store: MemoryStore<N>,
    ids: u64,
}

impl Client {
    fn new() -> Client {
        Client { store: MemoryStore::new(&["n"]), ids: 0 }
    }

    fn next_id(&mut self) -> String {
        self.ids += 1;
        format!("00000000-0000-7000-8000-{:012}", self.ids)
    }

    fn put(&mut self, id: &str, n: u32) {
        let mut ids = self.ids;
        let mut next = || {
            ids += 1;
            format!("00000000-0000-7000-8000-{ids:012}")
        };
        self.store.write("n", vec![(id.into(), Intent::Put, Some(N(n)))], &mut next, 1.0).unwrap();
        self.ids = ids;
    }

    /// The queue: (record, op, attempts as stored, never sent flag).
    fn queue(&self) -> Vec<(String, Op, u32, bool)> {
        self.store.outbox().into_iter().map(|e| (e.record_id, e.op, e.attempts, e.never_sent)).collect()
    }
}

#[test]
fn a_sent_entry_is_never_coalesced_into_and_holds_no_count() {
    let mut c = Client::new();
    c.put("a", 1);
    c.put("b", 1);
    let batch = ready(c.store.read_batch(100, &[], 2.0)).unwrap().unwrap();
    assert_eq!(batch.len(), 2);
    let unwritten = vec![("a".into(), Op::Create, 0, false), ("b".into(), Op::Create, 0, false)];
    assert_eq!(c.queue(), unwritten, "the mark counts the send; nothing is written on the entries");
    c.put("a", 2);
    assert_eq!(c.queue().len(), 3, "a write after the send gets an entry of its own");
    c.put("a", 3);
    assert_eq!(c.queue().len(), 3, "which absorbs the next one");
    // Sent again (the answer was lost): the count goes on the entries.
    let again = ready(c.store.read_batch(100, &[], 3.0)).unwrap().unwrap();
    assert_eq!(again.seqs, batch.seqs, "the same entries, under the same ids");
    assert_eq!(c.queue().iter().map(|e| e.2).collect::<Vec<_>>(), vec![2, 2, 0]);
}

#[test]
fn a_batch_passing_over_a_held_change_leaves_it_unsent() {
    let mut c = Client::new();
    c.put("a", 1);
    c.put("b", 1);
    let batch = ready(c.store.read_batch(1, &[], 2.0)).unwrap().unwrap();
    let rejected = MutationResult::Rejected {
        mutation_id: batch.mutations[0].mutation_id,
        code: "invalid".into(),
        message: "no".into(),
    };
    ready(c.store.apply_push(batch, PushResponse { results: vec![rejected], server_time: None }, 3.0)).unwrap();
    // "a" is a dead letter; "a" is written again behind it (a change of its own, held with it),
    // then "c": the next batch sends "b" and "c", passing over the two changes of "a".
    c.put("a", 2);
    c.put("c", 1);
    let batch = ready(c.store.read_batch(100, &[], 4.0)).unwrap().unwrap();
    assert_eq!(batch.mutations.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), vec!["b", "c"]);
    let queue = c.queue();
    assert_eq!(queue[2], ("a".into(), Op::Update, 0, true), "passed over below the batch's last: flagged");
    c.put("a", 3);
    assert_eq!(c.queue().len(), 4, "the flagged change still absorbs writes");
    // Retried under a new mutation id: never sent under it, so flagged too, until it is sent.
    let id = c.next_id();
    ready(c.store.retry_failed("n", "a", &id, 5.0)).unwrap();
    assert_eq!(c.queue()[0], ("a".into(), Op::Create, 0, true));
    let batch = ready(c.store.read_batch(100, &[], 6.0)).unwrap().unwrap();
    assert_eq!(batch.mutations[0].mutation_id.to_string(), id);
    assert_eq!(c.queue()[0], ("a".into(), Op::Create, 1, false), "sent once under its new id");
    // Forced: sent, so a new id again, never sent under it; the flagged change keeps its own.
    let forced_id = "00000000-0000-7000-8000-00000000ffff";
    ready(c.store.begin_force(&Force::Push(Scope::All), 7.0, &mut || forced_id.to_string())).unwrap();
    let forced: Vec<(String, u32, bool)> =
        c.store.outbox().into_iter().map(|e| (e.mutation_id, e.attempts, e.never_sent)).collect();
    assert_eq!(forced[0], (forced_id.to_string(), 0, true));
    assert!(forced[2].2, "the flagged change stays flagged");
    assert_ne!(forced[2].0, forced_id, "never sent: its own id");
}
