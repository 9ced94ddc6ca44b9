//! Unique indexes in the in-memory store, as the IndexedDB store keeps them: a local write that
//! clashes is refused with nothing changed; a pulled version that clashes becomes a conflict
//! (tried once more after the rest of its page); such a conflict takes the server's version by
//! itself, whatever the strategy, once the clash is gone, and stays while it lasts; a person
//! keeping the server's side while it clashes is refused.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use super::conflict::strategy::Strategy;
use super::conflict::test_tree::{leaf, obj, V};
use super::memory::{MemoryStore, Patch};
use super::storage::{Choice, SyncStorage};
use crate::core::error::ErrorKind;
use crate::core::write::Intent;
use crate::protocol::{PullResponse, ServerRecord};

impl Patch for V {
    fn patched(&self, patch: &Self) -> Self {
        let (V::Obj(mine), V::Obj(theirs)) = (self, patch) else { return patch.clone() };
        let mut out = mine.clone();
        for (k, v) in theirs {
            match out.iter_mut().find(|(f, _)| f == k) {
                Some(slot) => slot.1 = v.clone(),
                None => out.push((k.clone(), v.clone())),
            }
        }
        V::Obj(out)
    }
}

/// The output of a future of the in-memory store, which never waits.
pub(super) fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the in-memory store never waits"),
    }
}

fn user(email: &str) -> V {
    obj(&[("email", leaf(email))])
}

fn store(strategy: Strategy) -> MemoryStore<V> {
    MemoryStore::with_strategies(&[("users", strategy)]).with_unique("users", "email")
}

fn write(s: &MemoryStore<V>, id: &str, intent: Intent, data: Option<V>) -> crate::core::error::Result<()> {
    let mut n = 0;
    let mut ids = || {
        n += 1;
        format!("00000000-0000-7000-8000-{n:012}")
    };
    s.write("users", vec![(id.into(), intent, data)], &mut ids, 1.0).map(|_| ())
}

fn page(changes: &[(&str, u64, &str)], cursor: &str) -> PullResponse<V> {
    PullResponse {
        changes: changes
            .iter()
            .map(|(id, version, email)| ServerRecord {
                collection: "users".into(),
                id: id.to_string(),
                version: *version,
                deleted: false,
                data: Some(user(email)),
                updated_at: Some(10),
                forced: false,
            })
            .collect(),
        cursor: cursor.into(),
        has_more: false,
        server_time: None,
    }
}

fn email_of(s: &MemoryStore<V>, id: &str) -> Option<V> {
    s.live_records().into_iter().find(|(_, i, _)| i == id).map(|(.., d)| d)
}

fn settle(s: &MemoryStore<V>) -> u64 {
    let mut n = 0;
    let mut ids = || {
        n += 1;
        format!("00000000-0000-7000-9000-{n:012}")
    };
    ready(s.settle_conflicts(5.0, 0.0, &mut ids)).unwrap().resolved
}

