//! Blobs over real sockets: the resumable upload, the download, the push of records that refer
//! to blobs, tenant isolation, collection, and two servers over one database sharing an upload.

mod common;

use std::sync::Arc;

use common::*;
use ferrysync_server::http::AppState;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes that do not repeat in any short period.
fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| rng.u8(..)).collect()
}

fn upload_path(hash: &str) -> String {
    format!("/v1/blobs/{hash}/upload")
}

async fn status(c: &Client, hash: &str) -> Value {
    let res = c.get(&upload_path(hash)).await;
    OpenApi::load().check_response("/v1/blobs/{hash}/upload", "get", &res);
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

async fn patch(c: &Client, hash: &str, offset: u64, size: u64, chunk: &[u8]) -> Resp {
    let path = format!("{}?offset={offset}&size={size}", upload_path(hash));
    let res = c.send("PATCH", &path, &[("content-type", "application/octet-stream")], Some(chunk.to_vec())).await;
    OpenApi::load().check_response("/v1/blobs/{hash}/upload", "patch", &res);
    res
}

/// Uploads `data` in chunks of `chunk` bytes, from where the server is; returns the last answer.
async fn upload(c: &Client, data: &[u8], chunk: usize) -> Value {
    let hash = sha(data);
    let mut offset = status(c, &hash).await["offset"].as_u64().unwrap() as usize;
    loop {
        let end = (offset + chunk).min(data.len());
        let res = patch(c, &hash, offset as u64, data.len() as u64, &data[offset..end]).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let answer = res.json();
        if answer["complete"] == true {
            return answer;
        }
        offset = answer["offset"].as_u64().unwrap() as usize;
    }
}

async fn download(c: &Client, hash: &str, range: Option<&str>) -> Resp {
    let headers: Vec<(&str, &str)> = range.map(|r| ("range", r)).into_iter().collect();
    let res = c.send("GET", &format!("/v1/blobs/{hash}"), &headers, None).await;
    OpenApi::load().check_response("/v1/blobs/{hash}", "get", &res);
    res
}

fn photo(hash: &str, size: usize) -> Value {
    json!({ "title": "site visit", "photo": { "$blob": hash, "size": size, "type": "image/png" } })
}

#[tokio::test]
async fn an_upload_in_chunks_downloads_byte_exact() {
    let server = start(&[]).await;
    let c = Client::new(&server, Some(TOKEN));
    let data = bytes(300_000, 1);
    let hash = sha(&data);
    assert_eq!(status(&c, &hash).await, json!({ "offset": 0, "size": null, "complete": false }));
    let first = patch(&c, &hash, 0, data.len() as u64, &data[..100_000]).await;
    assert_eq!(first.json(), json!({ "offset": 100_000, "size": 300_000, "complete": false }));
    assert_eq!(status(&c, &hash).await, json!({ "offset": 100_000, "size": 300_000, "complete": false }));
    assert_eq!(upload(&c, &data, 100_000).await, json!({ "offset": 300_000, "size": 300_000, "complete": true }));
    assert_eq!(status(&c, &hash).await, json!({ "offset": 300_000, "size": 300_000, "complete": true }));

    let res = download(&c, &hash, None).await;
    assert_eq!(res.status, 200);
    assert!(res.body == data, "the bytes come back as uploaded");
    assert_eq!(res.header("content-length").as_deref(), Some("300000"));
    assert_eq!(res.header("content-type").as_deref(), Some("application/octet-stream"));
    assert_eq!(res.header("etag"), Some(format!("\"{hash}\"")));
    assert_eq!(res.header("cache-control").as_deref(), Some("private, max-age=31536000, immutable"));
    // A browser caches per token: another tenant's request in the same browser is not answered
    // from this one's copy.
    assert_eq!(res.header("vary").as_deref(), Some("Authorization"));

    // Ranges: a part (206, Content-Range), the rest from an offset, an end cut to the blob.
    let res = download(&c, &hash, Some("bytes=10-19")).await;
    assert_eq!((res.status, res.body.as_slice()), (206, &data[10..20]));
    assert_eq!(res.header("content-range").as_deref(), Some("bytes 10-19/300000"));
    let res = download(&c, &hash, Some("bytes=299990-")).await;
    assert_eq!((res.status, res.body.as_slice()), (206, &data[299_990..]));
    let res = download(&c, &hash, Some("bytes=299999-400000")).await;
    assert_eq!((res.status, res.body.as_slice()), (206, &data[299_999..]));
    // Outside the blob, or not one range of bytes: 416 with the size.
    for bad in ["bytes=300000-", "bytes=20-10", "bytes=0-1,5-6", "lines=1-2"] {
        let res = download(&c, &hash, Some(bad)).await;
        res.assert_error(416, "range_not_satisfiable");
        assert_eq!(res.header("content-range").as_deref(), Some("bytes */300000"), "{bad}");
    }

    // A blob already complete: a PATCH changes nothing and answers complete.
    let res = patch(&c, &hash, 0, 300_000, b"whatever").await;
    assert_eq!(res.json(), json!({ "offset": 300_000, "size": 300_000, "complete": true }));
    assert!(download(&c, &hash, None).await.body == data);

    // Unknown and malformed hashes.
    download(&c, &sha(b"nobody has this"), None).await.assert_error(404, "blob_not_found");
    download(&c, &hash.to_uppercase(), None).await.assert_error(400, "invalid_hash");
    c.get(&upload_path("abc")).await.assert_error(400, "invalid_hash");
    patch(&c, &hash[1..], 0, 1, b"x").await.assert_error(400, "invalid_hash");
    // The token is checked first.
    c.with_token(None).get(&upload_path(&hash)).await.assert_error(401, "missing_token");
    server.shutdown().await;
}

#[tokio::test]
async fn an_upload_resumes_from_the_offset_the_server_holds() {
    let server = start(&[]).await;
    let c = Client::new(&server, Some(TOKEN));
    let data = bytes(30_000, 2);
    let hash = sha(&data);
    let size = data.len() as u64;
    assert_eq!(patch(&c, &hash, 0, size, &data[..10_000]).await.status, 200);
    // The chunk 10000..20000 is lost on the way; the client sends the next one.
    let res = patch(&c, &hash, 20_000, size, &data[20_000..]).await;
    res.assert_error(409, "offset_mismatch");
    assert_eq!(res.json()["offset"], 10_000);
    // It asks where to go on from, and goes on from there.
    assert_eq!(status(&c, &hash).await["offset"], 10_000);
    assert_eq!(patch(&c, &hash, 10_000, size, &data[10_000..20_000]).await.json()["offset"], 20_000);
    // A chunk sent twice (its answer was lost): the second is refused, nothing is doubled.
    let res = patch(&c, &hash, 10_000, size, &data[10_000..20_000]).await;
    res.assert_error(409, "offset_mismatch");
    assert_eq!(res.json()["offset"], 20_000);
    assert_eq!(patch(&c, &hash, 20_000, size, &data[20_000..]).await.json()["complete"], true);
    assert!(download(&c, &hash, None).await.body == data);
    server.shutdown().await;
}

#[tokio::test]
async fn bytes_that_do_not_hash_to_the_address_are_dropped() {
    let server = start(&[]).await;
    let c = Client::new(&server, Some(TOKEN));
    let data = bytes(5_000, 3);
    let hash = sha(&data);
    let mut wrong = data.clone();
    wrong[4_000] ^= 1;
    assert_eq!(patch(&c, &hash, 0, 5_000, &wrong[..2_500]).await.status, 200);
    patch(&c, &hash, 2_500, 5_000, &wrong[2_500..]).await.assert_error(422, "hash_mismatch");
    assert_eq!(status(&c, &hash).await, json!({ "offset": 0, "size": null, "complete": false }));
    download(&c, &hash, None).await.assert_error(404, "blob_not_found");
    // Starting over with the right bytes works.
    assert_eq!(upload(&c, &data, 2_000).await["complete"], true);
    assert!(download(&c, &hash, None).await.body == data);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_chunks_are_refused_and_change_nothing() {
    let server = start(&["--max-blob-bytes", "4000", "--max-chunk-bytes", "2000", "--blob-quota-bytes", "6000"]).await;
    let c = Client::new(&server, Some(TOKEN));
    let data = bytes(3_000, 4);
    let hash = sha(&data);
    let path = |q: &str| format!("{}{q}", upload_path(&hash));
    let octets = [("content-type", "application/octet-stream")];
    // Malformed queries.
    for q in ["", "?offset=0", "?size=3000", "?offset=-1&size=3000", "?offset=0&size=1.5", "?offset=x&size=3"] {
        let res = c.send("PATCH", &path(q), &octets, Some(data[..10].to_vec())).await;
        res.assert_error(400, "invalid_request");
    }
    // Another media type.
    let res = c.send("PATCH", &path("?offset=0&size=3000"), &[("content-type", "text/plain")], Some(vec![1])).await;
    res.assert_error(415, "unsupported_media_type");
    // Larger than the largest blob; a chunk larger than the chunk limit.
    patch(&c, &hash, 0, 4_001, &data[..10]).await.assert_error(413, "blob_too_large");
    patch(&c, &hash, 0, 3_000, &[0; 2_001]).await.assert_error(413, "payload_too_large");
    // Nothing of those started an upload.
    assert_eq!(status(&c, &hash).await, json!({ "offset": 0, "size": null, "complete": false }));
    // A chunk past the declared size.
    patch(&c, &hash, 0, 10, &data[..11]).await.assert_error(400, "invalid_request");
    assert_eq!(patch(&c, &hash, 0, 3_000, &data[..1_000]).await.status, 200);
    // Another size than the upload started with.
    patch(&c, &hash, 1_000, 3_001, &data[1_000..2_000]).await.assert_error(409, "size_mismatch");
    assert_eq!(status(&c, &hash).await, json!({ "offset": 1_000, "size": 3_000, "complete": false }));
    assert_eq!(upload(&c, &data, 2_000).await["complete"], true);

    // The quota counts complete blobs (3000) and uploads in progress (their declared size).
    let other = bytes(2_000, 5);
    assert_eq!(patch(&c, &sha(&other), 0, 2_000, &other[..10]).await.status, 200);
    let third = bytes(1_001, 6);
    patch(&c, &sha(&third), 0, 1_001, &third).await.assert_error(413, "quota_exceeded");
    assert_eq!(status(&c, &sha(&third)).await["size"], Value::Null);
    // Exactly up to the quota fits.
    assert_eq!(patch(&c, &sha(&third[..1_000]), 0, 1_000, &third[..1_000]).await.json()["complete"], true);

    // An empty blob: one empty PATCH, an empty download; no range of it exists.
    let empty = sha(b"");
    assert_eq!(patch(&c, &empty, 0, 0, b"").await.json(), json!({ "offset": 0, "size": 0, "complete": true }));
    let res = download(&c, &empty, None).await;
    assert_eq!((res.status, res.body.len()), (200, 0));
    download(&c, &empty, Some("bytes=0-")).await.assert_error(416, "range_not_satisfiable");
    server.shutdown().await;
}

#[tokio::test]
async fn a_tenant_never_sees_another_tenants_blob() {
    let server = start(&["--dev-tokens", "a=alpha,b=beta"]).await;
    let (a, b) = (Client::new(&server, Some("a")), Client::new(&server, Some("b")));
    let data = bytes(4_000, 7);
    let hash = sha(&data);
    assert_eq!(upload(&a, &data, 1_500).await["complete"], true);
    // To beta it does not exist: the same answers as for a hash nobody has.
    download(&b, &hash, None).await.assert_error(404, "blob_not_found");
    assert_eq!(status(&b, &hash).await, json!({ "offset": 0, "size": null, "complete": false }));
    let r = b.push_ok(vec![upsert("notes", "n", photo(&hash, 4_000), None)]).await;
    assert_eq!((r[0]["status"].as_str(), r[0]["code"].as_str()), (Some("rejected"), Some("blob_missing")));
    // A PATCH past offset 0 is told to start at 0, not where alpha is.
    let res = patch(&b, &hash, 1_500, 4_000, &data[1_500..3_000]).await;
    res.assert_error(409, "offset_mismatch");
    assert_eq!(res.json()["offset"], 0);
    // Beta uploads its own copy; alpha's stays as it is.
    assert_eq!(upload(&b, &data, 4_000).await["complete"], true);
    assert!(download(&b, &hash, None).await.body == data);
    assert!(download(&a, &hash, None).await.body == data);
    server.shutdown().await;
}

#[tokio::test]
async fn a_mutation_waits_for_its_blob_and_then_applies() {
    let server = start(&["--max-blob-bytes", "100000"]).await;
    let c = Client::new(&server, Some(TOKEN));
    let data = bytes(10_000, 8);
    let hash = sha(&data);
    let m = upsert("notes", "n", photo(&hash, data.len()), None);
    // Not uploaded yet: rejected blob_missing, nothing written, the answer not kept.
    for _ in 0..2 {
        let r = c.push_ok(vec![m.clone(), upsert("notes", "plain", json!({ "t": 1 }), None)]).await;
        assert_eq!(r[0]["status"], "rejected");
        assert_eq!(r[0]["code"], "blob_missing");
        assert!(r[0]["message"].as_str().unwrap().contains(&hash));
    }
    assert!(c.snapshot().await.iter().all(|r| r["id"] != "n"));
    // Uploaded, the same mutation (same id) applies.
    upload(&c, &data, 4_096).await;
    let r = c.push_ok(vec![m.clone()]).await;
    assert_eq!((r[0]["status"].as_str(), r[0]["version"].as_u64()), (Some("applied"), Some(1)));
    // And its answer is kept from then on.
    assert_eq!(c.push_ok(vec![m]).await, r);
    let snap = c.snapshot().await;
    assert_eq!(snap.iter().find(|r| r["id"] == "n").unwrap()["data"], photo(&hash, data.len()));

    // A $blob object of another shape, or too large: rejected like any bad data, and kept.
    for (data, code) in [
        (json!({ "f": { "$blob": hash } }), "invalid_blob_ref"),
        (json!({ "f": [{ "$blob": "nope", "size": 1 }] }), "invalid_blob_ref"),
        (json!({ "f": { "$blob": hash, "size": 1, "name": "x.png" } }), "invalid_blob_ref"),
        (json!({ "f": { "$blob": hash, "size": 100_001 } }), "blob_too_large"),
    ] {
        let m = upsert("notes", "bad", data, None);
        let r = c.push_ok(vec![m.clone()]).await;
        assert_eq!((r[0]["status"].as_str(), r[0]["code"].as_str()), (Some("rejected"), Some(code)));
        assert_eq!(c.push_ok(vec![m]).await, r, "stored: the same answer again");
    }
    server.shutdown().await;
}

/// The state of a second server process over the server's database (and blobs).
async fn state_on(db: &TestDb, args: &[&str]) -> AppState {
    AppState::new(config_on(db, args), db.store().await)
}

/// Files under `dir`, at any depth.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                out.extend(files(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[tokio::test]
async fn collection_deletes_old_unreferenced_blobs_and_stopped_uploads() {
    let server = start(&[]).await;
    let c = Client::new(&server, Some(TOKEN));
    let (kept, dropped) = (bytes(3_000, 9), bytes(2_000, 10));
    upload(&c, &kept, 1_000).await;
    upload(&c, &dropped, 1_000).await;
    let stopped = bytes(2_000, 11);
    patch(&c, &sha(&stopped), 0, 2_000, &stopped[..500]).await;
    c.push_ok(vec![upsert("notes", "n", photo(&sha(&kept), kept.len()), None)]).await;

    let state = state_on(&server.db, &[]).await;
    let now = ferrysync_server::store::now_ms();
    let day = 24 * 3600 * 1000;
    // Fresh: nothing is collected.
    let none = ferrysync_server::blobs::gc::collect(&state, now).await.unwrap();
    assert_eq!((none.blobs.len(), none.uploads), (0, 0));
    assert!(download(&c, &sha(&dropped), None).await.status == 200);
    // Past the grace: the unreferenced blob and the stopped upload go; the referenced one stays.
    let collected = ferrysync_server::blobs::gc::collect(&state, now + day + 1_000).await.unwrap();
    assert_eq!(collected.blobs, vec![("dev".to_string(), sha(&dropped))]);
    assert_eq!(collected.uploads, 1);
    download(&c, &sha(&dropped), None).await.assert_error(404, "blob_not_found");
    assert_eq!(status(&c, &sha(&dropped)).await["offset"], 0);
    assert_eq!(status(&c, &sha(&stopped)).await, json!({ "offset": 0, "size": null, "complete": false }));
    assert!(download(&c, &sha(&kept), None).await.body == kept);
    // Its record deleted, the blob is collected too (once the grace has passed).
    c.push_ok(vec![delete("notes", "n", Some(1))]).await;
    let later = ferrysync_server::blobs::gc::collect(&state, now + 2 * day).await.unwrap();
    assert_eq!(later.blobs, vec![("dev".to_string(), sha(&kept))]);
    download(&c, &sha(&kept), None).await.assert_error(404, "blob_not_found");
    // No object is left behind.
    let dir = config_on(&server.db, &[]).blob_dir().unwrap();
    assert_eq!(files(&dir), Vec::<std::path::PathBuf>::new());
    server.shutdown().await;
}

#[tokio::test]
async fn a_push_refreshes_its_blob_against_collection() {
    let server = start(&[]).await;
    let c = Client::new(&server, Some(TOKEN));
    let data = bytes(1_000, 12);
    upload(&c, &data, 1_000).await;
    let state = state_on(&server.db, &[]).await;
    let now = ferrysync_server::store::now_ms();
    let day = 24 * 3600 * 1000;
    // A record refers to it, then is rewritten without it: the reference is gone, but the push
    // refreshed the blob, so it is kept for the grace from then.
    c.push_ok(vec![upsert("notes", "n", photo(&sha(&data), data.len()), None)]).await;
    c.push_ok(vec![upsert("notes", "n", json!({ "t": "no photo" }), Some(1))]).await;
    let c1 = ferrysync_server::blobs::gc::collect(&state, now + day / 2).await.unwrap();
    assert!(c1.blobs.is_empty());
    let c2 = ferrysync_server::blobs::gc::collect(&state, now + day + 60_000).await.unwrap();
    assert_eq!(c2.blobs.len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn an_empty_chunk_at_the_end_finishes_an_interrupted_check() {
    let server = start(&[]).await;
    let c = Client::new(&server, Some(TOKEN));
    let data = bytes(2_000, 14);
    let hash = sha(&data);
    assert_eq!(patch(&c, &hash, 0, 2_000, &data[..1_000]).await.status, 200);
    // Another process took the last chunk and stopped before its check: the chunk is recorded,
    // the blob is not assembled.
    let state = state_on(&server.db, &[]).await;
    let key = ferrysync_server::blobs::BlobObjects::chunk_key("dev", &hash, 1_000);
    state.blobs.put_chunk(&key, data[1_000..].to_vec().into()).await.unwrap();
    let chunk = ferrysync_server::store::blobs::Chunk { offset: 1_000, len: 1_000, key: key.to_string() };
    state.store.blob_append("dev".into(), hash.clone(), chunk, 1).await.unwrap();
    assert_eq!(status(&c, &hash).await, json!({ "offset": 2_000, "size": 2_000, "complete": false }));
    download(&c, &hash, None).await.assert_error(404, "blob_not_found");
    // An empty PATCH at the end finishes it.
    assert_eq!(patch(&c, &hash, 2_000, 2_000, b"").await.json()["complete"], true);
    assert!(download(&c, &hash, None).await.body == data);
    server.shutdown().await;
}

#[tokio::test]
async fn collection_deletes_chunk_objects_no_upload_lists() {
    let server = start(&[]).await;
    let c = Client::new(&server, Some(TOKEN));
    let state = state_on(&server.db, &["--blob-grace-secs", "1"]).await;
    let data = bytes(3_000, 15);
    let hash = sha(&data);
    // A process wrote a chunk and stopped before recording it; a live upload recorded one.
    let orphan = ferrysync_server::blobs::BlobObjects::chunk_key("dev", &hash, 0);
    state.blobs.put_chunk(&orphan, data[..1_000].to_vec().into()).await.unwrap();
    assert_eq!(patch(&c, &hash, 0, 3_000, &data[..1_000]).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    // The upload goes on: its first chunk is old, but listed, and the upload is fresh.
    assert_eq!(patch(&c, &hash, 1_000, 3_000, &data[1_000..2_000]).await.status, 200);
    let collected = ferrysync_server::blobs::gc::collect(&state, ferrysync_server::store::now_ms()).await.unwrap();
    assert_eq!((collected.orphans, collected.uploads), (1, 0));
    assert_eq!(patch(&c, &hash, 2_000, 3_000, &data[2_000..]).await.json()["complete"], true);
    assert!(download(&c, &hash, None).await.body == data);
    let dir = config_on(&server.db, &[]).blob_dir().unwrap();
    assert_eq!(files(&dir).len(), 1, "{:?}", files(&dir));
    server.shutdown().await;
}

/// A push that refers to a blob refreshes its row in the push's transaction; a collection that
/// meets that row while the push is uncommitted waits, checks the time again, and keeps the
/// blob. The push's transaction is played here by a connection of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_waits_for_a_push_that_refreshes_the_blob() {
    let server = start(&[]).await;
    let c = Client::new(&server, Some(TOKEN));
    let data = bytes(1_000, 16);
    let hash = sha(&data);
    upload(&c, &data, 1_000).await;
    let state = state_on(&server.db, &[]).await;
    let later = ferrysync_server::store::now_ms() + 24 * 3600 * 1000 + 1_000;
    let refresh = "UPDATE blobs SET last_ref = last_ref + 172800000 WHERE tenant = 'dev'";
    let (locked, is_locked) = tokio::sync::oneshot::channel::<()>();
    let push = match &*server.db {
        TestDb::Sqlite(file) => {
            let path = file.path().to_string();
            tokio::task::spawn_blocking(move || {
                let mut conn = rusqlite::Connection::open(path).unwrap();
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
                tx.execute(refresh, []).unwrap();
                locked.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(500));
                tx.commit().unwrap();
            })
        }
        TestDb::Postgres { url, .. } => {
            let url = url.clone();
            tokio::spawn(async move {
                let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                let tx = client.transaction().await.unwrap();
                tx.execute(refresh, &[]).await.unwrap();
                locked.send(()).unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                tx.commit().await.unwrap();
            })
        }
    };
    is_locked.await.unwrap();
    let collected = ferrysync_server::blobs::gc::collect(&state, later).await.unwrap();
    push.await.unwrap();
    assert!(collected.blobs.is_empty(), "{collected:?}");
    assert!(download(&c, &hash, None).await.body == data);
    server.shutdown().await;
}

/// The offset check and advance is one statement in the database: of two chunks at one offset,
/// however they interleave, one lands. (The HTTP side checks the offset first too, so this is
/// asked of the store directly.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_chunks_at_one_offset_never_both_land() {
    use ferrysync_server::store::blobs::{Appended, BlobState, Chunk, Started};
    let db = TestDb::new("blobs-race").await;
    let store = db.store().await;
    let (t, h) = ("acme".to_string(), sha(b"race"));
    let started = store.blob_start(t.clone(), h.clone(), 10, 100, 1).await.unwrap();
    assert_eq!(started, Started::State(BlobState::Uploading { size: 10, received: 0 }));
    let chunk = |key: &str, offset| Chunk { offset, len: 4, key: key.to_string() };
    let (a, b) = tokio::join!(
        store.blob_append(t.clone(), h.clone(), chunk("a", 0), 2),
        store.blob_append(t.clone(), h.clone(), chunk("b", 0), 2)
    );
    let mut answers = [a.unwrap(), b.unwrap()];
    answers.sort_by_key(|a| matches!(a, Appended::Lost(_)));
    assert_eq!(answers, [Appended::Received(4), Appended::Lost(BlobState::Uploading { size: 10, received: 4 })]);
    // Late, alone: still refused; past the size: refused.
    let late = store.blob_append(t.clone(), h.clone(), chunk("c", 0), 3).await.unwrap();
    assert_eq!(late, Appended::Lost(BlobState::Uploading { size: 10, received: 4 }));
    let past = store.blob_append(t.clone(), h.clone(), Chunk { offset: 4, len: 7, key: "d".into() }, 3).await;
    assert!(matches!(past.unwrap(), Appended::Lost(_)));
    assert_eq!(store.blob_chunks(t, h).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_over_one_database_continue_one_upload() {
    let db = Arc::new(TestDb::new("blobs-shared").await);
    let inproc = start_on(&db, &["--dev-tokens", "tok=acme"]).await;
    let mut args = db.args();
    args.extend(["--dev-tokens".into(), "tok=acme".into()]);
    let child = ChildServer::start(&args, &[]);
    let a = Client::new(&inproc, Some("tok"));
    let b = Client::for_url(&child.url, Some("tok"));
    let data = bytes(9_000, 13);
    let (hash, size) = (sha(&data), 9_000);
    assert_eq!(patch(&a, &hash, 0, size, &data[..3_000]).await.status, 200);
    assert_eq!(status(&b, &hash).await["offset"], 3_000);
    // Two chunks at one offset, through both servers at once: one lands, the other is told the
    // offset to go on from.
    let (ra, rb) = tokio::join!(
        patch(&a, &hash, 3_000, size, &data[3_000..6_000]),
        patch(&b, &hash, 3_000, size, &data[3_000..6_000])
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{ra:?} {rb:?}");
    let loser = if ra.status == 409 { &ra } else { &rb };
    loser.assert_error(409, "offset_mismatch");
    assert_eq!(loser.json()["offset"], 6_000);
    assert_eq!(patch(&b, &hash, 6_000, size, &data[6_000..]).await.json()["complete"], true);
    assert!(download(&a, &hash, None).await.body == data);
    assert!(download(&b, &hash, Some("bytes=8000-")).await.body == data[8_000..]);
    // The chunk that lost left no object behind: only the blob is there.
    let dir = config_on(&db, &[]).blob_dir().unwrap();
    assert_eq!(files(&dir).len(), 1, "{:?}", files(&dir));
    drop(child);
    inproc.shutdown().await;
}
