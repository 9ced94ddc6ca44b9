//! The protocol over real sockets: each test starts its own server on 127.0.0.1:0.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn health_needs_no_token() {
    let server = start(&[]).await;
    let client = Client::new(&server, None);
    let res = client.get("/v1/health").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({ "status": "ok", "protocol": 1 }));
    OpenApi::load().check_response("/v1/health", "get", &res);
}

#[tokio::test]
async fn openapi_document_is_served_and_complete() {
    let server = start(&[]).await;
    let res = Client::new(&server, None).get("/v1/openapi.json").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type").as_deref(), Some("application/json"));
    let doc = res.json();
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc, on_disk, "the served document is docs/openapi.json");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/v1/push", "post"),
        ("/v1/pull", "get"),
        ("/v1/pull", "post"),
        ("/v1/health", "get"),
        ("/v1/openapi.json", "get"),
        ("/v1/blobs/{hash}/upload", "get"),
        ("/v1/blobs/{hash}/upload", "patch"),
        ("/v1/blobs/{hash}", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} missing");
    }
    let api = OpenApi(doc);
    for r in api.refs() {
        assert!(api.0.pointer(r.trim_start_matches('#')).is_some(), "dangling $ref {r}");
    }
    // The documented error codes are exactly the protocol's request-level codes.
    let documented: Vec<&str> = api.0["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
        ["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    use ferrysync::protocol::codes::*;
    for code in [
        MALFORMED_JSON,
        INVALID_REQUEST,
        INVALID_CURSOR,
        INVALID_LIMIT,
        MISSING_TOKEN,
        INVALID_TOKEN,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        PAYLOAD_TOO_LARGE,
        BATCH_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        RATE_LIMITED,
        INTERNAL,
        UNAVAILABLE,
        TOKEN_EXPIRED,
        REQUEST_TIMEOUT,
        ANSWER_TOO_LARGE,
        URI_TOO_LONG,
        HEADERS_TOO_LARGE,
        INVALID_SPACE,
        TOO_MANY_SPACES,
        INVALID_HASH,
        BLOB_NOT_FOUND,
        OFFSET_MISMATCH,
        SIZE_MISMATCH,
        HASH_MISMATCH,
        BLOB_TOO_LARGE,
        QUOTA_EXCEEDED,
        RANGE_NOT_SATISFIABLE,
    ] {
        assert!(documented.contains(&code), "{code} undocumented");
    }
    assert_eq!(documented.len(), 29);
}

#[tokio::test]
async fn push_then_pull() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    let results = client
        .push_ok(vec![
            upsert("todos", "a", json!({ "title": "milk", "done": false }), None),
            upsert("notes", "n1", json!({ "text": "hi", "tags": ["x"], "nested": { "k": 1.5 } }), None),
        ])
        .await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r["status"], "applied");
        assert_eq!(r["version"], 1);
    }
    let res = client.pull(None, None).await;
    assert_eq!(res.status, 200);
    let page = res.json();
    assert_eq!(page["hasMore"], false);
    let changes = page["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["collection"], "todos");
    assert_eq!(changes[0]["id"], "a");
    assert_eq!(changes[0]["version"], 1);
    assert_eq!(changes[0]["deleted"], false);
    assert_eq!(changes[0]["data"], json!({ "title": "milk", "done": false }));
    assert!(changes[0]["updatedAt"].as_u64().unwrap() > 0);
    assert_eq!(changes[1]["data"], json!({ "text": "hi", "tags": ["x"], "nested": { "k": 1.5 } }));
    // Nothing after the last cursor; the cursor stays.
    let cursor = page["cursor"].as_str().unwrap();
    let again = client.pull(Some(cursor), None).await.json();
    assert_eq!(again["changes"], json!([]));
    assert_eq!(again["cursor"], cursor);
    assert_eq!(again["hasMore"], false);
    // An empty push is fine.
    assert!(client.push_ok(vec![]).await.is_empty());
}

