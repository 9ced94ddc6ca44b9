//! The order check: for the strategies that decide by the data, the final data depends only on
//! the writes and their times, never on the order in which the clients synced.
//!
//! A plan (drawn from a seed) gives each client offline writes to the same records, at times far
//! apart on the server's clock. The plan is then played several times, each time with the
//! clients syncing in another order drawn from an order seed (one after the other or all at
//! once, with or without faults), and every play must end with the same data on the server:
//!
//! - `items` is last-write-wins for every client: each record ends as the newest write left it
//!   (the writer's own record, its earlier writes included), whoever synced first;
//! - `notes` is a merge with a last-write-wins fallback, with at most two clients writing each
//!   record: fields changed on one side merge, a field both changed goes to the newer write.
//!   With three or more writers of one field the merge compares whole versions' times, and the
//!   result may depend on the order (docs/sync.md says so), so plans never draw that.
//!
//! No conflict may be left for a person (the times never tie), and every play must pass the
//! simulation's own checks (`checks.rs`).

use std::collections::BTreeMap;

use ferrysync::core::sync::conflict::merge::Fallback;
use ferrysync::core::sync::conflict::strategy::Strategy;
use ferrysync::core::sync::engine::{Event, Waiter};
use ferrysync::core::write::Intent;

use crate::data::{Data, PATCH_FIELDS};
use crate::rng::Rng;
use crate::storage::StorageOp;
use crate::world::{World, COLLECTIONS};

/// What every client declares, per collection of `COLLECTIONS`.
pub const ORDER_STRATEGIES: [Strategy; 2] = [Strategy::LastWriteWins, Strategy::Merge(Fallback::LastWriteWins)];

/// Time between two planned writes: far more than a measured clock offset can be off by.
const WRITE_GAP_MS: u64 = 10_000;

/// Records every client has before the offline writes; `r2` is created offline.
const BASE_IDS: [&str; 2] = ["r0", "r1"];
const IDS: [&str; 3] = ["r0", "r1", "r2"];

