//! The pull prefetch: the next page asked for while one is applied, used only when the stored
//! state asks the same once that page is in, and an answer nobody wants waited for and dropped.

use super::*;

/// Drives a sync to its first pull, from the stored cursor `c1.2`.
fn to_pull(e: &mut E, waiter: u64) {
    to_first_read(e, waiter);
    e.handle(Event::BatchRead(Ok(None)), 1.0);
    let out = e.handle(Event::CursorRead(Ok(PullFrom::Tenant(Some("c1.2".into())))), 1.0);
    assert_eq!(out, vec![Command::Pull { cursor: Some("c1.2".into()), limit: 500 }]);
}

fn pull_from(cursor: Option<&str>) -> C {
    Command::Pull { cursor: cursor.map(Into::into), limit: 500 }
}

#[test]
fn a_page_that_lands_while_the_one_before_is_applied_is_applied_next_from_its_cursor() {
    let mut e = started(settings());
    to_pull(&mut e, 1);
    let out = e.handle(Event::Pulled(Ok(page("c1.5", true))), 1.0);
    assert_eq!(out[1], pull_from(Some("c1.5")));
    assert_eq!(e.handle(Event::Pulled(Ok(page("c1.8", true))), 1.0), vec![], "kept until the page before is in");
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 1.0);
    assert!(
        matches!(&out[..], [Command::ApplyPage { asked_from: Some(a), page, .. }, _] if a == "c1.5" && page.cursor == "c1.8")
    );
    assert_eq!(out[1], pull_from(Some("c1.8")));
    let out = e.handle(Event::Pulled(Ok(page("c1.9", false))), 1.0);
    assert_eq!(out, vec![]);
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 1.0);
    assert!(matches!(&out[..], [Command::ApplyPage { asked_from: Some(a), .. }] if a == "c1.8"), "{out:?}");
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 1.0);
    let out = no_uploads(&mut e, out);
    let out = counted(&mut e, out);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Ok(_), .. })), "{out:?}");
}

#[test]
fn a_page_that_fails_to_apply_throws_the_next_away_and_the_next_sync_waits_for_its_answer() {
    let mut e = started(settings());
    to_pull(&mut e, 1);
    e.handle(Event::Pulled(Ok(page("c1.5", true))), 1.0);
    let storage = Error::new(ErrorKind::Storage, "quota");
    let out = handled(&mut e, Event::PageApplied(Err(storage)));
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(_), .. })), "{out:?}");
    // The next sync starts from the cursor stored (c1.2: the page after it never landed here).
    // The answer to the request thrown away is still on its way: the pull waits for it.
    to_first_read(&mut e, 2);
    e.handle(Event::BatchRead(Ok(None)), 1.0);
    let out = e.handle(Event::CursorRead(Ok(PullFrom::Tenant(Some("c1.2".into())))), 1.0);
    assert_eq!(out, vec![], "no pull while another one's answer is in flight");
    let out = e.handle(Event::Pulled(Ok(page("c1.8", true))), 1.0);
    assert_eq!(out, vec![pull_from(Some("c1.2"))], "the stray answer is dropped, and the pull goes out");
    let out = e.handle(Event::Pulled(Ok(page("c1.5", false))), 1.0);
    assert!(
        matches!(&out[..], [Command::ApplyPage { asked_from: Some(a), page, .. }] if a == "c1.2" && page.cursor == "c1.5")
    );
}

#[test]
fn a_cursor_reset_while_a_page_is_applied_drops_the_next_page_whether_it_landed_or_not() {
    // Landed: dropped at once.
    let mut e = started(settings());
    to_pull(&mut e, 1);
    e.handle(Event::Pulled(Ok(page("c1.5", true))), 1.0);
    e.handle(Event::Pulled(Ok(page("c1.8", true))), 1.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied { restart: true, ..Default::default() })), 1.0);
    assert_eq!(out, vec![pull_from(None)]);
    // In flight: waited for, dropped, then the pull from the start.
    let mut e = started(settings());
    to_pull(&mut e, 1);
    e.handle(Event::Pulled(Ok(page("c1.5", true))), 1.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied { restart: true, ..Default::default() })), 1.0);
    assert_eq!(out, vec![]);
    assert_eq!(e.handle(Event::Pulled(Ok(page("c1.8", true))), 1.0), vec![pull_from(None)]);
    let out = e.handle(Event::Pulled(Ok(page("c1.3", false))), 1.0);
    assert!(matches!(&out[..], [Command::ApplyPage { asked_from: None, .. }]), "{out:?}");
}

#[test]
fn a_failed_page_ahead_counts_once_the_page_before_is_in() {
    // A server error: the page before is applied and stored, then the sync fails.
    let mut e = started(settings());
    to_pull(&mut e, 1);
    e.handle(Event::Pulled(Ok(page("c1.5", true))), 1.0);
    assert_eq!(e.handle(Event::Pulled(Err(http(500, "internal"))), 1.0), vec![]);
    let out = handled(&mut e, Event::PageApplied(Ok(PageApplied::default())));
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(_), .. })), "{out:?}");
    assert!(!has(&out, |c| matches!(c, Command::Pull { .. })));
    // An unknown cursor: the cursor is reset once the page before is in.
    let mut e = started(settings());
    to_pull(&mut e, 1);
    e.handle(Event::Pulled(Ok(page("c1.5", true))), 1.0);
    e.handle(Event::Pulled(Err(http(400, codes::INVALID_CURSOR))), 1.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 1.0);
    assert_eq!(out, vec![Command::ResetCursor]);
}

#[test]
fn a_pull_by_space_uses_the_page_ahead_only_if_the_cursors_read_again_ask_the_same() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    let asked = vec![cursor(Some("p1"), None), cursor(None, Some("c1.4"))];
    e.handle(Event::CursorRead(Ok(PullFrom::Spaces(asked))), 2.0);
    let answer = crate::protocol::SpacesPullResponse {
        spaces: vec![space_page(Some("p1"), "c1.6", true), space_page(None, "c1.9", false)],
        server_time: None,
    };
    let out = e.handle(Event::SpacesPulled(Ok(answer)), 2.0);
    let ahead = vec![cursor(Some("p1"), Some("c1.6"))];
    assert_eq!(out[1], Command::PullSpaces { request: SpacesPullRequest { spaces: ahead.clone(), limit: Some(500) } });
    let next =
        crate::protocol::SpacesPullResponse { spaces: vec![space_page(Some("p1"), "c1.9", false)], server_time: None };
    e.handle(Event::SpacesPulled(Ok(next)), 2.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 2.0);
    assert_eq!(out, vec![Command::ReadCursor]);
    let stored = vec![cursor(Some("p1"), Some("c1.6")), cursor(None, Some("c1.9"))];
    let out = e.handle(Event::CursorRead(Ok(PullFrom::Spaces(stored))), 2.0);
    assert!(matches!(&out[..], [Command::ApplySpaces { asked, .. }] if *asked == ahead), "used as it is: {out:?}");
}
