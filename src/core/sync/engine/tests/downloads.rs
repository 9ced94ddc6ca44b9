//! The download phase: after the uploads, each blob pulled records want goes through the core's
//! download machine (ranges, the check), and is stored or marked failed before the next one.

use super::*;
use crate::core::blobs::download::{Downloaded, Fetched};
use crate::core::blobs::hash::hash_of;
use crate::protocol::BlobRef;

const BYTES: &[u8] = b"twenty-five bytes of blob";

fn blob() -> BlobRef {
    BlobRef { hash: hash_of(BYTES), size: BYTES.len() as u64, media_type: String::new() }
}

/// A sync past its uploads, asking for the first blob to download; chunks of 10 bytes.
fn to_downloads(waiter: u64) -> E {
    let mut e = started(Settings { download_chunk_bytes: 10, ..settings() });
    to_first_read(&mut e, waiter);
    e.handle(Event::BatchRead(Ok(None)), 2.0);
    e.handle(Event::CursorRead(Ok(PullFrom::Tenant(None))), 2.0);
    e.handle(Event::Pulled(Ok(page("c1.0", false))), 2.0);
    e.handle(Event::PageApplied(Ok(PageApplied::default())), 3.0);
    let out = e.handle(Event::UploadRead(Ok(None)), 3.0);
    assert_eq!(out, vec![Command::NextDownload { skip: vec![] }]);
    e
}

fn range(offset: u64, len: u64) -> C {
    Command::FetchRange { hash: blob().hash, offset, len }
}

#[test]
fn a_blob_comes_down_range_by_range_is_checked_then_stored() {
    let mut e = to_downloads(1);
    let out = e.handle(Event::DownloadRead(Ok(Some(blob()))), 4.0);
    assert_eq!(out.last(), Some(&range(0, 10)));
    let out = e.handle(Event::RangeFetched(Ok(Fetched::Bytes { len: 10 })), 4.0);
    assert_eq!(out.last(), Some(&range(10, 10)));
    assert_eq!(e.status().download.as_ref().map(|d| (d.done, d.total)), Some((10, 25)), "the progress");
    e.handle(Event::RangeFetched(Ok(Fetched::Bytes { len: 10 })), 4.0);
    let out = e.handle(Event::RangeFetched(Ok(Fetched::Bytes { len: 5 })), 4.0);
    assert_eq!(out.last(), Some(&Command::CheckDownload { hash: blob().hash }));
    let out = e.handle(Event::DownloadChecked(Ok(blob().hash)), 4.0);
    assert_eq!(out.last(), Some(&Command::EndDownload { hash: blob().hash, outcome: Downloaded::Stored }));
    let out = e.handle(Event::DownloadEnded(Ok(())), 5.0);
    assert_eq!(out.last(), Some(&Command::NextDownload { skip: vec![blob().hash] }), "each blob once per sync");
    assert_eq!(e.status().download, None);
    let out = handled(&mut e, Event::DownloadRead(Ok(None)));
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Ok(_), .. })), "{out:?}");
}

#[test]
fn bytes_that_are_not_the_blob_are_fetched_again_then_left_for_the_next_sync() {
    let mut e = to_downloads(1);
    e.handle(Event::DownloadRead(Ok(Some(blob()))), 4.0);
    for _ in 0..2 {
        e.handle(Event::RangeFetched(Ok(Fetched::Bytes { len: 10 })), 4.0);
        e.handle(Event::RangeFetched(Ok(Fetched::Bytes { len: 10 })), 4.0);
        e.handle(Event::RangeFetched(Ok(Fetched::Bytes { len: 5 })), 4.0);
        let out = e.handle(Event::DownloadChecked(Ok(hash_of(b"other"))), 4.0);
        if out.last() == Some(&range(0, 10)) {
            continue;
        }
        // Not failed for good: the bytes may have been changed on the way; the next sync tries again.
        assert_eq!(out.last(), Some(&Command::EndDownload { hash: blob().hash, outcome: Downloaded::Dropped }));
    }
    let out = e.handle(Event::DownloadEnded(Ok(())), 5.0);
    assert_eq!(out.last(), Some(&Command::NextDownload { skip: vec![blob().hash] }));
}

#[test]
fn a_lost_connection_ends_the_sync_with_a_backoff_and_keeps_nothing() {
    let mut e = to_downloads(1);
    e.handle(Event::DownloadRead(Ok(Some(blob()))), 4.0);
    let lost = Failure::Network { message: "gone".into(), retry_after_ms: None };
    let out = handled(&mut e, Event::RangeFetched(Err(lost)));
    assert!(has(&out, |c| matches!(c, Command::Arm { timer: Timer::Retry, .. })), "{out:?}");
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Err(_), .. })), "{out:?}");
    assert_eq!(e.status().download, None);
}

#[test]
fn a_server_without_blob_endpoints_ends_the_downloads_not_the_sync() {
    let mut e = to_downloads(1);
    e.handle(Event::DownloadRead(Ok(Some(blob()))), 4.0);
    let refused = Fetched::Refused { status: 404, code: "not_found".into(), message: String::new() };
    let out = handled(&mut e, Event::RangeFetched(Ok(refused)));
    assert!(has(&out, |c| matches!(c, Command::EndDownload { outcome: Downloaded::Dropped, .. })), "{out:?}");
    assert!(has(&out, |c| matches!(c, Command::Settle { outcome: Ok(_), .. })), "{out:?}");
    assert!(e.status().blobs_unsupported);
}
