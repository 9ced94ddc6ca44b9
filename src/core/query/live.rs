//! Live queries kept up to date in place: given a query, the rows it answers now and the records
//! a commit changed, the new answer is computed from the old one, or the query is found
//! untouched, or it must run again.
//!
//! The edge keeps, beside a live query's result, each row's sort position ([`Row`]: the key the
//! query reads by, and the id). After a commit it reads the changed records and tells, for each,
//! where it now sits ([`Now`]); [`patch`] answers. A query is read from its start: with an
//! `offset`, the edge keeps the skipped rows too ([`LiveQuery::window`]) and shows the rest.
//!
//! Rows tie on an index key and then sort by id, ascending, as IndexedDB orders an index; a
//! descending query is the exact reverse (the "prev" direction).

use std::cmp::Ordering;

use super::key::{cmp_strings, Key, KeyRange};
use super::{Order, QuerySpec};
use crate::core::order::{sort_positions, sorted_by};

/// More changed records than this in one commit: the query runs again rather than reading each.
pub const MAX_PATCHED_CHANGES: usize = 64;

/// One row of a result, as far as its position goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The index key the query reads by (the id itself for a query over ids).
    pub key: Key,
    pub id: String,
}

/// Where a changed record now is, for this query.
#[derive(Debug, Clone, PartialEq)]
pub enum Now {
    /// In the query's source under this key (whether in its range is the rule's to say).
    At(Key),
    /// Not in the source: deleted, without a valid key at the index's path, or a tombstone the
    /// query leaves out.
    Absent,
    /// The edge cannot tell (a key it cannot read exactly): the query runs again.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub id: String,
    pub now: Now,
}

/// A live query's shape, as far as patching goes.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveQuery {
    pub range: KeyRange,
    pub order: Order,
    /// The rows kept, from the start: `offset + limit` (None: every row in the range).
    pub window: Option<usize>,
    /// The rows of the window the caller does not see.
    pub offset: usize,
    /// Whether results can be patched at all ([`LiveQuery::new`] says when not).
    pub patchable: bool,
}

impl LiveQuery {
    /// `multi_entry`: the query reads a multiEntry index (a record may be several rows). Such
    /// queries, and queries over ids that keep tombstones (a tombstone removed once the server
    /// has it is not announced), always run again.
    pub fn new(spec: &QuerySpec, range: KeyRange, multi_entry: bool) -> LiveQuery {
        let window = spec.limit.map(|l| l as usize + spec.offset as usize);
        let keeps_tombstones = spec.index.is_none() && spec.include_deleted;
        LiveQuery {
            range,
            order: spec.order,
            window,
            offset: spec.offset as usize,
            patchable: !multi_entry && !keeps_tombstones,
        }
    }

    /// The query the edge runs to fill its window: from the start, `offset + limit` rows.
    pub fn window_spec(spec: &QuerySpec) -> QuerySpec {
        QuerySpec { offset: 0, limit: spec.fetch_count(), ..spec.clone() }
    }

    /// Where `a` sorts against `b` in this query's order.
    pub fn cmp(&self, a: (&Key, &str), b: (&Key, &str)) -> Ordering {
        let asc = a.0.cmp(b.0).then_with(|| cmp_strings(a.1, b.1));
        match self.order {
            Order::Asc => asc,
            Order::Desc => asc.reverse(),
        }
    }
}

/// Where a row of the new result comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Row `i` of the old result, unchanged.
    Kept(usize),
    /// Changed record `k` (its index in the list passed to [`patch`]), newly read.
    Changed(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Patch {
    /// No row changed: the result (and its identity) stays.
    Untouched,
    /// The new window, row by row; `visible` is false when only skipped rows changed (the
    /// caller's rows stay the same objects).
    Patched { sources: Vec<Source>, visible: bool },
    /// The new result cannot be known from the old one: run the query again.
    Rerun,
}

/// Whether a commit of `changes` records is patched (read record by record) or re-run.
pub fn worth_patching(changes: usize) -> bool {
    changes <= MAX_PATCHED_CHANGES
}

/// The new result of `query`, whose current window is `rows`, after `changed` (the last entry of
/// an id wins).
pub fn patch(query: &LiveQuery, rows: &[Row], changed: &[Changed]) -> Patch {
    if !query.patchable || changed.iter().any(|c| c.now == Now::Unknown) {
        return Patch::Rerun;
    }
    if query.window == Some(0) {
        return Patch::Untouched;
    }
    // The last word on each id.
    let mut last: Vec<usize> = Vec::with_capacity(changed.len());
    for (k, c) in changed.iter().enumerate() {
        match last.iter().position(|&j| changed[j].id == c.id) {
            Some(p) => last[p] = k,
            None => last.push(k),
        }
    }
    // Sorted, for a binary search per row (no hash map: it weighs on the wasm build).
    let touched: Vec<&str> = last.iter().map(|&k| changed[k].id.as_str()).collect();
    let touched = sorted_by(touched, &|a, b| a.cmp(b));
    let mut entering: Vec<usize> = last
        .iter()
        .copied()
        .filter(|&k| matches!(&changed[k].now, Now::At(key) if query.range.contains(key)))
        .collect();
    let key_of = |k: usize| match &changed[k].now {
        Now::At(key) => key,
        _ => unreachable!("only records with a key enter"),
    };
    sort_positions(&mut entering, &|a, b| query.cmp((key_of(a), &changed[a].id), (key_of(b), &changed[b].id)));
    let complete = query.window.is_none_or(|w| rows.len() < w);
    // A full window knows nothing past its last row: a record sorting after it may be preceded
    // by rows never read.
    let last_row = if complete { None } else { rows.last() };
    let known = |k: usize| {
        last_row.is_none_or(|r| query.cmp((key_of(k), &changed[k].id), (&r.key, &r.id)) != Ordering::Greater)
    };
    let mut sources = Vec::with_capacity(rows.len() + entering.len());
    let mut next = entering.iter().copied().filter(|&k| known(k)).peekable();
    for (i, row) in rows.iter().enumerate() {
        if touched.binary_search(&row.id.as_str()).is_ok() {
            continue;
        }
        while let Some(&k) = next.peek() {
            if query.cmp((key_of(k), &changed[k].id), (&row.key, &row.id)) == Ordering::Less {
                sources.push(Source::Changed(k));
                next.next();
            } else {
                break;
            }
        }
        sources.push(Source::Kept(i));
    }
    sources.extend(next.map(Source::Changed));
    if let Some(w) = query.window {
        if !complete && sources.len() < w {
            // A row left a full window, and the one after it was never read.
            return Patch::Rerun;
        }
        sources.truncate(w);
    }
    let same = |from: usize| {
        sources.len().saturating_sub(from) == rows.len().saturating_sub(from)
            && sources.iter().enumerate().skip(from).all(|(i, s)| *s == Source::Kept(i))
    };
    if same(0) {
        return Patch::Untouched;
    }
    let visible = !same(query.offset);
    Patch::Patched { sources, visible }
}

/// The rows after a patch: `rows` (the old ones, taken) and `fresh` (the changed records' rows,
/// by their index in the changed list; None for those not in the result) put in `sources` order.
pub fn apply(rows: Vec<Row>, mut fresh: Vec<Option<Row>>, sources: &[Source]) -> Vec<Row> {
    let mut old: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    sources
        .iter()
        .map(|s| match *s {
            Source::Kept(i) => old[i].take().expect("each old row is kept at most once"),
            Source::Changed(k) => fresh[k].take().expect("each changed record enters at most once"),
        })
        .collect()
}

#[cfg(test)]
mod tests;