#[tokio::test]
async fn replayed_mutation_ids_get_the_first_answer_and_apply_once() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    let m = upsert("todos", "a", json!({ "n": 1 }), None);
    let first = client.push(vec![m.clone()]).await.json();
    assert_eq!(first["results"][0]["status"], "applied");
    assert_eq!(first["results"][0]["version"], 1);
    // The same request again (a retry after a lost answer): same answer, nothing applied.
    let second = client.push(vec![m.clone()]).await.json();
    assert_eq!(second["results"], first["results"]);
    assert!(second["serverTime"].as_u64() >= first["serverTime"].as_u64(), "every answer carries the server's clock");
    // The same id with other content still gets the first answer.
    let mut changed = m.clone();
    changed["data"] = json!({ "n": 2 });
    changed["baseVersion"] = json!(1);
    assert_eq!(client.push(vec![changed]).await.json()["results"], first["results"]);
    // Twice in one batch: the second is a replay of the first.
    let m2 = upsert("todos", "b", json!({ "n": 1 }), None);
    let both = client.push_ok(vec![m2.clone(), m2.clone()]).await;
    assert_eq!(both[0], both[1]);
    assert_eq!(both[0]["version"], 1);
    let snapshot = client.snapshot().await;
    assert_eq!(snapshot.len(), 2);
    assert_eq!(snapshot[0]["version"], 1);
    assert_eq!(snapshot[0]["data"], json!({ "n": 1 }));
    assert_eq!(snapshot[1]["version"], 1);
    // Conflicts and rejections are stored answers too.
    let stale = upsert("todos", "a", json!({ "n": 9 }), Some(7));
    let conflict = client.push_ok(vec![stale.clone()]).await;
    assert_eq!(conflict[0]["status"], "conflict");
    assert_eq!(client.push_ok(vec![stale.clone()]).await, conflict, "the record unchanged: the same answer");
    // Once the record moved on, a replayed conflict carries the record as it is now: still a
    // conflict (nothing applied), against the state the client must resolve with.
    client.push_ok(vec![upsert("todos", "a", json!({ "n": 3 }), Some(1))]).await;
    let replayed = client.push_ok(vec![stale]).await;
    assert_eq!(replayed[0]["status"], "conflict");
    assert_eq!(replayed[0]["mutationId"], conflict[0]["mutationId"]);
    assert_eq!(replayed[0]["current"]["version"], 2);
    assert_eq!(replayed[0]["current"]["data"], json!({ "n": 3 }));
    let bad = upsert("todos", "", json!({}), None);
    let rejected = client.push_ok(vec![bad.clone()]).await;
    assert_eq!(rejected[0]["status"], "rejected");
    assert_eq!(client.push_ok(vec![bad]).await, rejected);
}

#[tokio::test]
async fn version_and_conflict_rules() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    let one = |m: Value| {
        let client = client.clone();
        async move { client.push_ok(vec![m]).await.remove(0) }
    };
    let applied = |r: &Value, v: u64| {
        assert_eq!(r["status"], "applied", "{r}");
        assert_eq!(r["version"], v, "{r}");
    };
    applied(&one(upsert("t", "a", json!({ "v": 1 }), None)).await, 1);
    applied(&one(upsert("t", "a", json!({ "v": 2 }), Some(1))).await, 2);
    // A stale base: conflict with the current record, nothing changes.
    let r = one(upsert("t", "a", json!({ "v": 3 }), Some(1))).await;
    assert_eq!(r["status"], "conflict");
    let mut current = r["current"].clone();
    assert!(current["updatedAt"].as_u64().is_some(), "a conflict answer says when its version was written");
    current.as_object_mut().unwrap().remove("updatedAt");
    assert_eq!(current, json!({ "collection": "t", "id": "a", "version": 2, "deleted": false, "data": { "v": 2 } }));
    // null base on a live record: conflict. A stale delete: conflict.
    assert_eq!(one(upsert("t", "a", json!({ "v": 3 }), None)).await["status"], "conflict");
    assert_eq!(one(delete("t", "a", Some(1))).await["status"], "conflict");
    // Identical data converges whatever the base, without a new version.
    applied(&one(upsert("t", "a", json!({ "v": 2 }), Some(1))).await, 2);
    // Resolving: rebase on current.version.
    applied(&one(upsert("t", "a", json!({ "v": 3 }), Some(2))).await, 3);
    applied(&one(delete("t", "a", Some(3))).await, 4);
    // Deleting a deleted record converges; so does deleting one never held (version 0).
    applied(&one(delete("t", "a", Some(1))).await, 4);
    applied(&one(delete("t", "never", Some(5))).await, 0);
    // An update over a tombstone with a stale base is a conflict showing the tombstone.
    let r = one(upsert("t", "a", json!({ "v": 9 }), Some(3))).await;
    assert_eq!(r["status"], "conflict");
    assert_eq!((r["current"]["version"].as_u64(), r["current"]["deleted"].as_bool()), (Some(4), Some(true)));
    assert_eq!(r["current"]["data"], Value::Null);
    // Re-creating over a tombstone: null base (the client believes it does not exist) or its version.
    applied(&one(upsert("t", "a", json!({ "v": 5 }), None)).await, 5);
    applied(&one(delete("t", "a", Some(5))).await, 6);
    applied(&one(upsert("t", "a", json!({ "v": 7 }), Some(6))).await, 7);
    // A base on a record never held: conflict with a version-0 tombstone; base 0 then creates it.
    let r = one(upsert("t", "b", json!({}), Some(2))).await;
    assert_eq!(r["current"], json!({ "collection": "t", "id": "b", "version": 0, "deleted": true, "data": null }));
    applied(&one(upsert("t", "b", json!({}), Some(0))).await, 1);
    // Records are per collection.
    applied(&one(upsert("u", "a", json!({}), None)).await, 1);
    let snap = client.snapshot().await;
    assert_eq!(snap.len(), 3);
}

