//! The sync's upload phase. Once the pull is over (and conflicts settled), the blobs that queued
//! changes wait for go up one at a time, each followed by a push of the changes it lets go. The
//! pull comes first so that the server's changes are never held up behind a large file, and the
//! changes that refer to no blob were pushed before the pull.
//!
//! Each blob is tried once per sync. A failure that is not an answer (a lost connection, a 5xx)
//! ends the sync with the usual backoff; the next sync asks the server where the upload stands
//! and goes on from there ([`crate::core::blobs::upload`]).

use crate::core::blobs::{Answer, Step, Upload, Uploaded};
use crate::core::status::UploadProgress;
use crate::protocol::BlobRef;

use super::super::failure::{Failure, NextStep};
use super::super::storage::Decided;
use super::{Command, Engine, Phase, Stop};

impl<D> Engine<D> {
    /// Reads the next blob to upload (the sync succeeds when there is none).
    pub(super) fn upload_next(&mut self, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        let skip = job.uploads.get_or_insert_with(Vec::new).clone();
        job.phase = Phase::ReadingUpload;
        out.push(Command::NextUpload { skip });
    }

    pub(super) fn upload_read(&mut self, blob: Option<BlobRef>, out: &mut Vec<Command<D>>) {
        let Some(blob) = blob else { return self.download_next(out) };
        let chunk = self.settings.as_ref().map(|s| s.chunk_bytes);
        let Some(job) = &mut self.job else { return };
        job.uploads.get_or_insert_with(Vec::new).push(blob.hash.clone());
        let mut upload = Upload::new(blob.hash, blob.size, chunk);
        let step = upload.start();
        self.status.upload = Some(UploadProgress { hash: upload.hash.clone(), done: 0, total: upload.size });
        self.upload_step(upload, step, out);
    }

    pub(super) fn blob_answered(&mut self, answer: Result<Answer, Failure>, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        let Phase::Uploading(upload) = &mut job.phase else { return };
        let mut upload = upload.clone();
        let step = match answer {
            Ok(answer) => upload.answered(answer),
            Err(failure) if fresh_token(&failure, &mut job.token_refreshed, &mut self.metrics) => upload.start(),
            Err(failure) => return self.fail(Stop::Failure(failure), out),
        };
        self.status.upload =
            Some(UploadProgress { hash: upload.hash.clone(), done: upload.offset(), total: upload.size });
        self.upload_step(upload, step, out);
    }

    /// Carries out `step` of `upload`.
    fn upload_step(&mut self, upload: Upload, step: Step, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        let hash = upload.hash.clone();
        let outcome = match step {
            Step::AskStatus => {
                job.phase = Phase::Uploading(upload);
                return out.push(Command::BlobStatus { hash });
            }
            Step::Send { offset, len } => {
                let size = upload.size;
                job.phase = Phase::Uploading(upload);
                return out.push(Command::SendChunk { hash, offset, len, size });
            }
            Step::Unsupported => {
                // Nothing to upload to: the blobs wait here, and so do the changes that need
                // them; the records' sync is done.
                self.status.blobs_unsupported = true;
                self.status.upload = None;
                return self.succeed(self.now, out);
            }
            Step::Done => {
                self.status.blobs_unsupported = false;
                Uploaded::Yes
            }
            Step::Failed { code, message } => Uploaded::Failed { code, message },
        };
        job.phase = Phase::EndingUpload;
        out.push(Command::EndUpload { hash, outcome });
    }

    /// The upload's end is stored: push the changes it let go (a push with nothing to send goes
    /// on to the next upload).
    pub(super) fn upload_ended(&mut self, decided: Decided, out: &mut Vec<Command<D>>) {
        self.status.upload = None;
        self.status.add_pending(decided.pending_delta);
        if !decided.changes.is_empty() {
            out.push(Command::Announce(decided.changes));
        }
        let max = self.batch_size();
        let Some(job) = &mut self.job else { return };
        job.phase = Phase::ReadingBatch;
        out.push(Command::ReadBatch { max, unapplied: Vec::new() });
    }
}

/// Whether a blob request that failed with `failure` goes again with a fresh token (once per
/// sync, as a push's); otherwise the sync fails with it.
pub(super) fn fresh_token(failure: &Failure, token_refreshed: &mut bool, metrics: &mut super::Metrics) -> bool {
    if failure.next_step(1, *token_refreshed) != NextStep::RefreshToken {
        return false;
    }
    metrics.retried();
    *token_refreshed = true;
    true
}
