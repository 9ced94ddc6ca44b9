//! The field-level diff of a conflict: for every field that changed since the base, on which side
//! it changed. Nested plain objects changed on both sides are compared field by field; anything
//! else (arrays, dates, other values) is one field. ferrysync's own metadata field is left out.

use crate::core::meta::META_FIELD;

use super::tree::{field, keys, same, Tree};

/// Which side changed a field since the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Local,
    Server,
    /// Both, to the same value.
    BothSame,
    /// Both, to different values: the merge cannot take either by itself.
    BothDifferent,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Local => "local",
            Change::Server => "server",
            Change::BothSame => "both-same",
            Change::BothDifferent => "both-different",
        }
    }
}

/// One changed field. A side's value is `None` where the field is absent (or the record deleted).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff<T> {
    pub path: Vec<String>,
    pub base: Option<T>,
    pub local: Option<T>,
    pub server: Option<T>,
    pub change: Change,
}

/// How one field changed: `None` when neither side changed it.
pub fn classify<T: Tree>(base: Option<&T>, local: Option<&T>, server: Option<&T>) -> Option<Change> {
    match (!same(local, base), !same(server, base)) {
        (false, false) => None,
        (true, false) => Some(Change::Local),
        (false, true) => Some(Change::Server),
        (true, true) if same(local, server) => Some(Change::BothSame),
        (true, true) => Some(Change::BothDifferent),
    }
}

/// The fields of a value seen as an object: a plain object's fields, nothing for an absent value
/// (a deleted record, a record the server never had); `None` for any other value.
pub fn object_fields<T: Tree>(v: Option<&T>) -> Option<Vec<(String, T)>> {
    match v {
        None => Some(Vec::new()),
        Some(v) => v.fields(),
    }
}

/// Whether a field changed on both sides to different plain objects is compared inside.
pub fn goes_inside<T: Tree>(base: Option<&T>, local: Option<&T>, server: Option<&T>) -> bool {
    local.is_some_and(|l| l.fields().is_some())
        && server.is_some_and(|s| s.fields().is_some())
        && base.is_none_or(|b| b.fields().is_some())
}

/// The diff of a conflict: `base` is the server's data the local change started from (`None`
/// when the record was new here), `local` the record here and `server` the server's (`None` for
/// a deletion on that side).
pub fn diff<T: Tree>(base: Option<&T>, local: Option<&T>, server: Option<&T>) -> Vec<FieldDiff<T>> {
    let mut out = Vec::new();
    diff_inside(&mut Vec::new(), base, local, server, &mut out);
    out
}

fn diff_inside<T: Tree>(
    path: &mut Vec<String>,
    base: Option<&T>,
    local: Option<&T>,
    server: Option<&T>,
    out: &mut Vec<FieldDiff<T>>,
) {
    let (b, l, s) = (
        object_fields(base).unwrap_or_default(),
        object_fields(local).unwrap_or_default(),
        object_fields(server).unwrap_or_default(),
    );
    for key in keys(&[&l, &s, &b]) {
        if path.is_empty() && key == META_FIELD {
            continue;
        }
        let (bv, lv, sv) = (field(&b, &key), field(&l, &key), field(&s, &key));
        let Some(change) = classify(bv, lv, sv) else { continue };
        path.push(key);
        if change == Change::BothDifferent && goes_inside(bv, lv, sv) {
            diff_inside(path, bv.filter(|b| b.fields().is_some()), lv, sv, out);
        } else {
            out.push(FieldDiff {
                path: path.clone(),
                base: bv.cloned(),
                local: lv.cloned(),
                server: sv.cloned(),
                change,
            });
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_tree::{leaf, obj, V};
    use super::*;

    fn changes(d: &[FieldDiff<V>]) -> Vec<(String, Change)> {
        d.iter().map(|f| (f.path.join("."), f.change)).collect()
    }

    #[test]
    fn each_field_says_which_side_changed_it() {
        let base = obj(&[("a", leaf("1")), ("b", leaf("1")), ("c", leaf("1")), ("d", leaf("1")), ("e", leaf("1"))]);
        let local = obj(&[("a", leaf("2")), ("b", leaf("1")), ("c", leaf("3")), ("d", leaf("4")), ("e", leaf("1"))]);
        let server = obj(&[("a", leaf("1")), ("b", leaf("2")), ("c", leaf("3")), ("d", leaf("5")), ("e", leaf("1"))]);
        let d = diff(Some(&base), Some(&local), Some(&server));
        use Change::*;
        assert_eq!(
            changes(&d),
            vec![("a".into(), Local), ("b".into(), Server), ("c".into(), BothSame), ("d".into(), BothDifferent)]
        );
        assert_eq!(
            (d[3].base.clone(), d[3].local.clone(), d[3].server.clone()),
            (Some(leaf("1")), Some(leaf("4")), Some(leaf("5")))
        );
    }

    #[test]
    fn added_and_removed_fields_count_as_changes() {
        let base = obj(&[("a", leaf("1"))]);
        let local = obj(&[("b", leaf("n"))]);
        let server = obj(&[("a", leaf("1")), ("c", leaf("m"))]);
        let d = diff(Some(&base), Some(&local), Some(&server));
        assert_eq!(
            changes(&d),
            vec![("b".into(), Change::Local), ("a".into(), Change::Local), ("c".into(), Change::Server)]
        );
        assert_eq!(d[1].local, None, "removed here");
    }

    #[test]
    fn nested_objects_are_compared_field_by_field_and_arrays_whole() {
        let base = obj(&[("addr", obj(&[("city", leaf("A")), ("zip", leaf("1"))])), ("tags", leaf("[x]"))]);
        let local = obj(&[("addr", obj(&[("city", leaf("B")), ("zip", leaf("1"))])), ("tags", leaf("[x,y]"))]);
        let server = obj(&[("addr", obj(&[("city", leaf("A")), ("zip", leaf("2"))])), ("tags", leaf("[x,z]"))]);
        let d = diff(Some(&base), Some(&local), Some(&server));
        assert_eq!(
            changes(&d),
            vec![
                ("addr.city".into(), Change::Local),
                ("addr.zip".into(), Change::Server),
                ("tags".into(), Change::BothDifferent)
            ]
        );
    }

    #[test]
    fn without_a_base_every_field_is_new() {
        let local = obj(&[("a", leaf("1")), ("b", leaf("2"))]);
        let server = obj(&[("a", leaf("1")), ("b", leaf("3"))]);
        let d = diff(None, Some(&local), Some(&server));
        assert_eq!(changes(&d), vec![("a".into(), Change::BothSame), ("b".into(), Change::BothDifferent)]);
    }

    #[test]
    fn a_deleted_side_removed_every_field_and_metadata_is_left_out() {
        let base = obj(&[("a", leaf("1")), (META_FIELD, leaf("m"))]);
        let server = obj(&[("a", leaf("2"))]);
        let d = diff(Some(&base), None, Some(&server));
        assert_eq!(changes(&d), vec![("a".into(), Change::BothDifferent)]);
        assert_eq!(d[0].local, None);
    }
}
