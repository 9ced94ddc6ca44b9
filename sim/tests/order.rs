//! The order check over many plans, in the normal test run: for last-write-wins and a merge
//! falling back to it, the data the server ends with is the same whatever order the clients
//! synced in (`src/order.rs`).

/// Plans run by `cargo test`, each in `ORDERS` orders; `FERRYSYNC_ORDER_PLANS` runs more.
const PLANS: u64 = 300;
const ORDERS: u64 = 4;

#[test]
fn the_final_data_does_not_depend_on_the_order_of_syncs() {
    let count = std::env::var("FERRYSYNC_ORDER_PLANS").ok().and_then(|s| s.parse().ok()).unwrap_or(PLANS);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let failed = ferrysync_sim::order_many(0, count, ORDERS, threads);
    let report: Vec<String> =
        failed.iter().take(10).map(|(seed, problems)| format!("plan {seed}: {}", problems.join("\n  "))).collect();
    assert!(failed.is_empty(), "{} of {count} plans failed:\n{}", failed.len(), report.join("\n"));
}

#[test]
fn plans_write_the_same_records_from_several_clients() {
    // The check means something only if clients write the same records while offline.
    let shared = (0..100)
        .filter(|seed| {
            let plan = ferrysync_sim::order::plan(*seed);
            plan.writes.iter().any(|a| {
                plan.writes.iter().any(|b| a.client != b.client && a.collection == b.collection && a.id == b.id)
            })
        })
        .count();
    assert!(shared > 50, "only {shared} of 100 plans have two clients writing one record");
}
