//! Pull by space (`POST /v1/pull`) over real sockets: the space filter, several spaces with
//! their own cursors in one request, records moving between spaces, tenant isolation, bad
//! requests, the query plans, and databases made before spaces.

mod common;

use common::*;
use serde_json::{json, Value};

/// (collection, id, version) of a page's changes.
fn changes(page: &Value) -> Vec<(String, String, u64)> {
    entries(&page["changes"])
}

/// (collection, id, version) of a page's left entries.
fn left(page: &Value) -> Vec<(String, String, u64)> {
    entries(&page["left"])
}

fn entries(list: &Value) -> Vec<(String, String, u64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (c["collection"].as_str().unwrap().into(), c["id"].as_str().unwrap().into(), c["version"].as_u64().unwrap())
        })
        .collect()
}

fn e(collection: &str, id: &str, version: u64) -> (String, String, u64) {
    (collection.into(), id.into(), version)
}

fn cursor(page: &Value) -> String {
    page["cursor"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_pull_by_space_gets_only_its_spaces_each_after_its_own_cursor() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    client
        .push_ok(vec![
            upsert_in("todos", "a1", json!({ "p": "a" }), None, Some("a")),
            upsert_in("todos", "b1", json!({ "p": "b" }), None, Some("b")),
            upsert_in("notes", "a2", json!({ "p": "a" }), None, Some("a")),
            upsert("settings", "s1", json!({ "k": 1 }), None),
            upsert_in("todos", "c1", json!({ "p": "c" }), None, Some("c")),
        ])
        .await;
    let answer = client.pull_spaces(&[(Some("a"), None), (Some("b"), None), (None, None)], None).await;
    let pages = answer["spaces"].as_array().unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(
        (pages[0]["space"].clone(), pages[1]["space"].clone(), pages[2]["space"].clone()),
        (json!("a"), json!("b"), Value::Null)
    );
    assert_eq!(changes(&pages[0]), vec![e("todos", "a1", 1), e("notes", "a2", 1)]);
    assert_eq!(changes(&pages[1]), vec![e("todos", "b1", 1)]);
    assert_eq!(changes(&pages[2]), vec![e("settings", "s1", 1)]);
    assert_eq!(pages[0]["changes"][0]["data"], json!({ "p": "a" }));
    assert!(pages.iter().all(|p| p["hasMore"] == false && left(p).is_empty()));
    assert!(answer["serverTime"].as_u64().unwrap() > 0);
    let (ca, cb, cn) = (cursor(&pages[0]), cursor(&pages[1]), cursor(&pages[2]));

    // New changes in a (an update and a delete) and none in b: each space resumes at its cursor.
    client
        .push_ok(vec![
            upsert_in("todos", "a1", json!({ "p": "a", "done": true }), Some(1), Some("a")),
            delete("notes", "a2", Some(1)),
            upsert_in("todos", "c2", json!({ "p": "c" }), None, Some("c")),
        ])
        .await;
    let answer = client.pull_spaces(&[(Some("b"), Some(&cb)), (Some("a"), Some(&ca)), (None, Some(&cn))], None).await;
    let pages = answer["spaces"].as_array().unwrap();
    assert_eq!(changes(&pages[0]), vec![]);
    assert_eq!(cursor(&pages[0]), cb, "nothing new in b: the same cursor");
    assert_eq!(changes(&pages[1]), vec![e("todos", "a1", 2), e("notes", "a2", 2)]);
    assert_eq!(pages[1]["changes"][1]["deleted"], true, "a tombstone stays in its record's space");
    assert_eq!(pages[1]["changes"][1]["data"], Value::Null);
    assert_eq!(changes(&pages[2]), vec![]);
    // The whole-tenant pull is as before: every record, whatever its space, and no space field.
    let (all, _) = client.pull_all().await;
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|r| r.get("space").is_none() && r.get("left").is_none()));
    // An empty request is answered with no pages.
    assert_eq!(client.pull_spaces(&[], None).await["spaces"], json!([]));
}

