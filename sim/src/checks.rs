//! What every run must end with, once it is quiet:
//!
//! - every client's visible records equal the server's;
//! - no mutation id was applied twice (the server answers every repeat of an id as it answered
//!   it first; see `server.rs`);
//! - every write a client's caller saw succeed reached the server (it may have been superseded
//!   since), or was dropped by what may drop one: a decision for the server's side (by the user,
//!   or the quiesce rule), a resolution the client's sync log records by a strategy that may drop
//!   a local value (server-wins, a merge falling back to the server, the app's resolver choosing
//!   the server), a force pull or a wipe told to drop queued changes (a force pull by space: only
//!   those of the records that were in its spaces). Nothing is replaced
//!   silently, and being held in a conflict excuses nothing: a conflict settled by a strategy
//!   that keeps local values must keep them;
//! - no outbox entry, conflict or dead letter is left, and every tab's status says so;
//! - no cursor went backwards (watched after every transaction, in `storage.rs`).

use std::collections::BTreeMap;

use ferrysync::core::sync::storage::Choice;
use uuid::Uuid;

use crate::world::World;

/// One write a caller saw succeed.
#[derive(Debug, Clone)]
struct Wrote {
    /// The token of the data written; `None` for a delete.
    token: Option<String>,
    /// A create deleted before it was ever sent: nothing to send.
    cancelled: bool,
    tick: u64,
}

type Record = (usize, String, String);

#[derive(Debug, Default)]
pub struct History {
    /// The last write of each (client, collection, id): earlier ones are superseded by it.
    last_writes: BTreeMap<Record, Wrote>,
    resolutions: BTreeMap<Record, Vec<(Choice, u64)>>,
    /// Resolutions the sync log says replaced the local version (by a strategy), by tick.
    replaced: BTreeMap<Record, Vec<u64>>,
    /// Dead letters a user (or the quiesce) discarded, with the record's later changes, by tick.
    discarded: BTreeMap<Record, Vec<u64>>,
    /// Force pulls that dropped a client's queued changes of a collection, by tick.
    dropped: BTreeMap<(usize, String), Vec<u64>>,
    /// Force pulls by space that dropped a record's queued changes (it was in their spaces), by
    /// tick.
    force_dropped: BTreeMap<Record, Vec<u64>>,
    /// Force pushes of a client's queued changes of a collection, by tick.
    forced: BTreeMap<(usize, String), Vec<u64>>,
    /// Collections a client wiped: it may lack records of them that the server has.
    wiped: std::collections::BTreeSet<(usize, String)>,
    /// Collections a client asked to wipe with `discardPending`: only such a wipe may drop
    /// queued changes.
    pub may_discard: std::collections::BTreeSet<(usize, String)>,
    /// When each mutation id first left its client, and which client.
    pub sent: BTreeMap<Uuid, (usize, u64)>,
}

impl History {
    pub fn wrote(
        &mut self,
        client: usize,
        collection: &str,
        id: &str,
        token: Option<String>,
        cancelled: bool,
        tick: u64,
    ) {
        self.last_writes.insert((client, collection.into(), id.into()), Wrote { token, cancelled, tick });
    }

    pub fn discarded(&mut self, client: usize, collection: &str, id: &str, tick: u64) {
        self.discarded.entry((client, collection.into(), id.into())).or_default().push(tick);
    }

    pub fn may_discard(&mut self, client: usize, collection: &str) {
        self.may_discard.insert((client, collection.into()));
    }

    pub fn wiped(&mut self, client: usize, collection: &str) {
        self.wiped.insert((client, collection.into()));
    }

    pub fn forced(&mut self, client: usize, collection: &str, tick: u64) {
        self.forced.entry((client, collection.into())).or_default().push(tick);
    }

    pub fn force_dropped(&mut self, client: usize, collection: &str, id: &str, tick: u64) {
        self.force_dropped.entry((client, collection.into(), id.into())).or_default().push(tick);
    }

    pub fn dropped(&mut self, client: usize, collection: &str, tick: u64) {
        self.dropped.entry((client, collection.into())).or_default().push(tick);
    }

    pub fn replaced(&mut self, client: usize, collection: &str, id: &str, tick: u64) {
        self.replaced.entry((client, collection.into(), id.into())).or_default().push(tick);
    }

    pub fn resolved(&mut self, client: usize, collection: &str, id: &str, choice: Choice, tick: u64) {
        self.resolutions.entry((client, collection.into(), id.into())).or_default().push((choice, tick));
    }
}

