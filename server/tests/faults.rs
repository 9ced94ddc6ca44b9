//! Fault injection at rate 1.0, and load shedding. A faulty server and a clean one share one
//! store, so the clean one shows what the faulty one did or did not apply.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ferrysync_server::store::sqlite::{Location, SqliteStore};
use ferrysync_server::RunningServer;
use serde_json::json;

const TOKEN: &str = "dev-token";

/// A server with these options and a clean one, over the same in-memory store.
async fn pair(args: &[&str]) -> (RunningServer, RunningServer) {
    let store = Arc::new(SqliteStore::open(Location::Memory).await.unwrap());
    let faulty = ferrysync_server::start_with_store(config(args), store.clone()).await.unwrap();
    let clean = ferrysync_server::start_with_store(config(&[]), store).await.unwrap();
    (faulty, clean)
}

#[tokio::test]
async fn fail_rate_answers_500_and_applies_nothing() {
    let (faulty, clean) = pair(&["--fail-rate", "1.0"]).await;
    let bad = Client::new(&faulty, Some(TOKEN));
    let good = Client::new(&clean, Some(TOKEN));
    let m = upsert("t", "a", json!({ "n": 1 }), None);
    for _ in 0..3 {
        let res = bad.push(vec![m.clone()]).await;
        res.assert_error(500, "internal");
    }
    bad.pull(None, None).await.assert_error(500, "internal");
    bad.get("/v1/health").await.assert_error(500, "internal");
    assert!(good.snapshot().await.is_empty());
    // The same mutation then goes through once.
    assert_eq!(good.push_ok(vec![m]).await[0]["version"], 1);
    // The document, preflights and the health of the clean server are not faulted.
    assert_eq!(bad.get("/v1/openapi.json").await.status, 200);
    let pre = bad
        .send("OPTIONS", "/v1/push", &[("origin", "http://x.test"), ("access-control-request-method", "POST")], None)
        .await;
    assert!(pre.status < 300);
    assert_eq!(good.get("/v1/health").await.status, 200);
}

#[tokio::test]
async fn throttle_rate_answers_429_with_retry_after() {
    let (faulty, clean) = pair(&["--throttle-rate", "1", "--retry-after-secs", "7"]).await;
    let bad = Client::new(&faulty, Some(TOKEN));
    let res = bad.push(vec![upsert("t", "a", json!({}), None)]).await;
    res.assert_error(429, "rate_limited");
    assert_eq!(res.header("retry-after").as_deref(), Some("7"));
    let res = bad.send("GET", "/v1/pull", &[("origin", "http://x.test")], None).await;
    res.assert_error(429, "rate_limited");
    assert_eq!(res.header("retry-after").as_deref(), Some("7"));
    assert_eq!(res.header("access-control-allow-origin").as_deref(), Some("*"));
    // Even a request without a token is throttled before anything else.
    bad.with_token(None).get("/v1/pull").await.assert_error(429, "rate_limited");
    assert!(Client::new(&clean, Some(TOKEN)).snapshot().await.is_empty());
}

#[tokio::test]
async fn drop_rate_closes_the_connection_after_applying() {
    let (faulty, clean) = pair(&["--drop-rate", "1.0"]).await;
    let bad = Client::new(&faulty, Some(TOKEN));
    let good = Client::new(&clean, Some(TOKEN));
    let m = upsert("t", "a", json!({ "n": 1 }), None);
    let body = serde_json::to_vec(&json!({ "mutations": [m.clone()] })).unwrap();
    for _ in 0..3 {
        let res = bad.try_send("POST", "/v1/push", &[("content-type", "application/json")], Some(body.clone())).await;
        assert!(res.is_err(), "expected a dropped connection, got {res:?}");
    }
    assert!(bad.try_send("GET", "/v1/pull", &[], None).await.is_err());
    assert!(bad.try_send("GET", "/v1/health", &[], None).await.is_err());
    // Applied once, although the answer was lost three times; the retry gets the first answer.
    let snap = good.snapshot().await;
    assert_eq!(snap.len(), 1);
    assert_eq!(snap[0]["version"], 1);
    let retry = good.push_ok(vec![m]).await;
    assert_eq!(retry[0]["status"], "applied");
    assert_eq!(retry[0]["version"], 1);
    // The faulty server itself keeps accepting connections.
    assert_eq!(bad.get("/v1/openapi.json").await.status, 200);
}

#[tokio::test]
async fn latency_delays_answers() {
    let server = start(&["--latency-ms", "300"]).await;
    let client = Client::new(&server, Some(TOKEN));
    let t = Instant::now();
    assert_eq!(client.get("/v1/health").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(client.get("/v1/openapi.json").await.status, 200);
    assert!(t.elapsed() < Duration::from_millis(300), "the document is not delayed");
}

#[tokio::test]
async fn too_many_requests_in_flight_are_shed_with_429() {
    let server = start(&["--max-in-flight", "1", "--latency-ms", "700"]).await;
    let client = Client::new(&server, Some(TOKEN));
    let a = client.clone();
    let b = client.clone();
    let (ra, rb) = tokio::join!(async move { a.push(vec![upsert("t", "a", json!({}), None)]).await }, async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.push(vec![upsert("t", "b", json!({}), None)]).await
    });
    // One holds the only slot for 700 ms; the other is shed (normally the second one).
    let (ok, shed, applied) = if ra.status == 200 { (ra, rb, "a") } else { (rb, ra, "b") };
    assert_eq!(ok.status, 200);
    shed.assert_error(429, "rate_limited");
    assert_eq!(shed.header("retry-after").as_deref(), Some("1"));
    // Health is never shed.
    assert_eq!(client.get("/v1/health").await.status, 200);
    let ids: Vec<String> = client.snapshot().await.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, vec![applied]);
}