#[tokio::test]
async fn a_forced_mutation_is_written_whatever_its_base_and_pulled_as_forced() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    let one = |m: Value| {
        let client = client.clone();
        async move { client.push_ok(vec![m]).await.remove(0) }
    };
    let forced = |mut m: Value| {
        m["force"] = json!(true);
        m
    };
    one(upsert("t", "a", json!({ "v": 1 }), None)).await;
    one(upsert("t", "a", json!({ "v": 2 }), Some(1))).await;
    // A stale base, forced: written at the next version.
    let r = one(forced(upsert("t", "a", json!({ "v": 3 }), Some(1)))).await;
    assert_eq!((r["status"].as_str(), r["version"].as_u64()), (Some("applied"), Some(3)), "{r}");
    // A forced delete with a null base over a live record; the same data again writes nothing.
    let r = one(forced(delete("t", "a", None))).await;
    assert_eq!(r["version"], 4, "{r}");
    let r = one(forced(delete("t", "a", Some(0)))).await;
    assert_eq!(r["version"], 4, "already deleted: unchanged");
    // `force: false` is the default; anything but a boolean is a 400.
    let mut not_bool = upsert("t", "b", json!({}), None);
    not_bool["force"] = json!("yes");
    assert_eq!(client.push_raw(json!({ "mutations": [not_bool] }).to_string()).await.status, 400);
    let (changes, _) = client.pull_all().await;
    let a = changes.iter().find(|c| c["id"] == "a").unwrap();
    assert_eq!((a["version"].as_u64(), a["forced"].as_bool()), (Some(4), Some(true)), "{a}");
    one(upsert("t", "a", json!({ "v": 5 }), Some(4))).await;
    let (changes, _) = client.pull_all().await;
    let a = changes.iter().find(|c| c["id"] == "a").unwrap();
    assert!(a.get("forced").is_none(), "a normal write clears the mark: {a}");
}

#[tokio::test]
async fn a_version_is_stamped_with_its_writes_time_never_later_than_the_servers_clock() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    let at = |id: &str, t: u64| {
        let mut m = upsert("t", id, json!({ "v": 1 }), None);
        m["writtenAt"] = json!(t);
        m
    };
    let answer = client.push(vec![at("past", 1_000), at("future", u64::MAX / 2)]).await.json();
    let now = answer["serverTime"].as_u64().expect("the server's clock");
    let (changes, _) = client.pull_all().await;
    let stamp = |id: &str| changes.iter().find(|c| c["id"] == id).unwrap()["updatedAt"].as_u64().unwrap();
    assert_eq!(stamp("past"), 1_000, "the write's own time");
    assert_eq!(stamp("future"), now, "cut to the server's clock");
}

