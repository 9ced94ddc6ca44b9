//! Outbox coalescing: how a new local write combines with the change already queued for the
//! same record.
//!
//! An outbox entry names a record and what happened to it; it holds no copy of the data. A push
//! reads the record as it is at send time, so "create then update" needs no data merge: the
//! entry stays a create and the record already holds the latest data. Only an entry that has
//! never been sent may absorb a new write. Once sent, the server may have applied it under its
//! mutation id, so a later write gets an entry of its own, pushed after it. Nor may an entry held
//! by a conflict: it is what the conflict is about, and only a decision settles it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "create" => Op::Create,
            "update" => Op::Update,
            "delete" => Op::Delete,
            _ => return None,
        })
    }
}

/// The newest outbox entry of a record, as far as coalescing needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub op: Op,
    /// It may have been sent under its mutation id ([`crate::core::sent::SentMark::may_have_sent`]):
    /// never rewritten then.
    pub sent: bool,
    /// Held by a conflict or as a dead letter: never rewritten either.
    pub held: bool,
    /// Marked by a force push: a pull ignores the server's versions of the record for it, so
    /// the server may hold one this device never kept. A delete over a forced create is sent
    /// (forced: it deletes whatever the server holds), never cancelled.
    pub forced: bool,
}

/// What to do with the outbox for one local write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Add a new entry with this op at the end of the outbox.
    Append(Op),
    /// Rewrite the queued entry in place (it keeps its position) with this op.
    Rewrite(Op),
    /// The queued entry already covers the write.
    Keep,
    /// Remove the queued entry, and the record with it: the server never saw the record, and
    /// now it is gone (create then delete).
    Cancel,
}

/// Which op a local write is, from what is stored under its id: a create over a tombstone is an
/// update for the server (it may still hold the record), and writing a record that exists is one.
pub fn write_op(exists_live: bool, exists_tombstone: bool, is_delete: bool) -> Op {
    match (is_delete, exists_live || exists_tombstone) {
        (true, _) => Op::Delete,
        (false, true) => Op::Update,
        (false, false) => Op::Create,
    }
}

/// How a write of `incoming` combines with the newest queued entry of the same record.
pub fn plan(newest: Option<Queued>, incoming: Op) -> Plan {
    let queued = match newest {
        Some(q) if !q.sent && !q.held => q,
        _ => return Plan::Append(incoming),
    };
    match (queued.op, incoming) {
        (Op::Create, Op::Delete) if queued.forced => Plan::Rewrite(Op::Delete),
        (Op::Create, Op::Delete) => Plan::Cancel,
        (Op::Create, _) => Plan::Keep,
        (Op::Update, Op::Delete) => Plan::Rewrite(Op::Delete),
        (Op::Update, _) => Plan::Keep,
        (Op::Delete, Op::Delete) => Plan::Keep,
        // A record deleted and written again: the server may hold it, so it is an update.
        (Op::Delete, _) => Plan::Rewrite(Op::Update),
    }
}

