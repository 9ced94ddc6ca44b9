//! The users: each client's next action drawn from the seed (a write, a sync asked for, a
//! conflict decided, going offline or online, a tab killed or reopened), and the record data its
//! writes carry.

use ferrysync::core::sync::engine::{Event, Waiter};
use ferrysync::core::sync::rules::force::{Force, Scope};
use ferrysync::core::sync::storage::Choice;
use ferrysync::core::write::Intent;

use crate::client::TabRef;
use crate::data::{Data, PATCH_FIELDS};
use ferrysync::core::sync::storage::SyncStorage;

use crate::storage::{ready, StorageOp};
use crate::world::{Action, World, COLLECTIONS, SPACES, SPACE_FIELD};

impl World {
    pub(crate) fn user(&mut self, client: usize) {
        if self.clients[client].user_actions_left == 0 || !self.faults {
            return;
        }
        self.clients[client].user_actions_left -= 1;
        let next = self.rng.range(10, 2_500);
        self.schedule(next, Action::User(client));
        let alive = self.alive_tabs(client);
        let roll = self.rng.below(100);
        let Some(&tab) = self.rng.pick(&alive) else {
            // Every tab of this client is closed: open one again.
            return self.start_tab(client, 0);
        };
        let at = self.tab_ref(client, tab);
        match roll {
            0..=57 => self.user_write(at),
            58..=59 if self.shape.by_space => self.force_pull_spaces(at),
            58..=59 => self.user_write(at),
            60..=67 => {
                let w = self.next_waiter;
                self.next_waiter += 1;
                self.note(|| format!("client {client} tab {tab}: syncNow"));
                self.feed(at, Event::SyncAsked { waiter: Some(Waiter(w)) });
            }
            68..=69 => {
                let w = self.next_waiter;
                self.next_waiter += 1;
                let scope = if self.rng.chance(50) {
                    Scope::All
                } else {
                    Scope::Only(vec![self.rng.pick(&COLLECTIONS).unwrap_or(&COLLECTIONS[0]).to_string()])
                };
                let force = match self.rng.below(4) {
                    0 => Force::Push(scope),
                    1 => Force::Pull { scope, keep_local: true },
                    2 => Force::Pull { scope, keep_local: false },
                    _ => {
                        let collection = self.rng.pick(&COLLECTIONS).unwrap_or(&COLLECTIONS[0]).to_string();
                        let discard_pending = self.rng.chance(50);
                        self.note(|| format!("client {client} tab {tab}: wipe {collection} discard {discard_pending}"));
                        self.stats.wipes += 1;
                        if discard_pending {
                            self.history.may_discard(client, &collection);
                        }
                        self.feed(at, Event::WipeAsked { collection, discard_pending, waiter: Waiter(w) });
                        return;
                    }
                };
                self.note(|| format!("client {client} tab {tab}: {force:?}"));
                self.stats.forces += 1;
                self.feed(at, Event::ForceAsked { force, waiter: Waiter(w) });
            }
            70..=73 => {
                // A change the server rejected: sent again (as the record is now), or dropped.
                let dead = ready(self.clients[client].store.dead_letters()).unwrap_or_default();
                if let Some(d) = self.rng.pick(&dead) {
                    let (collection, id) = (d.entry.collection.clone(), d.entry.record_id.clone());
                    let op = if self.rng.chance(50) {
                        StorageOp::Retry { tab: at, collection, id }
                    } else {
                        StorageOp::Discard { tab: at, collection, id }
                    };
                    self.clients[client].storage.push_back(op);
                }
            }
            74..=77 => {
                let rows = self.clients[client].store.conflict_rows();
                if let Some(row) = self.rng.pick(&rows) {
                    let choice = if self.rng.chance(50) { Choice::Local } else { Choice::Server };
                    let op =
                        StorageOp::Resolve { tab: at, collection: row.collection.clone(), id: row.id.clone(), choice };
                    self.clients[client].storage.push_back(op);
                }
            }
            78..=85 => {
                let offline = !self.clients[client].offline;
                self.set_offline(client, offline);
            }
            86..=92 => self.kill_tab(client, tab),
            _ => {
                // Reopen a closed tab, if there is one.
                if let Some(closed) = (0..self.clients[client].tabs.len()).find(|t| !alive.contains(t)) {
                    self.start_tab(client, closed);
                } else if self.rng.chance(40) && self.shape.by_space {
                    self.space_change(at);
                } else {
                    self.user_write(at);
                }
            }
        }
    }

    fn user_write(&mut self, at: TabRef) {
        let collection = if self.rng.chance(80) { COLLECTIONS[0] } else { COLLECTIONS[1] };
        self.write(at, collection, None);
    }

