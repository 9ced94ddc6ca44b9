//! A deterministic simulation of ferrysync's whole sync system, native and seeded: several
//! clients, each the real engine (`ferrysync::core::sync::engine`) over the in-memory store, some
//! with two tabs sharing one store and the sync lock, against one server that is the reference
//! server's own push and pull code over SQLite in memory. A seed fixes every choice: the shape of
//! the run, the users' writes, the interleaving, the faults, the clocks.
//!
//! `cargo test -p ferrysync-sim` runs thousands of seeds; `ferrysync-sim --seed N --trace`
//! replays one and prints what happened, step by step (see README.md).

pub mod blobs;
pub mod checks;
mod client;
pub mod data;
mod network;
pub mod order;
pub mod rng;
pub mod server;
mod storage;
mod trace;
mod user;
pub mod world;

/// What one seed did.
pub struct Outcome {
    pub seed: u64,
    /// Every broken rule; empty when the run is correct.
    pub problems: Vec<String>,
    /// The steps, when asked for.
    pub trace: Vec<String>,
    /// Steps taken.
    pub steps: u64,
    pub stats: world::Stats,
}

/// The command that replays `seed` and prints its trace.
pub fn replay_command(seed: u64) -> String {
    format!("cargo run -p ferrysync-sim --release -- --seed {seed} --trace")
}

/// Runs one seed: the chaos (users, faults, killed tabs, offline periods), then the quiesce (no
/// faults, everyone syncs until nothing changes), then the checks.
pub fn run(seed: u64, trace: bool) -> Outcome {
    let mut world = world::World::new(seed, trace);
    world.run_chaos(100_000);
    let mut problems = Vec::new();
    if !world.quiesce(40) {
        problems.push("the clients did not converge within 40 quiet rounds".to_string());
    }
    problems.extend(checks::check(&world));
    Outcome {
        seed,
        problems,
        steps: world.tick,
        stats: world.stats.clone(),
        trace: world.trace.take().unwrap_or_default(),
    }
}

/// Calls `work` with each seed of `first..first + count`, on `threads` threads.
fn each_seed(first: u64, count: u64, threads: usize, work: impl Fn(u64) + Sync) {
    let next = std::sync::atomic::AtomicU64::new(first);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seed >= first + count {
                    break;
                }
                work(seed);
            });
        }
    });
}

/// Plays `count` plans of the order check from `first` on `threads` threads, each in `orders`
/// sync orders: the failing plans, with what broke.
pub fn order_many(first: u64, count: u64, orders: u64, threads: usize) -> Vec<(u64, Vec<String>)> {
    let failed = std::sync::Mutex::new(Vec::new());
    each_seed(first, count, threads, |seed| {
        let problems = order::check_plan(seed, orders);
        if !problems.is_empty() {
            failed.lock().unwrap_or_else(|e| e.into_inner()).push((seed, problems));
        }
    });
    let mut failed = failed.into_inner().unwrap_or_else(|e| e.into_inner());
    failed.sort_by_key(|(seed, _)| *seed);
    failed
}

/// Runs `count` seeds from `first` on `threads` threads: the failing outcomes, by seed, and what
/// all the runs exercised.
pub fn run_many(first: u64, count: u64, threads: usize) -> (Vec<Outcome>, world::Stats) {
    let failed = std::sync::Mutex::new(Vec::new());
    let total = std::sync::Mutex::new(world::Stats::default());
    each_seed(first, count, threads, |seed| {
        let outcome = run(seed, false);
        total.lock().unwrap_or_else(|e| e.into_inner()).add(&outcome.stats);
        if !outcome.problems.is_empty() {
            failed.lock().unwrap_or_else(|e| e.into_inner()).push(outcome);
        }
    });
    let mut failed = failed.into_inner().unwrap_or_else(|e| e.into_inner());
    failed.sort_by_key(|o| o.seed);
    (failed, total.into_inner().unwrap_or_else(|e| e.into_inner()))
}
