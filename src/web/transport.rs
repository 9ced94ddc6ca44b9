//! How pushes, pulls and probes reach a server from the browser: HTTP to a ferrysync protocol
//! server, or a JS object with `push(batch)` and `pull(cursor, limit)` for any other backend.
//! Both implement the core's [`Transport`](crate::core::sync::transport::Transport); answers are
//! read into the protocol's types here ([`super::wire`]).

use std::cell::Cell;

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::blobs::download::Fetched;
use crate::core::blobs::upload::refusal_or_failure;
use crate::core::blobs::Answer as BlobAnswer;
use crate::core::sync::failure::{retry_after_ms, Failure};
use crate::core::sync::transport::Transport as CoreTransport;
use crate::protocol::blobs::{blob_path, upload_path};
use crate::protocol::{codes, pull_query, Mutation, SpacesPullRequest, HEALTH_PATH, PULL_PATH, PUSH_PATH};

use super::glue;
use super::js::{describe, get};
use super::wire::{self, JsData, PullResponse, PushResponse, SpacesResponse};

pub enum Transport {
    /// `bytes`: the request bodies sent and the answers' `Content-Length`, for `db.metrics()`.
    Http {
        base: String,
        token: Token,
        timeout_ms: u32,
        bytes: Cell<(u64, u64)>,
    },
    Js {
        transport: JsValue,
        timeout_ms: u32,
    },
}

impl Transport {
    /// Bytes sent and received over HTTP so far (a JS transport's are its own business: 0).
    pub fn bytes(&self) -> (u64, u64) {
        match self {
            Transport::Http { bytes, .. } => bytes.get(),
            Transport::Js { .. } => (0, 0),
        }
    }
}

/// The bearer token: fixed, or a function asked before every request, so that an app whose
/// tokens expire hands over a fresh one without reopening the database.
pub enum Token {
    Fixed(String),
    Provider(Function),
}

impl Token {
    /// The `Authorization` header value. A provider that throws (or rejects, or does not answer
    /// in time) is a network failure, retried like one; one that answers something other than a
    /// non-empty string is a refusal.
    async fn authorization(&self, timeout_ms: u32) -> Result<String, Failure> {
        let token = match self {
            Token::Fixed(token) => return Ok(format!("Bearer {token}")),
            Token::Provider(f) => {
                let promise = glue::call_transport(&JsValue::UNDEFINED, f, &js_sys::Array::new(), timeout_ms);
                JsFuture::from(promise).await.map_err(|e| Failure::Network {
                    message: format!("the token function failed: {}", thrown_message(&e)),
                    retry_after_ms: None,
                })?
            }
        };
        match token.as_string().filter(|t| !t.is_empty()) {
            Some(token) => Ok(format!("Bearer {token}")),
            None => Err(Failure::BadAnswer("the token function did not give a non-empty string".into())),
        }
    }
}

impl CoreTransport<JsData> for Transport {
    /// `{ mutations }` → `{ results }`, both as JS objects in the protocol's shape.
    async fn push(&self, mutations: &[Mutation<JsData>]) -> Result<PushResponse, Failure> {
        let request = &wire::push_request(mutations);
        let answer = match self {
            Transport::Http { base, token, timeout_ms, bytes } => {
                let body = js_sys::JSON::stringify(request).map_err(|e| Failure::BadAnswer(describe(&e)))?;
                let authorization = token.authorization(*timeout_ms).await?;
                http("POST", &format!("{base}{PUSH_PATH}"), Some(&authorization), &body, *timeout_ms, bytes).await
            }
            Transport::Js { transport, timeout_ms } => {
                call_js(transport, "push", std::slice::from_ref(request), *timeout_ms).await
            }
        }?;
        wire::read_push_response(&answer)
    }

    /// The page of changes after `cursor` (None: from the start).
    async fn pull(&self, cursor: Option<&str>, limit: u32) -> Result<PullResponse, Failure> {
        let answer = match self {
            Transport::Http { base, token, timeout_ms, bytes } => {
                let url = format!("{base}{PULL_PATH}{}", pull_query(cursor, Some(limit)));
                let authorization = token.authorization(*timeout_ms).await?;
                http("GET", &url, Some(&authorization), &JsValue::UNDEFINED, *timeout_ms, bytes).await
            }
            Transport::Js { transport, timeout_ms } => {
                let cursor = cursor.map(JsValue::from_str).unwrap_or(JsValue::NULL);
                call_js(transport, "pull", &[cursor, JsValue::from_f64(limit as f64)], *timeout_ms).await
            }
        }?;
        wire::read_pull_response(&answer)
    }

