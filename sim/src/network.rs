//! The network between the tabs and the server: requests in flight, each with a fate drawn from
//! the seed (a 500 or a 429 before anything is applied, an expired token, the answer lost after
//! the server applied it, a request delivered twice, or a slow answer that the client gives up
//! on while the server applies it later, after the client's retry), the server reached, and one
//! answer (or failure) carried back to the tab that asked.

use ferrysync::core::blobs::download::Fetched;
use ferrysync::core::blobs::Answer as BlobAnswer;
use ferrysync::core::sync::engine::Event;
use ferrysync::core::sync::failure::Failure;
use ferrysync::core::sync::storage::Batch;
use ferrysync::protocol::{codes, PullResponse, PushResponse, SpacesPullRequest, SpacesPullResponse};

use crate::client::TabRef;
use crate::data::Data;
use crate::trace::{answer_name, kind_name};
use crate::world::{Action, World};

/// How long a client waits for an answer before it gives up (the transport's timeout).
pub(crate) const REQUEST_TIMEOUT_MS: u64 = 5_000;

#[derive(Debug)]
pub(crate) enum Kind {
    Push(Batch<Data>),
    Pull {
        cursor: Option<String>,
        limit: u32,
    },
    PullSpaces(SpacesPullRequest),
    Probe,
    /// `GET /v1/blobs/{hash}/upload`.
    BlobStatus {
        hash: String,
    },
    /// `PATCH /v1/blobs/{hash}/upload?offset=&size=` with these bytes.
    Chunk {
        hash: String,
        offset: u64,
        size: u64,
        bytes: Vec<u8>,
    },
    /// `GET /v1/blobs/{hash}` with `Range: bytes=offset-(offset+len-1)`.
    Range {
        hash: String,
        offset: u64,
        len: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Ok,
    ServerError,
    Throttled,
    TokenExpired,
    AnswerLost,
    DeliveredTwice,
    /// The client times out; the server gets the request later.
    Slow,
}

/// Every fate but `Ok`, in the order `Stats::faults` counts them.
const FAULTS: [Fate; 6] =
    [Fate::ServerError, Fate::Throttled, Fate::TokenExpired, Fate::AnswerLost, Fate::DeliveredTwice, Fate::Slow];

#[derive(Debug)]
pub(crate) enum Answer {
    Push(Result<PushResponse<Data>, Failure>),
    Pull(Result<PullResponse<Data>, Failure>),
    PullSpaces(Result<SpacesPullResponse<Data>, Failure>),
    Probe(Result<(), Failure>),
    Blob(Result<BlobAnswer, Failure>),
    /// What the server answered to a range, and the bytes it sent.
    Range(Result<(Fetched, Vec<u8>), Failure>),
}

pub(crate) struct Request {
    from: TabRef,
    kind: Kind,
    fate: Fate,
    /// The answer on its way to the client (a client gets one answer, whatever the server saw).
    answer: Option<Answer>,
    answered: bool,
    /// Times the request will still reach the server.
    deliveries_left: u32,
}

impl World {
    pub(crate) fn send(&mut self, from: TabRef, kind: Kind) {
        let id = self.next_request;
        self.next_request += 1;
        let fate = if self.clients[from.client].offline {
            // The request cannot leave; the transport fails it at once.
            let request = Request { from, kind, fate: Fate::Ok, answer: None, answered: false, deliveries_left: 0 };
            self.requests.insert(id, request);
            self.fail(id, Failure::Network { message: "offline".into(), retry_after_ms: None });
            self.schedule(0, Action::Answer(id));
            return;
        } else if self.faults && self.rng.chance(self.shape.fault_percent) {
            *self.rng.pick(&FAULTS).unwrap_or(&Fate::Ok)
        } else {
            Fate::Ok
        };
        self.note(|| {
            format!("request {id} from client {} tab {}: {} ({fate:?})", from.client, from.tab, kind_name(&kind))
        });
        match &kind {
            Kind::Push(_) => self.stats.pushes += 1,
            Kind::Pull { .. } | Kind::PullSpaces(_) => self.stats.pulls += 1,
            Kind::Probe => {}
            Kind::BlobStatus { .. } => self.stats.blob_asks += 1,
            Kind::Chunk { bytes, .. } => {
                self.stats.chunks += 1;
                self.stats.chunk_bytes += bytes.len() as u64;
            }
            Kind::Range { .. } => self.stats.ranges += 1,
        }
        let fault = FAULTS.iter().position(|f| *f == fate);
        if let Some(i) = fault {
            self.stats.faults[i] += 1;
            if matches!(kind, Kind::Push(_)) && self.applying_push(from.client) {
                self.stats.batches_cut += 1;
            }
        }
        let deliveries_left = match fate {
            Fate::ServerError | Fate::Throttled | Fate::TokenExpired => 0,
            Fate::DeliveredTwice => 2,
            Fate::Ok | Fate::AnswerLost | Fate::Slow => 1,
        };
        self.requests.insert(id, Request { from, kind, fate, answer: None, answered: false, deliveries_left });
        let latency = self.rng.range(1, 60);
        match fate {
            Fate::ServerError => {
                self.fail(id, http(500, codes::INTERNAL, None));
                self.schedule(latency, Action::Answer(id));
            }
            Fate::Throttled => {
                self.fail(id, http(429, codes::RATE_LIMITED, Some(1_000)));
                self.schedule(latency, Action::Answer(id));
            }
            Fate::TokenExpired => {
                self.fail(id, http(401, codes::TOKEN_EXPIRED, None));
                self.schedule(latency, Action::Answer(id));
            }
            Fate::Slow => {
                // The client gives up first; the server gets it after the client's retry.
                self.fail(id, Failure::Network { message: "timed out".into(), retry_after_ms: None });
                self.schedule(REQUEST_TIMEOUT_MS, Action::Answer(id));
                let late = REQUEST_TIMEOUT_MS + self.rng.range(1, 30_000);
                self.schedule(late, Action::Deliver(id));
            }
            Fate::DeliveredTwice => {
                self.schedule(latency, Action::Deliver(id));
                let again = latency + self.rng.range(0, 3_000);
                self.schedule(again, Action::Deliver(id));
            }
            Fate::Ok | Fate::AnswerLost => self.schedule(latency, Action::Deliver(id)),
        }
    }

