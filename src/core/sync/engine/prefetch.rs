//! Pull prefetch: the next page is asked for while the page before it is applied, so that the
//! network and the server's time are spent while IndexedDB writes (docs/sync.md, "Pull
//! prefetch").
//!
//! What keeps it safe: the prefetched request is the one the stored state will ask for once the
//! page before it is applied (the cursor that page returned, for each space still to pull), and
//! its answer is used only if the stored state, once that page is in, asks exactly that. A page
//! whose apply fails, a sync that ends, a cursor reset by a decision or a force, a space added
//! or a cursor dropped meanwhile: the prefetched answer is thrown away, and the pull asks again
//! from what is stored. At most one pull request is in flight at a time: an answer nobody wants
//! any more is waited for (and dropped) before the next pull goes out, so an answer can never
//! be taken for another request's.

use crate::core::sync::failure::Failure;
use crate::protocol::{PullResponse, SpaceCursor, SpacesPullResponse};

/// What a pull request asked for.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Asked {
    /// `GET /v1/pull` after this cursor.
    Page(Option<String>),
    /// `POST /v1/pull` for these spaces, in this order.
    Spaces(Vec<SpaceCursor>),
}

/// The answer to a pull request.
#[derive(Debug)]
pub(super) enum Landed<D> {
    Page(Result<PullResponse<D>, Failure>),
    Spaces(Result<SpacesPullResponse<D>, Failure>),
}

/// A pull request sent while the page before it is applied.
#[derive(Debug)]
pub(super) struct Prefetch<D> {
    pub asked: Asked,
    pub sent_at: f64,
    /// Its answer and when it came, once it came.
    pub landed: Option<(Landed<D>, f64)>,
}

/// The spaces to ask for after `answer` (to the request `asked`) is applied: every space asked
/// for from the cursor its page returned, except those whose page ended them; a space the
/// answer left out is asked again from where it was.
pub(super) fn next_spaces<D>(asked: &[SpaceCursor], answer: &SpacesPullResponse<D>) -> Vec<SpaceCursor> {
    asked
        .iter()
        .filter_map(|a| match answer.spaces.iter().find(|p| p.space == a.space) {
            Some(page) if page.has_more => {
                Some(SpaceCursor { space: a.space.clone(), cursor: Some(page.cursor.clone()) })
            }
            Some(_) => None,
            None => Some(a.clone()),
        })
        .collect()
}
