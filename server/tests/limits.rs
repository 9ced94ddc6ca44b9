//! Every bound over a real socket: slow heads and bodies, heads and targets too large, the
//! connection cap, in-flight slots per tenant and while an answer is sent, pull pages by bytes,
//! conflict answers and what they store, reads while writers wait, panics, and pruning.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ferrysync::protocol::{Mutation, MutationResult};
use ferrysync_server::store::blobs::{Appended, BlobState, Chunk, Collected, DeleteObjects, Started};
use ferrysync_server::store::{BoxFuture, MutationLimits, PullLimits, PullPage, SpacePage, Store, StoreError};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `bytes` on a new connection and returns it.
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s
}

/// Reads until the server closes (or `within` passes); returns what came.
async fn read_to_close(s: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(within, s.read_to_end(&mut out)).await;
    out
}

/// The status and JSON body of a raw answer.
fn parse(answer: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(answer);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{status} body is not JSON ({e}): {body:?}"));
    assert!(text.to_ascii_lowercase().contains("content-type: application/json"), "{text}");
    (status, json)
}

fn push_head(len: usize, token: &str) -> String {
    format!(
        "POST /v1/push HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
    )
}

#[tokio::test]
async fn slow_bodies_hold_no_slot_and_time_out_with_408() {
    let server =
        start(&["--dev-tokens", "tok-a=alpha,tok-b=beta", "--max-in-flight", "4", "--body-timeout", "2s"]).await;
    // 64 connections of tenant alpha send a head and one byte of their body, then stall.
    let mut slow = Vec::new();
    for _ in 0..64 {
        slow.push(raw(server.addr(), format!("{}{{", push_head(1000, "tok-a")).as_bytes()).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Beta, and alpha too, still get through at once: a slot is taken only once a body is in.
    let t = Instant::now();
    let beta = Client::new(&server, Some("tok-b"));
    assert_eq!(beta.push_ok(vec![upsert("t", "b", json!({}), None)]).await[0]["status"], "applied");
    assert_eq!(Client::new(&server, Some("tok-a")).pull(None, None).await.status, 200);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // Past the body timeout, each slow one gets a JSON 408 and its connection is closed.
    for s in slow.iter_mut().take(3) {
        let (status, body) = parse(&read_to_close(s, Duration::from_secs(5)).await);
        assert_eq!(status, 408);
        assert_eq!(body["error"]["code"], "request_timeout");
    }
}

#[tokio::test]
async fn a_slow_head_gets_408_and_an_idle_connection_is_closed() {
    let server = start(&["--header-timeout", "700ms"]).await;
    let mut partial = raw(server.addr(), b"GET /v1/health HTTP/1.1\r\nhost: x\r\n").await;
    let mut idle = raw(server.addr(), b"").await;
    let t = Instant::now();
    let (status, body) = parse(&read_to_close(&mut partial, Duration::from_secs(5)).await);
    assert_eq!(status, 408);
    assert_eq!(body["error"]["code"], "request_timeout");
    assert!(t.elapsed() >= Duration::from_millis(600), "{:?}", t.elapsed());
    // The idle one is closed without an answer.
    assert!(read_to_close(&mut idle, Duration::from_secs(5)).await.is_empty());
    assert!(t.elapsed() < Duration::from_secs(4));
    // A kept-alive connection is closed after the same time once its answer is sent.
    let mut kept = raw(server.addr(), b"GET /v1/health HTTP/1.1\r\nhost: x\r\n\r\n").await;
    let answer = read_to_close(&mut kept, Duration::from_secs(5)).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "one answer, then closed");
}

#[tokio::test]
async fn heads_and_targets_too_large_get_json_errors() {
    let server = start(&["--max-uri-bytes", "1000", "--max-header-bytes", "8192"]).await;
    let long_target = format!("GET /v1/pull?cursor={} HTTP/1.1\r\nhost: x\r\n\r\n", "c".repeat(2000));
    let (status, body) =
        parse(&read_to_close(&mut raw(server.addr(), long_target.as_bytes()).await, Duration::from_secs(5)).await);
    assert_eq!((status, body["error"]["code"].as_str()), (414, Some("uri_too_long")));
    let big_head = format!("GET /v1/health HTTP/1.1\r\nhost: x\r\nx-pad: {}\r\n\r\n", "p".repeat(20_000));
    let (status, body) =
        parse(&read_to_close(&mut raw(server.addr(), big_head.as_bytes()).await, Duration::from_secs(5)).await);
    assert_eq!((status, body["error"]["code"].as_str()), (431, Some("headers_too_large")));
    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let many = format!("GET /v1/health HTTP/1.1\r\nhost: x\r\n{many}\r\n");
    let (status, _) =
        parse(&read_to_close(&mut raw(server.addr(), many.as_bytes()).await, Duration::from_secs(5)).await);
    assert_eq!(status, 431);
    let garbage = b"NOT HTTP AT ALL\r\n\r\n";
    let (status, body) = parse(&read_to_close(&mut raw(server.addr(), garbage).await, Duration::from_secs(5)).await);
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")));
    // A too-long target is judged before the token.
    let res = Client::new(&server, None).get(&format!("/v1/pull?cursor={}", "c".repeat(1500))).await;
    res.assert_error(414, "uri_too_long");
}

#[tokio::test]
async fn errors_never_echo_unbounded_input() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    let huge = "x".repeat(900_000);
    let mut bad = upsert("t", "a", json!({}), None);
    bad["op"] = json!(huge);
    let res = client.push_raw(json!({ "mutations": [bad] }).to_string()).await;
    res.assert_error(400, "invalid_request");
    assert!(res.body.len() < 1000, "{} bytes", res.body.len());
    let mut bad = upsert("t", "a", json!({}), None);
    bad["mutationId"] = json!(huge);
    let res = client.push_raw(json!({ "mutations": [bad] }).to_string()).await;
    assert!(res.body.len() < 1000, "{} bytes", res.body.len());
    let res = client.get(&format!("/v1/pull?limit={}", "9x".repeat(3000))).await;
    res.assert_error(400, "invalid_limit");
    assert!(res.body.len() < 1000);
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let server = start(&["--max-connections", "3"]).await;
    let held: Vec<TcpStream> = futures_join(3, server.addr()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let client = Client::new(&server, None);
    let waiting = tokio::spawn(async move {
        let t = Instant::now();
        let res = client.get("/v1/health").await;
        (res.status, t.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!waiting.is_finished(), "the fourth connection waits");
    drop(held);
    let (status, waited) = waiting.await.unwrap();
    assert_eq!(status, 200);
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
}

async fn futures_join(n: usize, addr: std::net::SocketAddr) -> Vec<TcpStream> {
    let mut out = Vec::new();
    for _ in 0..n {
        // A request, so that each connection is accepted and held (kept alive) by the server.
        let mut s = raw(addr, b"GET /v1/health HTTP/1.1\r\nhost: x\r\n\r\n").await;
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf).await.unwrap();
        out.push(s);
    }
    out
}

/// The real store, with pushes that wait until `open` is set (or 10 s), and a panic for
/// tenant "boom".
struct GatedStore {
    inner: Arc<dyn Store>,
    open: Arc<AtomicBool>,
}

impl Store for GatedStore {
    fn push(
        &self,
        tenant: String,
        mutations: Vec<Mutation<Value>>,
        limits: MutationLimits,
    ) -> BoxFuture<'_, Result<Vec<MutationResult<Value>>, StoreError>> {
        Box::pin(async move {
            if tenant == "boom" {
                panic!("a bug in one request");
            }
            let t = Instant::now();
            while !self.open.load(Ordering::Acquire) && t.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            self.inner.push(tenant, mutations, limits).await
        })
    }
    fn pull(
        &self,
        tenant: String,
        after: u64,
        limits: PullLimits,
    ) -> BoxFuture<'_, Result<Option<PullPage>, StoreError>> {
        self.inner.pull(tenant, after, limits)
    }
    fn pull_spaces(
        &self,
        tenant: String,
        spaces: Vec<(String, u64)>,
        limits: PullLimits,
    ) -> BoxFuture<'_, Result<Option<Vec<SpacePage>>, StoreError>> {
        self.inner.pull_spaces(tenant, spaces, limits)
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.ping()
    }
    fn prune(&self, before_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.inner.prune(before_ms)
    }
    fn blob_state(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<BlobState, StoreError>> {
        self.inner.blob_state(tenant, hash)
    }
    fn blob_start(
        &self,
        tenant: String,
        hash: String,
        size: u64,
        quota: u64,
        now: u64,
    ) -> BoxFuture<'_, Result<Started, StoreError>> {
        self.inner.blob_start(tenant, hash, size, quota, now)
    }
    fn blob_append(
        &self,
        tenant: String,
        hash: String,
        chunk: Chunk,
        now: u64,
    ) -> BoxFuture<'_, Result<Appended, StoreError>> {
        self.inner.blob_append(tenant, hash, chunk, now)
    }
    fn blob_chunks(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>> {
        self.inner.blob_chunks(tenant, hash)
    }
    fn blob_finish(&self, tenant: String, hash: String, now: u64) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>> {
        self.inner.blob_finish(tenant, hash, now)
    }
    fn blob_drop_upload(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>> {
        self.inner.blob_drop_upload(tenant, hash)
    }
    fn collect_blobs(&self, before_ms: u64, delete: DeleteObjects) -> BoxFuture<'_, Result<Collected, StoreError>> {
        self.inner.collect_blobs(before_ms, delete)
    }
    fn known_chunks(&self, keys: Vec<String>) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        self.inner.known_chunks(keys)
    }
}

