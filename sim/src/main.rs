//! `ferrysync-sim`: replay one seed with its trace, or soak many.
//!
//!     ferrysync-sim --seed 1234 --trace       one seed, every step printed
//!     ferrysync-sim --seeds 100000 [--from N] [--threads T]   many seeds; failures listed

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
    let count = value("--seeds").unwrap_or(1000);
    let first = value("--from").unwrap_or(0);
    let threads = value("--threads")
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
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