#[tokio::test]
async fn the_limit_and_the_byte_bound_cover_the_whole_answer_shared_between_spaces() {
    let server = start(&["--max-pull-bytes", "100000"]).await;
    let client = Client::new(&server, Some(TOKEN));
    let mut batch = Vec::new();
    for i in 0..30 {
        batch.push(upsert_in("t", &format!("big{i}"), json!({ "i": i }), None, Some("big")));
    }
    batch.push(upsert_in("t", "small0", json!({}), None, Some("small")));
    client.push_ok(batch).await;
    // Fair share first (5 each), then what is left to the spaces that have more.
    let answer = client.pull_spaces(&[(Some("big"), None), (Some("small"), None)], Some(10)).await;
    let pages = answer["spaces"].as_array().unwrap();
    assert_eq!((changes(&pages[0]).len(), pages[0]["hasMore"].clone()), (9, json!(true)));
    assert_eq!((changes(&pages[1]).len(), pages[1]["hasMore"].clone()), (1, json!(false)));
    // A busy space first in the request does not starve the others.
    let answer = client.pull_spaces(&[(Some("big"), None), (Some("small"), None)], Some(2)).await;
    let pages = answer["spaces"].as_array().unwrap();
    assert_eq!((changes(&pages[0]).len(), changes(&pages[1]).len()), (1, 1));
    // Following hasMore gets every record of each space once.
    let (mut got, mut cursors) = (Vec::new(), [None::<String>, None]);
    for round in 0.. {
        assert!(round < 100, "the pull never ends");
        let answer = client
            .pull_spaces(&[(Some("big"), cursors[0].as_deref()), (Some("small"), cursors[1].as_deref())], Some(7))
            .await;
        let pages = answer["spaces"].as_array().unwrap();
        assert!(pages.iter().map(|p| changes(p).len()).sum::<usize>() <= 7);
        for (i, page) in pages.iter().enumerate() {
            got.extend(changes(page));
            cursors[i] = Some(cursor(page));
        }
        if pages.iter().all(|p| p["hasMore"] == false) {
            break;
        }
    }
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 31);
    // Bytes: three 30 KB records fit in 100 KB, over all the spaces together.
    let pad = "x".repeat(30_000);
    let mut batch = Vec::new();
    for (i, space) in ["p", "q", "p", "q", "p"].iter().enumerate() {
        batch.push(upsert_in("pads", &format!("r{i}"), json!({ "pad": pad }), None, Some(space)));
    }
    client.push_ok(batch).await;
    let answer = client.pull_spaces(&[(Some("p"), None), (Some("q"), None)], Some(1000)).await;
    let pages = answer["spaces"].as_array().unwrap();
    assert_eq!(changes(&pages[0]).len() + changes(&pages[1]).len(), 3);
    assert!(pages.iter().any(|p| p["hasMore"] == true));
    // One record over the bound still comes, alone.
    client.push_ok(vec![upsert_in("pads", "huge", json!({ "pad": "y".repeat(150_000) }), None, Some("h"))]).await;
    let answer = client.pull_spaces(&[(Some("h"), None), (Some("p"), None)], None).await;
    let pages = answer["spaces"].as_array().unwrap();
    assert_eq!((changes(&pages[0]).len(), changes(&pages[1]).len()), (1, 0));
    assert_eq!(pages[1]["hasMore"], true);
}

/// What a client that follows the documented rule holds after applying `pages` in order, from
/// `local` ((collection, id) → (space, version)): changes are taken (when newer), and a left
/// entry removes a copy in that space only if the copy's version is lower.
fn apply(local: &mut std::collections::BTreeMap<(String, String), (String, u64)>, pages: &[&Value]) {
    for page in pages {
        let space = page["space"].as_str().unwrap_or("").to_string();
        for (c, i, v) in left(page) {
            if local.get(&(c.clone(), i.clone())).is_some_and(|(s, lv)| *s == space && *lv < v) {
                local.remove(&(c, i));
            }
        }
        for (c, i, v) in changes(page) {
            if local.get(&(c.clone(), i.clone())).is_none_or(|(_, lv)| *lv < v) {
                local.insert((c, i), (space.clone(), v));
            }
        }
    }
}

