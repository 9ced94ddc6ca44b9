//! Fault injection at rate 1.0, only with --enable-faults. A faulty server and a clean one share
//! one database, so the clean one shows what the faulty one did or did not apply.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// A server with --enable-faults and these options, and a clean one, over the same database.
async fn pair(args: &[&str]) -> (TestServer, TestServer) {
    let db = Arc::new(TestDb::new("faults").await);
    let mut faulty_args = vec!["--enable-faults"];
    faulty_args.extend_from_slice(args);
    let faulty = start_on(&db, &faulty_args).await;
    let clean = start_on(&db, &[]).await;
    (faulty, clean)
}

#[test]
fn fault_options_are_refused_without_the_explicit_flag() {
    // From the command line, and from the environment: the server does not start.
    let (code, err) = refused_start(&["--dev-tokens", "t=x", "--fail-rate", "1"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("--enable-faults"), "{err}");
    for var in ["FERRYSYNC_FAIL_RATE", "FERRYSYNC_DROP_RATE", "FERRYSYNC_THROTTLE_RATE"] {
        let (code, err) = refused_start(&["--dev-tokens", "t=x"], &[(var, "1")]);
        assert_ne!(code, 0, "{var}");
        assert!(err.contains("--enable-faults"), "{var}: {err}");
    }
    let (code, err) = refused_start(&["--dev-tokens", "t=x"], &[("FERRYSYNC_LATENCY_MS", "500")]);
    assert_ne!(code, 0);
    assert!(err.contains("--enable-faults"), "{err}");
}

#[tokio::test]
async fn the_environment_turns_faults_on_only_with_the_flag() {
    let db = TestDb::new("faults-env").await;
    let mut args = db.args();
    args.extend(["--dev-tokens".into(), "t=x".into(), "--enable-faults".into()]);
    let child = ChildServer::start(&args, &[("FERRYSYNC_FAIL_RATE", "1")]);
    Client::for_url(&child.url, None).get("/v1/health").await.assert_error(500, "internal");
    // Without the variables, the flag alone injects nothing.
    let child = ChildServer::start(&args, &[]);
    assert_eq!(Client::for_url(&child.url, None).get("/v1/health").await.status, 200);
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
    let server = start(&["--enable-faults", "--latency-ms", "300"]).await;
    let client = Client::new(&server, Some(TOKEN));
    let t = Instant::now();
    assert_eq!(client.get("/v1/health").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(client.get("/v1/openapi.json").await.status, 200);
    assert!(t.elapsed() < Duration::from_millis(300), "the document is not delayed");
}
