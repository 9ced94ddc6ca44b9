//! The rows of the `_meta` store that sync keeps, what each must hold, and what takes the place
//! of one that does not decode (written by hand, by another version, or damaged). They are
//! checked once at open: a damaged row is set aside in the sync log with its raw value and
//! replaced by the state that loses nothing, instead of failing the open or being read as
//! absent without a word. The instance id is checked with the eviction marker
//! ([`crate::core::eviction`]); rows of unknown keys (a newer version's) are left alone.

/// A stored value as the check sees it: its shape, and the strings and numbers it holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<Stored>),
    /// Own enumerable fields, in order.
    Object(Vec<(String, Stored)>),
    /// Anything else: a `Blob`, a `Date`, a value nested too deep to matter.
    Other,
}

impl Stored {
    fn field(&self, name: &str) -> Option<&Stored> {
        match self {
            Stored::Object(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A `_meta` row the check knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// `pullCursor`: where the next pull of the whole tenant starts (a string).
    PullCursor,
    /// `spaces`: `{ [space]: { cursor, syncedAt } }`, each a string or number, or null.
    Spaces,
    /// `deadLetters`: how many queued changes are dead letters (a whole number).
    DeadLetters,
    /// `forcePullSweep`: the collections a force pull under way sweeps (strings).
    Sweep,
    /// `forcePullSweepSpaces`: the spaces a force pull under way sweeps (strings).
    SweepSpaces,
    /// `appliedMigrations`: the versions whose data migration ran (whole numbers).
    AppliedMigrations,
    /// `sentMark`: the greatest outbox key ever read into a batch to send (a whole number;
    /// [`crate::core::sent`]).
    SentMark,
}

impl Row {
    pub const ALL: [Row; 7] = [
        Row::PullCursor,
        Row::Spaces,
        Row::DeadLetters,
        Row::Sweep,
        Row::SweepSpaces,
        Row::AppliedMigrations,
        Row::SentMark,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            Row::PullCursor => "pullCursor",
            Row::Spaces => "spaces",
            Row::DeadLetters => "deadLetters",
            Row::Sweep => "forcePullSweep",
            Row::SweepSpaces => "forcePullSweepSpaces",
            Row::AppliedMigrations => "appliedMigrations",
            Row::SentMark => "sentMark",
        }
    }

    pub fn from_key(key: &str) -> Option<Row> {
        Row::ALL.into_iter().find(|r| r.key() == key)
    }
}

/// What takes the place of a damaged row.
#[derive(Debug, Clone, PartialEq)]
pub enum Repair {
    /// Delete it: its absence is the safe state (no cursor: the pull starts over, and applying
    /// a change twice is harmless; no sweep: nothing is deleted).
    Delete,
    /// Count the dead letters again from the queue and store the count.
    RecountDeadLetters,
    /// Record every migration the app declares as applied: running a data migration twice could
    /// transform the data twice with no way back, while one skipped shows in the log.
    MigrationsApplied,
    /// Set the sent mark to the greatest outbox key (none: delete it): every change queued now
    /// is taken as sent, so none is coalesced into (which only costs a separate entry), and
    /// changes queued later, with greater keys, coalesce as usual.
    MarkQueueSent,
    /// Store this value instead (the spaces that decode, each damaged one from its start).
    Replace(Stored),
}

/// A damaged row: what replaces it, and why, for the sync log.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    pub repair: Repair,
    pub why: String,
}

/// What `value`, stored under `row`'s key, needs: `None` when it decodes.
pub fn check(row: Row, value: &Stored) -> Option<Damage> {
    let damage = |repair, why: &str| Some(Damage { repair, why: format!("{} does not decode; {why}", row.key()) });
    match row {
        Row::PullCursor if !matches!(value, Stored::Text(_)) => {
            damage(Repair::Delete, "the next pull starts from the beginning")
        }
        Row::Spaces => check_spaces(value),
        Row::DeadLetters if !matches!(value, Stored::Number(n) if whole(*n)) => {
            damage(Repair::RecountDeadLetters, "the dead letters were counted again from the queue")
        }
        Row::Sweep | Row::SweepSpaces if !list_of(value, |v| matches!(v, Stored::Text(_))) => damage(
            Repair::Delete,
            "the force pull under way deletes nothing it does not see again (records the server no longer has stay)",
        ),
        Row::AppliedMigrations if !list_of(value, |v| matches!(v, Stored::Number(n) if whole(*n))) => damage(
            Repair::MigrationsApplied,
            "every declared migration is taken as applied, so that none runs a second time",
        ),
        Row::SentMark if !matches!(value, Stored::Number(n) if whole(*n)) => {
            damage(Repair::MarkQueueSent, "every change queued now is taken as sent, so that none is coalesced into")
        }
        _ => None,
    }
}

fn whole(n: f64) -> bool {
    n >= 0.0 && n.fract() == 0.0 && n <= 2f64.powi(53)
}

fn list_of(value: &Stored, each: impl Fn(&Stored) -> bool) -> bool {
    matches!(value, Stored::List(items) if items.iter().all(each))
}

/// The space set: not an object at all, it is lost (the app adds its spaces again); one space
/// whose row does not decode is kept and pulled again from its start.
fn check_spaces(value: &Stored) -> Option<Damage> {
    let Stored::Object(spaces) = value else {
        return Some(Damage {
            repair: Repair::Delete,
            why: "spaces does not decode; the device syncs no space until the app adds them again".into(),
        });
    };
    let good = |row: &Stored| {
        let text_or_null = |v: Option<&Stored>| matches!(v, None | Some(Stored::Null | Stored::Text(_)));
        let number_or_null = |v: Option<&Stored>| matches!(v, None | Some(Stored::Null | Stored::Number(_)));
        matches!(row, Stored::Object(_)) && text_or_null(row.field("cursor")) && number_or_null(row.field("syncedAt"))
    };
    let damaged: Vec<&str> = spaces.iter().filter(|(_, row)| !good(row)).map(|(s, _)| s.as_str()).collect();
    if damaged.is_empty() {
        return None;
    }
    let from_start = Stored::Object(vec![("cursor".into(), Stored::Null), ("syncedAt".into(), Stored::Null)]);
    let repaired = spaces
        .iter()
        .map(|(space, row)| (space.clone(), if good(row) { row.clone() } else { from_start.clone() }))
        .collect();
    Some(Damage {
        repair: Repair::Replace(Stored::Object(repaired)),
        why: format!("spaces does not decode for {}; pulled again from the start", damaged.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Stored {
        Stored::Text(s.into())
    }

    fn space(cursor: Stored, synced_at: Stored) -> Stored {
        Stored::Object(vec![("cursor".into(), cursor), ("syncedAt".into(), synced_at)])
    }

    #[test]
    fn every_key_names_its_row() {
        for row in Row::ALL {
            assert_eq!(Row::from_key(row.key()), Some(row));
        }
        assert_eq!(Row::from_key("instance"), None, "checked with the eviction marker");
        assert_eq!(Row::from_key("somethingNewer"), None);
    }

    #[test]
    fn rows_that_decode_are_left_alone() {
        let good = [
            (Row::PullCursor, text("c-12")),
            (Row::DeadLetters, Stored::Number(3.0)),
            (Row::Sweep, Stored::List(vec![])),
            (Row::SweepSpaces, Stored::List(vec![text("home")])),
            (Row::AppliedMigrations, Stored::List(vec![Stored::Number(2.0), Stored::Number(3.0)])),
            (Row::SentMark, Stored::Number(120.0)),
            (Row::Spaces, Stored::Object(vec![("home".into(), space(Stored::Null, Stored::Number(5.0)))])),
            (Row::Spaces, Stored::Object(vec![("home".into(), Stored::Object(vec![]))])),
        ];
        for (row, value) in good {
            assert_eq!(check(row, &value), None, "{row:?} {value:?}");
        }
    }

    #[test]
    fn each_damaged_row_gets_the_state_that_loses_nothing() {
        let repair = |row, value| check(row, &value).map(|d| d.repair);
        assert_eq!(repair(Row::PullCursor, Stored::Number(7.0)), Some(Repair::Delete));
        assert_eq!(repair(Row::DeadLetters, text("3")), Some(Repair::RecountDeadLetters));
        assert_eq!(repair(Row::DeadLetters, Stored::Number(-1.0)), Some(Repair::RecountDeadLetters));
        assert_eq!(repair(Row::DeadLetters, Stored::Number(1.5)), Some(Repair::RecountDeadLetters));
        assert_eq!(repair(Row::Sweep, text("tasks")), Some(Repair::Delete));
        assert_eq!(repair(Row::SweepSpaces, Stored::List(vec![Stored::Number(1.0)])), Some(Repair::Delete));
        assert_eq!(repair(Row::AppliedMigrations, Stored::Other), Some(Repair::MigrationsApplied));
        assert_eq!(
            repair(Row::AppliedMigrations, Stored::List(vec![Stored::Number(1.0), Stored::Null])),
            Some(Repair::MigrationsApplied)
        );
        assert_eq!(repair(Row::Spaces, text("home")), Some(Repair::Delete));
        assert_eq!(repair(Row::SentMark, text("12")), Some(Repair::MarkQueueSent));
        assert_eq!(repair(Row::SentMark, Stored::Number(-3.0)), Some(Repair::MarkQueueSent));
    }

    #[test]
    fn a_damaged_space_is_pulled_again_and_the_others_kept() {
        let home = space(text("c-9"), Stored::Number(5.0));
        let set = Stored::Object(vec![
            ("home".into(), home.clone()),
            ("work".into(), space(Stored::Number(4.0), Stored::Null)),
            ("garden".into(), Stored::Bool(true)),
        ]);
        let damage = check(Row::Spaces, &set).unwrap();
        let from_start = space(Stored::Null, Stored::Null);
        assert_eq!(
            damage.repair,
            Repair::Replace(Stored::Object(vec![
                ("home".into(), home),
                ("work".into(), from_start.clone()),
                ("garden".into(), from_start),
            ]))
        );
        assert_eq!(damage.why, "spaces does not decode for work, garden; pulled again from the start");
    }

    #[test]
    fn the_reason_names_the_row() {
        let damage = check(Row::PullCursor, &Stored::Null).unwrap();
        assert_eq!(damage.why, "pullCursor does not decode; the next pull starts from the beginning");
    }
}
