use std::collections::BTreeMap;

use super::super::key::Bound;
use super::*;

fn n(v: f64) -> Key {
    Key::Number(v)
}

fn row(key: f64, id: &str) -> Row {
    Row { key: n(key), id: id.into() }
}

fn at(id: &str, key: f64) -> Changed {
    Changed { id: id.into(), now: Now::At(n(key)) }
}

fn gone(id: &str) -> Changed {
    Changed { id: id.into(), now: Now::Absent }
}

fn query(order: Order, limit: Option<u32>, offset: u32) -> LiveQuery {
    let spec = QuerySpec { index: Some("k".into()), order, limit, offset, include_deleted: false };
    LiveQuery::new(&spec, KeyRange::default(), false)
}

/// The rows the changed records make, as the edge reads them (`None`: not in the index).
fn fresh_rows(changed: &[Changed]) -> Vec<Option<Row>> {
    changed
        .iter()
        .map(|c| match &c.now {
            Now::At(k) => Some(Row { key: k.clone(), id: c.id.clone() }),
            _ => None,
        })
        .collect()
}

fn patched(q: &LiveQuery, rows: &[Row], changed: &[Changed]) -> Vec<Row> {
    match patch(q, rows, changed) {
        Patch::Patched { sources, .. } => apply(rows.to_vec(), fresh_rows(changed), &sources),
        other => panic!("expected a patch, got {other:?}"),
    }
}

#[test]
fn an_update_moves_its_row() {
    let q = query(Order::Asc, None, 0);
    let rows = [row(1.0, "a"), row(2.0, "b"), row(3.0, "c")];
    assert_eq!(patched(&q, &rows, &[at("a", 2.5)]), [row(2.0, "b"), row(2.5, "a"), row(3.0, "c")]);
    // The same position, a new value: still a patch (the row is a new object).
    assert!(matches!(patch(&q, &rows, &[at("b", 2.0)]), Patch::Patched { visible: true, .. }));
}

#[test]
fn a_write_outside_the_range_leaves_the_query_untouched() {
    let mut q = query(Order::Asc, None, 0);
    q.range = KeyRange { lower: Some(Bound { key: n(1.0), open: false }), upper: None };
    let rows = [row(1.0, "a"), row(2.0, "b")];
    assert_eq!(patch(&q, &rows, &[at("z", 0.5)]), Patch::Untouched);
    assert_eq!(patch(&q, &rows, &[gone("z")]), Patch::Untouched);
    assert_eq!(patched(&q, &rows, &[at("a", 0.5)]), [row(2.0, "b")]);
}

#[test]
fn a_full_window_knows_nothing_past_its_last_row() {
    let q = query(Order::Asc, Some(2), 0);
    let rows = [row(1.0, "a"), row(2.0, "b")];
    // Past the last row: not in the window.
    assert_eq!(patch(&q, &rows, &[at("z", 9.0)]), Patch::Untouched);
    // Before it: in, and the last row leaves.
    assert_eq!(patched(&q, &rows, &[at("z", 1.5)]), [row(1.0, "a"), row(1.5, "z")]);
    // A row leaves: the next one was never read.
    assert_eq!(patch(&q, &rows, &[gone("a")]), Patch::Rerun);
    assert_eq!(patch(&q, &rows, &[at("a", 9.0)]), Patch::Rerun);
    // ... unless something takes its place.
    assert_eq!(patched(&q, &rows, &[gone("a"), at("z", 0.0)]), [row(0.0, "z"), row(2.0, "b")]);
    // A window that is not full holds every row in range.
    let q3 = query(Order::Asc, Some(3), 0);
    assert_eq!(patched(&q3, &rows, &[gone("a")]), [row(2.0, "b")]);
    assert_eq!(patched(&q3, &rows, &[at("a", 9.0)]), [row(2.0, "b"), row(9.0, "a")]);
}

#[test]
fn ties_sort_by_id_and_descending_is_the_reverse() {
    let asc = query(Order::Asc, None, 0);
    let rows = [row(1.0, "a"), row(1.0, "c")];
    assert_eq!(patched(&asc, &rows, &[at("b", 1.0)]), [row(1.0, "a"), row(1.0, "b"), row(1.0, "c")]);
    let desc = query(Order::Desc, None, 0);
    let rows = [row(1.0, "c"), row(1.0, "a")];
    assert_eq!(patched(&desc, &rows, &[at("b", 1.0)]), [row(1.0, "c"), row(1.0, "b"), row(1.0, "a")]);
}