#[tokio::test]
async fn one_tenant_cannot_take_every_slot_and_a_panic_fails_one_request() {
    let db = Arc::new(TestDb::new("slots").await);
    let open = Arc::new(AtomicBool::new(false));
    let store = Arc::new(GatedStore { inner: db.store().await, open: open.clone() });
    let server = start_with_store(
        &db,
        &[
            "--dev-tokens",
            "tok-a=alpha,tok-b=beta,tok-x=boom",
            "--max-in-flight",
            "4",
            "--max-in-flight-per-tenant",
            "2",
        ],
        store,
    )
    .await;
    let alpha = Client::new(&server, Some("tok-a"));
    let beta = Client::new(&server, Some("tok-b"));
    let held: Vec<_> = (0..2)
        .map(|i| {
            let alpha = alpha.clone();
            tokio::spawn(async move { alpha.push(vec![upsert("t", &format!("a{i}"), json!({}), None)]).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Alpha's third is shed; beta's pull goes through; so does health.
    let res = alpha.push(vec![upsert("t", "a3", json!({}), None)]).await;
    res.assert_error(429, "rate_limited");
    assert_eq!(res.header("retry-after").as_deref(), Some("1"));
    assert_eq!(beta.pull(None, None).await.status, 200);
    assert_eq!(beta.get("/v1/health").await.status, 200);
    // A panic answers 500 and takes nothing else down.
    Client::new(&server, Some("tok-x"))
        .push(vec![upsert("t", "p", json!({}), None)])
        .await
        .assert_error(500, "internal");
    open.store(true, Ordering::Release);
    for h in held {
        assert_eq!(h.await.unwrap().status, 200);
    }
    assert_eq!(alpha.snapshot().await.len(), 2);
    assert_eq!(beta.push_ok(vec![upsert("t", "b", json!({}), None)]).await[0]["status"], "applied");
}

#[tokio::test]
async fn an_answer_not_read_holds_its_slot_until_the_send_timeout() {
    let server = start(&[
        "--max-in-flight",
        "1",
        "--send-timeout",
        "1s",
        "--max-pull-bytes",
        "16000000",
        "--max-body-bytes",
        "2000000",
    ])
    .await;
    let client = Client::new(&server, Some(TOKEN));
    let pad = "x".repeat(200_000);
    for i in 0..40 {
        client.push_ok(vec![upsert("t", &format!("r{i}"), json!({ "pad": pad }), None)]).await;
    }
    // 8 MB of answer that is never read: the socket buffers fill and the slot stays taken.
    let mut stuck = raw(
        server.addr(),
        format!("GET /v1/pull?limit=1000 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\n\r\n").as_bytes(),
    )
    .await;
    // Its answer has started (so it holds the slot); then it is no longer read.
    let mut head = [0u8; 1024];
    stuck.read_exact(&mut head).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.pull(None, Some(1)).await.assert_error(429, "rate_limited");
    // After the send timeout the connection is closed and the slot is free again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(client.pull(None, Some(1)).await.status, 200);
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stuck.read_to_end(&mut buf)).await;
    assert!(buf.len() < 8_000_000, "the answer was cut off");
}

#[tokio::test]
async fn pull_pages_are_bounded_by_bytes() {
    let server = start(&["--max-pull-bytes", "100000"]).await;
    let client = Client::new(&server, Some(TOKEN));
    let pad = "x".repeat(30_000);
    for i in 0..10 {
        client.push_ok(vec![upsert("t", &format!("r{i}"), json!({ "pad": pad }), None)]).await;
    }
    let page = client.pull(None, Some(1000)).await.json();
    assert_eq!(page["changes"].as_array().unwrap().len(), 3, "3 records of 30 KB fit in 100 KB");
    assert_eq!(page["hasMore"], true);
    let (all, _) = client.pull_all().await;
    assert_eq!(all.len(), 10, "following hasMore gets everything");
    // One record larger than the bound still comes, alone.
    client.push_ok(vec![upsert("t", "big", json!({ "pad": "y".repeat(200_000) }), None)]).await;
    let (_, cursor) = client.pull_all().await;
    let _ = cursor;
    let from_r9 = client.pull(None, Some(1000)).await.json();
    assert!(from_r9["changes"].as_array().unwrap().len() <= 3);
}

#[tokio::test]
async fn a_pull_of_big_records_stays_under_64_mb_resident() {
    // 320 records of 200 KB (64 MB). Without the byte bound, each unread page of 1000 would be
    // built whole in memory (64 MB each).
    let db = TestDb::new("pull-mem").await;
    let mut args = db.args();
    args.extend(["--dev-tokens".into(), format!("{TOKEN}=dev"), "--max-in-flight-per-tenant".into(), "64".into()]);
    let server = ChildServer::start(&args, &[]);
    let client = Client::for_url(&server.url, Some(TOKEN));
    let pad = "z".repeat(200_000);
    for i in 0..80 {
        let batch = (0..4).map(|k| upsert("big", &format!("r{i}-{k}"), json!({ "pad": pad }), None)).collect();
        client.push_ok(batch).await;
    }
    let before = server.rss();
    let addr: std::net::SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let mut stuck = Vec::new();
    for _ in 0..8 {
        stuck.push(
            raw(
                addr,
                format!("GET /v1/pull?limit=1000 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\n\r\n")
                    .as_bytes(),
            )
            .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during = server.rss();
    eprintln!("resident: {} MB before, {} MB with 8 unread pulls", before >> 20, during >> 20);
    assert!(during < 64 << 20, "resident {} MB", during >> 20);
    // The pages are there, bounded: 1 MiB of records each.
    let page = client.pull(None, Some(1000)).await.json();
    assert_eq!(page["changes"].as_array().unwrap().len(), 5);
    assert_eq!(page["hasMore"], true);
}

#[tokio::test]
async fn a_conflict_flood_neither_amplifies_answers_nor_grows_the_database() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    client.push_ok(vec![upsert("t", "big", json!({ "pad": "b".repeat(200_000) }), None)]).await;
    // 100 small stale writes to a 200 KB record would answer 20 MB: refused, nothing stored.
    let flood: Vec<Value> = (0..100).map(|_| upsert("t", "big", json!({ "n": 1 }), Some(7))).collect();
    let res = client.push(flood.clone()).await;
    res.assert_error(413, "answer_too_large");
    // In batches the answer fits (4 MiB by default), each conflict carrying the record.
    let before = server.db.size().await;
    for _ in 0..100 {
        let batch: Vec<Value> = (0..10).map(|_| upsert("t", "big", json!({ "n": 1 }), Some(7))).collect();
        let results = client.push_ok(batch).await;
        assert!(results.iter().all(|r| r["status"] == "conflict" && r["current"]["data"]["pad"].is_string()));
    }
    let grown = server.db.size().await.saturating_sub(before);
    eprintln!("1,000 stored conflicts grew the database by {grown} bytes");
    // 1,000 conflict answers of a 200 KB record: under 1 MB in all (not 200 MB).
    assert!(grown < 1_000_000, "grew by {grown} bytes");
    // None of the flood was applied.
    let snap = client.snapshot().await;
    assert_eq!(snap[0]["version"], 1);
}

#[tokio::test]
async fn reads_and_health_answer_while_writers_wait() {
    let db = Arc::new(TestDb::new("starve").await);
    let server = start_on(&db, &[]).await;
    let client = Client::new(&server, Some(TOKEN));
    client.push_ok(vec![upsert("t", "a", json!({}), None)]).await;
    let release = db.hold_write_lock("dev").await;
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.push(vec![upsert("t", &format!("w{i}"), json!({}), None)]).await.status })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(client.pull(None, None).await.status, 200);
        assert_eq!(client.get("/v1/health").await.status, 200);
        assert!(t.elapsed() < Duration::from_millis(500), "a read waited {:?}", t.elapsed());
    }
    assert!(writers.iter().all(|w| !w.is_finished()), "the writers do wait");
    release.send(()).unwrap();
    for w in writers {
        assert_eq!(w.await.unwrap(), 200);
    }
    assert_eq!(client.snapshot().await.len(), 9);
}

#[tokio::test]
async fn stored_answers_are_pruned_after_the_retention() {
    let server = start(&["--answer-retention", "2s"]).await;
    let client = Client::new(&server, Some(TOKEN));
    let first = upsert("t", "a", json!({ "n": 1 }), None);
    assert_eq!(client.push_ok(vec![first.clone()]).await[0]["status"], "applied");
    client.push_ok(vec![upsert("t", "a", json!({ "n": 2 }), Some(1))]).await;
    // Within the retention, a replay gets its first answer.
    assert_eq!(client.push_ok(vec![first.clone()]).await[0]["status"], "applied");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    // Past it, the replay is judged again as a new mutation: a create over a live record, a
    // conflict (nothing is overwritten).
    let replay = client.push_ok(vec![first]).await;
    assert_eq!(replay[0]["status"], "conflict");
    assert_eq!(replay[0]["current"]["data"], json!({ "n": 2 }));
}
