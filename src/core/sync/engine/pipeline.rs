//! Pipelined push: the next batch is read while the one before it is out, and sent as soon as
//! the answer before it lands, while that answer is applied. The network and the server's time
//! are spent while IndexedDB works (docs/sync.md, "Pipelined push").
//!
//! What keeps it safe:
//!
//! - One push request is out at a time, and the next goes only once the answer before it has
//!   landed: the server takes a client's batches one after another, in queue order, as it did
//!   without the pipeline (a unique value freed by one batch and taken by the next still works).
//! - A batch read ahead plans around the batches sent and not applied yet (`unapplied`): their
//!   entries count as held, so no later change of their records goes out before the earlier
//!   change's answer is applied (and the later change rebased on it).
//! - One apply at a time, in the order the answers landed.
//! - A failure (a lost connection, an answer that does not fit, a transaction that fails) ends
//!   the sync only once nothing it started is out: an answer that lands after the failure is
//!   dropped, never applied, and its entries go again under the same mutation ids. No event of
//!   this sync can reach the next one.
//! - A batch read ahead and never sent (the sync failed first, or a 413 changed the batch size)
//!   was counted as sent by the read: its entries only lose coalescing until they are sent
//!   ([`crate::core::sent`]).

use crate::protocol::{codes, MutationResult, PushResponse};

use super::super::failure::{Failure, NextStep};
use super::super::storage::{Batch, PushApplied};
use super::{Command, Engine, Phase, Stop};

/// The push of a running sync, once its first batch is read.
#[derive(Debug)]
pub(super) struct Pipe<D> {
    /// A push request is out.
    sending: bool,
    /// An apply is out: the seqs of the batch it applies.
    applying: Option<Vec<u64>>,
    /// An answer that landed while the apply before it was out.
    answered: Option<(Batch<D>, PushResponse<D>)>,
    /// The batch read ahead.
    ahead: Ahead<D>,
    /// The seqs of the batches sent and not applied yet.
    unapplied: Vec<u64>,
    /// The sync failed while something was out: it ends once nothing is.
    stopping: Option<Stop>,
}

impl<D> Default for Pipe<D> {
    fn default() -> Self {
        Pipe {
            sending: false,
            applying: None,
            answered: None,
            ahead: Ahead::Idle,
            unapplied: Vec::new(),
            stopping: None,
        }
    }
}

#[derive(Debug)]
enum Ahead<D> {
    /// No read out, none waiting.
    Idle,
    /// A read is out; `stale`: its batch is not wanted any more (a 413 made batches smaller).
    Reading { stale: bool },
    /// Read and not sent yet (`None`: nothing may go out beside the batches before it).
    Read(Option<Batch<D>>),
}

impl<D> Ahead<D> {
    /// The batch read ahead, if one waits to be sent (then none does any more).
    fn take_batch(&mut self) -> Option<Batch<D>> {
        match std::mem::replace(self, Ahead::Idle) {
            Ahead::Read(Some(batch)) => Some(batch),
            other => {
                *self = other;
                None
            }
        }
    }
}

impl<D> Pipe<D> {
    /// Ends the sync with `stop` once nothing is out (the first reason stands).
    pub(super) fn stop(&mut self, stop: Stop) {
        self.stopping.get_or_insert(stop);
    }

    fn quiet(&self) -> bool {
        !self.sending
            && self.applying.is_none()
            && self.answered.is_none()
            && !matches!(self.ahead, Ahead::Reading { .. })
    }
}

impl<D> Engine<D> {
    /// The first batch of a push was read: it goes out, and the next is read meanwhile.
    pub(super) fn push_first(&mut self, batch: Batch<D>, out: &mut Vec<Command<D>>) {
        let Some(job) = &mut self.job else { return };
        job.phase = Phase::Pushing;
        job.pipe = Pipe { ahead: Ahead::Read(Some(batch)), ..Pipe::default() };
        self.advance(out);
    }

    /// A batch read ahead came back.
    pub(super) fn ahead_read(
        &mut self,
        read: Result<Option<Batch<D>>, crate::core::error::Error>,
        out: &mut Vec<Command<D>>,
    ) {
        let Some(job) = &mut self.job else { return };
        let stale = matches!(job.pipe.ahead, Ahead::Reading { stale: true });
        job.pipe.ahead = Ahead::Idle;
        match read {
            Err(e) => job.pipe.stop(Stop::Local(e)),
            Ok(batch) if !stale && job.pipe.stopping.is_none() => job.pipe.ahead = Ahead::Read(batch),
            // Read for nothing: its entries go in a later batch.
            Ok(_) => {}
        }
        self.advance(out);
    }