/// The change in the number of queued entries that a plan causes.
pub fn pending_delta(plan: Plan) -> i64 {
    match plan {
        Plan::Append(_) => 1,
        Plan::Rewrite(_) | Plan::Keep => 0,
        Plan::Cancel => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model of one record and its outbox entries, driven through `write_op` and `plan` the
    /// way the store drives them.
    #[derive(Debug, Default, Clone)]
    struct Model {
        live: bool,
        tombstone: bool,
        entries: Vec<Queued>,
        /// The server holds the record (some entry for it was sent and acknowledged).
        on_server: bool,
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Action {
        Create,
        Update,
        Delete,
    }

    impl Model {
        /// Applies a user action; `false` when the API refuses it (update or delete of a record
        /// that does not exist, create of one that does).
        fn act(&mut self, action: Action) -> bool {
            match action {
                Action::Create if self.live => return false,
                Action::Update | Action::Delete if !self.live => return false,
                _ => {}
            }
            let op = write_op(self.live, self.tombstone, action == Action::Delete);
            match plan(self.entries.last().copied(), op) {
                Plan::Append(op) => self.entries.push(Queued { op, sent: false, held: false, forced: false }),
                Plan::Rewrite(op) => self.entries.last_mut().unwrap().op = op,
                Plan::Keep => {}
                Plan::Cancel => {
                    self.entries.pop();
                    self.live = false;
                    self.tombstone = false;
                    return true;
                }
            }
            self.live = action != Action::Delete;
            self.tombstone = action == Action::Delete;
            true
        }

        /// Marks every entry as sent, as a push in flight does.
        fn send_all(&mut self) {
            for e in &mut self.entries {
                e.sent = true;
            }
            self.on_server = true;
        }

        /// What the server must end up doing for this record, if everything queued is pushed.
        fn net_effect(&self) -> Option<Op> {
            self.entries.last().map(|e| e.op)
        }
    }

    const ACTIONS: [Action; 3] = [Action::Create, Action::Update, Action::Delete];

    /// The queue's promise: at most one unsent entry per record, and what is queued tells the
    /// server exactly what it must learn: a create for a record it never saw, an update for one
    /// it may hold, a delete for one that is gone, and nothing for a record created and deleted
    /// before any push.
    fn check(m: &Model) {
        let unsent: Vec<Queued> = m.entries.iter().copied().filter(|e| !e.sent).collect();
        assert!(unsent.len() <= 1, "{m:?}");
        if !m.on_server {
            match (m.live, m.tombstone) {
                (true, _) => assert_eq!(m.net_effect(), Some(Op::Create), "{m:?}"),
                (false, true) => panic!("a tombstone of a record the server never saw: {m:?}"),
                (false, false) => assert!(m.entries.is_empty(), "{m:?}"),
            }
        } else if let Some(e) = unsent.first() {
            assert_eq!(e.op, if m.live { Op::Update } else { Op::Delete }, "{m:?}");
        }
    }

    #[test]
    fn every_pair_of_operations() {
        use Action::*;
        let expect = |a: Action, b: Action| -> Option<Op> {
            let mut m = Model::default();
            m.act(a);
            m.act(b);
            check(&m);
            assert!(m.entries.len() <= 1);
            m.net_effect()
        };
        assert_eq!(expect(Create, Update), Some(Op::Create), "create+update stays a create");
        assert_eq!(expect(Create, Delete), None, "create+delete removes both");
        assert_eq!(expect(Create, Create), Some(Op::Create), "a second create is refused");
        // Starting from a record the server has (an acknowledged earlier entry):
        let synced = || {
            let mut m = Model::default();
            m.act(Create);
            m.entries.clear();
            m.on_server = true;
            m
        };
        let after = |a: Action, b: Action| {
            let mut m = synced();
            m.act(a);
            m.act(b);
            check(&m);
            assert!(m.entries.len() <= 1);
            m.net_effect()
        };
        assert_eq!(after(Update, Update), Some(Op::Update), "update+update keeps the latest");
        assert_eq!(after(Update, Delete), Some(Op::Delete), "update+delete becomes a delete");
        assert_eq!(after(Delete, Create), Some(Op::Update), "delete+create is an update");
        assert_eq!(after(Delete, Update), Some(Op::Delete), "an update of a deleted record is refused");
        assert_eq!(after(Delete, Delete), Some(Op::Delete), "a second delete is refused");
    }

    #[test]
    fn every_triple_of_operations_with_and_without_a_push_in_between() {
        for a in ACTIONS {
            for b in ACTIONS {
                for c in ACTIONS {
                    let mut m = Model::default();
                    for action in [a, b, c] {
                        m.act(action);
                        check(&m);
                    }
                    // The same with every entry sent after the first action.
                    for send_after in 1..=2 {
                        let mut m = Model::default();
                        for (i, action) in [a, b, c].into_iter().enumerate() {
                            m.act(action);
                            if i + 1 == send_after && !m.entries.is_empty() {
                                m.send_all();
                            }
                            check(&m);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn held_entries_are_never_rewritten() {
        // Created, then held by a conflict with a pulled change before any push: a delete is
        // a change of its own, for the decision to see, not a cancel of the held create.
        let held = Some(Queued { op: Op::Create, sent: false, held: true, forced: false });
        assert_eq!(plan(held, Op::Delete), Plan::Append(Op::Delete));
        assert_eq!(plan(held, Op::Update), Plan::Append(Op::Update));
    }

    #[test]
    fn sent_entries_are_never_rewritten() {
        let sent = Some(Queued { op: Op::Create, sent: true, held: false, forced: false });
        assert_eq!(plan(sent, Op::Update), Plan::Append(Op::Update));
        assert_eq!(plan(sent, Op::Delete), Plan::Append(Op::Delete));
    }

    #[test]
    fn a_delete_over_a_forced_create_is_sent_not_cancelled() {
        // A force push marked the create: pulls ignored the server's version of the record for
        // it, so the server may hold one. Cancelling would leave that version there and this
        // device without it; the forced delete removes it.
        let forced = Some(Queued { op: Op::Create, sent: false, held: false, forced: true });
        assert_eq!(plan(forced, Op::Delete), Plan::Rewrite(Op::Delete));
        assert_eq!(plan(forced, Op::Update), Plan::Keep, "other writes coalesce as usual");
    }

    #[test]
    fn write_op_from_stored_state() {
        assert_eq!(write_op(false, false, false), Op::Create);
        assert_eq!(write_op(true, false, false), Op::Update);
        assert_eq!(write_op(false, true, false), Op::Update);
        assert_eq!(write_op(true, false, true), Op::Delete);
    }

    #[test]
    fn pending_deltas() {
        assert_eq!(pending_delta(Plan::Append(Op::Create)), 1);
        assert_eq!(pending_delta(Plan::Keep), 0);
        assert_eq!(pending_delta(Plan::Rewrite(Op::Delete)), 0);
        assert_eq!(pending_delta(Plan::Cancel), -1);
    }

    #[test]
    fn op_names_round_trip() {
        for op in [Op::Create, Op::Update, Op::Delete] {
            assert_eq!(Op::parse(op.as_str()), Some(op));
        }
    }
}