#[tokio::test]
async fn a_record_that_changes_space_leaves_the_old_one_and_is_seen_once_by_both() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    client.push_ok(vec![upsert_in("todos", "r", json!({ "t": 1, "p": "a" }), None, Some("a"))]).await;
    let first = client.pull_spaces(&[(Some("a"), None), (Some("b"), None)], None).await;
    let (a1, b1) = (cursor(&first["spaces"][0]), cursor(&first["spaces"][1]));
    assert_eq!(changes(&first["spaces"][0]), vec![e("todos", "r", 1)]);

    // Moved from a to b (same data but the space: still a change, at version 2).
    let results = client.push_ok(vec![upsert_in("todos", "r", json!({ "t": 1, "p": "a" }), Some(1), Some("b"))]).await;
    assert_eq!(results[0]["version"], 2);
    // Seen from the old space: it left (not a delete), at the version that moved it.
    let old = client.pull_spaces(&[(Some("a"), Some(&a1))], None).await;
    assert_eq!((changes(&old["spaces"][0]), left(&old["spaces"][0])), (vec![], vec![e("todos", "r", 2)]));
    // ... also from the start of the space.
    let old = client.pull_spaces(&[(Some("a"), None)], None).await;
    assert_eq!((changes(&old["spaces"][0]), left(&old["spaces"][0])), (vec![], vec![e("todos", "r", 2)]));
    // Seen from the new space: the record.
    let new = client.pull_spaces(&[(Some("b"), Some(&b1))], None).await;
    assert_eq!((changes(&new["spaces"][0]), left(&new["spaces"][0])), (vec![e("todos", "r", 2)], vec![]));
    // Seen from both: the record once, and a left entry that cannot remove it, whatever the order
    // in which a client applies the two pages.
    let both = client.pull_spaces(&[(Some("a"), Some(&a1)), (Some("b"), Some(&b1))], None).await;
    let (pa, pb) = (&both["spaces"][0], &both["spaces"][1]);
    assert_eq!(changes(pa).len() + changes(pb).len(), 1);
    for order in [[pa, pb], [pb, pa]] {
        let mut local = [(("todos".to_string(), "r".to_string()), ("a".to_string(), 1))].into_iter().collect();
        apply(&mut local, &order);
        assert_eq!(local.get(&("todos".into(), "r".into())), Some(&("b".to_string(), 2)));
    }
    // A device that syncs only a drops its copy; one that syncs only b gets it.
    let mut only_a = [(("todos".to_string(), "r".to_string()), ("a".to_string(), 1))].into_iter().collect();
    apply(&mut only_a, &[pa]);
    assert!(only_a.is_empty());

    // Back to a, edited: a has the record again and no left entry for it (from any cursor);
    // b has a left entry.
    let (a2, b2) = (cursor(pa), cursor(pb));
    client.push_ok(vec![upsert_in("todos", "r", json!({ "t": 2, "p": "a" }), Some(2), Some("a"))]).await;
    for from in [None, Some(a1.as_str()), Some(a2.as_str())] {
        let page = client.pull_spaces(&[(Some("a"), from)], None).await;
        assert_eq!((changes(&page["spaces"][0]), left(&page["spaces"][0])), (vec![e("todos", "r", 3)], vec![]));
    }
    let page = client.pull_spaces(&[(Some("b"), Some(&b2))], None).await;
    assert_eq!((changes(&page["spaces"][0]), left(&page["spaces"][0])), (vec![], vec![e("todos", "r", 3)]));
    // Into no space: the records without a space get it, a gets a left entry.
    client.push_ok(vec![upsert("todos", "r", json!({ "t": 2 }), Some(3))]).await;
    let page = client.pull_spaces(&[(Some("a"), Some(&a2)), (None, None)], None).await;
    assert_eq!(left(&page["spaces"][0]), vec![e("todos", "r", 4)]);
    assert_eq!(changes(&page["spaces"][1]), vec![e("todos", "r", 4)]);
    // A delete keeps the record where it is, whatever space the delete names.
    let mut del = delete("todos", "r", Some(4));
    del["space"] = json!("b");
    client.push_ok(vec![del]).await;
    let page = client.pull_spaces(&[(None, Some(&cursor(&page["spaces"][1]))), (Some("b"), Some(&b2))], None).await;
    assert_eq!(changes(&page["spaces"][0]), vec![e("todos", "r", 5)]);
    assert_eq!(page["spaces"][0]["changes"][0]["deleted"], true);
    assert_eq!(changes(&page["spaces"][1]), vec![]);
    // A record re-created in another space than its tombstone's leaves the tombstone's space.
    client.push_ok(vec![upsert_in("todos", "r", json!({ "t": 3 }), None, Some("b"))]).await;
    let page = client.pull_spaces(&[(None, Some(&cursor(&page["spaces"][0]))), (Some("b"), None)], None).await;
    assert_eq!(left(&page["spaces"][0]), vec![e("todos", "r", 6)]);
    assert_eq!(changes(&page["spaces"][1]), vec![e("todos", "r", 6)]);
    // Moves within one batch: the record ends in its last space, left from its first.
    client
        .push_ok(vec![
            upsert_in("todos", "m", json!({ "x": 1 }), None, Some("x")),
            upsert_in("todos", "n", json!({ "x": 1 }), None, Some("x")),
        ])
        .await;
    let x = cursor(&client.pull_spaces(&[(Some("x"), None)], None).await["spaces"][0]);
    client
        .push_ok(vec![
            upsert_in("todos", "m", json!({ "x": 2 }), Some(1), Some("y")),
            upsert_in("todos", "m", json!({ "x": 3 }), Some(2), Some("z")),
        ])
        .await;
    let page = client.pull_spaces(&[(Some("x"), Some(&x)), (Some("y"), None), (Some("z"), None)], None).await;
    assert_eq!(left(&page["spaces"][0]).iter().map(|l| l.1.as_str()).collect::<Vec<_>>(), vec!["m"]);
    assert!(left(&page["spaces"][0])[0].2 >= 2);
    assert_eq!(changes(&page["spaces"][1]), vec![]);
    assert_eq!(changes(&page["spaces"][2]), vec![e("todos", "m", 3)]);
}

