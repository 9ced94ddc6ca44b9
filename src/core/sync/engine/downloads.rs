//! The sync's download phase, after the uploads: the blobs of pulled records that their
//! collection downloads eagerly ([`crate::core::blobs::DownloadMode`]) and that are not here are
//! fetched one at a time, in ranges, checked against their address, and stored (the store then
//! evicts beyond its cap). Each is tried once per sync; a failure that is not an answer ends the
//! sync with the usual backoff, and the next sync fetches that blob again from its start (the
//! bytes of a download under way are kept in memory only).

use crate::core::blobs::download::{Fetched, Step};
use crate::core::blobs::Download;
use crate::core::status::UploadProgress;
use crate::protocol::{codes, BlobRef};

use super::super::failure::Failure;
use super::uploads::fresh_token;
use crate::core::blobs::Downloaded;

use super::{Command, Engine, Phase, Stop};

impl<D> Engine<D> {
    /// Reads the next blob to download (the sync succeeds when there is none).
    pub(super) fn download_next(&mut self, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        job.phase = Phase::ReadingDownload;
        out.push(Command::NextDownload { skip: job.downloads.clone() });
    }

    pub(super) fn download_read(&mut self, blob: Option<BlobRef>, out: &mut Vec<Command<D>>) {
        let Some(blob) = blob else { return self.succeed(self.now, out) };
        let chunk =
            self.settings.as_ref().map_or(crate::protocol::blobs::DEFAULT_CHUNK_BYTES, |s| s.download_chunk_bytes);
        let Some(job) = &mut self.job else { return };
        job.downloads.push(blob.hash.clone());
        let mut download = Download::new(blob.hash, blob.size, chunk);
        let step = download.start();
        self.download_step(download, step, out);
    }

    pub(super) fn range_fetched(&mut self, answer: Result<Fetched, Failure>, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        let Phase::Downloading(download) = &mut job.phase else { return };
        let mut download = download.clone();
        let step = match answer {
            Ok(answer) => download.fetched(answer),
            // The same range again: the bytes kept before it are still the edge's.
            Err(failure) if fresh_token(&failure, &mut job.token_refreshed, &mut self.metrics) => download.start(),
            Err(failure) => return self.fail(Stop::Failure(failure), out),
        };
        self.download_step(download, step, out);
    }

    pub(super) fn download_checked(&mut self, digest: String, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        let Phase::CheckingDownload(download) = &mut job.phase else { return };
        let mut download = download.clone();
        let step = download.checked(&digest);
        self.download_step(download, step, out);
    }

    /// Carries out `step` of `download`.
    fn download_step(&mut self, download: Download, step: Step, out: &mut Vec<Command<D>>) {
        self.status.download =
            Some(UploadProgress { hash: download.hash.clone(), done: download.offset(), total: download.size });
        let Some(job) = &mut self.job else { return };
        let hash = download.hash.clone();
        let outcome = match step {
            Step::Fetch { offset, len } => {
                job.phase = Phase::Downloading(download);
                return out.push(Command::FetchRange { hash, offset, len });
            }
            Step::Check => {
                job.phase = Phase::CheckingDownload(download);
                return out.push(Command::CheckDownload { hash });
            }
            Step::Unsupported => {
                // Nothing to download from: the references stay references; the records' sync
                // is done.
                self.status.blobs_unsupported = true;
                self.status.download = None;
                out.push(Command::EndDownload { hash, outcome: Downloaded::Dropped });
                return self.succeed(self.now, out);
            }
            Step::Done => Downloaded::Stored,
            // Other bytes twice in a row: something on the way (a cache, a proxy) answers them;
            // the blob stays wanted, for the next sync to try again.
            Step::Failed { code, .. } if code == codes::HASH_MISMATCH => Downloaded::Dropped,
            Step::Failed { code, message } => Downloaded::Failed { code, message },
        };
        job.phase = Phase::EndingDownload;
        out.push(Command::EndDownload { hash, outcome });
    }

    /// The download's end is stored: on to the next.
    pub(super) fn download_ended(&mut self, out: &mut Vec<Command<D>>) {
        self.status.download = None;
        self.download_next(out);
    }
}