    /// The pages of each space after its cursor, in one request: `POST /v1/pull`, or a JS
    /// transport's `pullSpaces({ spaces, limit })`.
    async fn pull_spaces(&self, request: &SpacesPullRequest) -> Result<SpacesResponse, Failure> {
        let body = wire::spaces_pull_request(request);
        let answer = match self {
            Transport::Http { base, token, timeout_ms, bytes } => {
                let text = js_sys::JSON::stringify(&body).map_err(|e| Failure::BadAnswer(describe(&e)))?;
                let authorization = token.authorization(*timeout_ms).await?;
                http("POST", &format!("{base}{PULL_PATH}"), Some(&authorization), &text, *timeout_ms, bytes).await
            }
            Transport::Js { transport, timeout_ms } => {
                call_js(transport, "pullSpaces", std::slice::from_ref(&body), *timeout_ms).await
            }
        }?;
        wire::read_spaces_pull_response(&answer)
    }

    /// Whether the server answers. A JS transport without `probe()` counts as reachable; its
    /// first push or pull tells.
    async fn probe(&self) -> Result<(), Failure> {
        match self {
            Transport::Http { base, timeout_ms, bytes, .. } => {
                let url = format!("{base}{HEALTH_PATH}");
                let answer = http("GET", &url, None, &JsValue::UNDEFINED, *timeout_ms, bytes).await?;
                match get(&answer, "status").as_string().as_deref() {
                    Some("ok") => Ok(()),
                    _ => Err(Failure::BadAnswer("the health endpoint did not answer {\"status\": \"ok\"}".into())),
                }
            }
            Transport::Js { transport, timeout_ms } if get(transport, "probe").is_function() => {
                call_js(transport, "probe", &[], *timeout_ms).await.map(|_| ())
            }
            Transport::Js { .. } => Ok(()),
        }
    }
}

/// One request (`body`: a string, or undefined); a 2xx JSON body, or the failure. Aborted after
/// `timeout_ms` (in `glue.js`), so a connection that never answers cannot stall the sync. The
/// body's length and the answer's `Content-Length` are added to `bytes`.
async fn http(
    method: &str,
    url: &str,
    authorization: Option<&str>,
    body: &JsValue,
    timeout_ms: u32,
    bytes: &Cell<(u64, u64)>,
) -> Result<JsValue, Failure> {
    // The JSON text's length in UTF-16 units: its bytes, for the ASCII that JSON mostly is.
    let sent = body.dyn_ref::<js_sys::JsString>().map_or(0, |b| b.length() as u64);
    let answer = fetch_counted(method, url, authorization, (body, sent, None), timeout_ms, bytes).await?;
    let status = get(&answer, "status").as_f64().unwrap_or(0.0) as u16;
    let json = Some(get(&answer, "json")).filter(|j| !j.is_undefined());
    if (200..300).contains(&status) {
        return json.ok_or_else(|| Failure::BadAnswer(format!("{url} answered {status} without a JSON body")));
    }
    let (code, message) = error_of(json.as_ref().unwrap_or(&JsValue::UNDEFINED));
    Err(Failure::Http { status, code, message, retry_after_ms: retry_after(&answer) })
}

/// One request (`body`: the body, its length in bytes, and its `Content-Type` when not JSON): the
/// answer as `glue::fetch_json` gives it, whatever its status, or the network failure. The body's
/// length and the answer's `Content-Length` are added to `bytes`.
async fn fetch_counted(
    method: &str,
    url: &str,
    authorization: Option<&str>,
    (body, sent, content_type): (&JsValue, u64, Option<&str>),
    timeout_ms: u32,
    bytes: &Cell<(u64, u64)>,
) -> Result<JsValue, Failure> {
    let promise = glue::fetch_json(url, method, authorization, body, timeout_ms, content_type);
    let answer = JsFuture::from(promise).await.map_err(|e| Failure::Network {
        message: e.as_string().unwrap_or_else(|| describe(&e)),
        retry_after_ms: None,
    })?;
    let received = get(&answer, "contentLength").as_string().and_then(|l| l.parse::<u64>().ok());
    let (total_sent, total_received) = bytes.get();
    bytes.set((total_sent + sent, total_received + received.unwrap_or(0)));
    Ok(answer)
}

/// The `Retry-After` of an answer, in ms.
fn retry_after(answer: &JsValue) -> Option<u64> {
    get(answer, "retryAfter").as_string().as_deref().and_then(retry_after_ms)
}

/// The `code` and `message` of an error body (`{ error: { code, message } }`).
fn error_of(json: &JsValue) -> (String, String) {
    let error = get(json, "error");
    (
        get(&error, "code").as_string().unwrap_or_else(|| "unknown".into()),
        get(&error, "message").as_string().unwrap_or_else(|| "no error body".into()),
    )
}

impl Transport {
    /// How far the upload of blob `hash` is (`GET /v1/blobs/{hash}/upload`). A JS transport has
    /// no blob endpoints: it answers as a server without them would.
    pub async fn blob_status(&self, hash: &str) -> Result<BlobAnswer, Failure> {
        self.blob_request("GET", &upload_path(hash), "", &JsValue::UNDEFINED).await
    }

