//! Spaces in the in-memory store, as the IndexedDB store must keep them (docs/sync.md,
//! "Spaces"): the pull by space and its cursors, `left` entries and their ordering rule, records
//! moved out of the device's spaces, and removing a space.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use super::conflict::test_tree::{leaf, obj, V};
use super::log::{Kept, LogKind};
use super::memory::MemoryStore;
use super::rules::force::Force;
use super::storage::{PullFrom, SyncStorage};
use crate::core::error::ErrorKind;
use crate::core::outbox::Op;
use crate::core::write::Intent;
use crate::protocol::{
    LeftRecord, MutationResult, PushResponse, ServerRecord, SpaceCursor, SpacePage, SpacesPullResponse,
};

fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the in-memory store never waits"),
    }
}

fn todo(title: &str, project: Option<&str>) -> V {
    let mut fields = vec![("title", leaf(title))];
    if let Some(p) = project {
        fields.push(("projectId", leaf(p)));
    }
    obj(&fields)
}

/// `todos` sync by space (`projectId`); `tags` has no space field.
fn store() -> MemoryStore<V> {
    MemoryStore::new(&["todos", "tags"]).with_space("todos", "projectId")
}

fn write(s: &MemoryStore<V>, id: &str, intent: Intent, data: Option<V>) -> crate::core::error::Result<()> {
    let mut n = s.outbox().len() as u64 + 100;
    let mut ids = || {
        n += 1;
        format!("00000000-0000-7000-8000-{n:012}")
    };
    s.write("todos", vec![(id.into(), intent, data)], &mut ids, 1.0).map(|_| ())
}

fn record(id: &str, version: u64, data: V) -> ServerRecord<V> {
    ServerRecord {
        collection: "todos".into(),
        id: id.into(),
        version,
        deleted: false,
        data: Some(data),
        updated_at: Some(10),
        forced: false,
    }
}

fn page(space: Option<&str>, changes: Vec<ServerRecord<V>>, left: &[(&str, u64)], cursor: &str) -> SpacePage<V> {
    SpacePage {
        space: space.map(str::to_string),
        changes,
        left: left
            .iter()
            .map(|(id, v)| LeftRecord { collection: "todos".into(), id: id.to_string(), version: *v })
            .collect(),
        cursor: cursor.into(),
        has_more: false,
    }
}

/// Applies `pages` as the answer to a pull asked from the cursors stored now.
fn apply(s: &MemoryStore<V>, pages: Vec<SpacePage<V>>) -> super::storage::PageApplied {
    let PullFrom::Spaces(asked) = ready(s.pull_from()).unwrap() else { panic!("a pull by space") };
    ready(s.apply_spaces(&asked, SpacesPullResponse { spaces: pages, server_time: None }, 2.0)).unwrap()
}

fn here(s: &MemoryStore<V>, id: &str) -> Option<V> {
    s.live_records().into_iter().find(|(_, i, _)| i == id).map(|(.., d)| d)
}

/// Pushes the outbox and has the server apply all of it at `version`.
fn push_applied(s: &MemoryStore<V>, version: u64) -> Vec<Option<String>> {
    let batch = ready(s.read_batch(50, &[], 3.0)).unwrap().expect("a batch");
    let spaces = batch.mutations.iter().map(|m| m.space.clone()).collect();
    let results =
        batch.mutations.iter().map(|m| MutationResult::Applied { mutation_id: m.mutation_id, version }).collect();
    ready(s.apply_push(batch, PushResponse { results, server_time: None }, 3.0)).unwrap();
    spaces
}

#[test]
fn without_a_space_field_the_pull_is_the_tenants() {
    let s: MemoryStore<V> = MemoryStore::new(&["tags"]);
    assert_eq!(ready(s.pull_from()).unwrap(), PullFrom::Tenant(None));
}

