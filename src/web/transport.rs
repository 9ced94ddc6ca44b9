//! How pushes, pulls and probes reach a server from the browser: HTTP to a ferrysync protocol
//! server, or a JS object with `push(batch)` and `pull(cursor, limit)` for any other backend.
//! Both implement the core's [`Transport`](crate::core::sync::transport::Transport); answers are
//! read into the protocol's types here ([`super::wire`]).

use std::cell::Cell;

use gloo_net::http::{Method, RequestBuilder};
use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortController;

use crate::core::sync::failure::{retry_after_ms, Failure};
use crate::core::sync::transport::Transport as CoreTransport;
use crate::protocol::{pull_query, Mutation, HEALTH_PATH, PULL_PATH, PUSH_PATH};

use super::glue;
use super::js::{describe, get};
use super::wire::{self, JsData, PullResponse, PushResponse};

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
                let url = format!("{base}{PUSH_PATH}");
                http(Method::POST, &url, Some(&authorization), Some(body.into()), *timeout_ms, bytes).await
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
                http(Method::GET, &url, Some(&authorization), None, *timeout_ms, bytes).await
            }
            Transport::Js { transport, timeout_ms } => {
                let cursor = cursor.map(JsValue::from_str).unwrap_or(JsValue::NULL);
                call_js(transport, "pull", &[cursor, JsValue::from_f64(limit as f64)], *timeout_ms).await
            }
        }?;
        wire::read_pull_response(&answer)
    }

    /// Whether the server answers. A JS transport without `probe()` counts as reachable; its
    /// first push or pull tells.
    async fn probe(&self) -> Result<(), Failure> {
        match self {
            Transport::Http { base, timeout_ms, bytes, .. } => {
                let answer = http(Method::GET, &format!("{base}{HEALTH_PATH}"), None, None, *timeout_ms, bytes).await?;
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

/// One request; a 2xx JSON body, or the failure. Aborted after `timeout_ms`, so a connection
/// that never answers cannot stall the sync. The body's length and the answer's
/// `Content-Length` are added to `bytes`.
async fn http(
    method: Method,
    url: &str,
    authorization: Option<&str>,
    body: Option<JsValue>,
    timeout_ms: u32,
    bytes: &Cell<(u64, u64)>,
) -> Result<JsValue, Failure> {
    // The JSON text's length in UTF-16 units: its bytes, for the ASCII that JSON mostly is.
    let sent = body.as_ref().and_then(|b| b.dyn_ref::<js_sys::JsString>()).map_or(0, |b| b.length() as u64);
    let network = |e: String| Failure::Network { message: e, retry_after_ms: None };
    let controller = AbortController::new().map_err(|e| network(describe(&e)))?;
    let abort = controller.clone();
    let _timeout = gloo_timers::callback::Timeout::new(timeout_ms, move || abort.abort());
    let mut builder = RequestBuilder::new(url).method(method).abort_signal(Some(&controller.signal()));
    if let Some(authorization) = authorization {
        builder = builder.header("Authorization", authorization);
    }
    let request = match body {
        Some(body) => builder.header("Content-Type", "application/json").body(body),
        None => builder.build(),
    }
    .map_err(|e| network(e.to_string()))?;
    let response = request.send().await.map_err(|e| network(e.to_string()))?;
    let status = response.status();
    let raw: web_sys::Response = response.into();
    let retry_after = raw.headers().get("Retry-After").ok().flatten().as_deref().and_then(retry_after_ms);
    let received = raw.headers().get("Content-Length").ok().flatten().and_then(|l| l.parse::<u64>().ok());
    let (total_sent, total_received) = bytes.get();
    bytes.set((total_sent + sent, total_received + received.unwrap_or(0)));
    let json = match raw.json() {
        Ok(p) => JsFuture::from(p).await.ok(),
        Err(_) => None,
    };
    if (200..300).contains(&status) {
        return json.ok_or_else(|| Failure::BadAnswer(format!("{url} answered {status} without a JSON body")));
    }
    let error = json.as_ref().map(|j| get(j, "error")).unwrap_or(JsValue::UNDEFINED);
    Err(Failure::Http {
        status,
        code: get(&error, "code").as_string().unwrap_or_else(|| "unknown".into()),
        message: get(&error, "message").as_string().unwrap_or_else(|| "no error body".into()),
        retry_after_ms: retry_after,
    })
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