#[test]
fn a_local_write_that_clashes_is_refused_and_changes_nothing() {
    let s = store(Strategy::Manual);
    write(&s, "a", Intent::Create, Some(user("x"))).unwrap();
    let e = write(&s, "b", Intent::Create, Some(user("x"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RecordExists);
    assert!(e.message.contains("\"email\"") && e.message.contains("\"a\""), "{}", e.message);
    assert_eq!(email_of(&s, "b"), None);
    assert_eq!(s.outbox().len(), 1);
    // The record itself may keep its value, and a value given up is free again.
    write(&s, "a", Intent::Put, Some(user("x"))).unwrap();
    write(&s, "a", Intent::Update, Some(user("y"))).unwrap();
    write(&s, "b", Intent::Create, Some(user("x"))).unwrap();
}

#[test]
fn a_page_that_moves_a_value_to_another_record_stores_both_in_either_order() {
    for order in [["a", "b"], ["b", "a"]] {
        let s = store(Strategy::Manual);
        ready(s.apply_page(None, page(&[("a", 1, "x"), ("b", 1, "y")], "c1"), true, 1.0)).unwrap();
        // "b" takes the value "a" gives up: "b" first clashes until "a" is in.
        let emails = |id: &str| if id == "a" { "z" } else { "x" };
        let changes: Vec<(&str, u64, &str)> = order.iter().map(|id| (*id, 2, emails(id))).collect();
        let applied = ready(s.apply_page(Some("c1"), page(&changes, "c2"), true, 2.0)).unwrap();
        assert_eq!(applied.conflicts, 0);
        assert_eq!((email_of(&s, "a"), email_of(&s, "b")), (Some(user("z")), Some(user("x"))));
    }
}

#[test]
fn two_records_that_swap_values_wait_as_conflicts_until_one_changes() {
    let s = store(Strategy::ServerWins);
    ready(s.apply_page(None, page(&[("a", 1, "x"), ("b", 1, "y")], "c1"), true, 1.0)).unwrap();
    // Neither version can be stored while the other record holds its value.
    let applied = ready(s.apply_page(Some("c1"), page(&[("a", 2, "y"), ("b", 2, "x")], "c2"), true, 2.0)).unwrap();
    assert_eq!(applied.conflicts, 2);
    assert_eq!(settle(&s), 0);
    assert_eq!((email_of(&s, "a"), email_of(&s, "b")), (Some(user("x")), Some(user("y"))));
    // Once a later version of one is in, the other settles.
    ready(s.apply_page(Some("c2"), page(&[("a", 3, "w")], "c3"), true, 3.0)).unwrap();
    assert_eq!(settle(&s), 1);
    assert!(s.conflict_rows().is_empty());
    assert_eq!((email_of(&s, "a"), email_of(&s, "b")), (Some(user("w")), Some(user("x"))));
}

#[test]
fn a_pulled_version_that_clashes_waits_as_a_conflict_and_settles_itself_once_it_can() {
    for strategy in [Strategy::Manual, Strategy::ClientWins, Strategy::LastWriteWins] {
        let s = store(strategy);
        write(&s, "mine", Intent::Create, Some(user("x"))).unwrap();
        let applied = ready(s.apply_page(None, page(&[("theirs", 1, "x")], "c1"), true, 2.0)).unwrap();
        assert_eq!(applied.conflicts, 1, "{strategy:?}");
        assert_eq!(s.stored_cursor().as_deref(), Some("c1"), "the pull goes on");
        assert_eq!(email_of(&s, "theirs"), None);
        // While the clash lasts, settling leaves it, whatever the strategy, and changes nothing.
        assert_eq!(settle(&s), 0, "{strategy:?}");
        assert_eq!(s.conflict_rows().len(), 1);
        // A person keeping the server's side is told why it cannot be stored.
        let e = ready(s.resolve_conflict("users", "theirs", Choice::Server, "m", 3.0)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::RecordExists);
        assert!(e.message.contains("\"mine\""), "{}", e.message);
        // Keeping "mine" (nothing of that record is here) would leave this client without the
        // server's record: it is the same as keeping the server's.
        let e = ready(s.resolve_conflict("users", "theirs", Choice::Local, "m", 3.0)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::RecordExists);
        assert_eq!(s.conflict_rows().len(), 1);
        // The value given up here, the next settle stores the server's version.
        write(&s, "mine", Intent::Update, Some(user("z"))).unwrap();
        assert_eq!(settle(&s), 1, "{strategy:?}");
        assert!(s.conflict_rows().is_empty());
        assert_eq!(email_of(&s, "theirs"), Some(user("x")));
        assert_eq!(s.outbox().len(), 1, "only the create of \"mine\": the settle sends nothing");
    }
}

#[test]
fn a_newer_pulled_version_without_the_clash_replaces_the_conflict() {
    let s = store(Strategy::Manual);
    write(&s, "mine", Intent::Create, Some(user("x"))).unwrap();
    ready(s.apply_page(None, page(&[("theirs", 1, "x")], "c1"), true, 2.0)).unwrap();
    ready(s.apply_page(Some("c1"), page(&[("theirs", 2, "w")], "c2"), true, 3.0)).unwrap();
    assert!(s.conflict_rows().is_empty());
    assert_eq!(email_of(&s, "theirs"), Some(user("w")));
}