#[tokio::test]
async fn pagination_over_1000_records() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    let ids: Vec<String> = (0..1000).map(|i| format!("r{i:04}")).collect();
    for batch in ids.chunks(100) {
        let results =
            client.push_ok(batch.iter().map(|id| upsert("items", id, json!({ "id": id }), None)).collect()).await;
        assert!(results.iter().all(|r| r["status"] == "applied"));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client.pull(cursor.as_deref(), Some(100)).await.json();
        pages += 1;
        let changes = page["changes"].as_array().unwrap();
        assert!(changes.len() <= 100);
        seen.extend(changes.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        cursor = Some(page["cursor"].as_str().unwrap().to_string());
        if !page["hasMore"].as_bool().unwrap() {
            break;
        }
        assert!(pages < 20, "too many pages");
    }
    assert_eq!(pages, 10);
    assert_eq!(seen, ids, "every record once, in change order");
    // Nothing new: an empty page at the same cursor.
    let tail = client.pull(cursor.as_deref(), Some(100)).await.json();
    assert_eq!(tail["changes"], json!([]));
    assert_eq!(tail["hasMore"], false);
    assert_eq!(tail["cursor"].as_str(), cursor.as_deref());
    // A later change to an old record comes after the cursor, once, in its new state.
    client.push_ok(vec![upsert("items", "r0000", json!({ "id": "r0000", "x": 1 }), Some(1))]).await;
    let next = client.pull(cursor.as_deref(), Some(100)).await.json();
    assert_eq!(next["changes"].as_array().unwrap().len(), 1);
    assert_eq!(next["changes"][0]["version"], 2);
    // From the start, the moved record is now last and appears once.
    let (all, _) = client.pull_all().await;
    assert_eq!(all.len(), 1000);
    assert_eq!(all[999]["id"], "r0000");
    // limit: default 100, lowered to 1000, 1 works.
    assert_eq!(client.pull(None, None).await.json()["changes"].as_array().unwrap().len(), 100);
    assert_eq!(client.pull(None, Some(5000)).await.json()["changes"].as_array().unwrap().len(), 1000);
    let one = client.pull(None, Some(1)).await.json();
    assert_eq!(one["changes"].as_array().unwrap().len(), 1);
    assert_eq!(one["hasMore"], true);
}

#[tokio::test]
async fn tombstones_are_pulled() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    client.push_ok(vec![upsert("t", "a", json!({ "x": 1 }), None), upsert("t", "b", json!({ "x": 2 }), None)]).await;
    let (_, cursor) = client.pull_all().await;
    let r = client.push_ok(vec![delete("t", "a", Some(1))]).await;
    assert_eq!(r[0]["version"], 2);
    // Incrementally: only the tombstone.
    let page = client.pull(Some(&cursor), None).await.json();
    let changes = page["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["id"], "a");
    assert_eq!(changes[0]["deleted"], true);
    assert_eq!(changes[0]["data"], Value::Null);
    assert_eq!(changes[0]["version"], 2);
    // From the start: b, then a's tombstone (its latest change).
    let (all, _) = client.pull_all().await;
    let order: Vec<(&str, bool)> =
        all.iter().map(|c| (c["id"].as_str().unwrap(), c["deleted"].as_bool().unwrap())).collect();
    assert_eq!(order, vec![("b", false), ("a", true)]);
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let server = start(&["--dev-tokens", "tok-a=alpha,tok-b=beta"]).await;
    let alpha = Client::new(&server, Some("tok-a"));
    let beta = Client::new(&server, Some("tok-b"));
    let m = upsert("todos", "same-id", json!({ "owner": "alpha" }), None);
    assert_eq!(alpha.push_ok(vec![m.clone()]).await[0]["version"], 1);
    let (beta_view, beta_cursor) = beta.pull_all().await;
    assert!(beta_view.is_empty(), "{beta_view:?}");
    // The same collection/id is beta's own record; the same mutation id is beta's own too.
    let mut theirs = m.clone();
    theirs["data"] = json!({ "owner": "beta" });
    let r = beta.push_ok(vec![theirs]).await;
    assert_eq!(r[0]["status"], "applied");
    assert_eq!(r[0]["version"], 1);
    let a = alpha.snapshot().await;
    let b = beta.snapshot().await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["data"], json!({ "owner": "alpha" }));
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["data"], json!({ "owner": "beta" }));
    // Beta deleting "its" record leaves alpha's alone; a cursor is only a position in one's own sequence.
    beta.push_ok(vec![delete("todos", "same-id", Some(1))]).await;
    assert_eq!(alpha.snapshot().await, a);
    let after = beta.pull(Some(&beta_cursor), None).await.json();
    assert!(after["changes"].as_array().unwrap().iter().all(|c| c["data"] != json!({ "owner": "alpha" })));
    // A cursor is a position in one tenant's own sequence: past it, it is refused.
    for _ in 0..3 {
        alpha.push_ok(vec![upsert("more", &new_id(), json!({}), None)]).await;
    }
    let (_, alpha_cursor) = alpha.pull_all().await;
    beta.pull(Some(&alpha_cursor), None).await.assert_error(400, "invalid_cursor");
    // Only the tokens given are accepted.
    alpha.with_token(Some(TOKEN)).pull(None, None).await.assert_error(401, "invalid_token");
}

