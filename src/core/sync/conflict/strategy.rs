//! The conflict strategies a collection declares, and what each makes of one conflict.

use super::super::rules::decide::Side;
use super::merge::{is_server, local_is_newer, merge, Fallback, Times};
use super::tree::{same, Tree};

/// How a collection's conflicts are settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Kept until a person decides (the default).
    #[default]
    Manual,
    /// The server's version is kept; the local change is dropped (and logged).
    ServerWins,
    /// The local version is pushed over the server's (which is logged).
    ClientWins,
    /// The newer write wins, by the time each version was written on the server's clock; a tie
    /// (or a time not known) is left for a person.
    LastWriteWins,
    /// A three-way merge; what both sides changed differently goes to the fallback.
    Merge(Fallback),
    /// The app's own resolver decides (it may be async); one that throws or takes too long
    /// leaves the conflict for a person, and the log says why.
    Custom,
}

impl Strategy {
    /// The name an app declares (`"merge"` alone merges with a person deciding the rest).
    pub fn parse(name: &str) -> Option<Strategy> {
        Some(match name {
            "manual" => Strategy::Manual,
            "server-wins" => Strategy::ServerWins,
            "client-wins" => Strategy::ClientWins,
            "last-write-wins" => Strategy::LastWriteWins,
            "merge" => Strategy::Merge(Fallback::Manual),
            _ => return None,
        })
    }

    /// What a field changed on both sides falls back to under `{ merge: name }`.
    pub fn parse_fallback(name: &str) -> Option<Fallback> {
        Some(match name {
            "manual" => Fallback::Manual,
            "server-wins" => Fallback::ServerWins,
            "client-wins" => Fallback::ClientWins,
            "last-write-wins" => Fallback::LastWriteWins,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Manual => "manual",
            Strategy::ServerWins => "server-wins",
            Strategy::ClientWins => "client-wins",
            Strategy::LastWriteWins => "last-write-wins",
            Strategy::Merge(_) => "merge",
            Strategy::Custom => "custom",
        }
    }
}

/// What a strategy makes of one conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement<T> {
    /// Push the local version over the server's.
    Local,
    /// Take the server's version.
    Server,
    /// Store this merged data and push it over the server's version.
    Merged(T),
    /// Leave it for a person.
    Manual,
    /// Ask the app's resolver.
    Ask,
}

impl<T> Settlement<T> {
    /// The side a settlement keeps, with a merge's data; `None` when it is left for a person or
    /// the collection's resolver.
    pub fn side(self) -> Option<(Side, Option<T>)> {
        match self {
            Settlement::Local => Some((Side::Local, None)),
            Settlement::Server => Some((Side::Server, None)),
            Settlement::Merged(data) => Some((Side::Merged, Some(data))),
            Settlement::Manual | Settlement::Ask => None,
        }
    }
}