#[test]
fn an_offset_keeps_the_skipped_rows_and_says_whether_the_visible_ones_changed() {
    let q = query(Order::Asc, Some(2), 1);
    let rows = [row(1.0, "a"), row(2.0, "b"), row(3.0, "c")];
    assert_eq!(q.window, Some(3));
    match patch(&q, &rows, &[at("a", 1.0)]) {
        Patch::Patched { visible, .. } => assert!(!visible, "only a skipped row changed"),
        other => panic!("{other:?}"),
    }
    match patch(&q, &rows, &[at("z", 0.0)]) {
        Patch::Patched { visible, .. } => assert!(visible, "every row shifts by one"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_is_never_patched() {
    let rows = [row(1.0, "a")];
    let spec = QuerySpec { index: Some("tags".into()), ..Default::default() };
    assert_eq!(patch(&LiveQuery::new(&spec, KeyRange::default(), true), &rows, &[at("b", 1.0)]), Patch::Rerun);
    let spec = QuerySpec { include_deleted: true, ..Default::default() };
    assert!(!LiveQuery::new(&spec, KeyRange::default(), false).patchable);
    let q = query(Order::Asc, None, 0);
    assert_eq!(patch(&q, &rows, &[Changed { id: "a".into(), now: Now::Unknown }]), Patch::Rerun);
    assert!(worth_patching(1) && !worth_patching(MAX_PATCHED_CHANGES + 1));
    assert_eq!(patch(&query(Order::Asc, Some(0), 0), &[], &[at("a", 1.0)]), Patch::Untouched);
}

#[test]
fn the_last_change_of_an_id_wins() {
    let q = query(Order::Asc, None, 0);
    let rows = [row(1.0, "a")];
    assert_eq!(patched(&q, &rows, &[at("b", 5.0), gone("b"), at("a", 3.0)]), [row(3.0, "a")]);
}

/// A small deterministic generator (SplitMix64), so that the property test is the same on every
/// run and a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const IDS: [&str; 14] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "é", "\u{1F600}"];

/// A key from a small set, so that ties are common: mostly numbers, some strings, dates, arrays.
fn random_key(rng: &mut Rng) -> Key {
    match rng.below(10) {
        0 => Key::String(["x", "y", "\u{FF61}"][rng.below(3)].into()),
        1 => Key::Date(rng.below(3) as f64),
        2 => Key::Array(vec![n(rng.below(2) as f64), n(rng.below(2) as f64)]),
        _ => n(rng.below(6) as f64),
    }
}

fn random_range(rng: &mut Rng) -> KeyRange {
    let bound = |rng: &mut Rng| Bound { key: n(rng.below(6) as f64), open: rng.chance(50) };
    match rng.below(5) {
        0 => KeyRange::default(),
        1 => KeyRange { lower: Some(bound(rng)), upper: None },
        2 => KeyRange { lower: None, upper: Some(bound(rng)) },
        3 => KeyRange::only(n(rng.below(6) as f64)),
        _ => {
            let (a, b) = (bound(rng), bound(rng));
            let (lower, upper) = if a.key <= b.key { (a, b) } else { (b, a) };
            KeyRange { lower: Some(lower), upper: Some(upper) }
        }
    }
}

/// What running the query gives: the records in range, sorted, within the window.
fn run(q: &LiveQuery, records: &BTreeMap<String, Key>) -> Vec<Row> {
    let mut rows: Vec<Row> = records
        .iter()
        .filter(|(_, k)| q.range.contains(k))
        .map(|(id, k)| Row { key: k.clone(), id: id.clone() })
        .collect();
    rows.sort_by(|a, b| q.cmp((&a.key, &a.id), (&b.key, &b.id)));
    if let Some(w) = q.window {
        rows.truncate(w);
    }
    rows
}

#[test]
fn a_patched_result_is_what_a_rerun_gives_over_random_writes() {
    let mut rng = Rng(0x5EED_F0E5);
    let (mut patches, mut untouched, mut reruns) = (0, 0, 0);
    for case in 0..400 {
        let limit = [None, None, Some(0), Some(1), Some(3), Some(6)][rng.below(6)];
        let offset = if limit.is_some() && rng.chance(30) { 1 + rng.below(2) as u32 } else { 0 };
        let order = if rng.chance(50) { Order::Asc } else { Order::Desc };
        let spec = QuerySpec { index: Some("k".into()), order, limit, offset, include_deleted: false };
        let q = LiveQuery::new(&spec, random_range(&mut rng), false);
        let mut records = BTreeMap::new();
        for _ in 0..rng.below(IDS.len()) {
            records.insert(IDS[rng.below(IDS.len())].to_string(), random_key(&mut rng));
        }
        let mut rows = run(&q, &records);
        for round in 0..30 {
            let mut changed = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let id = IDS[rng.below(IDS.len())].to_string();
                // Inserts and updates (into, out of or within the range), and deletes.
                let now = if rng.chance(25) {
                    records.remove(&id);
                    Now::Absent
                } else {
                    let key = random_key(&mut rng);
                    records.insert(id.clone(), key.clone());
                    Now::At(key)
                };
                changed.push(Changed { id, now });
            }
            let expected = run(&q, &records);
            let why = format!("case {case}, round {round}: {q:?}\nrows {rows:?}\nchanged {changed:?}");
            match patch(&q, &rows, &changed) {
                Patch::Untouched => {
                    untouched += 1;
                    assert_eq!(rows, expected, "untouched, yet a rerun differs; {why}");
                }
                Patch::Patched { sources, visible } => {
                    patches += 1;
                    let new = apply(rows.clone(), fresh_rows(&changed), &sources);
                    assert_eq!(new, expected, "{why}\nsources {sources:?}");
                    if !visible {
                        assert_eq!(rows.get(q.offset..).unwrap_or(&[]), new.get(q.offset..).unwrap_or(&[]), "{why}");
                        assert!(sources.iter().skip(q.offset).all(|s| matches!(s, Source::Kept(_))), "{why}");
                    }
                    rows = new;
                }
                Patch::Rerun => {
                    reruns += 1;
                    rows = expected;
                }
            }
        }
    }
    let total = patches + untouched + reruns;
    assert!(patches * 4 > total && untouched * 4 > total && reruns > 0, "{patches} {untouched} {reruns}");
}