#[test]
fn each_space_has_its_cursor_and_a_space_added_starts_from_its_start() {
    let s = store();
    assert_eq!(ready(s.pull_from()).unwrap(), PullFrom::Spaces(vec![SpaceCursor { space: None, cursor: None }]));
    assert!(ready(s.add_space("p1")).unwrap());
    assert!(!ready(s.add_space("p1")).unwrap(), "added once");
    assert_eq!(ready(s.add_space("")).unwrap_err().kind, ErrorKind::InvalidOptions);
    apply(
        &s,
        vec![
            page(Some("p1"), vec![record("a", 1, todo("x", Some("p1")))], &[], "c1.4"),
            page(None, vec![], &[], "c1.4"),
        ],
    );
    assert!(ready(s.add_space("p2")).unwrap());
    assert_eq!(
        ready(s.pull_from()).unwrap(),
        PullFrom::Spaces(vec![
            SpaceCursor { space: Some("p1".into()), cursor: Some("c1.4".into()) },
            SpaceCursor { space: Some("p2".into()), cursor: None },
            SpaceCursor { space: None, cursor: Some("c1.4".into()) },
        ])
    );
    assert_eq!(ready(s.spaces()).unwrap(), vec!["p1".to_string(), "p2".to_string()]);
    // Forgetting the cursors forgets every space's.
    ready(s.reset_cursor()).unwrap();
    assert!(s.space_cursors().values().all(Option::is_none));
}

#[test]
fn a_push_carries_the_records_space_from_its_field() {
    let s = store();
    write(&s, "a", Intent::Create, Some(todo("x", Some("p1")))).unwrap();
    write(&s, "b", Intent::Create, Some(todo("y", None))).unwrap();
    let batch = ready(s.read_batch(50, &[], 3.0)).unwrap().unwrap();
    let spaces: Vec<_> = batch.mutations.iter().map(|m| m.space.clone()).collect();
    assert_eq!(spaces, vec![Some("p1".to_string()), None]);
}

#[test]
fn a_page_of_a_space_removed_meanwhile_is_passed_over_and_a_moved_cursor_restarts() {
    let s = store();
    ready(s.add_space("p1")).unwrap();
    let PullFrom::Spaces(asked) = ready(s.pull_from()).unwrap() else { panic!() };
    ready(s.remove_space("p1", false, 1.0)).unwrap();
    let answer = SpacesPullResponse {
        spaces: vec![page(Some("p1"), vec![record("a", 1, todo("x", Some("p1")))], &[], "c1.4")],
        server_time: None,
    };
    ready(s.apply_spaces(&asked, answer, 2.0)).unwrap();
    assert_eq!(here(&s, "a"), None);
    assert!(s.space_cursors().is_empty(), "not added back");
    // A cursor that moved while the page was in flight (a discard reset it) is not overwritten.
    ready(s.add_space("p1")).unwrap();
    let PullFrom::Spaces(asked) = ready(s.pull_from()).unwrap() else { panic!() };
    let stale: Vec<SpaceCursor> =
        asked.iter().map(|a| SpaceCursor { cursor: Some("c1.1".into()), ..a.clone() }).collect();
    let answer = SpacesPullResponse { spaces: vec![page(Some("p1"), vec![], &[], "c1.9")], server_time: None };
    assert!(ready(s.apply_spaces(&stale, answer, 2.0)).unwrap().restart);
    assert_eq!(s.space_cursors()["p1"], None);
}

#[test]
fn a_left_entry_removes_an_older_copy_in_either_order_of_pages() {
    // "a" moved from p1 to p2 at version 5; this device syncs both.
    let moved = || record("a", 5, todo("x", Some("p2")));
    for p1_first in [true, false] {
        let s = store();
        ready(s.add_space("p1")).unwrap();
        ready(s.add_space("p2")).unwrap();
        apply(&s, vec![page(Some("p1"), vec![record("a", 3, todo("x", Some("p1")))], &[], "c1.3")]);
        let left = page(Some("p1"), vec![], &[("a", 5)], "c1.5");
        let came = page(Some("p2"), vec![moved()], &[], "c1.5");
        let pages = if p1_first { vec![left, came] } else { vec![came, left] };
        apply(&s, pages);
        assert_eq!(here(&s, "a"), Some(todo("x", Some("p2"))), "p1 first: {p1_first}");
        assert!(s.outbox().is_empty(), "nothing is pushed");
    }
    // Only p1: the copy goes, locally.
    let s = store();
    ready(s.add_space("p1")).unwrap();
    apply(&s, vec![page(Some("p1"), vec![record("a", 3, todo("x", Some("p1")))], &[], "c1.3")]);
    let applied = apply(&s, vec![page(Some("p1"), vec![], &[("a", 5)], "c1.5")]);
    assert_eq!(here(&s, "a"), None);
    assert!(s.outbox().is_empty(), "a local removal, never a delete");
    assert!(!applied.changes.is_empty(), "listeners hear of it");
    // A copy already newer than the departure (it came back) stays.
    apply(&s, vec![page(Some("p1"), vec![record("a", 7, todo("x", Some("p1")))], &[], "c1.7")]);
    apply(&s, vec![page(Some("p1"), vec![], &[("a", 5)], "c1.8")]);
    assert!(here(&s, "a").is_some());
}

