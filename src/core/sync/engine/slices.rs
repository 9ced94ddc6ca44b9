//! A pulled page is written a slice at a time: at most `applyLimit` changes per transaction, so
//! that the app's own reads and writes, which queue behind a pull's transaction, never wait long,
//! while the page itself can stay large (fewer round trips). Only the page's last slice stores
//! its cursor: a slice before it that was written when the sync stops (a failed transaction, a
//! closed tab, a lost connection) is written again when the page is pulled again, which changes
//! nothing, since pulled records are matched by version (docs/sync.md, "Pages applied in
//! slices").

use crate::protocol::PullResponse;

use super::{Command, Engine};

/// The first slice of `page` (at most `limit` changes, at least one) and the rest of the page,
/// if any, with the same cursor.
pub(super) fn split<D>(mut page: PullResponse<D>, limit: u32) -> (PullResponse<D>, Option<PullResponse<D>>) {
    let limit = (limit as usize).max(1);
    if page.changes.len() <= limit {
        return (page, None);
    }
    let changes = page.changes.split_off(limit);
    let rest = PullResponse { changes, cursor: page.cursor.clone(), has_more: page.has_more, server_time: None };
    (page, Some(rest))
}

/// The command that writes the first slice of `page` (asked from `asked_from`); what is left of
/// the page goes to `rest`.
pub(super) fn write_first<D>(
    page: PullResponse<D>,
    limit: u32,
    asked_from: Option<String>,
    rest: &mut Option<PullResponse<D>>,
) -> Command<D> {
    let (slice, left) = split(page, limit);
    *rest = left;
    Command::ApplyPage { asked_from, page: slice, last: rest.is_none() }
}

impl<D> Engine<D> {
    /// Pulled changes written per transaction (`applyLimit`).
    pub(super) fn apply_limit(&self) -> u32 {
        self.settings.as_ref().map_or(u32::MAX, |s| s.apply_limit)
    }

    /// The slice before was written: the next one goes, from the same cursor.
    pub(super) fn apply_rest(&mut self, rest: PullResponse<D>, out: &mut Vec<Command<D>>) {
        let limit = self.apply_limit();
        let Some(job) = &mut self.job else { return };
        out.push(write_first(rest, limit, job.cursor.clone(), &mut job.rest));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerRecord;

    fn page(n: usize) -> PullResponse<u32> {
        let changes = (0..n)
            .map(|i| ServerRecord {
                collection: "c".into(),
                id: i.to_string(),
                version: 1,
                deleted: false,
                data: Some(i as u32),
                updated_at: None,
                forced: false,
            })
            .collect();
        PullResponse { changes, cursor: "next".into(), has_more: true, server_time: Some(5) }
    }

    #[test]
    fn a_page_is_cut_in_order_and_every_slice_keeps_the_cursor() {
        let (first, rest) = split(page(5), 2);
        assert_eq!(first.changes.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["0", "1"]);
        assert_eq!((first.cursor.as_str(), first.server_time), ("next", Some(5)));
        let (second, rest) = split(rest.expect("a rest"), 2);
        assert_eq!(second.changes.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["2", "3"]);
        let (last, rest) = split(rest.expect("a rest"), 2);
        assert_eq!((last.changes.len(), last.cursor.as_str(), last.has_more), (1, "next", true));
        assert!(rest.is_none());
    }

    #[test]
    fn a_page_within_the_limit_is_one_slice() {
        let (whole, rest) = split(page(3), 3);
        assert_eq!(whole.changes.len(), 3);
        assert!(rest.is_none());
        // An empty page is one (empty) slice: it still stores the cursor.
        assert!(split(page(0), 3).1.is_none());
        // A limit of 0 would never finish: one change at least.
        assert_eq!(split(page(2), 0).0.changes.len(), 1);
    }
}
