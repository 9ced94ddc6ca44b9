//! The three-way merge: fields changed on one side only merge by themselves, nested plain objects
//! merge field by field, and a field (or a whole record: a delete against an edit) changed on
//! both sides to different values goes to the collection's fallback.

use crate::core::meta::META_FIELD;

use super::diff::{classify, goes_inside, Change};
use super::tree::{field, keys, same, Tree};

/// Who takes what both sides changed to different values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// A person decides: the conflict stays.
    Manual,
    ServerWins,
    ClientWins,
    /// The newer write, by the times of the two versions (a tie, or a time not known, goes to a
    /// person).
    LastWriteWins,
}

/// When each side was written, on the server's clock: (local, server), in ms since the epoch.
pub type Times = Option<(f64, f64)>;

/// Which side the newer write is, if the times say: `Some(true)` for the local one.
pub fn local_is_newer(times: Times) -> Option<bool> {
    let (local, server) = times?;
    (local != server).then_some(local > server)
}

impl Fallback {
    fn pick<T: Clone>(self, local: Option<&T>, server: Option<&T>, times: Times) -> Option<Option<T>> {
        match self {
            Fallback::Manual => None,
            Fallback::ServerWins => Some(server.cloned()),
            Fallback::ClientWins => Some(local.cloned()),
            Fallback::LastWriteWins => local_is_newer(times).map(|l| if l { local.cloned() } else { server.cloned() }),
        }
    }
}

/// What the merge gives: the merged record (`None`: deleted), or the paths of the fields it could
/// not settle (an empty path: the record as a whole, a delete against an edit).
pub type MergeResult<T> = Result<Option<T>, Vec<Vec<String>>>;

/// Merges `local` and `server` (either `None` for a deletion) from their common `base` (`None`
/// when the record was new here); `times` are the two versions' write times, for a
/// last-write-wins fallback.
pub fn merge<T: Tree>(
    base: Option<&T>,
    local: Option<&T>,
    server: Option<&T>,
    fallback: Fallback,
    times: Times,
) -> MergeResult<T> {
    let objects = [base, local, server].iter().all(|v| v.is_none_or(|v| v.fields().is_some()));
    match (local, server) {
        (None, None) => Ok(None),
        (Some(l), Some(s)) if objects => {
            let mut unsettled = Vec::new();
            let merged = merge_fields(&mut Vec::new(), base, l, s, (fallback, times), &mut unsettled);
            if unsettled.is_empty() {
                Ok(Some(merged))
            } else {
                Err(unsettled)
            }
        }
        // A delete against an edit, or records that are not objects: one value each.
        _ => match classify(base, local, server) {
            None | Some(Change::Local | Change::BothSame) => Ok(local.cloned()),
            Some(Change::Server) => Ok(server.cloned()),
            Some(Change::BothDifferent) => fallback.pick(local, server, times).ok_or_else(|| vec![Vec::new()]),
        },
    }
}

fn merge_fields<T: Tree>(
    path: &mut Vec<String>,
    base: Option<&T>,
    local: &T,
    server: &T,
    (fallback, times): (Fallback, Times),
    unsettled: &mut Vec<Vec<String>>,
) -> T {
    let b = base.and_then(Tree::fields).unwrap_or_default();
    let l = local.fields().unwrap_or_default();
    let s = server.fields().unwrap_or_default();
    let mut out = Vec::new();
    for key in keys(&[&s, &l, &b]) {
        if path.is_empty() && key == META_FIELD {
            continue;
        }
        let (bv, lv, sv) = (field(&b, &key), field(&l, &key), field(&s, &key));
        let value = match classify(bv, lv, sv) {
            None | Some(Change::Server) => sv.cloned(),
            Some(Change::Local | Change::BothSame) => lv.cloned(),
            Some(Change::BothDifferent) => {
                path.push(key.clone());
                let value = match (lv, sv) {
                    (Some(lo), Some(so)) if goes_inside(bv, lv, sv) => Some(merge_fields(
                        path,
                        bv.filter(|b| b.fields().is_some()),
                        lo,
                        so,
                        (fallback, times),
                        unsettled,
                    )),
                    _ => fallback.pick(lv, sv, times).unwrap_or_else(|| {
                        unsettled.push(path.clone());
                        None
                    }),
                };
                path.pop();
                value
            }
        };
        if let Some(v) = value {
            out.push((key, v));
        }
    }
    T::object(out)
}