#[tokio::test]
async fn tenants_with_the_same_space_ids_stay_apart() {
    let server = start(&["--dev-tokens", "t1=one,t2=two"]).await;
    let one = Client::new(&server, Some("t1"));
    let two = Client::new(&server, Some("t2"));
    one.push_ok(vec![upsert_in("todos", "r", json!({ "who": 1 }), None, Some("a"))]).await;
    two.push_ok(vec![upsert_in("todos", "r", json!({ "who": 2 }), None, Some("a"))]).await;
    one.push_ok(vec![upsert_in("todos", "r", json!({ "who": 1 }), Some(1), Some("b"))]).await;
    let page = two.pull_spaces(&[(Some("a"), None), (Some("b"), None)], None).await;
    assert_eq!(changes(&page["spaces"][0]), vec![e("todos", "r", 1)]);
    assert_eq!(page["spaces"][0]["changes"][0]["data"], json!({ "who": 2 }));
    assert_eq!(left(&page["spaces"][0]), vec![], "a move in another tenant leaves nothing here");
    assert_eq!(changes(&page["spaces"][1]), vec![]);
    let page = one.pull_spaces(&[(Some("a"), None), (Some("b"), None)], None).await;
    assert_eq!(left(&page["spaces"][0]), vec![e("todos", "r", 2)]);
    assert_eq!(page["spaces"][1]["changes"][0]["data"], json!({ "who": 1 }));
    // Cursors count each tenant's own changes: one's cursor is beyond two's history there.
    let far = cursor(&page["spaces"][1]);
    assert_eq!(far, "c1.2");
    let res = two.pull_spaces_raw(&json!({ "spaces": [{ "space": "b", "cursor": far }] })).await;
    res.assert_error(400, "invalid_cursor");
}