    /// A write to `collection`; a note written goes to space `into` if given (moved there by a
    /// patch too), else to a space drawn, or none (a patch mostly leaves it where it is).
    fn write(&mut self, at: TabRef, collection: &'static str, into: Option<&str>) {
        let id = format!("r{}", self.rng.below(self.shape.ids as u64));
        let c = &mut self.clients[at.client];
        c.counter += 1;
        let token = format!("c{}w{}", at.client, c.counter);
        let n = c.counter;
        // Few values of the unique field, so that clients clash on them.
        let unique = format!("u{}", self.rng.below(3));
        let (intent, data) = match self.rng.below(100) {
            0..=2 => (Intent::Put, Some(Data::oversized(&token, n))),
            3..=14 => (Intent::Create, Some(Data::record_with_unique(&token, n, &unique))),
            15..=24 => (Intent::Create, Some(Data::record(&token, n))),
            25..=44 => (Intent::Put, Some(Data::record(&token, n))),
            45..=54 => (Intent::Update, Some(Data::unique_patch(&token, &unique))),
            55..=69 => (Intent::Update, Some(Data::patch(self.rng.pick(&PATCH_FIELDS).unwrap_or(&"a"), &token))),
            70..=79 => (Intent::Replace, Some(Data::record(&token, n))),
            _ => (Intent::Delete, None),
        };
        // Some whole records hold a file, from a small pool that clients share, or the client's
        // own.
        let data = match data {
            Some(d) if matches!(intent, Intent::Create | Intent::Put | Intent::Replace) && self.rng.chance(20) => {
                let i = self.rng.below(self.pool.blobs.len() as u64 + 1) as usize;
                self.stats.blob_writes += 1;
                let blob = self.pool.blobs.get(i).map_or_else(|| self.pool.own(at.client), |(b, _)| b);
                Some(d.with_blob("file", &blob.clone()))
            }
            other => other,
        };
        // Notes carry a space (or none); a patch sometimes moves one to another.
        let data = match data {
            Some(d)
                if collection == COLLECTIONS[1]
                    && (into.is_some() || intent != Intent::Update || self.rng.chance(25)) =>
            {
                let space = match into {
                    Some(space) => Some(space),
                    None => {
                        self.rng.pick(&[None, Some(SPACES[0]), Some(SPACES[1]), Some(SPACES[2])]).copied().flatten()
                    }
                };
                Some(d.with_field(SPACE_FIELD, space))
            }
            other => other,
        };
        self.clients[at.client].storage.push_back(StorageOp::Write { tab: at, collection, id, intent, data });
    }

    /// A force pull of some spaces (`forcePull({ spaces })`), keeping queued changes or not:
    /// mostly spaces this client syncs, often right after a write of a note into one of them
    /// (before it is pushed: a user resetting a space they just made a mess of, so that the
    /// force has queued changes to drop or keep, some of them moving a note in from elsewhere);
    /// sometimes a space it does not sync, or none, which is refused.
    fn force_pull_spaces(&mut self, at: TabRef) {
        let synced: Vec<String> = self.clients[at.client].store.space_cursors().into_keys().collect();
        let mut spaces = Vec::new();
        match self.rng.below(20) {
            // None at all.
            0 => {}
            // One it may not sync.
            1 => spaces.push(self.rng.pick(&SPACES).copied().unwrap_or(SPACES[0]).to_string()),
            _ => {
                let first = self.rng.pick(&synced).cloned();
                for space in &synced {
                    if first.as_ref() == Some(space) || self.rng.chance(30) {
                        spaces.push(space.clone());
                    }
                }
                if let Some(space) = self.rng.pick(&spaces).cloned().filter(|_| self.rng.chance(60)) {
                    self.write(at, COLLECTIONS[1], Some(&space));
                }
            }
        }
        let force = Force::PullSpaces { spaces, keep_local: self.rng.chance(50) };
        let w = self.next_waiter;
        self.next_waiter += 1;
        self.note(|| format!("client {} tab {}: {force:?}", at.client, at.tab));
        self.stats.space_forces += 1;
        self.feed(at, Event::ForceAsked { force, waiter: Waiter(w) });
    }

    /// A space added (pulled from its start) or removed (refused with queued changes, unless
    /// they are discarded).
    fn space_change(&mut self, at: TabRef) {
        let client = at.client;
        let space = self.rng.pick(&SPACES).copied().unwrap_or(SPACES[0]);
        let synced = self.clients[client].store.space_cursors().contains_key(space);
        self.stats.space_changes += 1;
        if !synced {
            self.note(|| format!("client {client} tab {}: add space {space}", at.tab));
            let _ = ready(self.clients[client].store.add_space(space));
            self.feed(at, Event::SyncAsked { waiter: None });
            return;
        }
        let discard_pending = self.rng.chance(50);
        self.note(|| format!("client {client} tab {}: remove space {space} discard {discard_pending}", at.tab));
        if discard_pending {
            self.history.may_discard(client, COLLECTIONS[1]);
        }
        let w = self.next_waiter;
        self.next_waiter += 1;
        self.feed(at, Event::SpaceRemoveAsked { space: space.to_string(), discard_pending, waiter: Waiter(w) });
    }

    pub(crate) fn set_offline(&mut self, client: usize, offline: bool) {
        self.clients[client].offline = offline;
        self.stats.offline_periods += u64::from(offline);
        self.note(|| format!("client {client}: {}", if offline { "offline" } else { "online" }));
        for tab in self.alive_tabs(client) {
            let at = self.tab_ref(client, tab);
            self.feed(at, if offline { Event::Offline } else { Event::Online });
        }
    }
}