/// Whether the merged record is the server's as it stands (then nothing needs pushing).
pub fn is_server<T: Tree>(merged: Option<&T>, server: Option<&T>) -> bool {
    match (merged, server) {
        (None, None) => true,
        (Some(m), Some(s)) => {
            let strip = |v: &T| v.fields().map(|f| f.into_iter().filter(|(k, _)| k != META_FIELD).collect::<Vec<_>>());
            match (strip(m), strip(s)) {
                (Some(a), Some(b)) => T::object(a).same(&T::object(b)),
                _ => same(Some(m), Some(s)),
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_tree::{leaf, obj, V};
    use super::*;

    #[test]
    fn one_sided_changes_merge_by_themselves() {
        let base = obj(&[("a", leaf("1")), ("b", leaf("1")), ("c", leaf("1"))]);
        let local = obj(&[("a", leaf("2")), ("b", leaf("1"))]);
        let server = obj(&[("a", leaf("1")), ("b", leaf("3")), ("c", leaf("1")), ("d", leaf("4"))]);
        let merged = merge(Some(&base), Some(&local), Some(&server), Fallback::Manual, None).unwrap().unwrap();
        assert!(merged.same(&obj(&[("a", leaf("2")), ("b", leaf("3")), ("d", leaf("4"))])), "{merged:?}");
    }

    #[test]
    fn both_same_merges_and_both_different_falls_back() {
        let base = obj(&[("a", leaf("1")), ("b", leaf("1"))]);
        let local = obj(&[("a", leaf("2")), ("b", leaf("L"))]);
        let server = obj(&[("a", leaf("2")), ("b", leaf("S"))]);
        assert_eq!(
            merge(Some(&base), Some(&local), Some(&server), Fallback::Manual, None),
            Err(vec![vec!["b".to_string()]])
        );
        let s = merge(Some(&base), Some(&local), Some(&server), Fallback::ServerWins, None).unwrap().unwrap();
        assert!(s.same(&obj(&[("a", leaf("2")), ("b", leaf("S"))])));
        let l = merge(Some(&base), Some(&local), Some(&server), Fallback::ClientWins, None).unwrap().unwrap();
        assert!(l.same(&obj(&[("a", leaf("2")), ("b", leaf("L"))])));
    }

    #[test]
    fn nested_objects_merge_field_by_field() {
        let base = obj(&[("addr", obj(&[("city", leaf("A")), ("zip", leaf("1"))]))]);
        let local = obj(&[("addr", obj(&[("city", leaf("B")), ("zip", leaf("1"))]))]);
        let server = obj(&[("addr", obj(&[("city", leaf("A")), ("zip", leaf("2"))]))]);
        let m = merge(Some(&base), Some(&local), Some(&server), Fallback::Manual, None).unwrap().unwrap();
        assert!(m.same(&obj(&[("addr", obj(&[("city", leaf("B")), ("zip", leaf("2"))]))])), "{m:?}");
        // An array (a leaf here) changed on both sides is one value.
        let base = obj(&[("tags", leaf("[x]"))]);
        let local = obj(&[("tags", leaf("[x,y]"))]);
        let server = obj(&[("tags", leaf("[x,z]"))]);
        assert_eq!(
            merge(Some(&base), Some(&local), Some(&server), Fallback::Manual, None),
            Err(vec![vec!["tags".into()]])
        );
    }

    #[test]
    fn a_delete_against_an_edit_goes_to_the_fallback() {
        let base = obj(&[("a", leaf("1"))]);
        let edited = obj(&[("a", leaf("2"))]);
        assert_eq!(merge(Some(&base), None, Some(&edited), Fallback::Manual, None), Err(vec![vec![]]));
        assert_eq!(merge(Some(&base), None, Some(&edited), Fallback::ServerWins, None), Ok(Some(edited.clone())));
        assert_eq!(merge(Some(&base), None, Some(&edited), Fallback::ClientWins, None), Ok(None));
        assert_eq!(merge(Some(&base), Some(&edited), None, Fallback::ClientWins, None), Ok(Some(edited.clone())));
        assert_eq!(merge(Some(&base), Some(&edited), None, Fallback::ServerWins, None), Ok(None));
        // Deleted on one side, untouched on the other: the delete merges by itself.
        assert_eq!(merge(Some(&base), None, Some(&base), Fallback::Manual, None), Ok(None));
        assert_eq!(merge(Some(&base), Some(&base), None, Fallback::Manual, None), Ok(None));
        assert_eq!(merge::<V>(Some(&base), None, None, Fallback::Manual, None), Ok(None));
    }

    #[test]
    fn last_write_wins_takes_the_newer_side_and_leaves_a_tie_to_a_person() {
        let base = obj(&[("a", leaf("1"))]);
        let local = obj(&[("a", leaf("L"))]);
        let server = obj(&[("a", leaf("S"))]);
        let lww = |times| merge(Some(&base), Some(&local), Some(&server), Fallback::LastWriteWins, times);
        assert_eq!(lww(Some((20.0, 10.0))), Ok(Some(local.clone())));
        assert_eq!(lww(Some((10.0, 20.0))), Ok(Some(server.clone())));
        assert_eq!(lww(Some((10.0, 10.0))), Err(vec![vec!["a".to_string()]]), "a tie");
        assert_eq!(lww(None), Err(vec![vec!["a".to_string()]]), "no times");
        // A delete against an edit, by time too.
        assert_eq!(merge(Some(&base), None, Some(&server), Fallback::LastWriteWins, Some((30.0, 20.0))), Ok(None));
    }

    #[test]
    fn without_a_base_fields_on_one_side_are_added() {
        let local = obj(&[("a", leaf("1"))]);
        let server = obj(&[("b", leaf("2"))]);
        let m = merge(None, Some(&local), Some(&server), Fallback::Manual, None).unwrap().unwrap();
        assert!(m.same(&obj(&[("b", leaf("2")), ("a", leaf("1"))])));
        assert!(is_server(Some(&server), Some(&server)));
        assert!(!is_server(Some(&m), Some(&server)));
    }
}