#[tokio::test]
async fn bad_requests_are_refused_with_json_codes_and_change_nothing() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    client.push_ok(vec![upsert_in("todos", "r", json!({ "t": 1 }), None, Some("a"))]).await;
    let before = client.snapshot().await;
    let many: Vec<Value> = (0..101).map(|i| json!({ "space": format!("s{i}") })).collect();
    client.pull_spaces_raw(&json!({ "spaces": many })).await.assert_error(413, "too_many_spaces");
    let hundred: Vec<Value> = (0..100).map(|i| json!({ "space": format!("s{i}") })).collect();
    assert_eq!(client.pull_spaces_raw(&json!({ "spaces": hundred })).await.status, 200);
    let long = "x".repeat(129);
    for bad in [json!(""), json!(long), json!("a\nb"), json!("\u{7f}")] {
        let res = client.pull_spaces_raw(&json!({ "spaces": [{ "space": "a" }, { "space": bad }] })).await;
        res.assert_error(400, "invalid_space");
        assert!(res.json()["error"]["message"].as_str().unwrap().starts_with("spaces[1]"));
        assert!(!res.json()["error"]["message"].as_str().unwrap().contains("xxxx"), "the id is not echoed");
    }
    assert_eq!(client.pull_spaces_raw(&json!({ "spaces": [{ "space": "é".repeat(64) }] })).await.status, 200);
    for bad in [
        json!({ "spaces": [{ "space": "a" }, { "space": "a", "cursor": "c1.0" }] }),
        json!({ "spaces": [{ "space": null }, { "space": null }] }),
        json!({ "spaces": [{ "cursor": "c1.0" }] }),
        json!({ "spaces": [{ "space": 3 }] }),
        json!({ "spaces": "a" }),
        json!({ "spaces": [[null, null]] }),
        json!({}),
        json!({ "spaces": [], "limit": -1 }),
        json!({ "spaces": [], "limit": 1.5 }),
    ] {
        client.pull_spaces_raw(&bad).await.assert_error(400, "invalid_request");
    }
    client
        .pull_spaces_raw(&json!({ "spaces": [{ "space": "a" }], "limit": 0 }))
        .await
        .assert_error(400, "invalid_limit");
    for bad in ["c1.01", "c2.1", "nope", "c1.-1", "c1.99"] {
        let res =
            client.pull_spaces_raw(&json!({ "spaces": [{ "space": "a" }, { "space": "b", "cursor": bad }] })).await;
        res.assert_error(400, "invalid_cursor");
    }
    let res = client.send("POST", "/v1/pull", &[("content-type", "application/json")], Some(b"{".to_vec())).await;
    res.assert_error(400, "malformed_json");
    let res = client.send("POST", "/v1/pull", &[("content-type", "text/plain")], Some(b"{}".to_vec())).await;
    res.assert_error(415, "unsupported_media_type");
    let res = client.with_token(None).pull_spaces_raw(&json!({ "spaces": [] })).await;
    res.assert_error(401, "missing_token");
    // A mutation with a bad space is rejected alone; the rest of its batch applies.
    let results = client
        .push_ok(vec![
            upsert_in("todos", "bad", json!({}), None, Some("")),
            upsert_in("todos", "bad2", json!({}), None, Some(&long)),
            upsert_in("todos", "good", json!({}), None, Some("b")),
        ])
        .await;
    assert_eq!(results[0]["code"], "invalid_space");
    assert_eq!(results[1]["code"], "invalid_space");
    assert_eq!(results[2]["status"], "applied");
    let after = client.snapshot().await;
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after.iter().filter(|r| r["id"] == "bad" || r["id"] == "bad2").count(), 0);
}

/// The plan of a one-space pull: a range of the space's index, never a scan of the tenant.
#[tokio::test]
async fn a_pull_of_one_space_reads_only_its_index_range() {
    let server = start(&[]).await;
    let client = Client::new(&server, Some(TOKEN));
    client.push_ok(vec![upsert_in("todos", "r", json!({}), None, Some("a"))]).await;
    match &*server.db {
        TestDb::Sqlite(file) => {
            let conn = rusqlite::Connection::open(file.path()).unwrap();
            // Many records in other spaces and tenants, and statistics, as a real database has.
            conn.execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
                 INSERT INTO records (tenant, collection, id, version, deleted, data, seq, updated_at, forced, space)
                 SELECT 'dev', 'todos', 'x' || i, 1, 0, '{}', 100 + i, 0, 0, 's' || (i % 100) FROM n;
                 INSERT INTO departures (tenant, space, collection, id, version, seq)
                 SELECT 'dev', 'd' || (seq % 100), collection, id, 1, seq FROM records;
                 ANALYZE;",
            )
            .unwrap();
            for (sql, index) in [
                (ferrysync_server::store::sqlite::SPACE_RECORDS_SQL, "records_by_space"),
                (ferrysync_server::store::sqlite::SPACE_DEPARTURES_SQL, "departures_by_space"),
            ] {
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let plan: Vec<String> = stmt
                    .query_map(rusqlite::params!["dev", "s1", 0, 101], |r| r.get::<_, String>(3))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                eprintln!("SQLite plan of a one-space pull ({index}): {plan:?}");
                assert_eq!(plan.len(), 1, "{plan:?}");
                assert!(plan[0].starts_with("SEARCH") && plan[0].contains(index), "{plan:?}");
                assert!(plan[0].contains("tenant=? AND space=? AND seq>?"), "{plan:?}");
            }
        }
        TestDb::Postgres { url, .. } => {
            let (pg, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            pg.batch_execute(
                "INSERT INTO records (tenant, collection, id, version, deleted, data, seq, updated_at, forced, space)
                 SELECT 'dev', 'todos', 'x' || i, 1, false, '{}', 100 + i, 0, false, 's' || (i % 100)
                 FROM generate_series(1, 20000) i;
                 INSERT INTO departures (tenant, space, collection, id, version, seq)
                 SELECT 'dev', 'd' || (seq % 100), collection, id, 1, seq FROM records;
                 ANALYZE records; ANALYZE departures;",
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let sql = ferrysync_server::store::postgres::SPACE_SQL;
            let plan: Vec<String> = pg
                .query(&format!("EXPLAIN {sql}"), &[&"dev", &"s1", &0i64, &100i64, &1_000_000i64, &true])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect();
            let plan = plan.join("\n");
            eprintln!("PostgreSQL plan of a one-space pull:\n{plan}");
            assert!(plan.contains("records_by_space"), "{plan}");
            assert!(plan.contains("departures_by_space"), "{plan}");
            assert!(!plan.contains("Seq Scan"), "{plan}");
        }
    }
}

/// The schema of a database made before spaces (records without a space column, no departures).
const OLD_SQLITE: &str = r#"
CREATE TABLE records (
    tenant TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    deleted INTEGER NOT NULL, data TEXT, seq INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    forced INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant, collection, id));
