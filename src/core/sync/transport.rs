//! How the engine's requests reach a server. Implementations: HTTP to a ferrysync protocol
//! server and a JS object with `push`/`pull` (both in `crate::web::transport`), and
//! [`InProcess`], which calls a server living in the same process (native tests and tools).

use crate::protocol::{Mutation, PullResponse, PushResponse, SpacesPullRequest, SpacesPullResponse};

use super::failure::Failure;

#[allow(async_fn_in_trait)] // Futures stay on one thread (the browser's, or a test's).
pub trait Transport<D> {
    /// Sends one batch; the answer has one result per mutation it covers.
    async fn push(&self, mutations: &[Mutation<D>]) -> Result<PushResponse<D>, Failure>;

    /// The page of changes after `cursor` (`None`: from the start).
    async fn pull(&self, cursor: Option<&str>, limit: u32) -> Result<PullResponse<D>, Failure>;

    /// Pages of several spaces, each after its own cursor (`POST /v1/pull`).
    async fn pull_spaces(&self, request: &SpacesPullRequest) -> Result<SpacesPullResponse<D>, Failure> {
        let _ = request;
        Err(Failure::BadAnswer("this transport does not pull by space".into()))
    }

    /// Whether the server answers.
    async fn probe(&self) -> Result<(), Failure>;
}

/// A server in the same process, as two functions (and a probe that always answers).
pub struct InProcess<P, L> {
    pub push: P,
    pub pull: L,
}

impl<D, P, L> Transport<D> for InProcess<P, L>
where
    P: Fn(&[Mutation<D>]) -> Result<PushResponse<D>, Failure>,
    L: Fn(Option<&str>, u32) -> Result<PullResponse<D>, Failure>,
{
    async fn push(&self, mutations: &[Mutation<D>]) -> Result<PushResponse<D>, Failure> {
        (self.push)(mutations)
    }

    async fn pull(&self, cursor: Option<&str>, limit: u32) -> Result<PullResponse<D>, Failure> {
        (self.pull)(cursor, limit)
    }

    async fn probe(&self) -> Result<(), Failure> {
        Ok(())
    }
}
