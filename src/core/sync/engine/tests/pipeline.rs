//! The pipelined push: the next batch read while one is out, sent once the answer before it
//! lands, answers applied one at a time in order, and a failure that ends the sync only once
//! nothing it started is out.

use super::*;

/// Batch `n` (1-based) of two deletes, entries `2n - 1` and `2n`.
fn nth(n: u64) -> Batch<()> {
    let mut b = batch(2);
    b.seqs = vec![2 * n - 1, 2 * n];
    for (m, seq) in b.mutations.iter_mut().zip(&b.seqs) {
        m.mutation_id = Uuid::from_u128(u128::from(*seq));
        m.id = format!("r{seq}");
    }
    b
}

fn ok() -> PushResponse<()> {
    PushResponse { results: Vec::new(), server_time: None }
}

fn read(seqs: &[u64]) -> C {
    Command::ReadBatch { max: 100, unapplied: seqs.to_vec() }
}

#[test]
fn the_next_batch_goes_once_the_answer_before_it_lands_and_answers_apply_in_order() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    let out = e.handle(Event::BatchRead(Ok(Some(nth(1)))), 1.0);
    assert_eq!(out, vec![Command::Push { batch: nth(1) }, read(&[1, 2])]);
    // Read ahead: it waits for the answer before it (one push out at a time, in queue order).
    assert!(e.handle(Event::BatchRead(Ok(Some(nth(2)))), 2.0).is_empty());
    let out = e.handle(Event::Pushed { batch: nth(1), answer: Ok(ok()) }, 3.0);
    assert_eq!(
        out,
        vec![Command::ApplyPush { batch: nth(1), answer: ok() }, Command::Push { batch: nth(2) }, read(&[1, 2, 3, 4])],
        "the answer is applied while the next batch is out, and the one after is read"
    );
    assert!(e.handle(Event::BatchRead(Ok(Some(nth(3)))), 4.0).is_empty());
    // The second answer lands before the first is applied: it waits, and so does batch 3.
    assert!(e.handle(Event::Pushed { batch: nth(2), answer: Ok(ok()) }, 5.0).is_empty());
    let mut out = e.handle(Event::PushApplied(Ok(applied(2))), 6.0);
    out.retain(|c| !matches!(c, Command::Publish(_) | Command::PostStatus(_)));
    assert_eq!(
        out,
        vec![Command::ApplyPush { batch: nth(2), answer: ok() }, Command::Push { batch: nth(3) }, read(&[3, 4, 5, 6])]
    );
    assert_eq!(e.status().progress, Some((2, 2)));
    e.handle(Event::PushApplied(Ok(applied(2))), 7.0);
    // Nothing more beside batch 3; once it is applied, the queue is read from its start.
    assert!(e.handle(Event::BatchRead(Ok(None)), 8.0).is_empty());
    let out = e.handle(Event::Pushed { batch: nth(3), answer: Ok(ok()) }, 9.0);
    assert_eq!(out, vec![Command::ApplyPush { batch: nth(3), answer: ok() }]);
    let out = e.handle(Event::PushApplied(Ok(applied(2))), 10.0);
    assert_eq!(out.last(), Some(&read(&[])));
    let out = finish(&mut e);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Ok(s), .. } if s.pushed == 6)), "{out:?}");
}

#[test]
fn a_failure_ends_the_sync_once_nothing_is_out_and_an_answer_after_it_is_dropped() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(Some(nth(1)))), 1.0);
    e.handle(Event::BatchRead(Ok(Some(nth(2)))), 1.0);
    e.handle(Event::Pushed { batch: nth(1), answer: Ok(ok()) }, 2.0);
    // Batch 1's transaction fails while batch 2 is out and batch 3 is being read.
    let failed = Error::new(ErrorKind::Storage, "aborted");
    let out = e.handle(Event::PushApplied(Err(failed)), 3.0);
    assert!(out.is_empty(), "{out:?}");
    let out = e.handle(Event::BatchRead(Ok(Some(nth(3)))), 3.0);
    assert!(out.is_empty(), "not sent: the sync is ending: {out:?}");
    // Batch 2's answer is dropped, not applied: its entries go again under the same ids.
    let out = e.handle(Event::Pushed { batch: nth(2), answer: Ok(ok()) }, 4.0);
    assert!(!has(&out, |c| matches!(c, Command::ApplyPush { .. } | Command::Push { .. })), "{out:?}");
    let out = counted(&mut e, out);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(e), .. } if e.kind == ErrorKind::Storage)));
    assert!(has(&out, |c| matches!(c, Command::Arm { timer: Timer::Retry, .. })));
    assert!(!e.is_syncing());
}

#[test]
fn a_lost_answer_between_two_batches_ends_the_sync_after_the_apply_before_it() {
    let mut e = started(settings());
    to_first_read(&mut e, 1);
    e.handle(Event::BatchRead(Ok(Some(nth(1)))), 1.0);
    e.handle(Event::BatchRead(Ok(Some(nth(2)))), 1.0);
    e.handle(Event::Pushed { batch: nth(1), answer: Ok(ok()) }, 2.0);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    // Batch 2's answer is lost while batch 1's is applied: that apply still lands and counts.
    let lost = Failure::Network { message: "reset".into(), retry_after_ms: None };
    assert!(e.handle(Event::Pushed { batch: nth(2), answer: Err(lost) }, 3.0).is_empty());
    let out = e.handle(Event::PushApplied(Ok(applied(2))), 4.0);
    let out = counted(&mut e, out);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(e), .. } if e.kind == ErrorKind::Network)));
    assert_eq!(e.metrics().changes_sent, 2, "batch 1 counted, batch 2 not");
}
