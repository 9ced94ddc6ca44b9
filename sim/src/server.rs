//! The simulated server: the reference server's own push and pull code
//! (`ferrysync_server::http::{push::apply, pull::page}`, what the HTTP handlers call once the
//! caller is known) over its SQLite store in memory, run on a current-thread runtime. It also
//! keeps the log the checks read: every answer given to every mutation id.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ferrysync::core::blobs::download::Fetched;
use ferrysync::core::blobs::upload::refusal_or_failure;
use ferrysync::core::blobs::Answer as BlobAnswer;
use ferrysync::core::sync::failure::Failure;
use ferrysync::protocol::UploadStatus;
use ferrysync::protocol::{
    codes, Mutation, MutationResult, PullResponse, PushRequest, PushResponse, ServerRecord, SpacePage,
    SpacesPullRequest, SpacesPullResponse,
};
use ferrysync_server::http::error::Error as HttpError;
use ferrysync_server::http::{blobs, pull, push, AppState};
use ferrysync_server::store::sqlite::{Location, SqliteStore};
use serde_json::Value;
use uuid::Uuid;

use crate::data::Data;

/// The tenant every simulated client belongs to.
const TENANT: &str = "sim";

/// A change the server applied, for the checks: which client's mutation carried which value.
#[derive(Debug, Clone)]
pub struct Applied {
    pub mutation_id: Uuid,
    pub collection: String,
    pub id: String,
    /// The tokens of the writes the data carries (a merge carries several); `None` for a delete.
    pub tokens: Option<Vec<String>>,
}

pub struct Server {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    /// The server's clock: the world's time, set before each request (ms since the epoch).
    clock: Arc<AtomicU64>,
    /// The first answer to every mutation id, and whether a later one differed.
    answers: BTreeMap<Uuid, MutationResult<Value>>,
    pub applied: Vec<Applied>,
    /// Every mutation rejected for good (an oversized record): (collection, id, its data's tokens).
    pub rejected: Vec<(String, String, Vec<String>)>,
    pub violations: Vec<String>,
    /// Mutations answered `blob_missing` (sent before their blob was up).
    pub blob_missing: u64,
}

/// The server's configuration, as its command line gives it by default (an in-memory database),
/// but for the batch limit.
fn config(max_batch: usize) -> ferrysync_server::Config {
    use clap::Parser;
    let max_batch = max_batch.to_string();
    let record = crate::data::MAX_RECORD_BYTES.to_string();
    let args = ["ferrysync-server", "--memory", "--max-batch", &max_batch, "--max-record-bytes", &record];
    ferrysync_server::Config::try_parse_from(args).expect("the default configuration")
}

impl Server {
    /// A server that takes at most `max_batch` mutations in one push.
    pub fn new(max_batch: usize) -> Server {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let store = runtime.block_on(SqliteStore::open(Location::Memory)).expect("an in-memory SQLite store");
        let mut state = AppState::new(config(max_batch), Arc::new(store));
        let clock = Arc::new(AtomicU64::new(0));
        let read = clock.clone();
        state.clock = Arc::new(move || read.load(Ordering::Relaxed));
        Server {
            runtime,
            state,
            clock,
            answers: BTreeMap::new(),
            applied: Vec::new(),
            rejected: Default::default(),
            violations: Vec::new(),
            blob_missing: 0,
        }
    }

    /// Sets the server's clock (the world's time) for the requests that follow.
    pub fn set_time(&self, now_ms: u64) {
        self.clock.store(now_ms, Ordering::Relaxed);
    }

