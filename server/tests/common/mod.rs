//! Shared code of the socket tests: start a server on 127.0.0.1:0, a small HTTP client, mutation
//! builders, and a checker of JSON values against the OpenAPI document's schemas.
#![allow(dead_code)]

use std::time::Duration;

use clap::Parser;
use ferrysync_server::{Config, RunningServer};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// The config of `ferrysync-server --listen 127.0.0.1:0 --memory ARGS...`.
pub fn config(args: &[&str]) -> Config {
    let mut argv = vec!["ferrysync-server", "--listen", "127.0.0.1:0"];
    if !args.contains(&"--db") {
        argv.push("--memory");
    }
    argv.extend_from_slice(args);
    Config::try_parse_from(argv).expect("test config")
}

pub async fn start(args: &[&str]) -> RunningServer {
    ferrysync_server::start(config(args)).await.expect("server starts")
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
    pub fn new(server: &RunningServer, token: Option<&str>) -> Client {
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
    }
}