/// Settles a conflict by `strategy`. `local` is the record here and `server` the server's
/// (`None`: deleted on that side, or not there); `local_deleted` says the local side is a delete
/// made here; `base` is the server's data the local change started from (`None` when the record
/// was new here); `times` are when each side was written, on the server's clock. Two sides that
/// are already the same are no conflict: the server's version is taken whatever the strategy,
/// and nothing is lost.
pub fn settle<T: Tree>(
    strategy: Strategy,
    base: Option<&T>,
    local: Option<&T>,
    local_deleted: bool,
    server: Option<&T>,
    times: Times,
) -> Settlement<T> {
    if is_server(local, server) {
        return Settlement::Server;
    }
    // A record created here and then deleted, against one the server has: without a base the
    // merge would see no local change, but the delete is one. It is a delete against an edit.
    if let (Strategy::Merge(fallback), None, true, None) = (strategy, local, local_deleted, base) {
        return match (fallback, local_is_newer(times)) {
            (Fallback::ServerWins, _) | (Fallback::LastWriteWins, Some(false)) => Settlement::Server,
            (Fallback::ClientWins, _) | (Fallback::LastWriteWins, Some(true)) => Settlement::Local,
            (Fallback::Manual | Fallback::LastWriteWins, _) => Settlement::Manual,
        };
    }
    match strategy {
        Strategy::Manual => Settlement::Manual,
        Strategy::ServerWins => Settlement::Server,
        Strategy::ClientWins => Settlement::Local,
        Strategy::LastWriteWins => match local_is_newer(times) {
            Some(true) => Settlement::Local,
            Some(false) => Settlement::Server,
            None => Settlement::Manual,
        },
        Strategy::Custom => Settlement::Ask,
        Strategy::Merge(fallback) => match merge(base, local, server, fallback, times) {
            Err(_) => Settlement::Manual,
            Ok(merged) if is_server(merged.as_ref(), server) => Settlement::Server,
            Ok(merged) if same(merged.as_ref(), local) => Settlement::Local,
            Ok(None) => Settlement::Local,
            Ok(Some(merged)) => Settlement::Merged(merged),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_tree::{leaf, obj};
    use super::*;

    #[test]
    fn names() {
        for s in ["manual", "server-wins", "client-wins", "last-write-wins", "merge"] {
            assert_eq!(Strategy::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Strategy::parse("lww"), None);
        assert_eq!(Strategy::parse_fallback("client-wins"), Some(Fallback::ClientWins));
        assert_eq!(Strategy::default(), Strategy::Manual);
    }

    #[test]
    fn each_strategy_settles_an_edit_against_an_edit() {
        let base = obj(&[("a", leaf("1")), ("b", leaf("1"))]);
        let local = obj(&[("a", leaf("2")), ("b", leaf("1"))]);
        let server = obj(&[("a", leaf("1")), ("b", leaf("3"))]);
        let s = |st| settle(st, Some(&base), Some(&local), false, Some(&server), None);
        assert_eq!(s(Strategy::Manual), Settlement::Manual);
        assert_eq!(s(Strategy::ServerWins), Settlement::Server);
        assert_eq!(s(Strategy::ClientWins), Settlement::Local);
        assert_eq!(
            s(Strategy::Merge(Fallback::Manual)),
            Settlement::Merged(obj(&[("a", leaf("2")), ("b", leaf("3"))]))
        );
    }

    #[test]
    fn a_merge_that_ends_on_one_side_takes_that_side() {
        let base = obj(&[("a", leaf("1"))]);
        let server = obj(&[("a", leaf("1")), ("b", leaf("2"))]);
        // Only the server changed anything: its version, nothing to push.
        assert_eq!(
            settle(Strategy::Merge(Fallback::Manual), Some(&base), Some(&base), false, Some(&server), None),
            Settlement::Server
        );
        // Only here: push it as it is.
        let local = obj(&[("a", leaf("5"))]);
        assert_eq!(
            settle(Strategy::Merge(Fallback::Manual), Some(&base), Some(&local), false, Some(&base), None),
            Settlement::Local
        );
        // Both changed the same field differently, the fallback is a person.
        let both = obj(&[("a", leaf("9"))]);
        assert_eq!(
            settle(Strategy::Merge(Fallback::Manual), Some(&base), Some(&local), false, Some(&both), None),
            Settlement::Manual
        );
        assert_eq!(
            settle(Strategy::Merge(Fallback::ClientWins), Some(&base), Some(&local), false, Some(&both), None),
            Settlement::Local
        );
    }

    #[test]
    fn a_delete_against_an_edit_under_every_strategy() {
        let base = obj(&[("a", leaf("1"))]);
        let edited = obj(&[("a", leaf("2"))]);
        // Deleted here, edited on the server.
        let here_deleted = |st| settle(st, Some(&base), None, true, Some(&edited), None);
        assert_eq!(here_deleted(Strategy::Manual), Settlement::Manual);
        assert_eq!(here_deleted(Strategy::ServerWins), Settlement::Server);
        assert_eq!(here_deleted(Strategy::ClientWins), Settlement::Local);
        assert_eq!(here_deleted(Strategy::Merge(Fallback::Manual)), Settlement::Manual);
        assert_eq!(here_deleted(Strategy::Merge(Fallback::ServerWins)), Settlement::Server);
        assert_eq!(here_deleted(Strategy::Merge(Fallback::ClientWins)), Settlement::Local);
        // Edited here, deleted on the server.
        let there_deleted = |st| settle(st, Some(&base), Some(&edited), false, None, None);
        assert_eq!(there_deleted(Strategy::ServerWins), Settlement::Server);
        assert_eq!(there_deleted(Strategy::ClientWins), Settlement::Local);
        assert_eq!(there_deleted(Strategy::Merge(Fallback::Manual)), Settlement::Manual);
        assert_eq!(there_deleted(Strategy::Merge(Fallback::ServerWins)), Settlement::Server);
        // Created here, then deleted, against the server's record: a delete against an edit too.
        let created_deleted = |st| settle(st, None, None, true, Some(&edited), None);
        assert_eq!(created_deleted(Strategy::Merge(Fallback::Manual)), Settlement::Manual);
        assert_eq!(created_deleted(Strategy::Merge(Fallback::ClientWins)), Settlement::Local);
        // Never here (a clash kept the server's record as a conflict): nothing local to keep.
        assert_eq!(
            settle(Strategy::Merge(Fallback::Manual), None, None, false, Some(&edited), None),
            Settlement::Server
        );
        // Deleted on both sides: no conflict at all.
        assert_eq!(
            settle::<super::super::test_tree::V>(Strategy::Manual, Some(&base), None, true, None, None),
            Settlement::Server
        );
    }

    #[test]
    fn last_write_wins_takes_the_newer_write_and_leaves_a_tie_to_a_person() {
        let base = obj(&[("a", leaf("1"))]);
        let local = obj(&[("a", leaf("L"))]);
        let server = obj(&[("a", leaf("S"))]);
        let s = |times| settle(Strategy::LastWriteWins, Some(&base), Some(&local), false, Some(&server), times);
        assert_eq!(s(Some((20.0, 10.0))), Settlement::Local);
        assert_eq!(s(Some((10.0, 20.0))), Settlement::Server);
        assert_eq!(s(Some((10.0, 10.0))), Settlement::Manual, "the same millisecond");
        assert_eq!(s(None), Settlement::Manual, "a server that stamps no time");
        // A delete against an edit, by time.
        assert_eq!(
            settle(Strategy::LastWriteWins, Some(&base), None, true, Some(&server), Some((30.0, 20.0))),
            Settlement::Local
        );
        // As a merge's fallback: only the field both changed goes by time.
        let both = obj(&[("a", leaf("L")), ("b", leaf("x"))]);
        let merged = settle(
            Strategy::Merge(Fallback::LastWriteWins),
            Some(&base),
            Some(&both),
            false,
            Some(&server),
            Some((5.0, 9.0)),
        );
        assert_eq!(merged, Settlement::Merged(obj(&[("a", leaf("S")), ("b", leaf("x"))])));
    }

    #[test]
    fn the_same_on_both_sides_is_no_conflict() {
        let v = obj(&[("a", leaf("1"))]);
        assert_eq!(settle(Strategy::Manual, None, Some(&v), false, Some(&v), None), Settlement::Server);
        assert_eq!(settle(Strategy::ClientWins, None, Some(&v), false, Some(&v), None), Settlement::Server);
    }
}