#[test]
fn a_record_with_queued_changes_that_left_keeps_them_until_acknowledged_then_goes() {
    let s = store();
    ready(s.add_space("p1")).unwrap();
    apply(&s, vec![page(Some("p1"), vec![record("a", 3, todo("x", Some("p1")))], &[], "c1.3")]);
    // Edited here while another device moved it to p9, which this device does not sync.
    write(&s, "a", Intent::Update, Some(obj(&[("title", leaf("mine"))]))).unwrap();
    apply(&s, vec![page(Some("p1"), vec![], &[("a", 5)], "c1.5")]);
    assert_eq!(here(&s, "a"), Some(todo("mine", Some("p1"))), "the queued change stays");
    assert_eq!(s.outbox().len(), 1);
    // Say the user moved it to p9 as well: once acknowledged, the copy goes.
    write(&s, "a", Intent::Update, Some(obj(&[("projectId", leaf("p9"))]))).unwrap();
    assert_eq!(push_applied(&s, 6), vec![Some("p9".to_string())]);
    assert_eq!(here(&s, "a"), None);
    assert!(s.outbox().is_empty());
}

#[test]
fn a_write_into_a_space_not_synced_is_allowed_and_the_copy_goes_once_acknowledged() {
    let s = store();
    ready(s.add_space("p1")).unwrap();
    write(&s, "a", Intent::Create, Some(todo("x", Some("p2")))).unwrap();
    assert!(here(&s, "a").is_some(), "kept while queued");
    assert_eq!(push_applied(&s, 1), vec![Some("p2".to_string())]);
    assert_eq!(here(&s, "a"), None);
    assert!(s.outbox().is_empty(), "no delete is queued");
    // A record in a synced space, or of no space, stays.
    write(&s, "b", Intent::Create, Some(todo("y", Some("p1")))).unwrap();
    write(&s, "c", Intent::Create, Some(todo("z", None))).unwrap();
    push_applied(&s, 1);
    assert!(here(&s, "b").is_some() && here(&s, "c").is_some());
}

#[test]
fn removing_a_space_with_queued_changes_is_refused_unless_they_are_discarded() {
    let s = store();
    ready(s.add_space("p1")).unwrap();
    ready(s.add_space("p2")).unwrap();
    apply(
        &s,
        vec![
            page(
                Some("p1"),
                vec![record("a", 1, todo("x", Some("p1"))), record("b", 2, todo("y", Some("p1")))],
                &[],
                "c1.2",
            ),
            page(Some("p2"), vec![record("c", 3, todo("z", Some("p2")))], &[], "c1.3"),
        ],
    );
    write(&s, "a", Intent::Update, Some(obj(&[("title", leaf("mine"))]))).unwrap();
    let e = ready(s.remove_space("p1", false, 4.0)).unwrap_err();
    assert_eq!((e.kind, e.pending), (ErrorKind::PendingChanges, Some(1)));
    assert!(here(&s, "a").is_some() && s.space_cursors().contains_key("p1"), "nothing changed");
    let decided = ready(s.remove_space("p1", true, 4.0)).unwrap();
    assert!(!decided.changes.is_empty());
    assert_eq!((here(&s, "a"), here(&s, "b")), (None, None));
    assert!(here(&s, "c").is_some(), "other spaces are untouched");
    assert!(s.outbox().is_empty(), "the wipe is never pushed");
    assert!(!s.space_cursors().contains_key("p1"));
    let log = s.log_entries();
    assert!(log[0].kind == LogKind::Wipe && log[0].id == "p1" && log[0].count == Some(2), "{:?}", log[0]);
    // Added again, it is pulled from its start.
    ready(s.add_space("p1")).unwrap();
    assert_eq!(s.space_cursors()["p1"], None);
}

