//! Shared code of the socket tests: start a server on 127.0.0.1:0 over the database under test,
//! a small HTTP client, mutation builders, and a checker of JSON values against the OpenAPI
//! document's schemas.
//!
//! The database under test is SQLite (a temporary file per test) unless
//! `FERRYSYNC_TEST_POSTGRES` holds the URL of a PostgreSQL database (as `scripts/with-postgres.sh`
//! sets it): then each test gets a schema of its own in it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use ferrysync_server::store::Store;
use ferrysync_server::{Config, RunningServer};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// The PostgreSQL URL under test, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("FERRYSYNC_TEST_POSTGRES").ok().filter(|u| !u.is_empty())
}

/// A database of one test: a temporary SQLite file (removed when dropped), or a fresh schema in
/// the PostgreSQL database under test.
pub enum TestDb {
    Sqlite(TempDb),
    /// `blobs`: the blob directory every server over this database shares.
    Postgres {
        url: String,
        schema: String,
        blobs: std::path::PathBuf,
    },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { blobs, .. } = self {
            let _ = std::fs::remove_dir_all(blobs);
        }
    }
}

impl TestDb {
    pub async fn new(name: &str) -> TestDb {
        match postgres_url() {
            None => TestDb::Sqlite(TempDb::new(name)),
            Some(base) => {
                let schema = format!(
                    "t_{}_{}",
                    name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
                    uuid::Uuid::now_v7().simple()
                );
                let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
                    .await
                    .expect("connect to the test PostgreSQL");
                tokio::spawn(conn);
                client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create a test schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let blobs = std::env::temp_dir().join(format!("ferrysync-blobs-{schema}"));
                TestDb::Postgres { url: format!("{base}{sep}options=-csearch_path%3D{schema}"), schema, blobs }
            }
        }
    }

    /// The server options that open this database.
    pub fn args(&self) -> Vec<String> {
        match self {
            TestDb::Sqlite(file) => vec!["--db".into(), file.path().into()],
            TestDb::Postgres { url, blobs, .. } => {
                vec!["--database".into(), url.clone(), "--blob-dir".into(), blobs.to_str().unwrap().into()]
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }

    /// Bytes the database takes: SQLite's pages in use, or the schema's tables and indexes.
    pub async fn size(&self) -> u64 {
        match self {
            // Pages in use, the WAL's included (its file only grows until a checkpoint).
            TestDb::Sqlite(file) => {
                let conn = rusqlite::Connection::open(file.path()).unwrap();
                let pages: u64 = conn
                    .query_row("SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count())", [], |r| r.get(0))
                    .unwrap();
                let size: u64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
                pages * size
            }
            TestDb::Postgres { url, schema, .. } => {
                let client = self.sql_client(url).await;
                let row = client
                    .query_one(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c
                         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                        &[schema],
                    )
                    .await
                    .unwrap();
                row.get::<_, i64>(0) as u64
            }
        }
    }

    async fn sql_client(&self, url: &str) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }

    /// Opens the store as a server would.
    pub async fn store(&self) -> Arc<dyn Store> {
        let config = config_on(self, &[]);
        ferrysync_server::open_store(&config).await.unwrap_or_else(|e| panic!("open the store: {e}"))
    }

    /// Holds the write lock of `tenant` from outside (another connection) until the returned
    /// sender is dropped or sent to: writers of the tenant wait meanwhile.
    pub async fn hold_write_lock(&self, tenant: &str) -> tokio::sync::oneshot::Sender<()> {
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (locked, is_locked) = tokio::sync::oneshot::channel::<()>();
        match self {
            TestDb::Sqlite(file) => {
                let path = file.path().to_string();
                std::thread::spawn(move || {
                    let mut conn = rusqlite::Connection::open(path).unwrap();
                    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
                    let _ = locked.send(());
                    let _ = released.blocking_recv();
                    drop(tx);
                });
            }
            TestDb::Postgres { url, .. } => {
                let mut client = self.sql_client(url).await;
                let tenant = tenant.to_string();
                tokio::spawn(async move {
                    let tx = client.transaction().await.unwrap();
                    tx.execute(
                        "INSERT INTO tenants (tenant, last_seq) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                        &[&tenant],
                    )
                    .await
                    .unwrap();
                    tx.query_one("SELECT last_seq FROM tenants WHERE tenant = $1 FOR UPDATE", &[&tenant])
                        .await
                        .unwrap();
                    let _ = locked.send(());
                    let _ = released.await;
                    drop(tx);
                });
            }
        }
        is_locked.await.unwrap();
        release
    }
}

/// The development token of every test server (tenant "dev") unless a test gives its own auth.
pub const TOKEN: &str = "dev-token";

fn has_auth(args: &[&str]) -> bool {
    args.iter().any(|a| matches!(*a, "--dev-tokens" | "--jwt-secret-file" | "--jwks-file"))
}

/// The config of `ferrysync-server --listen 127.0.0.1:0 DATABASE [--dev-tokens dev-token=dev] ARGS...`.
pub fn config_on(db: &TestDb, args: &[&str]) -> Config {
    let mut argv: Vec<String> = vec!["ferrysync-server".into(), "--listen".into(), "127.0.0.1:0".into()];
    argv.extend(db.args());
    if !has_auth(args) {
        argv.extend(["--dev-tokens".into(), format!("{TOKEN}=dev")]);
    }
    argv.extend(args.iter().map(|a| a.to_string()));
    Config::try_parse_from(argv).expect("test config")
}

/// A server and the database it owns.
pub struct TestServer {
    pub server: RunningServer,
    pub db: Arc<TestDb>,
}

impl TestServer {
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// A server over a new database of its own.
pub async fn start(args: &[&str]) -> TestServer {
    let db = Arc::new(TestDb::new("t").await);
    start_on(&db, args).await
}

/// A server over `db` (several may share one).
pub async fn start_on(db: &Arc<TestDb>, args: &[&str]) -> TestServer {
    let server = ferrysync_server::start(config_on(db, args)).await.unwrap_or_else(|e| panic!("server starts: {e}"));
    TestServer { server, db: db.clone() }
}

/// A server over `db` with the given store in front of it (a test double wrapping the real one).
pub async fn start_with_store(db: &Arc<TestDb>, args: &[&str], store: Arc<dyn Store>) -> TestServer {
    let server = ferrysync_server::start_with_store(config_on(db, args), store).await.expect("server starts");
    TestServer { server, db: db.clone() }
}

/// The server binary as a child process, killed when dropped.
pub struct ChildServer {
    pub child: std::process::Child,
    pub url: String,
}

impl ChildServer {
    /// Starts `ferrysync-server --listen 127.0.0.1:0 ARGS...` and waits for its address.
    pub fn start(args: &[String], env: &[(&str, &str)]) -> ChildServer {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferrysync-server"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("FERRYSYNC_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line:?}"));
        ChildServer { url: url.to_string(), child }
    }

