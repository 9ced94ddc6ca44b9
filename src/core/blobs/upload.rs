//! One blob's upload as a state machine with no I/O: it says what to ask the server next and
//! reads each answer. The engine carries its steps out (`GET` the upload's status, `PATCH` a
//! chunk); the simulation and the browser drive the same machine.
//!
//! It never starts from zero on its own: every start and every retry after a failure begins by
//! asking the server how many bytes it holds, and goes on from there. Only a hash mismatch (the
//! server dropped the bytes) starts over, once.

use crate::protocol::blobs::{permanent_refusal, UploadStatus, DEFAULT_CHUNK_BYTES};
use crate::protocol::codes;

use super::super::sync::failure::Failure;

/// What the server answered to a status request or a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: where the upload stands now.
    Status(UploadStatus),
    /// A 4xx with its error code; `offset` is the body's `offset` (a 409 `offset_mismatch`).
    Refused { status: u16, code: String, message: String, offset: Option<u64> },
}

/// An error answer to a blob request, as the upload reads it: a refusal the machine decides on
/// ([`Answer::Refused`]), or a failure the sync retries after a backoff, as it does a push's (401
/// for a fresh token, 408, 429 and every 5xx). `offset` is the error body's `offset`, if any.
pub fn refusal_or_failure(
    status: u16,
    code: String,
    message: String,
    offset: Option<u64>,
    retry_after_ms: Option<u64>,
) -> Result<Answer, Failure> {
    match status {
        400..=499 if !matches!(status, 401 | 408 | 429) => Ok(Answer::Refused { status, code, message, offset }),
        _ => Err(Failure::Http { status, code, message, retry_after_ms }),
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `GET` the upload's status.
    AskStatus,
    /// `PATCH` the bytes `offset .. offset + len` (an empty chunk at the end finishes an upload
    /// whose check was interrupted).
    Send { offset: u64, len: u64 },
    /// The server has the blob, whole and checked.
    Done,
    /// Refused for good: the blob becomes a dead letter of the changes that refer to it.
    Failed { code: String, message: String },
    /// The server has no blob endpoints (it predates them): the blob stays here, the changes
    /// that refer to it stay queued, and the rest of the sync goes on.
    Unsupported,
}

/// The smallest chunk a `payload_too_large` answer halves the chunk size down to.
pub const MIN_CHUNK_BYTES: u64 = 64 * 1024;

/// One blob's upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub hash: String,
    pub size: u64,
    /// Bytes per chunk.
    pub chunk: u64,
    /// The bytes the server holds, as last heard; `None` until it is asked.
    offset: Option<u64>,
    /// The server dropped the bytes for a hash mismatch once already.
    restarted: bool,
    /// Bytes the server took from this machine's chunks (for the progress; a resume does not
    /// count what was already there).
    pub sent: u64,
}

impl Upload {
    pub fn new(hash: String, size: u64, chunk: Option<u64>) -> Upload {
        let chunk = chunk.unwrap_or(DEFAULT_CHUNK_BYTES).max(1);
        Upload { hash, size, chunk, offset: None, restarted: false, sent: 0 }
    }

    /// The bytes the server holds, as last heard (0 before it is asked).
    pub fn offset(&self) -> u64 {
        self.offset.unwrap_or(0)
    }

    /// The first step, and the step after any failure that is not an answer (a lost
    /// connection, a 5xx, a 429): ask where the server is.
    pub fn start(&mut self) -> Step {
        self.offset = None;
        Step::AskStatus
    }

    /// Reads the answer to the step before and says the next one.
    pub fn answered(&mut self, answer: Answer) -> Step {
        match answer {
            Answer::Status(status) => self.at(status),
            Answer::Refused { code, offset: Some(offset), .. } if code == codes::OFFSET_MISMATCH => {
                self.offset = Some(offset.min(self.size));
                self.send()
            }
            Answer::Refused { code, .. } if code == codes::HASH_MISMATCH && !self.restarted => {
                // The server dropped what it had: someone's bytes were not the blob's. Once more
                // from the start with ours; if ours do not hash to the address either, they are
                // not the blob, and a retry cannot help.
                self.restarted = true;
                self.offset = Some(0);
                self.send()
            }
            Answer::Refused { code, .. } if code == codes::PAYLOAD_TOO_LARGE && self.chunk > MIN_CHUNK_BYTES => {
                self.chunk = (self.chunk / 2).max(MIN_CHUNK_BYTES);
                self.send()
            }
            Answer::Refused { status: 404 | 405, code, .. }
                if code == codes::NOT_FOUND || code == codes::METHOD_NOT_ALLOWED =>
            {
                Step::Unsupported
            }
            Answer::Refused { code, message, .. } => {
                Step::Failed { code: permanent_refusal(&code).map_or(code.clone(), str::to_string), message }
            }
        }
    }

    fn at(&mut self, status: UploadStatus) -> Step {
        if status.complete {
            if let Some(b) = self.offset {
                self.sent += self.size.saturating_sub(b);
            }
            self.offset = Some(self.size);
            return Step::Done;
        }
        if let Some(size) = status.size.filter(|s| *s != self.size) {
            // An upload of this hash with another size is under way: sending ours would be
            // refused; the server's check clears it once it is complete (the bytes cannot hash to
            // the address with another length), so this is only a failure of this attempt.
            return Step::Failed {
                code: codes::SIZE_MISMATCH.to_string(),
                message: format!("the server holds an upload of this blob declared as {size} bytes, not {}", self.size),
            };
        }
        let before = self.offset;
        let offset = status.offset.min(self.size);
        if let Some(b) = before {
            self.sent += offset.saturating_sub(b);
        }
        self.offset = Some(offset);
        self.send()
    }