fn force_spaces(s: &MemoryStore<V>, spaces: &[&str], keep_local: bool) -> crate::core::error::Result<()> {
    let force = Force::PullSpaces { spaces: spaces.iter().map(|s| s.to_string()).collect(), keep_local };
    ready(s.begin_force(&force, 5.0, &mut || "00000000-0000-7000-8000-000000000999".to_string())).map(|_| ())
}

fn server_version(s: &MemoryStore<V>, id: &str) -> Option<u64> {
    s.stored("todos", id).and_then(|r| r.meta.server_version)
}

/// `p1`: a and b; `p2`: c; no space: d. Every cursor past them.
fn synced_spaces() -> MemoryStore<V> {
    let s = store();
    ready(s.add_space("p1")).unwrap();
    ready(s.add_space("p2")).unwrap();
    apply(
        &s,
        vec![
            page(
                Some("p1"),
                vec![record("a", 1, todo("x", Some("p1"))), record("b", 2, todo("y", Some("p1")))],
                &[],
                "c1.2",
            ),
            page(Some("p2"), vec![record("c", 3, todo("z", Some("p2")))], &[], "c1.3"),
            page(None, vec![record("d", 4, todo("w", None))], &[], "c1.4"),
        ],
    );
    s
}

#[test]
fn a_force_pull_of_a_space_takes_its_records_again_and_leaves_the_others_as_they_are() {
    let s = synced_spaces();
    write(&s, "c", Intent::Update, Some(obj(&[("title", leaf("mine"))]))).unwrap();
    write(&s, "d", Intent::Update, Some(obj(&[("title", leaf("mine"))]))).unwrap();
    force_spaces(&s, &["p1"], false).unwrap();
    // Other spaces and no space: their queued changes, versions and cursors stay.
    assert_eq!(s.outbox().iter().map(|e| e.record_id.as_str()).collect::<Vec<_>>(), vec!["c", "d"]);
    assert_eq!((server_version(&s, "c"), server_version(&s, "d")), (Some(3), Some(4)));
    assert_eq!(s.space_cursors()["p2"].as_deref(), Some("c1.3"));
    assert_eq!(s.stored_cursor().as_deref(), Some("c1.4"));
    // The space's records are marked, its cursor forgotten.
    assert_eq!((server_version(&s, "a"), server_version(&s, "b")), (None, None));
    assert_eq!(s.space_cursors()["p1"], None);
    let log = s.log_entries();
    assert_eq!((log[0].kind, log[0].collection.as_str(), log[0].id.as_str()), (LogKind::ForcePull, "todos", "p1"));
    assert_eq!((log[0].count, log[0].kept), (Some(0), Some(Kept::Server)));
    // The pull of p1 from its start brings a back (b is gone from the server); the sweep
    // removes b only.
    let applied = apply(&s, vec![page(Some("p1"), vec![record("a", 1, todo("x", Some("p1")))], &[], "c1.5")]);
    assert!(applied.sweep_due);
    let swept = ready(s.finish_force_pull(6.0)).unwrap();
    assert_eq!(swept.changes.0[0], ("todos".to_string(), vec![("b".to_string(), Op::Delete)]));
    assert_eq!((here(&s, "a"), here(&s, "b")), (Some(todo("x", Some("p1"))), None));
    assert_eq!((here(&s, "c"), here(&s, "d")), (Some(todo("mine", Some("p2"))), Some(todo("mine", None))));
    let log = s.log_entries();
    assert_eq!((log[0].kind, log[0].id.as_str(), log[0].count), (LogKind::Swept, "p1", Some(1)));
    assert!(!ready(s.finish_force_pull(7.0)).unwrap().changes.0.iter().any(|(c, _)| c == "todos"), "swept once");
}