    /// Resident memory of the process, in bytes.
    pub fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kb * 1024
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the server binary with these arguments to its end (it must refuse to start); returns
/// its exit code and stderr.
pub fn refused_start(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ferrysync-server"));
    cmd.args(["--listen", "127.0.0.1:0", "--memory"]).args(args).envs(env.iter().copied());
    for var in ["FERRYSYNC_DEV_TOKENS", "FERRYSYNC_JWT_SECRET_FILE", "FERRYSYNC_JWKS_FILE"] {
        if !env.iter().any(|(k, _)| *k == var) {
            cmd.env_remove(var);
        }
    }
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned());
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started although it should have refused: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{} body is not JSON ({e}): {}", self.status, String::from_utf8_lossy(&self.body))
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string())
    }

    /// Asserts a JSON error body with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        let body = self.json();
        assert_eq!(self.status, status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        assert_eq!(self.header("content-type").as_deref(), Some("application/json"));
        OpenApi::load().check("Error", &body);
    }
}

/// A client for one server; `token` is sent as a bearer token when set.
#[derive(Clone)]
pub struct Client {
    http: HyperClient<HttpConnector, Full<Bytes>>,
    pub base: String,
    pub token: Option<String>,
}

impl Client {
    pub fn new(server: &TestServer, token: Option<&str>) -> Client {
        Client::for_url(&server.url(), token)
    }

    pub fn for_url(base: &str, token: Option<&str>) -> Client {
        // No pooling: every request has a connection of its own, so a dropped one affects only it.
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .retry_canceled_requests(false)
            .build_http();
        Client { http, base: base.to_string(), token: token.map(str::to_string) }
    }

    pub fn with_token(&self, token: Option<&str>) -> Client {
        Client { token: token.map(str::to_string), ..self.clone() }
    }