    /// One push, as the handler runs it; the answer as a client would read it.
    pub fn push(&mut self, mutations: &[Mutation<Data>]) -> Result<PushResponse<Data>, Failure> {
        let request = PushRequest {
            mutations: mutations
                .iter()
                .map(|m| Mutation {
                    mutation_id: m.mutation_id,
                    collection: m.collection.clone(),
                    id: m.id.clone(),
                    op: m.op,
                    data: m.data.as_ref().map(|d| d.0.clone()),
                    base_version: m.base_version,
                    force: m.force,
                    written_at: m.written_at,
                    space: m.space.clone(),
                })
                .collect(),
        };
        let answer = self.runtime.block_on(push::apply(&self.state, TENANT.into(), request)).map_err(http_failure)?;
        for (m, result) in mutations.iter().zip(&answer.results) {
            if matches!(result, MutationResult::Rejected { code, .. } if code == codes::BLOB_MISSING) {
                // Not kept by the server, not final: the same mutation applies once the blob is up.
                self.blob_missing += 1;
                continue;
            }
            match self.answers.get(&m.mutation_id) {
                None => {
                    self.answers.insert(m.mutation_id, result.clone());
                    match result {
                        MutationResult::Applied { .. } => self.applied.push(Applied {
                            mutation_id: m.mutation_id,
                            collection: m.collection.clone(),
                            id: m.id.clone(),
                            tokens: m.data.as_ref().map(|d| d.tokens()),
                        }),
                        MutationResult::Rejected { .. } => {
                            let tokens = m.data.as_ref().map(|d| d.tokens()).unwrap_or_default();
                            self.rejected.push((m.collection.clone(), m.id.clone(), tokens));
                        }
                        MutationResult::Conflict { .. } => {}
                    }
                }
                Some(first) if !same_answer(first, result) => self.violations.push(format!(
                    "mutation {} was answered {} then {}: applied twice, or answered from the new state",
                    m.mutation_id,
                    first.status(),
                    result.status()
                )),
                Some(_) => {}
            }
        }
        Ok(PushResponse { results: answer.results.into_iter().map(to_data).collect(), server_time: answer.server_time })
    }

    /// One pull page, as the handler runs it.
    pub fn pull(&self, cursor: Option<&str>, limit: u32) -> Result<PullResponse<Data>, Failure> {
        let limit = limit.to_string();
        let page = self
            .runtime
            .block_on(pull::page(&self.state, TENANT.into(), cursor, Some(&limit)))
            .map_err(http_failure)?;
        Ok(PullResponse {
            changes: page.changes.into_iter().map(|r| record(r, |raw| parse(raw.get()))).collect(),
            cursor: page.cursor,
            has_more: page.has_more,
            server_time: page.server_time,
        })
    }

    /// One pull by space, as the handler of `POST /v1/pull` runs it.
    pub fn pull_spaces(&self, request: SpacesPullRequest) -> Result<SpacesPullResponse<Data>, Failure> {
        let answer = self.runtime.block_on(pull::spaces(&self.state, TENANT.into(), request)).map_err(http_failure)?;
        Ok(SpacesPullResponse {
            spaces: answer
                .spaces
                .into_iter()
                .map(|p| SpacePage {
                    space: p.space,
                    changes: p.changes.into_iter().map(|r| record(r, |raw| parse(raw.get()))).collect(),
                    left: p.left,
                    cursor: p.cursor,
                    has_more: p.has_more,
                })
                .collect(),
            server_time: answer.server_time,
        })
    }

    /// `GET /v1/blobs/{hash}/upload`, as the handler runs it once the caller is known.
    pub fn blob_status(&self, hash: &str) -> Result<BlobAnswer, Failure> {
        blob_answer(self.runtime.block_on(blobs::status(&self.state, TENANT, hash)))
    }

    /// `PATCH /v1/blobs/{hash}/upload?offset=&size=` with `bytes`, as the handler runs it.
    pub fn append(&self, hash: &str, offset: u64, size: u64, bytes: Vec<u8>) -> Result<BlobAnswer, Failure> {
        let appended = blobs::append(&self.state, TENANT, hash, offset, size, bytes::Bytes::from(bytes));
        blob_answer(self.runtime.block_on(appended))
    }