#[test]
fn a_force_pull_of_spaces_not_synced_here_or_of_none_is_refused_with_nothing_changed() {
    let s = synced_spaces();
    write(&s, "a", Intent::Update, Some(obj(&[("title", leaf("mine"))]))).unwrap();
    let (outbox, cursors, records) = (s.outbox(), s.space_cursors(), s.live_records());
    for spaces in [&["p1", "p9"][..], &[]] {
        let e = force_spaces(&s, spaces, false).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidOptions, "{spaces:?}");
        assert_eq!(
            (s.outbox(), s.space_cursors(), s.live_records()),
            (outbox.clone(), cursors.clone(), records.clone())
        );
        assert_eq!(server_version(&s, "b"), Some(2), "nothing marked");
        assert!(s.log_entries().is_empty(), "nothing logged");
    }
    assert!(force_spaces(&s, &["p9"], false).unwrap_err().message.contains("\"p9\""));
}

#[test]
fn a_force_pull_of_a_space_that_drops_queued_changes_forgets_every_cursor() {
    let s = synced_spaces();
    // e is in p2 on the server; moved to p1 here, a change the force drops. b's edit is dropped
    // too; c's (p2) stays.
    apply(&s, vec![page(Some("p2"), vec![record("e", 5, todo("v", Some("p2")))], &[], "c1.5")]);
    write(&s, "e", Intent::Update, Some(obj(&[("projectId", leaf("p1"))]))).unwrap();
    write(&s, "b", Intent::Update, Some(obj(&[("title", leaf("mine"))]))).unwrap();
    write(&s, "c", Intent::Update, Some(obj(&[("title", leaf("mine"))]))).unwrap();
    force_spaces(&s, &["p1"], false).unwrap();
    assert_eq!(s.outbox().iter().map(|e| e.record_id.as_str()).collect::<Vec<_>>(), vec!["c"]);
    assert_eq!(s.log_entries()[0].count, Some(2), "the dropped changes are counted");
    // The server's e is in p2, behind p2's cursor: every cursor starts over.
    assert!(s.space_cursors().values().all(Option::is_none) && s.stored_cursor().is_none());
    // p2's page brings e back before the sweep, which leaves it (and c, queued) alone.
    apply(
        &s,
        vec![
            page(
                Some("p1"),
                vec![record("a", 1, todo("x", Some("p1"))), record("b", 2, todo("y", Some("p1")))],
                &[],
                "c1.5",
            ),
            page(
                Some("p2"),
                vec![record("c", 3, todo("z", Some("p2"))), record("e", 5, todo("v", Some("p2")))],
                &[],
                "c1.5",
            ),
            page(None, vec![record("d", 4, todo("w", None))], &[], "c1.5"),
        ],
    );
    ready(s.finish_force_pull(6.0)).unwrap();
    assert_eq!(here(&s, "e"), Some(todo("v", Some("p2"))));
    assert_eq!(here(&s, "b"), Some(todo("y", Some("p1"))), "the server's version, the edit dropped");
    assert!(here(&s, "c").is_some() && here(&s, "d").is_some());
}

#[test]
fn a_force_pull_of_a_space_keeping_local_changes_marks_only_the_rest() {
    let s = synced_spaces();
    write(&s, "a", Intent::Update, Some(obj(&[("title", leaf("mine"))]))).unwrap();
    force_spaces(&s, &["p1"], true).unwrap();
    assert_eq!(s.outbox().len(), 1, "kept");
    assert_eq!((server_version(&s, "a"), server_version(&s, "b")), (Some(1), None));
    // Nothing dropped, no conflict: only p1 starts over.
    assert_eq!(s.space_cursors()["p1"], None);
    assert_eq!(s.space_cursors()["p2"].as_deref(), Some("c1.3"));
    assert_eq!(s.stored_cursor().as_deref(), Some("c1.4"));
    assert_eq!((s.log_entries()[0].count, s.log_entries()[0].kept), (Some(1), Some(Kept::Local)));
    // Nothing of p1 comes back: b goes, a stays for its queued change.
    apply(&s, vec![page(Some("p1"), vec![], &[], "c1.5")]);
    ready(s.finish_force_pull(6.0)).unwrap();
    assert_eq!((here(&s, "a"), here(&s, "b")), (Some(todo("mine", Some("p1"))), None));
}

