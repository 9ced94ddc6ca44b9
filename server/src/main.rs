use std::io::IsTerminal;

use clap::Parser;
use ferrysync_server::Config;
use tracing_subscriber::filter::LevelFilter;

#[tokio::main]
async fn main() {
    let level = match std::env::var("FERRYSYNC_LOG").as_deref() {
        Ok("error") => LevelFilter::ERROR,
        Ok("warn") => LevelFilter::WARN,
        Ok("debug") => LevelFilter::DEBUG,
        Ok("trace") => LevelFilter::TRACE,
        Ok("off") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();

    let config = Config::parse();
    let server = match ferrysync_server::start(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("ferrysync-server: {e}");
            std::process::exit(1);
        }
    };
    // One line on stdout with the real address (useful with --listen 127.0.0.1:0).
    println!("listening on {}", server.url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
    tracing::info!("shutting down");
    server.shutdown().await;
}
