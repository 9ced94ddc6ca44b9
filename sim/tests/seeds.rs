//! The simulation over many seeds, in the normal test run. A failure prints the seeds that broke
//! a rule, what they broke, and the command that replays one with its trace.

/// Seeds run by `cargo test`; `FERRYSYNC_SIM_SEEDS` runs more (or fewer).
const SEEDS: u64 = 2_000;

#[test]
fn every_seed_converges_without_losing_or_doubling_anything() {
    let count = std::env::var("FERRYSYNC_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(SEEDS);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = std::time::Instant::now();
    let (failed, stats) = ferrysync_sim::run_many(0, count, threads);
    eprintln!("{count} seeds in {:.1} s on {threads} threads; exercised {stats:?}", started.elapsed().as_secs_f64());
    // The seeds reach what they are for: conflicts decided, every fault, killed tabs.
    assert!(stats.conflicts_resolved > count / 10, "{stats:?}");
    // Strategies (each client draws its own per collection) settle conflicts by themselves.
    assert!(stats.auto_resolved > count / 2, "{stats:?}");
    // Forces, wipes, rejected changes retried or dropped, batches refused as too large.
    assert!(stats.forces > count / 2 && stats.wipes > count / 10, "{stats:?}");
    // Force pulls by space, some refused (a space not synced here, or none), some dropping
    // queued changes, some sweeping records the server no longer has there.
    assert!(stats.space_forces > count / 2 && stats.space_forces_refused > count / 50, "{stats:?}");
    assert!(stats.space_forces_dropping > count / 50 && stats.space_swept > count / 50, "{stats:?}");
    assert!(stats.dead_letter_decisions > count / 5 && stats.batches_refused > count / 20, "{stats:?}");
    assert!(stats.faults.iter().all(|n| *n > count / 20), "{stats:?}");
    assert!(stats.tabs_killed > count / 20 && stats.offline_periods > count / 10, "{stats:?}");
    // Values a unique index already holds: local writes refused, pulled versions clashing.
    assert!(stats.unique_refused > count / 10 && stats.clashes > count / 50, "{stats:?}");
    // Pages asked for while the one before was applied, and pulled pages whose transaction
    // aborted (throwing the page ahead away, or not: it may not have been asked yet).
    assert!(stats.pages_ahead > count / 2 && stats.pages_failed > count / 20, "{stats:?}");
    // Pages written in slices, the cursor stored with the last.
    assert!(stats.slices > count / 2, "{stats:?}");
    // Batches sent while the answer before them was applied (a pipelined push), some of them
    // meeting a fault meanwhile (their answer lost, a 500, a slow answer).
    assert!(stats.batches_ahead > count / 2 && stats.batches_cut > count / 20, "{stats:?}");
    let report: Vec<String> = failed
        .iter()
        .take(10)
        .map(|o| {
            format!("seed {}: {}\n  replay: {}", o.seed, o.problems.join("\n  "), ferrysync_sim::replay_command(o.seed))
        })
        .collect();
    assert!(failed.is_empty(), "{} of {count} seeds failed:\n{}", failed.len(), report.join("\n"));
}

#[test]
fn a_seed_replays_the_same_run() {
    let a = ferrysync_sim::run(42, true);
    let b = ferrysync_sim::run(42, true);
    assert_eq!(a.trace, b.trace);
    assert!(a.steps > 100, "a run does something: {} steps", a.steps);
}