#[derive(Debug, Clone)]
pub enum Planned {
    /// A patch of one field.
    Patch(&'static str),
    /// A whole record: an update of the whole, or a create where the record is missing.
    Whole,
    Delete,
}

#[derive(Debug, Clone)]
pub struct PlannedWrite {
    pub client: usize,
    pub collection: &'static str,
    pub id: &'static str,
    pub write: Planned,
}

/// Offline writes of `clients` clients, in the order of their times.
#[derive(Debug, Clone)]
pub struct Plan {
    pub clients: usize,
    pub writes: Vec<PlannedWrite>,
}

/// The plan a seed draws.
pub fn plan(seed: u64) -> Plan {
    let mut rng = Rng::new(seed ^ 0x006f_7264_6572);
    let clients = rng.range(2, 4) as usize;
    // The two clients that may write each merged record.
    let writers: Vec<[usize; 2]> = IDS
        .iter()
        .map(|_| {
            let first = rng.below(clients as u64) as usize;
            let second = (first + 1 + rng.below(clients as u64 - 1) as usize) % clients;
            [first, second]
        })
        .collect();
    let count = rng.range(4, 12);
    let writes = (0..count)
        .map(|_| {
            let collection = *rng.pick(&COLLECTIONS).unwrap_or(&COLLECTIONS[0]);
            let at = rng.below(IDS.len() as u64) as usize;
            let client = if collection == COLLECTIONS[1] {
                writers[at][rng.below(2) as usize]
            } else {
                rng.below(clients as u64) as usize
            };
            let write = match rng.below(10) {
                0..=3 => Planned::Patch(rng.pick(&PATCH_FIELDS).unwrap_or(&"a")),
                4..=6 => Planned::Whole,
                _ => Planned::Delete,
            };
            PlannedWrite { client, collection, id: IDS[at], write }
        })
        .collect();
    Plan { clients, writes }
}

/// Records by (collection, id).
pub type Records = BTreeMap<(String, String), Data>;

/// What one play of a plan ended with.
pub struct Play {
    /// The server's records at the end.
    pub server: Records,
    /// What the last-write-wins records must be: the newest writer's record as it was after its
    /// writes (`None`: deleted).
    pub newest: BTreeMap<(String, String), Option<Data>>,
    pub problems: Vec<String>,
    pub trace: Vec<String>,
}

/// Plays `plan` with the clients syncing in the order `order_seed` draws.
pub fn play(plan: &Plan, order_seed: u64, trace: bool) -> Play {
    let mut world = World::scripted(order_seed, trace, ORDER_STRATEGIES);
    world.faults = false;
    // Every client starts with the base records, created by client 0 and pulled by the others.
    for collection in COLLECTIONS {
        for id in BASE_IDS {
            let data = Data(serde_json::json!({ "a": "base", "b": "base" }));
            write(&mut world, 0, collection, id, Intent::Create, Some(data));
        }
    }
    let mut problems = Vec::new();
    if !world.quiesce(10) {
        problems.push("the base records did not reach every client".to_string());
    }
    for client in 0..plan.clients.min(world.client_count()) {
        world.set_offline(client, true);
    }
    // Who wrote each record, oldest first.
    let mut newest: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (n, w) in plan.writes.iter().enumerate() {
        if w.client >= world.client_count() {
            continue;
        }
        world.now += WRITE_GAP_MS;
        let exists = world.store(w.client).live_records().iter().any(|(c, i, _)| c == w.collection && i == w.id);
        let token = format!("c{}w{}", w.client, 1_000 + n);
        let (intent, data) = match (&w.write, exists) {
            (Planned::Patch(field), true) => (Intent::Update, Some(Data::patch(field, &token))),
            (Planned::Delete, true) => (Intent::Delete, None),
            // A whole record, or a record missing here (never synced, or deleted here) created.
            _ => (Intent::Put, Some(Data::record(&token, n as u64))),
        };
        write(&mut world, w.client, w.collection, w.id, intent, data);
        newest.entry((w.collection.to_string(), w.id.to_string())).or_default().push(w.client);
    }
    // The last-write-wins records as their newest writers left them. A record created and
    // deleted here before it was ever sent was never written, as far as the others know.
    let newest: BTreeMap<(String, String), Option<Data>> = newest
        .into_iter()
        .filter(|((collection, _), _)| collection == COLLECTIONS[0])
        .filter_map(|((collection, id), writers)| {
            let left = |client: usize| {
                let here = world.store(client).live_records();
                here.into_iter().find(|(c, i, _)| *c == collection && *i == id).map(|(.., d)| d)
            };
            let cancelled = |client: usize| !BASE_IDS.contains(&id.as_str()) && left(client).is_none();
            let client = writers.into_iter().rev().find(|c| !cancelled(*c))?;
            Some(((collection.clone(), id.clone()), left(client)))
        })
        .collect();
    sync_in_order(&mut world, order_seed);
    if !world.quiesce(40) {
        problems.push("the clients did not converge within 40 quiet rounds".to_string());
    }
    if world.stats.conflicts_resolved > 0 {
        problems.push(format!("{} conflicts were left for a person", world.stats.conflicts_resolved));
    }
    problems.extend(crate::checks::check(&world));
    let server = world.server.live_records();
    for (key, expected) in &newest {
        if server.get(key) != expected.as_ref() {
            problems.push(format!(
                "last-write-wins: {}/{} is {:?} on the server, but the newest write left {:?}",
                key.0,
                key.1,
                server.get(key),
                expected
            ));
        }
    }
    Play { server, newest, problems, trace: world.trace.take().unwrap_or_default() }
}

/// One write by `client`'s first tab, run at once.
fn write(world: &mut World, client: usize, collection: &'static str, id: &str, intent: Intent, data: Option<Data>) {
    let tab = world.alive_tabs(client)[0];
    let at = world.tab_ref(client, tab);
    world.clients[client].storage.push_back(StorageOp::Write { tab: at, collection, id: id.into(), intent, data });
    while !world.clients[client].storage.is_empty() {
        world.run_storage(client);
    }
}

/// The clients come online in an order the seed draws: one after the other (each syncs until it
/// is idle before the next comes online) or all at once, with faults or without.
fn sync_in_order(world: &mut World, order_seed: u64) {
    let mut rng = Rng::new(order_seed ^ 0x7379_6e63);
    let mut order: Vec<usize> = (0..world.client_count()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let one_by_one = rng.chance(50);
    let faults = rng.chance(50);
    world.faults = faults;
    world.note(|| format!("order: {order:?}, one by one {one_by_one}, faults {faults}"));
    for client in order {
        world.set_offline(client, false);
        let tab = world.alive_tabs(client)[0];
        let at = world.tab_ref(client, tab);
        let w = world.next_waiter;
        world.next_waiter += 1;
        world.feed(at, Event::SyncAsked { waiter: Some(Waiter(w)) });
        if one_by_one {
            run_until_idle(world);
        }
    }
    run_until_idle(world);
}

fn run_until_idle(world: &mut World) {
    let mut steps = 0;
    while steps < 100_000 && world.step(true) {
        steps += 1;
    }
}

/// Plays plan `seed` in `orders` orders: every broken rule, and any difference between the
/// plays' final data.
pub fn check_plan(seed: u64, orders: u64) -> Vec<String> {
    let plan = plan(seed);
    let mut problems = Vec::new();
    let mut first: Option<(u64, Records)> = None;
    for order in 0..orders {
        let played = play(&plan, order, false);
        let replay = replay_command(seed, order);
        problems.extend(played.problems.into_iter().map(|p| format!("order {order}: {p}\n  replay: {replay}")));
        match &first {
            None => first = Some((order, played.server)),
            Some((o, server)) if *server != played.server => problems.push(format!(
                "order {order} ended with other data than order {o}: {:?} vs {server:?}\n  replay: {replay}",
                played.server
            )),
            Some(_) => {}
        }
    }
    problems
}

/// The command that replays plan `seed` in order `order`, with its trace.
pub fn replay_command(seed: u64, order: u64) -> String {
    format!("cargo run -p ferrysync-sim --release -- --order-seed {seed} --order {order} --trace")
}