    fn fail(&mut self, id: u64, failure: Failure) {
        if let Some(r) = self.requests.get_mut(&id) {
            r.answer = Some(match r.kind {
                Kind::Push(_) => Answer::Push(Err(failure)),
                Kind::Pull { .. } => Answer::Pull(Err(failure)),
                Kind::PullSpaces(_) => Answer::PullSpaces(Err(failure)),
                Kind::Probe => Answer::Probe(Err(failure)),
                Kind::BlobStatus { .. } | Kind::Chunk { .. } => Answer::Blob(Err(failure)),
                Kind::Range { .. } => Answer::Range(Err(failure)),
            });
        }
    }

    pub(crate) fn deliver(&mut self, id: u64) {
        let Some(request) = self.requests.get(&id) else { return };
        let answer = match &request.kind {
            Kind::Push(batch) => {
                self.server.set_time(self.now);
                let answer = self.server.push(&batch.mutations);
                if matches!(answer, Err(Failure::Http { status: 413, .. })) {
                    self.stats.batches_refused += 1;
                }
                Answer::Push(answer)
            }
            Kind::Pull { cursor, limit } => {
                self.server.set_time(self.now);
                Answer::Pull(self.server.pull(cursor.as_deref(), *limit))
            }
            Kind::PullSpaces(request) => {
                self.server.set_time(self.now);
                Answer::PullSpaces(self.server.pull_spaces(request.clone()))
            }
            Kind::Probe => Answer::Probe(Ok(())),
            Kind::BlobStatus { hash } => Answer::Blob(self.server.blob_status(hash)),
            Kind::Chunk { hash, offset, size, bytes } => {
                let (hash, offset, size, bytes) = (hash.clone(), *offset, *size, bytes.clone());
                Answer::Blob(self.server.append(&hash, offset, size, bytes))
            }
            Kind::Range { hash, offset, len } => {
                let (fetched, mut bytes) = self.server.range(hash, *offset, *len);
                // A cache or a proxy on the way may answer other bytes: the download's check
                // must keep them from being stored under the hash.
                if self.faults && !bytes.is_empty() && self.rng.chance(self.shape.fault_percent) {
                    let at = self.rng.below(bytes.len() as u64) as usize;
                    bytes[at] ^= 0x5a;
                    self.stats.ranges_corrupted += 1;
                }
                Answer::Range(Ok((fetched, bytes)))
            }
        };
        self.note(|| format!("request {id} reaches the server: {}", answer_name(&answer)));
        let latency = self.rng.range(1, 60);
        let Some(request) = self.requests.get_mut(&id) else { return };
        request.deliveries_left = request.deliveries_left.saturating_sub(1);
        if request.answered || request.answer.is_some() {
            // The client has its one answer already, or has one on its way (a timeout, or the
            // first of two deliveries): this one is lost.
            self.forget_if_done(id);
            return;
        }
        request.answer = Some(match (request.fate, answer) {
            (Fate::AnswerLost, _) => match request.kind {
                Kind::Push(_) => Answer::Push(Err(dropped())),
                Kind::Pull { .. } => Answer::Pull(Err(dropped())),
                Kind::PullSpaces(_) => Answer::PullSpaces(Err(dropped())),
                Kind::Probe => Answer::Probe(Err(dropped())),
                Kind::BlobStatus { .. } | Kind::Chunk { .. } => Answer::Blob(Err(dropped())),
                Kind::Range { .. } => Answer::Range(Err(dropped())),
            },
            (_, answer) => answer,
        });
        self.schedule(latency, Action::Answer(id));
    }

