//! `ferrysync-sim`: replay one seed with its trace, or soak many.
//!
//!     ferrysync-sim --seed 1234 --trace       one seed, every step printed
//!     ferrysync-sim --seeds 100000 [--from N] [--threads T]   many seeds; failures listed
//!     ferrysync-sim --order-seed N --order K [--trace]        one plan of the order check, one order
//!     ferrysync-sim --order-seeds 10000 [--from N] [--threads T]   many plans, 4 orders each

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| -> Option<u64> {
        let at = args.iter().position(|a| a == name)?;
        let text = args.get(at + 1)?;
        match text.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                eprintln!("{name} takes a whole number, got {text:?}");
                std::process::exit(2);
            }
        }
    };
    if args.iter().any(|a| a == "--help" || a == "-h") || args.is_empty() {
        println!("usage: ferrysync-sim --seed N [--trace] | --seeds COUNT [--from N] [--threads T]");
        println!(
            "       ferrysync-sim --order-seed N --order K [--trace] | --order-seeds COUNT [--from N] [--threads T]"
        );
        return ExitCode::SUCCESS;
    }
    if let Some(seed) = value("--seed") {
        let outcome = ferrysync_sim::run(seed, args.iter().any(|a| a == "--trace"));
        for line in &outcome.trace {
            println!("{line}");
        }
        println!("seed {seed}: {} steps", outcome.steps);
        if outcome.problems.is_empty() {
            println!("ok");
            return ExitCode::SUCCESS;
        }
        for p in &outcome.problems {
            println!("FAIL: {p}");
        }
        return ExitCode::FAILURE;
    }
    let first = value("--from").unwrap_or(0);
    let threads = value("--threads")
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    if let Some(seed) = value("--order-seed") {
        let order = value("--order").unwrap_or(0);
        let played =
            ferrysync_sim::order::play(&ferrysync_sim::order::plan(seed), order, args.iter().any(|a| a == "--trace"));
        for line in &played.trace {
            println!("{line}");
        }
        println!("plan {seed}, order {order}: the server ends with {:?}", played.server);
        for p in &played.problems {
            println!("FAIL: {p}");
        }
        return if played.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    if let Some(count) = value("--order-seeds") {
        let started = std::time::Instant::now();
        let failed = ferrysync_sim::order_many(first, count, 4, threads);
        println!("{count} plans from {first} in {:.1} s: {} failed", started.elapsed().as_secs_f64(), failed.len());
        for (seed, problems) in failed.iter().take(20) {
            println!("plan {seed}: {}", problems[0]);
        }
        return if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let count = value("--seeds").unwrap_or(1000);
    let started = std::time::Instant::now();
    let (failed, stats) = ferrysync_sim::run_many(first, count, threads);
    println!("{count} seeds from {first} in {:.1} s: {} failed", started.elapsed().as_secs_f64(), failed.len());
    println!("exercised: {stats:?}");
    for outcome in failed.iter().take(20) {
        println!("seed {}: {}", outcome.seed, outcome.problems[0]);
        println!("  replay: {}", ferrysync_sim::replay_command(outcome.seed));
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