#[test]
fn a_force_pull_of_a_space_keeps_a_conflict_with_its_changes_or_drops_both() {
    let s = synced_spaces();
    write(&s, "a", Intent::Update, Some(obj(&[("title", leaf("mine"))]))).unwrap();
    // The server moved a to p2: the conflict holds a version of another space.
    apply(&s, vec![page(Some("p2"), vec![record("a", 6, todo("x", Some("p2")))], &[], "c1.6")]);
    assert_eq!(s.conflict_rows().len(), 1);
    force_spaces(&s, &["p1"], true).unwrap();
    assert_eq!((s.conflict_rows().len(), s.outbox().len()), (1, 1), "kept with its change");
    assert_eq!(s.space_cursors()["p2"].as_deref(), Some("c1.6"), "settled as usual: nothing to pull again");
    // p1's `left` entry leaves the copy to its queued change.
    apply(&s, vec![page(Some("p1"), vec![], &[("a", 6)], "c1.7")]);
    assert_eq!(here(&s, "a"), Some(todo("mine", Some("p1"))));
    // Dropping the changes drops the conflict, and the pull from the start brings a back in p2.
    force_spaces(&s, &["p1"], false).unwrap();
    assert!(s.conflict_rows().is_empty() && s.outbox().is_empty());
    assert!(s.space_cursors().values().all(Option::is_none) && s.stored_cursor().is_none());
    apply(&s, vec![page(Some("p2"), vec![record("a", 6, todo("x", Some("p2")))], &[], "c1.6")]);
    ready(s.finish_force_pull(6.0)).unwrap();
    assert_eq!(here(&s, "a"), Some(todo("x", Some("p2"))));
}

#[test]
fn a_force_pull_of_a_space_with_a_clash_in_it_forgets_every_cursor() {
    let coded =
        |space: &str, code: &str| obj(&[("title", leaf("x")), ("projectId", leaf(space)), ("code", leaf(code))]);
    for keep_local in [false, true] {
        let s = store().with_unique("todos", "code");
        ready(s.add_space("p1")).unwrap();
        ready(s.add_space("p2")).unwrap();
        apply(
            &s,
            vec![
                page(Some("p1"), vec![record("a", 1, coded("p1", "A"))], &[], "c1.1"),
                page(Some("p2"), vec![record("b", 2, coded("p2", "B"))], &[], "c1.2"),
            ],
        );
        // The server moved a to p2 with b's code: it clashes here, a conflict with nothing queued.
        apply(&s, vec![page(Some("p2"), vec![record("a", 6, coded("p2", "B"))], &[], "c1.6")]);
        assert_eq!((s.conflict_rows().len(), s.outbox().len()), (1, 0));
        force_spaces(&s, &["p1"], keep_local).unwrap();
        // p1's `left` entry (or the sweep) removes the stale copy here: p2's version must come
        // again.
        assert!(s.space_cursors().values().all(Option::is_none) && s.stored_cursor().is_none(), "{keep_local}");
        assert_eq!(server_version(&s, "a"), None, "marked");
    }
}

#[test]
fn force_pulls_of_several_spaces_add_up_to_one_sweep() {
    let s = synced_spaces();
    force_spaces(&s, &["p1"], false).unwrap();
    force_spaces(&s, &["p2"], false).unwrap();
    assert_eq!(s.space_cursors()["p1"], None);
    // Both spaces' pulls from the start are complete before the sweep: it covers both.
    apply(&s, vec![page(Some("p1"), vec![], &[], "c1.7"), page(Some("p2"), vec![], &[], "c1.7")]);
    ready(s.finish_force_pull(6.0)).unwrap();
    assert_eq!((here(&s, "a"), here(&s, "c")), (None, None));
    assert!(here(&s, "d").is_some(), "no space: not in the sweep");
    let log = s.log_entries();
    assert_eq!((log[0].kind, log[0].id.as_str(), log[0].count), (LogKind::Swept, "p1,p2", Some(3)));
}
