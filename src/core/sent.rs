//! Which outbox entries may have been sent: one number per database, the sent mark, instead of a
//! count written on every entry of every batch.
//!
//! A write may coalesce into a queued entry only if that entry was never sent under its mutation
//! id (docs/sync.md, "Why the send is counted before it leaves"), and that must be on disk before
//! a batch leaves. Outbox keys only grow and a batch is read in key order, so one number says it
//! for a whole batch: the greatest key ever read into a batch to send. An entry at or below the
//! mark may have been sent; an entry above it was not. The transaction that reads a batch writes
//! the mark, strictly durable, and nothing per entry, except for the few entries that the mark
//! alone would misdescribe:
//!
//! - an entry sent again (after a failed push, a lost answer, a page that died): its own count
//!   goes up, so that an acknowledgment can tell data sent once, which is what the server stored,
//!   from data sent again ([`crate::core::sync::rules::push::pushed_data_is_base`]);
//! - an entry at or below the mark that was never sent under its mutation id: passed over by a
//!   batch that went past it (held by a conflict or a dead letter, or waiting behind one), or
//!   given a new mutation id (a dead letter retried, a change forced). It is flagged
//!   (`neverSent`), and the batch that sends it clears the flag. Without the flag it would merely
//!   count as sent: a later write would get an entry of its own, and its acknowledgment would not
//!   be trusted as the base of the next change. Safe, but less than the queue can do.
//!
//! Every count lives in the batch's own strict transaction, so none is lost in a crash.

/// The greatest outbox key ever read into a batch to send (0: none since the mark came in).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SentMark(pub u64);

/// What an outbox entry holds about its own sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sends {
    /// Sends counted on the entry itself: every send after the first, and sends counted there by
    /// a version that wrote the count on each entry. The first send of an entry is in the mark.
    pub attempts: u32,
    /// Never sent under its mutation id, even though its key is at or below the mark.
    pub never_sent: bool,
}

/// What reading a batch writes on one entry, besides the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Sent by this batch: its own count becomes this, and its `neverSent` flag goes.
    Sent(u32),
    /// Passed over by this batch, which goes past its key, and never sent: it is flagged.
    NeverSent,
}

/// What reading a batch writes to count its sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counted {
    /// The mark to store, when it moves.
    pub mark: Option<SentMark>,
    /// The few entries to rewrite, by key.
    pub entries: Vec<(u64, Count)>,
}

impl SentMark {
    /// The mark as stored: `None` when there is none (no batch was read since marks came in), the
    /// stored value as a number otherwise (NaN when it is not one). A mark that is not a whole
    /// number covers every key: a damaged mark must not let a write coalesce into a sent entry,
    /// and covering too much only costs coalescing.
    pub fn decode(stored: Option<f64>) -> SentMark {
        match stored {
            None => SentMark(0),
            Some(v) if v >= 0.0 && v.fract() == 0.0 && v <= 2f64.powi(53) => SentMark(v as u64),
            Some(_) => SentMark(u64::MAX),
        }
    }

    /// Whether the entry at `seq` may have been sent under its mutation id. `seq` is `None` for an
    /// entry added in the same transaction, whose key is not known yet: it is above every key, so
    /// above the mark.
    pub fn may_have_sent(self, seq: Option<u64>, sends: Sends) -> bool {
        sends.attempts > 0 || (seq.is_some_and(|s| s <= self.0) && !sends.never_sent)
    }

    /// How many times the entry at `seq` was sent under its mutation id: its own count, and at
    /// least one when it may have been sent (its first send is only in the mark).
    pub fn attempts(self, seq: u64, sends: Sends) -> u32 {
        sends.attempts.max(u32::from(self.may_have_sent(Some(seq), sends)))
    }

    /// What reading a batch writes: `read` is every entry read to plan it, in key order (all of
    /// those up to its last key, so that none it passes over is missed), each with what it holds;
    /// `chosen` is the batch's keys.
    pub fn count_batch(self, read: &[(u64, Sends)], chosen: &[u64]) -> Counted {
        let Some(&last) = chosen.iter().max() else { return Counted::default() };
        let next = SentMark(self.0.max(last));
        let mut entries = Vec::new();
        for &(seq, sends) in read {
            if chosen.contains(&seq) {
                if self.may_have_sent(Some(seq), sends) {
                    entries.push((seq, Count::Sent(self.attempts(seq, sends).saturating_add(1))));
                } else if sends.never_sent {
                    entries.push((seq, Count::Sent(1)));
                }
            } else if seq > self.0 && seq < next.0 && !sends.never_sent && !self.may_have_sent(Some(seq), sends) {
                entries.push((seq, Count::NeverSent));
            }
        }
        Counted { mark: (next != self).then_some(next), entries }
    }
}

impl Sends {
    /// What the entry holds once `count` is written on it.
    pub fn counted(self, count: Count) -> Sends {
        match count {
            Count::Sent(attempts) => Sends { attempts, never_sent: false },
            Count::NeverSent => Sends { never_sent: true, ..self },
        }
    }