    /// One request; `Err` when no answer came (connection closed, reset...).
    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Resp, String> {
        let mut req = hyper::Request::builder().method(method).uri(format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).unwrap();
        let fut = async {
            let res = self.http.request(req).await.map_err(|e| format!("{e:?}"))?;
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            let body = res.into_body().collect().await.map_err(|e| format!("{e:?}"))?.to_bytes().to_vec();
            Ok(Resp { status, headers, body })
        };
        tokio::time::timeout(Duration::from_secs(30), fut).await.map_err(|_| "timed out".to_string())?
    }

    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Resp {
        self.try_send(method, path, headers, body).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[], None).await
    }

    /// POST /v1/push with a raw body.
    pub async fn push_raw(&self, body: impl Into<Vec<u8>>) -> Resp {
        self.send("POST", "/v1/push", &[("content-type", "application/json")], Some(body.into())).await
    }

    /// POST /v1/push of these mutations; checks the request and a 200 answer against the
    /// OpenAPI document.
    pub async fn push(&self, mutations: Vec<Value>) -> Resp {
        let body = json!({ "mutations": mutations });
        OpenApi::load().check("PushRequest", &body);
        let res = self.push_raw(serde_json::to_vec(&body).unwrap()).await;
        OpenApi::load().check_response("/v1/push", "post", &res);
        res
    }

    /// The results of a push that must succeed.
    pub async fn push_ok(&self, mutations: Vec<Value>) -> Vec<Value> {
        let res = self.push(mutations).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        res.json()["results"].as_array().unwrap().clone()
    }

    pub async fn pull(&self, cursor: Option<&str>, limit: Option<u32>) -> Resp {
        let query = ferrysync::protocol::pull_query(cursor, limit);
        let res = self.get(&format!("/v1/pull{query}")).await;
        OpenApi::load().check_response("/v1/pull", "get", &res);
        res
    }

    /// POST /v1/pull with this body; checks the answer against the OpenAPI document.
    pub async fn pull_spaces_raw(&self, body: &Value) -> Resp {
        let body = serde_json::to_vec(body).unwrap();
        let res = self.send("POST", "/v1/pull", &[("content-type", "application/json")], Some(body)).await;
        OpenApi::load().check_response("/v1/pull", "post", &res);
        res
    }

    /// The answer of a pull by space that must succeed: `spaces` are (space, cursor) pairs. The
    /// request is checked against the OpenAPI document too.
    pub async fn pull_spaces(&self, spaces: &[(Option<&str>, Option<&str>)], limit: Option<u32>) -> Value {
        let mut body = json!({
            "spaces": spaces.iter().map(|(s, c)| json!({ "space": s, "cursor": c })).collect::<Vec<_>>()
        });
        if let Some(limit) = limit {
            body["limit"] = json!(limit);
        }
        OpenApi::load().check("SpacesPullRequest", &body);
        let res = self.pull_spaces_raw(&body).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        res.json()
    }

    /// Every change from the start, following pages; returns the changes and the last cursor.
    pub async fn pull_all(&self) -> (Vec<Value>, String) {
        let mut cursor: Option<String> = None;
        let mut changes = Vec::new();
        for _ in 0..10_000 {
            let res = self.pull(cursor.as_deref(), Some(1000)).await;
            assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
            let page = res.json();
            changes.extend(page["changes"].as_array().unwrap().iter().cloned());
            cursor = Some(page["cursor"].as_str().unwrap().to_string());
            if !page["hasMore"].as_bool().unwrap() {
                return (changes, cursor.unwrap());
            }
        }
        panic!("pull never ended");
    }

    /// The current records (tombstones included), without `updatedAt`, sorted by collection/id.
    pub async fn snapshot(&self) -> Vec<Value> {
        let (changes, _) = self.pull_all().await;
        let mut records: Vec<Value> = changes
            .into_iter()
            .map(|mut c| {
                c.as_object_mut().unwrap().remove("updatedAt");
                c
            })
            .collect();
        records.sort_by_key(|r| (r["collection"].to_string(), r["id"].to_string()));
        records
    }
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn upsert(collection: &str, id: &str, data: Value, base: Option<u64>) -> Value {
    json!({ "mutationId": new_id(), "collection": collection, "id": id, "op": "upsert", "data": data, "baseVersion": base })
}

/// An upsert of a record into `space` (`None`: no space).
pub fn upsert_in(collection: &str, id: &str, data: Value, base: Option<u64>, space: Option<&str>) -> Value {
    let mut m = upsert(collection, id, data, base);
    m["space"] = json!(space);
    m
}

pub fn delete(collection: &str, id: &str, base: Option<u64>) -> Value {
    json!({ "mutationId": new_id(), "collection": collection, "id": id, "op": "delete", "baseVersion": base })
}

/// The OpenAPI document as served, with a checker for the JSON Schema subset it uses.
pub struct OpenApi(pub Value);

