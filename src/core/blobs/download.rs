//! One blob's download as a state machine with no I/O: which bytes to ask for next, and whether
//! what arrived is the blob. The edge fetches each range (`GET /v1/blobs/{hash}` with `Range`),
//! keeps the bytes and feeds them to a [`super::Hasher`]; the engine's eager downloads and a read
//! of a blob that is not here (a lazy one) drive the same machine.
//!
//! The bytes are checked against the address before they are stored: a server (or a proxy) that
//! answers other bytes never puts them under the hash. A mismatch starts over once (a cache or a
//! proxy may have answered stale bytes); a second one fails.

use crate::protocol::codes;

/// What the server answered to a range request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 200 or 206: `len` bytes from the offset asked (a 200 is the whole blob from 0).
    Bytes { len: u64 },
    /// A 4xx with its error code.
    Refused { status: u16, code: String, message: String },
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `GET` bytes `offset .. offset + len`. An `offset` of 0 after bytes were kept means start
    /// over: drop them and the hash state.
    Fetch { offset: u64, len: u64 },
    /// Every byte is here: hash them and call [`Download::checked`].
    Check,
    /// The bytes are the blob: store them.
    Done,
    /// The blob cannot be had from this server (it does not hold it, or its bytes are not the
    /// blob's): nothing is stored.
    Failed { code: String, message: String },
    /// The server has no blob endpoints.
    Unsupported,
}

/// How a download ended, for the store to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Downloaded {
    /// The bytes received are the blob's: store them (and evict beyond the cap).
    Stored,
    /// The server cannot give this blob: keep the reference, do not try it again in a sync (a
    /// read still asks the server).
    Failed { code: String, message: String },
    /// Drop what was received; the blob stays wanted.
    Dropped,
}

/// One blob's download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub hash: String,
    pub size: u64,
    /// Bytes per request.
    pub chunk: u64,
    /// Bytes received and kept.
    offset: u64,
    restarted: bool,
}

impl Download {
    pub fn new(hash: String, size: u64, chunk: u64) -> Download {
        Download { hash, size, chunk: chunk.max(1), offset: 0, restarted: false }
    }

    /// Bytes received and kept.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The first step (an empty blob needs no request).
    pub fn start(&mut self) -> Step {
        self.next()
    }

    /// Reads the answer to a [`Step::Fetch`] and says the next step.
    pub fn fetched(&mut self, answer: Fetched) -> Step {
        match answer {
            Fetched::Bytes { len } => {
                let left = self.size - self.offset;
                if len == 0 || len > left {
                    return failed(
                        codes::SIZE_MISMATCH,
                        format!(
                            "the server answered {len} bytes at offset {} of a {}-byte blob",
                            self.offset, self.size
                        ),
                    );
                }
                self.offset += len;
                self.next()
            }
            Fetched::Refused { status: 404 | 405, code, .. }
                if code == codes::NOT_FOUND || code == codes::METHOD_NOT_ALLOWED =>
            {
                Step::Unsupported
            }
            Fetched::Refused { code, message, .. } => Step::Failed { code, message },
        }
    }

    /// Reads the hash of the bytes received: they are the blob, or they are dropped and fetched
    /// again once.
    pub fn checked(&mut self, digest: &str) -> Step {
        if digest.eq_ignore_ascii_case(&self.hash) {
            return Step::Done;
        }
        if self.restarted {
            return failed(codes::HASH_MISMATCH, format!("the bytes the server answered hash to {digest}, twice"));
        }
        self.restarted = true;
        self.offset = 0;
        self.next()
    }

    fn next(&self) -> Step {
        if self.offset == self.size {
            return Step::Check;
        }
        Step::Fetch { offset: self.offset, len: self.chunk.min(self.size - self.offset) }
    }
}

fn failed(code: &str, message: String) -> Step {
    Step::Failed { code: code.to_string(), message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::blobs::Hasher;

    fn hash_of(bytes: &[u8]) -> String {
        let mut h = Hasher::new();
        h.update(bytes);
        h.finish()
    }

    #[test]
    fn fetches_in_chunks_and_checks_the_bytes() {
        let bytes = b"hello, blob world".to_vec();
        let mut d = Download::new(hash_of(&bytes), bytes.len() as u64, 8);
        assert_eq!(d.start(), Step::Fetch { offset: 0, len: 8 });
        assert_eq!(d.fetched(Fetched::Bytes { len: 8 }), Step::Fetch { offset: 8, len: 8 });
        // A server may answer less than asked: the next request goes on from what arrived.
        assert_eq!(d.fetched(Fetched::Bytes { len: 5 }), Step::Fetch { offset: 13, len: 4 });
        assert_eq!(d.fetched(Fetched::Bytes { len: 4 }), Step::Check);
        assert_eq!(d.checked(&hash_of(&bytes).to_uppercase()), Step::Done);
    }

    #[test]
    fn an_empty_blob_needs_no_request() {
        let mut d = Download::new(hash_of(b""), 0, 8);
        assert_eq!(d.start(), Step::Check);
        assert_eq!(d.checked(&hash_of(b"")), Step::Done);
    }

    #[test]
    fn other_bytes_are_fetched_again_once_then_refused() {
        let mut d = Download::new(hash_of(b"abcd"), 4, 8);
        d.start();
        assert_eq!(d.fetched(Fetched::Bytes { len: 4 }), Step::Check);
        assert_eq!(d.checked(&hash_of(b"abce")), Step::Fetch { offset: 0, len: 4 }, "start over once");
        assert_eq!(d.offset(), 0);
        d.fetched(Fetched::Bytes { len: 4 });
        assert!(matches!(d.checked(&hash_of(b"abce")), Step::Failed { code, .. } if code == codes::HASH_MISMATCH));
    }

    #[test]
    fn too_many_or_no_bytes_are_a_size_mismatch() {
        let mut d = Download::new(hash_of(b"abcd"), 4, 8);
        d.start();
        assert!(
            matches!(d.fetched(Fetched::Bytes { len: 5 }), Step::Failed { code, .. } if code == codes::SIZE_MISMATCH)
        );
        let mut d = Download::new(hash_of(b"abcd"), 4, 8);
        d.start();
        assert!(matches!(d.fetched(Fetched::Bytes { len: 0 }), Step::Failed { .. }));
    }

    #[test]
    fn refusals() {
        let refused = |status: u16, code: &str| Fetched::Refused { status, code: code.into(), message: "m".into() };
        let mut d = Download::new("a".repeat(64), 4, 8);
        d.start();
        assert_eq!(d.clone().fetched(refused(404, codes::NOT_FOUND)), Step::Unsupported, "a server without blobs");
        assert_eq!(
            d.fetched(refused(404, codes::BLOB_NOT_FOUND)),
            Step::Failed { code: codes::BLOB_NOT_FOUND.into(), message: "m".into() }
        );
    }
}
