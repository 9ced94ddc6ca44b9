//! The upload phase: after the pull, each blob queued changes wait for goes up (asking where the
//! server is, then chunk by chunk), and the changes it lets go are pushed before the next one.

use super::*;
use crate::core::blobs::{Answer as BlobAnswer, Uploaded};
use crate::protocol::{BlobRef, UploadStatus};

fn blob() -> BlobRef {
    BlobRef { hash: "a".repeat(64), size: 25, media_type: String::new() }
}

fn status(offset: u64, size: Option<u64>, complete: bool) -> Event<()> {
    Event::BlobAnswered(Ok(BlobAnswer::Status(UploadStatus { offset, size, complete })))
}

/// A sync pulled to its end, asking for the first blob to upload; chunks of 10 bytes.
fn to_uploads(waiter: u64) -> E {
    let mut e = started(Settings { chunk_bytes: 10, ..settings() });
    to_first_read(&mut e, waiter);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(None))), 2.0);
    e.handle(Event::Pulled(Ok(page("c1.0", false))), 2.0);
    let out = e.handle(Event::PageApplied(Ok(PageApplied::default())), 3.0);
    assert_eq!(out.last(), Some(&Command::NextUpload { skip: vec![] }), "uploads come after the pull");
    e
}

fn chunk(offset: u64, len: u64) -> C {
    Command::SendChunk { hash: "a".repeat(64), offset, len, size: 25 }
}

#[test]
fn a_blob_goes_up_chunk_by_chunk_then_the_changes_it_held_are_pushed() {
    let mut e = to_uploads(1);
    let out = e.handle(Event::UploadRead(Ok(Some(blob()))), 4.0);
    assert_eq!(out.last(), Some(&Command::BlobStatus { hash: "a".repeat(64) }), "where the server is, first");
    assert_eq!(e.handle(status(0, None, false), 4.0).last(), Some(&chunk(0, 10)));
    let out = e.handle(status(10, Some(25), false), 4.0);
    assert_eq!(out.last(), Some(&chunk(10, 10)));
    let progress = e.status().upload.clone().unwrap();
    assert_eq!((progress.done, progress.total), (10, 25));
    assert!(has(&out, |c| matches!(c, Command::Publish(s) if s.upload.as_ref().is_some_and(|u| u.done == 10))));
    assert_eq!(e.handle(status(20, Some(25), false), 4.0).last(), Some(&chunk(20, 5)));
    let out = e.handle(status(25, Some(25), true), 4.0);
    assert_eq!(out.last(), Some(&Command::EndUpload { hash: "a".repeat(64), outcome: Uploaded::Yes }));
    // Stored: the changes it let go are pushed, then the next blob is asked for, passing over
    // this one.
    let out = e.handle(Event::UploadEnded(Ok(Decided::default())), 5.0);
    assert_eq!(out.last(), Some(&Command::ReadBatch { max: 100, unapplied: vec![] }));
    assert_eq!(e.status().upload, None);
    e.handle(Event::BatchRead(Ok(Some(batch(1)))), 5.0);
    let answer = PushResponse { results: Vec::new(), server_time: None };
    e.handle(Event::Pushed { batch: batch(1), answer: Ok(answer) }, 5.0);
    e.handle(Event::PushApplied(Ok(applied(1))), 5.0);
    let out = e.handle(Event::BatchRead(Ok(None)), 5.0);
    assert_eq!(out, vec![Command::ReadBatch { max: 100, unapplied: vec![] }]);
    let out = e.handle(Event::BatchRead(Ok(None)), 5.0);
    assert_eq!(out, vec![Command::NextUpload { skip: vec!["a".repeat(64)] }], "no second pull");
    let out = no_uploads(&mut e, out);
    let out = counted(&mut e, out);
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Ok(s), .. } if s.pushed == 1)), "{out:?}");
}

#[test]
fn a_lost_connection_ends_the_sync_and_the_next_one_asks_where_the_server_is() {
    let mut e = to_uploads(1);
    e.handle(Event::UploadRead(Ok(Some(blob()))), 4.0);
    e.handle(status(0, None, false), 4.0);
    let lost = Failure::Network { message: "reset".into(), retry_after_ms: None };
    let out = handled(&mut e, Event::BlobAnswered(Err(lost)));
    assert!(has(&out, |c| matches!(c, Command::Arm { timer: Timer::Retry, .. })), "backoff: {out:?}");
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(_), .. })));
    assert_eq!(e.status().upload, None);
    // The retry: same blob, and it starts by asking, then goes on from the server's offset.
    let mut e2 = to_uploads(2);
    e2.handle(Event::UploadRead(Ok(Some(blob()))), 4.0);
    assert_eq!(e2.handle(status(20, Some(25), false), 4.0).last(), Some(&chunk(20, 5)));
}

#[test]
fn a_refused_blob_ends_as_a_dead_letter_and_the_sync_goes_on() {
    let mut e = to_uploads(1);
    e.handle(Event::UploadRead(Ok(Some(blob()))), 4.0);
    let refused =
        BlobAnswer::Refused { status: 413, code: codes::QUOTA_EXCEEDED.into(), message: "over".into(), offset: None };
    let out = e.handle(Event::BlobAnswered(Ok(refused)), 4.0);
    let failed = Uploaded::Failed { code: codes::QUOTA_EXCEEDED.into(), message: "over".into() };
    assert_eq!(out.last(), Some(&Command::EndUpload { hash: "a".repeat(64), outcome: failed }));
    e.status.pending = 1;
    let out = e.handle(Event::UploadEnded(Ok(Decided { pending_delta: -1, ..Decided::default() })), 5.0);
    assert_eq!(e.status().pending, 0, "its change is a dead letter now, not pending");
    assert_eq!(out.last(), Some(&Command::ReadBatch { max: 100, unapplied: vec![] }));
}

#[test]
fn a_server_without_blob_endpoints_is_reported_and_the_sync_succeeds() {
    let mut e = to_uploads(1);
    e.handle(Event::UploadRead(Ok(Some(blob()))), 4.0);
    let old = BlobAnswer::Refused { status: 404, code: codes::NOT_FOUND.into(), message: "no".into(), offset: None };
    let out = handled(&mut e, Event::BlobAnswered(Ok(old)));
    assert!(e.status().blobs_unsupported);
    assert!(!has(&out, |c| matches!(c, Command::EndUpload { .. })), "the blob stays as it is");
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Ok(_), .. })), "{out:?}");
}