    pub(super) fn push_answered(
        &mut self,
        batch: Batch<D>,
        answer: Result<PushResponse<D>, Failure>,
        out: &mut Vec<Command<D>>,
    ) {
        let now = self.now;
        let Some(job) = &mut self.job else { return };
        job.pipe.sending = false;
        if job.pipe.stopping.is_some() {
            // The sync failed meanwhile: the answer is dropped, its entries go again.
            return self.advance(out);
        }
        match answer {
            Ok(answer) => {
                self.metrics.pushed(batch.len(), now - job.sent_at);
                if let Some(server) = answer.server_time {
                    self.clock_offset = Some(super::clock_offset(server, job.sent_at, now));
                }
                job.pipe.answered = Some((batch, answer));
            }
            Err(failure) => match failure.next_step(batch.len() as u32, job.token_refreshed) {
                NextStep::ShrinkBatch(smaller) => {
                    self.metrics.retried();
                    self.batch_size = Some(smaller);
                    // Read again, smaller, once what is out is in; a batch read ahead of this
                    // one would overtake it.
                    job.pipe.unapplied.retain(|s| !batch.seqs.contains(s));
                    job.pipe.ahead = match job.pipe.ahead {
                        Ahead::Reading { .. } => Ahead::Reading { stale: true },
                        _ => Ahead::Idle,
                    };
                }
                NextStep::DeadLetterTooLarge => {
                    // The batches were small because of this one change, not the server.
                    self.batch_size = None;
                    let answer = too_large_answer(&batch, &failure);
                    job.pipe.answered = Some((batch, answer));
                }
                NextStep::RefreshToken => {
                    self.metrics.retried();
                    job.token_refreshed = true;
                    job.sent_at = now;
                    job.pipe.sending = true;
                    out.push(Command::Push { batch });
                    return;
                }
                NextStep::RetryLater { .. } | NextStep::WaitForNetwork => {
                    job.pipe.unapplied.retain(|s| !batch.seqs.contains(s));
                    job.pipe.stop(Stop::Failure(failure));
                }
            },
        }
        self.advance(out);
    }

    pub(super) fn push_applied(
        &mut self,
        applied: Result<PushApplied, crate::core::error::Error>,
        out: &mut Vec<Command<D>>,
    ) {
        let Some(job) = &mut self.job else { return };
        let seqs = job.pipe.applying.take().unwrap_or_default();
        job.pipe.unapplied.retain(|s| !seqs.contains(s));
        match applied {
            Ok(applied) => self.pushed(applied, out),
            Err(e) => job.pipe.stop(Stop::Local(e)),
        }
        self.advance(out);
    }

    /// Counts what an applied push answer did.
    fn pushed(&mut self, applied: PushApplied, out: &mut Vec<Command<D>>) {
        if !applied.changes.is_empty() {
            out.push(Command::Announce(applied.changes));
        }
        if applied.answered == 0 {
            // Sending the same batch again would get the same answer: back off instead.
            let failure = Failure::BadAnswer("no result matches a mutation of the batch".into());
            if let Some(job) = &mut self.job {
                job.pipe.stop(Stop::Failure(failure));
            }
            return;
        }
        // Held entries (conflicts, dead letters) leave `pending` too: they wait for a decision.
        self.status.add_pending(-((applied.acknowledged + applied.conflicts + applied.rejected) as i64));
        let Some(job) = &mut self.job else { return };
        job.summary.pushed += applied.acknowledged;
        job.summary.conflicts += applied.conflicts;
        job.summary.rejected += applied.rejected;
        // The total grows when writes arrive during the sync, so done never passes it. Held
        // entries (conflicts, dead letters) are not in `pending`: they are not this sync's work.
        job.done += applied.answered;
        self.status.progressed(job.done, job.done + self.status.pending);
    }

    /// Starts what may start: the apply of an answer that landed, the next batch once no push is
    /// out and no answer waits, a read ahead while something is out. Once nothing is out, the
    /// push reads from the queue again (entries held behind applied batches may go now), or the
    /// sync ends if it failed.
    fn advance(&mut self, out: &mut Vec<Command<D>>) {
        let max = self.batch_size();
        let now = self.now;
        let offset = self.clock_offset.unwrap_or(0.0);
        let Some(job) = &mut self.job else { return };
        let pipe = &mut job.pipe;
        if pipe.stopping.is_some() {
            if pipe.quiet() {
                let stop = pipe.stopping.take().expect("checked");
                self.fail(stop, out);
            }
            return;
        }
        if pipe.applying.is_none() {
            if let Some((batch, answer)) = pipe.answered.take() {
                pipe.applying = Some(batch.seqs.clone());
                out.push(Command::ApplyPush { batch, answer });
            }
        }
        if let Some(mut batch) = (!pipe.sending && pipe.answered.is_none()).then(|| pipe.ahead.take_batch()).flatten() {
            // Write times go out on the server's clock, as far as this client knows it.
            for m in &mut batch.mutations {
                m.written_at = m.written_at.map(|t| (t as f64 + offset).max(0.0).round() as u64);
            }
            pipe.unapplied.extend(&batch.seqs);
            pipe.sending = true;
            job.sent_at = now;
            out.push(Command::Push { batch });
        }
        if matches!(pipe.ahead, Ahead::Idle) && (pipe.sending || pipe.applying.is_some()) {
            pipe.ahead = Ahead::Reading { stale: false };
            out.push(Command::ReadBatch { max, unapplied: pipe.unapplied.clone() });
        }
        if pipe.quiet() {
            job.pipe = Pipe::default();
            job.phase = Phase::ReadingBatch;
            out.push(Command::ReadBatch { max, unapplied: Vec::new() });
        }
    }
}

/// The answer a server gives a mutation it refuses as a whole: a request of that one mutation was
/// too large. It becomes a dead letter like any rejection.
fn too_large_answer<D>(batch: &Batch<D>, failure: &Failure) -> PushResponse<D> {
    let message = match failure {
        Failure::Http { message, .. } => message.clone(),
        other => other.to_error().message,
    };
    let results = batch
        .mutations
        .first()
        .map(|m| MutationResult::Rejected {
            mutation_id: m.mutation_id,
            code: codes::PAYLOAD_TOO_LARGE.to_string(),
            message,
        })
        .into_iter()
        .collect();
    PushResponse { results, server_time: None }
}