    /// `GET /v1/blobs/{hash}` with a range, as the handler reads it: the bytes, or the refusal.
    pub fn range(&self, hash: &str, offset: u64, len: u64) -> (Fetched, Vec<u8>) {
        use futures_util::StreamExt;
        let range = format!("bytes={offset}-{}", offset + len.max(1) - 1);
        self.runtime.block_on(async {
            let read = match blobs::read(&self.state, TENANT, hash, Some(&range)).await {
                Ok(read) => read,
                Err(e) => {
                    let refused = Fetched::Refused {
                        status: e.status().as_u16(),
                        code: e.code().to_string(),
                        message: e.message(),
                    };
                    return (refused, Vec::new());
                }
            };
            let mut out = Vec::new();
            let mut stream = read.bytes;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => out.extend_from_slice(&chunk),
                    Err(_) => break,
                }
            }
            (Fetched::Bytes { len: out.len() as u64 }, out)
        })
    }

    /// The bytes of a blob the server holds whole (`GET /v1/blobs/{hash}`).
    pub fn blob_bytes(&self, hash: &str) -> Option<Vec<u8>> {
        use futures_util::StreamExt;
        self.runtime.block_on(async {
            let read = blobs::read(&self.state, TENANT, hash, None).await.ok()?;
            let mut out = Vec::with_capacity(read.size as usize);
            let mut stream = read.bytes;
            while let Some(chunk) = stream.next().await {
                out.extend_from_slice(&chunk.ok()?);
            }
            Some(out)
        })
    }

    /// The cursor after the server's last change.
    pub fn head(&self) -> String {
        let mut cursor: Option<String> = None;
        loop {
            let page = self.pull(cursor.as_deref(), 1000).expect("a full pull");
            cursor = Some(page.cursor);
            if !page.has_more {
                return cursor.unwrap_or_default();
            }
        }
    }

    /// Every live record, by a full pull from the start: ((collection, id) → data).
    pub fn live_records(&self) -> BTreeMap<(String, String), Data> {
        let mut live = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.pull(cursor.as_deref(), 1000).expect("a full pull");
            for r in page.changes {
                let key = (r.collection, r.id);
                match r.data {
                    Some(data) if !r.deleted => live.insert(key, data),
                    _ => live.remove(&key),
                };
            }
            cursor = Some(page.cursor);
            if !page.has_more {
                return live;
            }
        }
    }
}

/// Whether a repeat of a mutation id got the first answer: the same version applied, the same
/// rejection, or a conflict again (whose `current` is the record as it is at the repeat, since the
/// server stores which record a conflict was about rather than a copy of it; docs/server.md).
fn same_answer(first: &MutationResult<Value>, again: &MutationResult<Value>) -> bool {
    match (first, again) {
        (MutationResult::Conflict { .. }, MutationResult::Conflict { .. }) => true,
        (a, b) => a == b,
    }
}

fn parse(text: &str) -> Data {
    Data(serde_json::from_str(text).unwrap_or(Value::Null))
}

fn record<T>(r: ServerRecord<T>, data: impl Fn(&T) -> Data) -> ServerRecord<Data> {
    ServerRecord {
        collection: r.collection,
        id: r.id,
        version: r.version,
        deleted: r.deleted,
        data: r.data.as_ref().map(data),
        updated_at: r.updated_at,
        forced: r.forced,
    }
}

fn to_data(result: MutationResult<Value>) -> MutationResult<Data> {
    match result {
        MutationResult::Applied { mutation_id, version } => MutationResult::Applied { mutation_id, version },
        MutationResult::Conflict { mutation_id, current } => {
            MutationResult::Conflict { mutation_id, current: record(current, |v| Data(v.clone())) }
        }
        MutationResult::Rejected { mutation_id, code, message } => {
            MutationResult::Rejected { mutation_id, code, message }
        }
    }
}

/// A server error as the client's transport reports it.
/// A blob request's outcome as a client reads it: the status, a refusal, or a failure.
fn blob_answer(outcome: Result<UploadStatus, HttpError>) -> Result<BlobAnswer, Failure> {
    match outcome {
        Ok(status) => Ok(BlobAnswer::Status(status)),
        Err(e) => {
            let offset = match e {
                HttpError::OffsetMismatch { offset } => Some(offset),
                _ => None,
            };
            refusal_or_failure(e.status().as_u16(), e.code().to_string(), e.message(), offset, None)
        }
    }
}

fn http_failure(e: ferrysync_server::http::error::Error) -> Failure {
    Failure::Http {
        status: e.status().as_u16(),
        code: e.code().to_string(),
        message: e.message(),
        retry_after_ms: None,
    }
}