    fn send(&self) -> Step {
        let offset = self.offset.unwrap_or(0);
        Step::Send { offset, len: self.chunk.min(self.size - offset) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(offset: u64, size: Option<u64>, complete: bool) -> Answer {
        Answer::Status(UploadStatus { offset, size, complete })
    }

    fn refused(status: u16, code: &str, offset: Option<u64>) -> Answer {
        Answer::Refused { status, code: code.into(), message: "m".into(), offset }
    }

    fn upload(size: u64, chunk: u64) -> Upload {
        Upload::new("h".repeat(64), size, Some(chunk))
    }

    #[test]
    fn chunks_go_up_in_order_and_the_last_one_completes() {
        let mut u = upload(25, 10);
        assert_eq!(u.start(), Step::AskStatus);
        assert_eq!(u.answered(status(0, None, false)), Step::Send { offset: 0, len: 10 });
        assert_eq!(u.answered(status(10, Some(25), false)), Step::Send { offset: 10, len: 10 });
        assert_eq!(u.answered(status(20, Some(25), false)), Step::Send { offset: 20, len: 5 });
        assert_eq!(u.answered(status(25, Some(25), true)), Step::Done);
        assert_eq!(u.sent, 25);
    }

    #[test]
    fn a_blob_the_server_has_is_never_sent() {
        let mut u = upload(1 << 30, 1 << 20);
        u.start();
        assert_eq!(u.answered(status(1 << 30, Some(1 << 30), true)), Step::Done);
        assert_eq!(u.sent, 0);
    }

    #[test]
    fn a_resume_goes_on_from_the_servers_offset_never_from_zero() {
        for held in [0, 1, 9, 10, 11, 24] {
            let mut u = upload(25, 10);
            u.start();
            assert_eq!(u.answered(status(held, Some(25), false)), Step::Send { offset: held, len: 10.min(25 - held) });
        }
        // A chunk sent at a stale offset: the server says where it is.
        let mut u = upload(25, 10);
        u.start();
        u.answered(status(0, None, false));
        assert_eq!(u.answered(refused(409, codes::OFFSET_MISMATCH, Some(20))), Step::Send { offset: 20, len: 5 });
        // Interrupted between the last byte and the check: an empty chunk at the end finishes it.
        let mut u = upload(25, 10);
        u.start();
        assert_eq!(u.answered(status(25, Some(25), false)), Step::Send { offset: 25, len: 0 });
        // An empty blob is one empty chunk.
        let mut u = upload(0, 10);
        u.start();
        assert_eq!(u.answered(status(0, None, false)), Step::Send { offset: 0, len: 0 });
    }

    #[test]
    fn a_hash_mismatch_starts_over_once_then_fails() {
        let mut u = upload(25, 10);
        u.start();
        u.answered(status(20, Some(25), false));
        assert_eq!(u.answered(refused(422, codes::HASH_MISMATCH, None)), Step::Send { offset: 0, len: 10 });
        u.answered(status(20, Some(25), false));
        assert!(
            matches!(u.answered(refused(422, codes::HASH_MISMATCH, None)), Step::Failed { code, .. } if code == codes::HASH_MISMATCH)
        );
    }

    #[test]
    fn refusals_no_retry_fixes_fail_the_blob() {
        for code in [codes::QUOTA_EXCEEDED, codes::BLOB_TOO_LARGE, codes::SIZE_MISMATCH, codes::INVALID_HASH] {
            let mut u = upload(25, 10);
            u.start();
            assert!(matches!(u.answered(refused(413, code, None)), Step::Failed { code: c, .. } if c == code));
        }
        let mut u = upload(25, 10);
        u.start();
        assert!(
            matches!(u.answered(status(0, Some(26), false)), Step::Failed { code, .. } if code == codes::SIZE_MISMATCH)
        );
    }

    #[test]
    fn a_server_without_blob_endpoints_is_told_apart() {
        let mut u = upload(25, 10);
        u.start();
        assert_eq!(u.answered(refused(404, codes::NOT_FOUND, None)), Step::Unsupported);
        // A blob-aware 404 is not that.
        assert!(matches!(u.answered(refused(404, codes::BLOB_NOT_FOUND, None)), Step::Failed { .. }));
    }

    #[test]
    fn client_errors_are_answers_and_the_rest_are_retried() {
        let answer = |status| refusal_or_failure(status, "c".into(), "m".into(), None, None);
        for status in [400, 404, 409, 413, 422] {
            assert!(matches!(answer(status), Ok(Answer::Refused { .. })), "{status}");
        }
        for status in [401, 408, 429, 500, 503] {
            assert!(matches!(answer(status), Err(Failure::Http { .. })), "{status}");
        }
    }

    #[test]
    fn a_chunk_too_large_for_the_server_is_halved_down_to_a_floor() {
        let mut u = upload(10 << 20, 1 << 20);
        u.start();
        u.answered(status(0, None, false));
        assert_eq!(u.answered(refused(413, codes::PAYLOAD_TOO_LARGE, None)), Step::Send { offset: 0, len: 512 << 10 });
        for _ in 0..3 {
            u.answered(refused(413, codes::PAYLOAD_TOO_LARGE, None));
        }
        assert_eq!(u.chunk, MIN_CHUNK_BYTES);
        assert!(matches!(u.answered(refused(413, codes::PAYLOAD_TOO_LARGE, None)), Step::Failed { .. }));
    }
}
