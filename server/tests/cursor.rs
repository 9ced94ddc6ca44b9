//! A cursor never skips a change, with concurrent writers: three server processes over one
//! database, behind a round-robin, take pushes from many writers of one tenant while a puller
//! follows the cursor the whole time. Every record is created once and never changed, so a
//! change skipped by the puller (a sequence number it passed before that change committed)
//! would be missing from its view for ever.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const WRITERS: usize = 12;
const PUSHES_PER_WRITER: usize = 25;
const BATCH: usize = 4;

/// Round-robin over the servers: each request goes to the next one.
struct RoundRobin {
    clients: Vec<Client>,
    next: AtomicUsize,
}

impl RoundRobin {
    fn pick(&self) -> &Client {
        &self.clients[self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len()]
    }
}

async fn write_all(lb: Arc<RoundRobin>, writer: usize) -> Vec<String> {
    let mut created = Vec::new();
    for push in 0..PUSHES_PER_WRITER {
        let batch: Vec<Value> = (0..BATCH)
            .map(|k| {
                upsert("items", &format!("w{writer}-p{push}-{k}"), json!({ "writer": writer, "push": push }), None)
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "mutations": batch })).unwrap();
        for attempt in 0.. {
            let res = lb.pick().push_raw(body.clone()).await;
            if res.status == 200 {
                for r in res.json()["results"].as_array().unwrap() {
                    assert_eq!(r["status"], "applied", "{r}");
                }
                break;
            }
            assert!(matches!(res.status, 429 | 503), "{}: {}", res.status, String::from_utf8_lossy(&res.body));
            assert!(attempt < 200, "push never went through");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        created.extend((0..BATCH).map(|k| format!("w{writer}-p{push}-{k}")));
    }
    created
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cursor_never_skips_a_change_across_processes() {
    let db = TestDb::new("cursor").await;
    let mut args = db.args();
    args.extend(["--dev-tokens".into(), "tok=acme".into()]);
    let servers: Vec<ChildServer> = (0..3).map(|_| ChildServer::start(&args, &[])).collect();
    let lb = Arc::new(RoundRobin {
        clients: servers.iter().map(|s| Client::for_url(&s.url, Some("tok"))).collect(),
        next: AtomicUsize::new(0),
    });

    // The puller: small pages, round-robin, all the time the writers write.
    let done = Arc::new(AtomicBool::new(false));
    let puller = {
        let (lb, done) = (lb.clone(), done.clone());
        tokio::spawn(async move {
            let mut view: BTreeMap<String, Value> = BTreeMap::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let finished = done.load(Ordering::Acquire);
                loop {
                    let res = lb.pick().pull(cursor.as_deref(), Some(7)).await;
                    if matches!(res.status, 429 | 503) {
                        continue;
                    }
                    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
                    let page = res.json();
                    pages += 1;
                    for c in page["changes"].as_array().unwrap() {
                        view.insert(c["id"].as_str().unwrap().to_string(), c["data"].clone());
                    }
                    cursor = Some(page["cursor"].as_str().unwrap().to_string());
                    if page["hasMore"] == false {
                        break;
                    }
                }
                if finished {
                    return (view, pages);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS).map(|w| tokio::spawn(write_all(lb.clone(), w))).collect();
    let mut created = Vec::new();
    for w in writers {
        created.extend(w.await.unwrap());
    }
    done.store(true, Ordering::Release);
    let (view, pages) = puller.await.unwrap();
    eprintln!(
        "{} records by {WRITERS} writers in {:?}; the puller read {pages} pages",
        created.len(),
        started.elapsed()
    );

    // Nothing skipped: every created record is in the puller's view, and the view equals a
    // fresh full pull through any server.
    created.sort();
    let seen: Vec<&String> = view.keys().collect();
    let missing: Vec<&String> = created.iter().filter(|id| !view.contains_key(*id)).collect();
    assert!(
        missing.is_empty(),
        "the cursor skipped {} changes, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(seen.len(), created.len());
    for client in &lb.clients {
        let (all, _) = client.pull_all().await;
        let fresh: BTreeMap<String, Value> =
            all.iter().map(|c| (c["id"].as_str().unwrap().to_string(), c["data"].clone())).collect();
        assert_eq!(fresh, view);
    }
    assert!(pages > WRITERS, "the puller ran throughout ({pages} pages)");
}