    /// What an entry holds once it takes a new mutation id: never sent under it.
    pub fn renewed() -> Sends {
        Sends { attempts: 0, never_sent: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: Sends = Sends { attempts: 0, never_sent: false };

    /// A queue of entries (key, what it holds, held back) and a mark, sent batch by batch as a
    /// store does: the truth (which entries went out under their id) beside what the mark says.
    #[derive(Default)]
    struct Queue {
        mark: SentMark,
        entries: Vec<(u64, Sends, bool)>,
        sent: Vec<u64>,
        next_key: u64,
    }

    impl Queue {
        fn add(&mut self, held: bool) -> u64 {
            self.next_key += 1;
            self.entries.push((self.next_key, FRESH, held));
            self.next_key
        }

        /// Sends the first `n` entries not held back, as one batch.
        fn send(&mut self, n: usize) -> Vec<u64> {
            let chosen: Vec<u64> = self.entries.iter().filter(|e| !e.2).take(n).map(|e| e.0).collect();
            let read: Vec<(u64, Sends)> = self.entries.iter().map(|e| (e.0, e.1)).collect();
            let counted = self.mark.count_batch(&read, &chosen);
            for (seq, count) in counted.entries {
                let e = self.entries.iter_mut().find(|e| e.0 == seq).unwrap();
                e.1 = e.1.counted(count);
            }
            if let Some(mark) = counted.mark {
                assert!(mark > self.mark, "the mark only grows");
                self.mark = mark;
            }
            self.sent.extend(&chosen);
            chosen
        }

        fn sends(&self, seq: u64) -> Sends {
            self.entries.iter().find(|e| e.0 == seq).unwrap().1
        }

        fn says_sent(&self, seq: u64) -> bool {
            self.mark.may_have_sent(Some(seq), self.sends(seq))
        }

        /// What the mark says matches the truth for every entry.
        fn check(&self) {
            for &(seq, _, _) in &self.entries {
                assert_eq!(self.says_sent(seq), self.sent.contains(&seq), "entry {seq}");
            }
        }
    }

    #[test]
    fn a_batch_moves_the_mark_and_writes_no_entry() {
        let mut q = Queue::default();
        for _ in 0..5 {
            q.add(false);
        }
        let read: Vec<(u64, Sends)> = q.entries.iter().map(|e| (e.0, e.1)).collect();
        let counted = q.mark.count_batch(&read, &[1, 2, 3]);
        assert_eq!(counted, Counted { mark: Some(SentMark(3)), entries: vec![] }, "first sends: the mark alone");
        q.send(3);
        q.check();
        assert_eq!((q.mark.attempts(3, q.sends(3)), q.mark.attempts(4, q.sends(4))), (1, 0));
        assert!(!q.mark.may_have_sent(None, FRESH), "an entry added in the same transaction is above the mark");
    }

    #[test]
    fn an_entry_sent_again_counts_on_itself() {
        let mut q = Queue::default();
        q.add(false);
        q.add(false);
        q.send(2);
        // The answer was lost: the same batch again.
        let read: Vec<(u64, Sends)> = q.entries.iter().map(|e| (e.0, e.1)).collect();
        let counted = q.mark.count_batch(&read, &[1, 2]);
        assert_eq!(counted.mark, None, "the mark already covers it");
        assert_eq!(counted.entries, vec![(1, Count::Sent(2)), (2, Count::Sent(2))]);
        q.send(2);
        q.send(2);
        assert_eq!(q.mark.attempts(1, q.sends(1)), 3);
        q.check();
    }

    #[test]
    fn an_entry_passed_over_is_flagged_until_it_is_sent() {
        let mut q = Queue::default();
        let held = q.add(true);
        q.add(false);
        q.add(false);
        q.send(10);
        assert_eq!(q.sends(held), Sends { attempts: 0, never_sent: true });
        q.check();
        // Another batch past it writes nothing more on it.
        q.add(false);
        let read: Vec<(u64, Sends)> = q.entries.iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(q.mark.count_batch(&read, &[4]).entries, vec![]);
        q.send(10);
        // Let go, then sent: counted once, the flag gone.
        q.entries[0].2 = false;
        q.send(1);
        assert_eq!(q.sends(held), Sends { attempts: 1, never_sent: false });
        q.check();
    }

    #[test]
    fn an_entry_above_the_batch_is_left_alone() {
        let mut q = Queue::default();
        q.add(false);
        q.add(true);
        q.add(false);
        // A batch of one ends before the held entry: nothing is passed over.
        q.send(1);
        assert_eq!(q.sends(2), FRESH);
        q.check();
    }

    #[test]
    fn a_new_mutation_id_is_never_sent_under_it() {
        let mut q = Queue::default();
        q.add(false);
        q.send(1);
        // Retried or forced: a new id.
        q.entries[0].1 = Sends::renewed();
        q.sent.clear();
        q.check();
        assert_eq!(q.mark.attempts(1, q.sends(1)), 0);
        q.send(1);
        assert_eq!(q.sends(1), Sends { attempts: 1, never_sent: false }, "sent once under the new id");
        q.check();
    }

    #[test]
    fn counts_written_per_entry_before_the_mark_still_count() {
        // An entry a version that counted on each entry sent once; no mark yet.
        let mark = SentMark::decode(None);
        let old = Sends { attempts: 1, never_sent: false };
        assert!(mark.may_have_sent(Some(7), old));
        let counted = mark.count_batch(&[(7, old)], &[7]);
        assert_eq!(counted, Counted { mark: Some(SentMark(7)), entries: vec![(7, Count::Sent(2))] });
    }

    #[test]
    fn a_damaged_mark_covers_everything() {
        assert_eq!(SentMark::decode(Some(12.0)), SentMark(12));
        for bad in [f64::NAN, -1.0, 1.5] {
            let mark = SentMark::decode(Some(bad));
            assert!(mark.may_have_sent(Some(u64::MAX - 1), FRESH), "{bad}");
        }
    }

    #[test]
    fn an_empty_batch_writes_nothing() {
        assert_eq!(SentMark(4).count_batch(&[(5, FRESH)], &[]), Counted::default());
    }
}