impl OpenApi {
    pub fn load() -> OpenApi {
        OpenApi(serde_json::from_str(ferrysync_server::http::openapi::OPENAPI_JSON).expect("openapi.json is JSON"))
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("non-local $ref {r}"));
                let target = self.0.pointer(pointer).unwrap_or_else(|| panic!("unresolved $ref {r}"));
                self.resolve(target)
            }
            None => v,
        }
    }

    /// Panics unless `value` fits `#/components/schemas/NAME`.
    pub fn check(&self, name: &str, value: &Value) {
        if let Err(e) = self.validate_named(name, value) {
            panic!("does not fit schema {name}: {e}\n{value}");
        }
    }

    pub fn validate_named(&self, name: &str, value: &Value) -> Result<(), String> {
        let schema = self.0["components"]["schemas"].get(name).unwrap_or_else(|| panic!("no schema {name}"));
        self.validate(schema, value, "$")
    }

    /// Panics unless the response's status is documented for the operation and its JSON body
    /// fits the documented schema.
    pub fn check_response(&self, path: &str, method: &str, res: &Resp) {
        let op = &self.0["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let documented = op["responses"]
            .get(res.status.to_string())
            .unwrap_or_else(|| panic!("{method} {path} answered {}, which is not documented", res.status));
        let documented = self.resolve(documented);
        if let Some(schema) = documented.pointer("/content/application~1json/schema") {
            if let Err(e) = self.validate(schema, &res.json(), "$") {
                panic!("{method} {path} {} does not fit the document: {e}\n{}", res.status, res.json());
            }
        }
        if let Some(headers) = documented.get("headers").and_then(Value::as_object) {
            for name in headers.keys() {
                assert!(res.header(name).is_some(), "{method} {path} {} lacks header {name}", res.status);
            }
        }
    }

    pub fn validate(&self, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
            let fits = options.iter().filter(|s| self.validate(s, v, at).is_ok()).count();
            if fits != 1 {
                return Err(format!("{at}: fits {fits} of the oneOf options"));
            }
        }
        if let Some(c) = schema.get("const") {
            if c != v {
                return Err(format!("{at}: {v} is not {c}"));
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(v) {
                return Err(format!("{at}: {v} is not one of {options:?}"));
            }
        }
        if let Some(t) = schema.get("type") {
            let types: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().map(|x| x.as_str().unwrap()).collect(),
                _ => panic!("bad type in schema"),
            };
            let fits = types.iter().any(|t| match *t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "null" => v.is_null(),
                other => panic!("unknown type {other}"),
            });
            if !fits {
                return Err(format!("{at}: {v} is not of type {t}"));
            }
        }
        if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
            if n < min {
                return Err(format!("{at}: {n} < {min}"));
            }
        }
        if let (Some(max), Some(n)) = (schema.get("maximum").and_then(Value::as_u64), v.as_u64()) {
            if n > max {
                return Err(format!("{at}: {n} > {max}"));
            }
        }
        if let (Some(pattern), Some(s)) = (schema.get("pattern").and_then(Value::as_str), v.as_str()) {
            if !regex::Regex::new(pattern).expect("a valid pattern").is_match(s) {
                return Err(format!("{at}: {s:?} does not match {pattern}"));
            }
        }
        if let (Some(max), Some(a)) = (schema.get("maxItems").and_then(Value::as_u64), v.as_array()) {
            if a.len() as u64 > max {
                return Err(format!("{at}: {} items, more than {max}", a.len()));
            }
        }
        if schema.get("format").and_then(Value::as_str) == Some("uuid") {
            if let Some(s) = v.as_str() {
                uuid::Uuid::try_parse(s).map_err(|_| format!("{at}: {s} is not a UUID"))?;
            }
        }
        if let Some(obj) = v.as_object() {
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for key in required {
                    let key = key.as_str().unwrap();
                    if !obj.contains_key(key) {
                        return Err(format!("{at}: missing {key}"));
                    }
                }
            }
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, sub) in props {
                    if let Some(x) = obj.get(key) {
                        self.validate(sub, x, &format!("{at}.{key}"))?;
                    }
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, x) in arr.iter().enumerate() {
                self.validate(items, x, &format!("{at}[{i}]"))?;
            }
        }
        Ok(())
    }

    /// Every `$ref` in the document.
    pub fn refs(&self) -> Vec<String> {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    for (k, x) in o {
                        if k == "$ref" {
                            out.push(x.as_str().unwrap().to_string());
                        } else {
                            walk(x, out);
                        }
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &mut out);
        out
    }
}

/// A unique path for a database file under the temp dir; the file and its -wal/-shm are
/// removed when dropped.
pub struct TempDb(pub std::path::PathBuf);

impl TempDb {
    pub fn new(name: &str) -> TempDb {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        TempDb(std::env::temp_dir().join(format!("ferrysync-{name}-{}-{nanos}.sqlite3", std::process::id())))
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path()));
        }
        // The blob directory the server makes beside the file.
        let _ = std::fs::remove_dir_all(format!("{}-blobs", self.path()));
    }
}
