//! Several server processes over one database (a SQLite file, or PostgreSQL): they give the
//! same answers, and concurrent writers through all of them lose no update.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// The server binary over `db`, with the token "tok" of tenant "acme".
fn child(db: &TestDb) -> ChildServer {
    let mut args = db.args();
    args.extend(["--dev-tokens".into(), "tok=acme".into()]);
    ChildServer::start(&args, &[])
}

/// Increments the counter record `id` once through `client`, retrying on conflicts (rebasing on
/// the conflict's current record) and on busy or shed answers; bounded. Each write also names
/// its writer, so that no two writes carry identical data (identical data would converge as
/// "applied": the protocol syncs states, not operations).
async fn increment(client: &Client, id: &str, writer: &str) -> u32 {
    let (mut base, mut n) = (1u64, 0u64);
    for attempt in 0..500u32 {
        let data = json!({ "n": n + 1, "by": writer });
        let res = client.push(vec![upsert("counters", id, data, Some(base))]).await;
        if res.status == 503 || res.status == 429 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let r = &res.json()["results"][0];
        match r["status"].as_str().unwrap() {
            "applied" => return attempt,
            "conflict" => {
                base = r["current"]["version"].as_u64().unwrap();
                n = r["current"]["data"]["n"].as_u64().unwrap();
            }
            other => panic!("unexpected {other}: {r}"),
        }
    }
    panic!("no increment after 500 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_over_one_database_agree() {
    let db = Arc::new(TestDb::new("shared").await);
    let inproc = start_on(&db, &["--dev-tokens", "tok=acme"]).await;
    let child = child(&db);
    let a = Client::new(&inproc, Some("tok"));
    let b = Client::for_url(&child.url, Some("tok"));

    // Written through one, read through the other.
    let m = upsert("todos", "x", json!({ "t": "milk" }), None);
    let first = a.push_ok(vec![m.clone()]).await;
    assert_eq!(first[0]["version"], 1);
    assert_eq!(b.snapshot().await, a.snapshot().await);
    // A replay through the other server gets the stored answer and applies nothing.
    assert_eq!(b.push_ok(vec![m]).await, first);
    // A stale write through the other server is a conflict with the latest record.
    a.push_ok(vec![upsert("todos", "x", json!({ "t": "eggs" }), Some(1))]).await;
    let r = b.push_ok(vec![upsert("todos", "x", json!({ "t": "ham" }), Some(1))]).await;
    assert_eq!(r[0]["status"], "conflict");
    assert_eq!(r[0]["current"]["data"], json!({ "t": "eggs" }));

    // Concurrent increments of one record through both servers: no lost update.
    a.push_ok(vec![upsert("counters", "c", json!({ "n": 0 }), None)]).await;
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let client = if worker % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for k in 0..10 {
                conflicts += increment(&client, "c", &format!("w{worker}-{k}")).await;
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.unwrap();
    }
    let snap = a.snapshot().await;
    let counter = snap.iter().find(|r| r["id"] == "c").unwrap();
    assert_eq!(counter["data"]["n"], 40, "{conflicts} conflicts on the way");
    assert_eq!(counter["version"], 41);

    // Both page through the same changes with the same cursors.
    let mut cursor_a: Option<String> = None;
    let mut cursor_b: Option<String> = None;
    loop {
        let mut pa = a.pull(cursor_a.as_deref(), Some(1)).await.json();
        let mut pb = b.pull(cursor_b.as_deref(), Some(1)).await.json();
        // Each answers with its own clock; everything else is the same.
        for page in [&mut pa, &mut pb] {
            assert!(page.as_object_mut().and_then(|p| p.remove("serverTime")).is_some_and(|t| t.is_u64()));
        }
        assert_eq!(pa, pb);
        cursor_a = pa["cursor"].as_str().map(str::to_string);
        cursor_b = pb["cursor"].as_str().map(str::to_string);
        if pa["hasMore"] == Value::Bool(false) {
            break;
        }
    }
    drop(child);
    inproc.shutdown().await;
}