    /// Sends `body` (bytes `offset ..` of blob `hash`, of `size` bytes) as the next chunk of its
    /// upload (`PATCH /v1/blobs/{hash}/upload?offset=&size=`).
    pub async fn send_chunk(&self, hash: &str, offset: u64, size: u64, body: &JsValue) -> Result<BlobAnswer, Failure> {
        let query = format!("?offset={offset}&size={size}");
        self.blob_request("PATCH", &upload_path(hash), &query, body).await
    }

    /// Bytes `offset .. offset + len` of blob `hash` (`GET /v1/blobs/{hash}` with `Range`): how
    /// many came, with their ArrayBuffer, or the refusal. A JS transport has no blob endpoints.
    pub async fn fetch_range(
        &self,
        hash: &str,
        offset: u64,
        len: u64,
    ) -> Result<(Fetched, Option<js_sys::ArrayBuffer>), Failure> {
        let Transport::Http { base, token, timeout_ms, bytes } = self else {
            let message = "a JS transport has no blob endpoints".to_string();
            return Ok((Fetched::Refused { status: 404, code: codes::NOT_FOUND.into(), message }, None));
        };
        let authorization = token.authorization(*timeout_ms).await?;
        let url = format!("{base}{}", blob_path(hash));
        let promise = glue::fetch_range(&url, Some(&authorization), offset as f64, (offset + len) as f64, *timeout_ms);
        let answer = JsFuture::from(promise).await.map_err(|e| Failure::Network {
            message: e.as_string().unwrap_or_else(|| describe(&e)),
            retry_after_ms: None,
        })?;
        let status = get(&answer, "status").as_f64().unwrap_or(0.0) as u16;
        if let Ok(buffer) = get(&answer, "bytes").dyn_into::<js_sys::ArrayBuffer>() {
            let len = buffer.byte_length() as u64;
            let (total_sent, total_received) = bytes.get();
            bytes.set((total_sent, total_received + len));
            return Ok((Fetched::Bytes { len }, Some(buffer)));
        }
        let (code, message) = error_of(&get(&answer, "json"));
        match refusal_or_failure(status, code, message, None, retry_after(&answer))? {
            BlobAnswer::Refused { status, code, message, .. } => Ok((Fetched::Refused { status, code, message }, None)),
            BlobAnswer::Status(_) => Err(Failure::BadAnswer(format!("a {status} answer without bytes"))),
        }
    }

    async fn blob_request(&self, method: &str, path: &str, query: &str, body: &JsValue) -> Result<BlobAnswer, Failure> {
        let Transport::Http { base, token, timeout_ms, bytes } = self else {
            let message = "a JS transport has no blob endpoints".to_string();
            return Ok(BlobAnswer::Refused { status: 404, code: codes::NOT_FOUND.into(), message, offset: None });
        };
        let authorization = token.authorization(*timeout_ms).await?;
        let url = format!("{base}{path}{query}");
        let content_type = (!body.is_undefined()).then_some("application/octet-stream");
        // A chunk is a Blob: its `size` is what goes out.
        let sent = get(body, "size").as_f64().unwrap_or(0.0) as u64;
        let request = (body, sent, content_type);
        let answer = fetch_counted(method, &url, Some(&authorization), request, *timeout_ms, bytes).await?;
        let status = get(&answer, "status").as_f64().unwrap_or(0.0) as u16;
        let json = get(&answer, "json");
        if (200..300).contains(&status) {
            return wire::read_upload_status(&json).map(BlobAnswer::Status);
        }
        let (code, message) = error_of(&json);
        let offset = get(&json, "offset").as_f64().filter(|o| *o >= 0.0).map(|o| o as u64);
        refusal_or_failure(status, code, message, offset, retry_after(&answer))
    }
}

/// Calls `transport[method](...args)`; a throw, a rejection or no answer within `timeout_ms` is a
/// network failure, with the error's `retryAfterMs` (if it has one) as the server's hint.
async fn call_js(transport: &JsValue, method: &str, args: &[JsValue], timeout_ms: u32) -> Result<JsValue, Failure> {
    let f: Function = get(transport, method)
        .dyn_into()
        .map_err(|_| Failure::BadAnswer(format!("the transport has no {method}() function")))?;
    let promise: Promise = glue::call_transport(transport, &f, &args.iter().collect::<js_sys::Array>(), timeout_ms);
    JsFuture::from(promise).await.map_err(|e| {
        let retry_after_ms = get(&e, "retryAfterMs").as_f64().filter(|ms| *ms >= 0.0).map(|ms| ms as u64);
        Failure::Network { message: format!("{method}() failed: {}", thrown_message(&e)), retry_after_ms }
    })
}

/// The message of what a JS call threw or rejected with.
fn thrown_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| describe(e))
}
