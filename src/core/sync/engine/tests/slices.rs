//! Pages applied in slices: at most `apply_limit` changes per transaction, in order, the cursor
//! stored with the last slice only; a slice that fails or finds the cursor reset ends the page.

use crate::protocol::ServerRecord;

use super::*;

fn sliced() -> Settings {
    Settings { apply_limit: 2, ..settings() }
}

/// A page of `n` changes.
fn page_of(n: usize, cursor: &str, has_more: bool) -> PullResponse<()> {
    let changes = (0..n)
        .map(|i| ServerRecord {
            collection: "tasks".into(),
            id: format!("r{i}"),
            version: 1,
            deleted: false,
            data: Some(()),
            updated_at: None,
            forced: false,
        })
        .collect();
    PullResponse { changes, cursor: cursor.into(), has_more, server_time: None }
}

/// Drives a sync to its first pull, from the stored cursor `c1.2`.
fn to_pull(e: &mut E) {
    to_first_read(e, 1);
    e.handle(Event::BatchRead(Ok(None)), 1.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(Some("c1.2".into())))), 1.0);
}

/// The slice an ApplyPage in `out` writes: its asked-from cursor, record ids and `last`.
fn slice(out: &[C]) -> Option<(Option<String>, Vec<String>, bool)> {
    out.iter().find_map(|c| match c {
        Command::ApplyPage { asked_from, page, last } => {
            Some((asked_from.clone(), page.changes.iter().map(|c| c.id.clone()).collect(), *last))
        }
        _ => None,
    })
}

fn applied(received: u64) -> Event<()> {
    Event::PageApplied(Ok(PageApplied { received, ..PageApplied::default() }))
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_large_page_is_written_in_slices_in_order_and_only_the_last_stores_the_cursor() {
    let mut e = started(sliced());
    to_pull(&mut e);
    let out = e.handle(Event::Pulled(Ok(page_of(5, "c1.5", true))), 1.0);
    let from = Some("c1.2".to_string());
    assert_eq!(slice(&out), Some((from.clone(), ids(&["r0", "r1"]), false)));
    // The next page is asked for once, beside the first slice.
    assert!(has(&out, |c| matches!(c, Command::Pull { cursor: Some(c), .. } if c == "c1.5")), "{out:?}");
    let out = e.handle(applied(2), 1.0);
    assert_eq!(slice(&out), Some((from.clone(), ids(&["r2", "r3"]), false)));
    assert!(!has(&out, |c| matches!(c, Command::Pull { .. })), "{out:?}");
    assert_eq!(e.handle(Event::Pulled(Ok(page_of(1, "c1.6", false))), 1.0), vec![], "kept until the page is in");
    let out = e.handle(applied(2), 1.0);
    assert_eq!(slice(&out), Some((from, ids(&["r4"]), true)));
    // The page is in: the one that landed meanwhile goes, from the cursor the last slice stored.
    let out = e.handle(applied(1), 1.0);
    assert_eq!(slice(&out), Some((Some("c1.5".into()), ids(&["r0"]), true)));
    let out = e.handle(applied(1), 1.0);
    let out = no_uploads(&mut e, out);
    let out = counted(&mut e, out);
    assert!(
        has(&out, |c| matches!(c, Command::Settle { outcome: Ok(s), .. } if s.pulled == 6)),
        "every slice is counted once: {out:?}"
    );
}

#[test]
fn a_slice_that_fails_ends_the_sync_and_the_rest_of_its_page_is_not_written() {
    let mut e = started(sliced());
    to_pull(&mut e);
    e.handle(Event::Pulled(Ok(page_of(5, "c1.5", false))), 1.0);
    e.handle(applied(2), 1.0);
    let out = handled(&mut e, Event::PageApplied(Err(Error::new(ErrorKind::Storage, "quota"))));
    assert_eq!(slice(&out), None, "{out:?}");
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(_), .. })), "{out:?}");
    // The next sync asks from the cursor stored, which no slice moved: the page comes again.
    to_first_read(&mut e, 2);
    e.handle(Event::BatchRead(Ok(None)), 1.0);
    let out = e.handle(Event::CursorRead(Ok(PullFrom::Tenant(Some("c1.2".into())))), 1.0);
    assert_eq!(out, vec![Command::Pull { cursor: Some("c1.2".into()), limit: 500 }]);
}

#[test]
fn a_slice_that_finds_the_cursor_reset_drops_the_rest_of_its_page() {
    let mut e = started(sliced());
    to_pull(&mut e);
    e.handle(Event::Pulled(Ok(page_of(5, "c1.5", false))), 1.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied { restart: true, ..PageApplied::default() })), 1.0);
    assert_eq!(slice(&out), None, "{out:?}");
    assert!(has(&out, |c| matches!(c, Command::ReadCursor | Command::Pull { cursor: None, .. })), "{out:?}");
}