CREATE UNIQUE INDEX records_by_seq ON records (tenant, seq);
CREATE TABLE mutations (tenant TEXT NOT NULL, mutation_id TEXT NOT NULL, result TEXT NOT NULL,
    created_at INTEGER NOT NULL, PRIMARY KEY (tenant, mutation_id));
CREATE INDEX mutations_by_age ON mutations (created_at);
CREATE TABLE tenants (tenant TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
INSERT INTO records VALUES ('dev', 'todos', 'old', 1, 0, '{"t":1}', 1, 5, 0);
INSERT INTO tenants VALUES ('dev', 1);
"#;

const OLD_POSTGRES: &str = r#"
CREATE TABLE records (
    tenant TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, version BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL, data TEXT, seq BIGINT NOT NULL, updated_at BIGINT NOT NULL,
    forced BOOLEAN NOT NULL DEFAULT false, PRIMARY KEY (tenant, collection, id));
CREATE UNIQUE INDEX records_by_seq ON records (tenant, seq);
CREATE TABLE mutations (tenant TEXT NOT NULL, mutation_id TEXT NOT NULL, result TEXT NOT NULL,
    created_at BIGINT NOT NULL, PRIMARY KEY (tenant, mutation_id));
CREATE INDEX mutations_by_age ON mutations (created_at);
CREATE TABLE tenants (tenant TEXT PRIMARY KEY, last_seq BIGINT NOT NULL);
INSERT INTO records VALUES ('dev', 'todos', 'old', 1, false, '{"t":1}', 1, 5, false);
INSERT INTO tenants VALUES ('dev', 1);
"#;

#[tokio::test]
async fn a_database_made_before_spaces_is_migrated_at_start() {
    let db = std::sync::Arc::new(TestDb::new("migrate").await);
    match &*db {
        TestDb::Sqlite(file) => rusqlite::Connection::open(file.path()).unwrap().execute_batch(OLD_SQLITE).unwrap(),
        TestDb::Postgres { url, .. } => {
            let (pg, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            pg.batch_execute(OLD_POSTGRES).await.unwrap();
        }
    }
    let server = start_on(&db, &[]).await;
    let client = Client::new(&server, Some(TOKEN));
    // Its records belong to no space, and the cursors it gave out still hold.
    let page = client.pull_spaces(&[(None, None), (Some("a"), Some("c1.1"))], None).await;
    assert_eq!(changes(&page["spaces"][0]), vec![e("todos", "old", 1)]);
    assert_eq!(changes(&page["spaces"][1]), vec![]);
    client.push_ok(vec![upsert_in("todos", "old", json!({ "t": 1 }), Some(1), Some("a"))]).await;
    let page = client.pull_spaces(&[(None, Some("c1.1")), (Some("a"), Some("c1.1"))], None).await;
    assert_eq!(left(&page["spaces"][0]), vec![e("todos", "old", 2)]);
    assert_eq!(changes(&page["spaces"][1]), vec![e("todos", "old", 2)]);
    server.shutdown().await;
    // Opening it again changes nothing.
    let server = start_on(&db, &[]).await;
    let client = Client::new(&server, Some(TOKEN));
    assert_eq!(client.snapshot().await.len(), 1);
}