    fn forget_if_done(&mut self, id: u64) {
        if self.requests.get(&id).is_some_and(|r| r.answered && r.deliveries_left == 0) {
            self.requests.remove(&id);
        }
    }

    pub(crate) fn answer(&mut self, id: u64) {
        let Some(request) = self.requests.get_mut(&id) else { return };
        let Some(answer) = request.answer.take() else { return };
        request.answered = true;
        let from = request.from;
        let event = match (&request.kind, answer) {
            (Kind::Push(batch), Answer::Push(answer)) => Event::Pushed { batch: batch.clone(), answer },
            (_, Answer::Pull(answer)) => Event::Pulled(answer),
            (_, Answer::PullSpaces(answer)) => Event::SpacesPulled(answer),
            (_, Answer::Probe(answer)) => Event::Probed(answer),
            (Kind::BlobStatus { hash } | Kind::Chunk { hash, .. }, Answer::Blob(answer)) => {
                match &answer {
                    Ok(BlobAnswer::Status(s)) => self.heard.heard(from.client, hash, s.offset, s.complete),
                    Ok(BlobAnswer::Refused { offset: Some(offset), .. }) => {
                        self.heard.heard(from.client, hash, *offset, false)
                    }
                    _ => {}
                }
                Event::BlobAnswered(answer)
            }
            (Kind::Range { hash, offset, .. }, Answer::Range(answer)) => {
                let store = &self.clients[from.client].store;
                Event::RangeFetched(answer.map(|(fetched, bytes)| {
                    store.keep_range(hash, *offset, &bytes);
                    fetched
                }))
            }
            (_, Answer::Blob(_) | Answer::Range(_)) => return,
            (_, Answer::Push(_)) => return,
        };
        self.forget_if_done(id);
        self.feed(from, event);
    }
}

fn dropped() -> Failure {
    Failure::Network { message: "the connection dropped".into(), retry_after_ms: None }
}

fn http(status: u16, code: &str, retry_after_ms: Option<u64>) -> Failure {
    Failure::Http { status, code: code.into(), message: "injected".into(), retry_after_ms }
}