/// Every way `world`, quiet, breaks the rules above.
pub fn check(world: &World) -> Vec<String> {
    let mut problems = world.violations.clone();
    problems.extend(world.server.violations.iter().cloned());
    let server = world.server.live_records();
    for client in 0..world.client_count() {
        let store = world.store(client);
        let here: BTreeMap<(String, String), _> =
            store.live_records().into_iter().map(|(c, i, d)| ((c, i), d)).collect();
        // A wiped collection's records do not come back by themselves: the client may lack some
        // of the server's, but what it has must be the server's.
        let wiped = |k: &(String, String)| world.history.wiped.contains(&(client, k.0.clone()));
        // Only the spaces it syncs (and what belongs to none).
        let spaces = store.space_cursors();
        let synced = |k: &(String, String), d: &crate::data::Data| {
            store.space_in(&k.0, d).is_none_or(|s| spaces.contains_key(&s))
        };
        let server: BTreeMap<(String, String), _> = server
            .iter()
            .filter(|(k, d)| synced(k, d))
            .filter(|(k, _)| here.contains_key(*k) || !wiped(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if here != server {
            problems.push(format!("client {client}'s records differ from the server's: {here:?} vs {server:?}"));
        }
        if !store.outbox().is_empty() {
            problems.push(format!("client {client} still has {} queued changes", store.outbox().len()));
        }
        if !store.conflict_rows().is_empty() {
            problems.push(format!("client {client} still has {} conflicts", store.conflict_rows().len()));
        }
        for status in world.statuses(client) {
            if status.syncing || status.pending != 0 || status.conflicts != 0 || status.failed != 0 {
                problems.push(format!("client {client}: a quiet tab shows {status:?}"));
            }
            if let Some(e) = &status.last_error {
                problems.push(format!("client {client}: the last sync failed: {e}"));
            }
        }
    }
    problems.extend(lost_writes(world));
    problems.extend(crate::blobs::check(world));
    problems
}

/// Writes that are in none of the places they may be.
fn lost_writes(world: &World) -> Vec<String> {
    let h = &world.history;
    let applied = &world.server.applied;
    let mut lost = Vec::new();
    for ((client, collection, id), w) in &h.last_writes {
        let key = (*client, collection.clone(), id.clone());
        let same_record = |a: &&crate::server::Applied| &a.collection == collection && &a.id == id;
        let on_server = match &w.token {
            Some(token) => {
                applied.iter().filter(same_record).any(|a| a.tokens.as_ref().is_some_and(|t| t.contains(token)))
            }
            None => {
                w.cancelled
                    || applied.iter().filter(same_record).any(|a| {
                        a.tokens.is_none()
                            && h.sent.get(&a.mutation_id).is_some_and(|(c, t)| c == client && *t >= w.tick)
                    })
            }
        };
        // A force push after the write makes the server take it: only what settled the write away
        // before the force (a decision, a strategy) or a force pull dropping it excuses its
        // absence.
        // (A rejected change stays rejected whatever a force push says, and the record's changes
        // queued behind it wait with it.)
        let mine = format!("c{client}w");
        let rejected = world
            .server
            .rejected
            .iter()
            .any(|(c, i, tokens)| c == collection && i == id && tokens.iter().any(|t| t.starts_with(&mine)));
        let force = h
            .forced
            .get(&(*client, collection.clone()))
            .and_then(|list| list.iter().copied().filter(|t| *t >= w.tick).min())
            .filter(|_| !rejected);
        let after_write = |t: u64| t >= w.tick && force.is_none_or(|f| t < f);
        // A decision for the server's side after the write drops it, as asked.
        let decided = h
            .resolutions
            .get(&key)
            .is_some_and(|list| list.iter().any(|(choice, t)| *choice == Choice::Server && after_write(*t)));
        // A rejected change stays rejected whatever a force push says: dropping it is the user's.
        let logged = h.replaced.get(&key).is_some_and(|list| list.iter().any(|t| after_write(*t)))
            || h.discarded.get(&key).is_some_and(|list| list.iter().any(|t| *t >= w.tick))
            || h.force_dropped.get(&key).is_some_and(|list| list.iter().any(|t| *t >= w.tick))
            || h.dropped.get(&(*client, collection.clone())).is_some_and(|list| list.iter().any(|t| *t >= w.tick));
        if !on_server && !decided && !logged {
            lost.push(format!(
                "client {client}'s last write of {collection}/{id} ({}) is lost: never on the server, and nothing that may drop it did",
                w.token.as_deref().unwrap_or("a delete")
            ));
        }
    }
    lost
}