#[tokio::test]
async fn bad_inputs_are_4xx_json_errors_and_change_nothing() {
    let server = start(&["--max-body-bytes", "4000", "--max-batch", "5"]).await;
    let client = Client::new(&server, Some(TOKEN));
    client.push_ok(vec![upsert("t", "seed", json!({ "n": 0 }), None)]).await;
    let before = client.snapshot().await;
    let api = OpenApi::load();

    let good = || upsert("t", "new", json!({ "n": 1 }), None);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut m = good();
        f(&mut m);
        json!({ "mutations": [good(), m] }).to_string()
    };
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("truncated JSON", r#"{"mutations": [{"mutationId": "#.into(), 400, "malformed_json"),
        ("not JSON", "hello".into(), 400, "malformed_json"),
        ("empty body", "".into(), 400, "malformed_json"),
        ("no mutations field", "{}".into(), 400, "invalid_request"),
        ("mutations not an array", r#"{"mutations": 5}"#.into(), 400, "invalid_request"),
        ("unknown op", with(&|m| m["op"] = json!("patch")), 400, "invalid_request"),
        (
            "missing op",
            with(&|m| {
                m.as_object_mut().unwrap().remove("op");
            }),
            400,
            "invalid_request",
        ),
        (
            "missing baseVersion",
            with(&|m| {
                m.as_object_mut().unwrap().remove("baseVersion");
            }),
            400,
            "invalid_request",
        ),
        (
            "missing mutationId",
            with(&|m| {
                m.as_object_mut().unwrap().remove("mutationId");
            }),
            400,
            "invalid_request",
        ),
        (
            "missing collection",
            with(&|m| {
                m.as_object_mut().unwrap().remove("collection");
            }),
            400,
            "invalid_request",
        ),
        (
            "missing id",
            with(&|m| {
                m.as_object_mut().unwrap().remove("id");
            }),
            400,
            "invalid_request",
        ),
        ("mutationId not a UUID", with(&|m| m["mutationId"] = json!("abc")), 400, "invalid_request"),
        ("baseVersion negative", with(&|m| m["baseVersion"] = json!(-1)), 400, "invalid_request"),
        ("baseVersion a string", with(&|m| m["baseVersion"] = json!("1")), 400, "invalid_request"),
        ("id a number", with(&|m| m["id"] = json!(7)), 400, "invalid_request"),
        (
            "oversized body",
            json!({ "mutations": [upsert("t", "big", json!({ "pad": "x".repeat(8000) }), None)] }).to_string(),
            413,
            "payload_too_large",
        ),
        (
            "oversized batch",
            json!({ "mutations": (0..6).map(|i| upsert("t", &format!("b{i}"), json!({}), None)).collect::<Vec<_>>() })
                .to_string(),
            413,
            "batch_too_large",
        ),
    ];
    for (what, body, status, code) in &cases {
        let res = client.push_raw(body.clone()).await;
        assert_eq!(res.status, *status, "{what}: {}", String::from_utf8_lossy(&res.body));
        res.assert_error(*status, code);
        api.check_response("/v1/push", "post", &res);
        // The document agrees that the body is not a valid push request.
        if let Ok(v) = serde_json::from_str::<Value>(body) {
            if *status == 400 {
                assert!(api.validate_named("PushRequest", &v).is_err(), "{what}: the document accepts it");
            }
        }
        assert_eq!(client.snapshot().await, before, "{what} changed something");
    }

    // Content type, tokens.
    let body = json!({ "mutations": [good()] }).to_string().into_bytes();
    let res = client.send("POST", "/v1/push", &[("content-type", "text/plain")], Some(body.clone())).await;
    res.assert_error(415, "unsupported_media_type");
    api.check_response("/v1/push", "post", &res);
    let res = client.send("POST", "/v1/push", &[], Some(body.clone())).await;
    res.assert_error(415, "unsupported_media_type");
    let bad_token = client.with_token(Some("nope"));
    let res = bad_token.push_raw(body.clone()).await;
    res.assert_error(401, "invalid_token");
    assert_eq!(res.header("www-authenticate").as_deref(), Some(r#"Bearer error="invalid_token""#));
    api.check_response("/v1/push", "post", &res);
    let no_token = client.with_token(None);
    let res = no_token.push_raw(body.clone()).await;
    res.assert_error(401, "missing_token");
    assert_eq!(res.header("www-authenticate").as_deref(), Some("Bearer"));
    api.check_response("/v1/push", "post", &res);
    let res = no_token
        .send(
            "POST",
            "/v1/push",
            &[("content-type", "application/json"), ("authorization", "Basic Zm9vOmJhcg==")],
            Some(body.clone()),
        )
        .await;
    res.assert_error(401, "missing_token");
    // A bad token wins over a bad body: nothing about the body is told.
    bad_token.push_raw("hello").await.assert_error(401, "invalid_token");
    // The scheme is case-insensitive.
    let res = no_token.send("GET", "/v1/pull", &[("authorization", "bearer dev-token")], None).await;
    assert_eq!(res.status, 200);
    assert_eq!(client.snapshot().await, before);

    // Pull inputs.
    for (query, code) in [
        ("?cursor=nope", "invalid_cursor"),
        ("?cursor=c1.-1", "invalid_cursor"),
        ("?cursor=c1.999", "invalid_cursor"),
        ("?limit=0", "invalid_limit"),
        ("?limit=-3", "invalid_limit"),
        ("?limit=ten", "invalid_limit"),
        ("?limit=", "invalid_limit"),
    ] {
        let res = client.get(&format!("/v1/pull{query}")).await;
        res.assert_error(400, code);
        api.check_response("/v1/pull", "get", &res);
    }
    no_token.get("/v1/pull").await.assert_error(401, "missing_token");
    bad_token.get("/v1/pull").await.assert_error(401, "invalid_token");

    // Unknown paths and methods.
    client.get("/v1/nothing").await.assert_error(404, "not_found");
    client.get("/nothing").await.assert_error(404, "not_found");
    client.get("/v1/push").await.assert_error(405, "method_not_allowed");
    client.send("DELETE", "/v1/pull", &[], None).await.assert_error(405, "method_not_allowed");
    assert_eq!(client.snapshot().await, before);
}

#[tokio::test]
async fn invalid_mutations_are_rejected_one_by_one() {
    let server = start(&["--max-record-bytes", "100"]).await;
    let client = Client::new(&server, Some(TOKEN));
    let mut delete_with_data = delete("t", "d", None);
    delete_with_data["data"] = json!({ "x": 1 });
    let mut upsert_without_data = upsert("t", "u", json!({}), None);
    upsert_without_data.as_object_mut().unwrap().remove("data");
    let mut upsert_null_data = upsert("t", "u", json!({}), None);
    upsert_null_data["data"] = Value::Null;
    let batch = vec![
        upsert("t", "ok1", json!({}), None),
        upsert("t", "", json!({}), None),
        upsert("t", &"x".repeat(257), json!({}), None),
        upsert("", "a", json!({}), None),
        upsert("bad\ncollection", "a", json!({}), None),
        upsert("t", "arr", json!([1, 2]), None),
        upsert("t", "str", json!("text"), None),
        upsert_without_data,
        upsert_null_data,
        delete_with_data,
        upsert("t", "big", json!({ "pad": "x".repeat(200) }), None),
        upsert("t", "ok2", json!({}), None),
    ];
    // A delete whose data is null is fine (null reads as absent).
    let mut delete_null = delete("t", "gone", None);
    delete_null["data"] = Value::Null;
    let mut batch = batch;
    batch.push(delete_null);
    let results = client.push_ok(batch.clone()).await;
    let got: Vec<(String, String)> = results
        .iter()
        .map(|r| (r["status"].as_str().unwrap().to_string(), r["code"].as_str().unwrap_or("").to_string()))
        .collect();
    let expected = [
        ("applied", ""),
        ("rejected", "invalid_id"),
        ("rejected", "invalid_id"),
        ("rejected", "invalid_collection"),
        ("rejected", "invalid_collection"),
        ("rejected", "invalid_data"),
        ("rejected", "invalid_data"),
        ("rejected", "invalid_data"),
        ("rejected", "invalid_data"),
        ("rejected", "invalid_data"),
        ("rejected", "data_too_large"),
        ("applied", ""),
        ("applied", ""),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(got, expected);
    for (r, m) in results.iter().zip(&batch) {
        assert_eq!(r["mutationId"], m["mutationId"], "results keep the request order");
    }
    let snap = client.snapshot().await;
    let ids: Vec<&str> = snap.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["ok1", "ok2"]);
    // Replayed: the same answers.
    assert_eq!(client.push_ok(batch).await, results);
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let server = start(&[]).await;
    let client = Client::new(&server, None);
    for (path, method) in [("/v1/push", "POST"), ("/v1/pull", "GET")] {
        let res = client
            .send(
                "OPTIONS",
                path,
                &[
                    ("origin", "http://127.0.0.1:5173"),
                    ("access-control-request-method", method),
                    ("access-control-request-headers", "authorization,content-type"),
                ],
                None,
            )
            .await;
        assert!(res.status == 200 || res.status == 204, "preflight {path}: {}", res.status);
        assert_eq!(res.header("access-control-allow-origin").as_deref(), Some("*"));
        let methods = res.header("access-control-allow-methods").unwrap().to_ascii_uppercase();
        assert!(methods.contains(method), "{methods}");
        let headers = res.header("access-control-allow-headers").unwrap().to_ascii_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
    }
    // Real answers, errors included, carry the CORS headers and expose Retry-After.
    let res = client.send("GET", "/v1/pull", &[("origin", "http://127.0.0.1:5173")], None).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.header("access-control-allow-origin").as_deref(), Some("*"));
    assert!(res.header("access-control-expose-headers").unwrap().to_ascii_lowercase().contains("retry-after"));
    let res =
        client.with_token(Some(TOKEN)).send("GET", "/v1/pull", &[("origin", "http://localhost:8080")], None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin").as_deref(), Some("*"));
}

#[tokio::test]
async fn static_files_are_served() {
    let dir = std::env::temp_dir().join(format!("ferrysync-static-{}-{}", std::process::id(), new_id()));
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>demo</title>").unwrap();
    std::fs::write(dir.join("pkg/app_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.join("pkg/app.js"), "export {};").unwrap();
    let server = start(&["--static", dir.to_str().unwrap()]).await;
    let client = Client::new(&server, None);
    let index = client.get("/").await;
    assert_eq!(index.status, 200);
    assert!(index.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(index.body, b"<!doctype html><title>demo</title>");
    let wasm = client.get("/pkg/app_bg.wasm").await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type").as_deref(), Some("application/wasm"));
    assert_eq!(wasm.body, b"\0asm\x01\0\0\0");
    let js = client.get("/pkg/app.js").await;
    assert!(js.header("content-type").unwrap().contains("javascript"));
    client.get("/missing.txt").await.assert_error(404, "not_found");
    client.get("/../Cargo.toml").await.assert_error(404, "not_found");
    client.send("POST", "/index.html", &[], None).await.assert_error(405, "method_not_allowed");
    // The API is still the API.
    client.get("/v1/nothing").await.assert_error(404, "not_found");
    assert_eq!(client.get("/v1/health").await.status, 200);
    server.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_schema_checker_catches_mismatches() {
    let api = OpenApi::load();
    let id = new_id();
    api.check("PushResponse", &json!({ "results": [{ "status": "applied", "mutationId": id, "version": 1 }] }));
    for bad in [
        json!({ "results": [{ "status": "applied", "mutationId": "x", "version": 1 }] }),
        json!({ "results": [{ "status": "applied", "mutationId": id }] }),
        json!({ "results": [{ "status": "done", "mutationId": id, "version": 1 }] }),
        json!({ "results": [{ "status": "conflict", "mutationId": id, "current": { "id": "a" } }] }),
        json!({ "result": [] }),
    ] {
        assert!(api.validate_named("PushResponse", &bad).is_err(), "{bad}");
    }
    assert!(api.validate_named("PullResponse", &json!({ "changes": [], "cursor": 1, "hasMore": false })).is_err());
    assert!(api.validate_named("Error", &json!({ "error": { "code": "nope", "message": "m" } })).is_err());
}
