//! The reference sync server of ferrysync.
//!
//! `POST /v1/push` applies a batch of mutations, `GET /v1/pull` pages through a tenant's
//! changes, `/v1/blobs/…` uploads and serves the files records refer to (their bytes in an
//! object store, [`blobs`]), `GET /v1/health` answers probes, `GET /v1/openapi.json` describes it all. The wire
//! types are `ferrysync::protocol`; the rules are written down in docs/protocol.md, and how to
//! run the server in docs/server.md.
//!
//! [`start`] runs the server inside the current tokio runtime, so tests can start it on port 0.

// A panic must unwind, so that it fails one request (500) and not the whole server.
#[cfg(panic = "abort")]
compile_error!("ferrysync-server must be built with unwinding panics (no panic = \"abort\" in its profile)");

pub mod auth;
pub mod blobs;
pub mod config;
pub mod http;
pub mod net;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use auth::Authenticator;
pub use config::Config;
use config::Database;
use store::postgres::PostgresStore;
use store::sqlite::{Location, SqliteStore};
use store::Store;

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// The options contradict each other or miss something (the message says what).
    Config(String),
    Storage(store::StoreError),
    Listen(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(e) => f.write_str(e),
            StartError::Storage(e) => write!(f, "cannot open the database: {e}"),
            StartError::Listen(e) => write!(f, "cannot listen: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A server accepting connections on [`RunningServer::addr`] until shut down (or dropped).
pub struct RunningServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes every connection, and waits for that.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Opens the database the configuration names.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartError> {
    Ok(match config.database() {
        Database::Sqlite(location) => {
            if let Location::Memory = location {
                tracing::info!("no --db or --database given: data is kept in memory and lost at exit");
            }
            Arc::new(SqliteStore::open_with(location, config.sqlite_synchronous).await.map_err(StartError::Storage)?)
        }
        Database::Postgres(url) => Arc::new(PostgresStore::open(&url).await.map_err(StartError::Storage)?),
    })
}

/// Checks the options, opens the storage, binds the listener, and serves in a background task.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    config.check().map_err(StartError::Config)?;
    let store = open_store(&config).await?;
    start_with_store(config, store).await
}

/// Like [`start`], over a given store.
pub async fn start_with_store(config: Config, store: Arc<dyn Store>) -> Result<RunningServer, StartError> {
    config.check().map_err(StartError::Config)?;
    let auth = Authenticator::from_options(&config.auth).map_err(StartError::Config)?;
    let listener = TcpListener::bind(config.listen).await.map_err(StartError::Listen)?;
    let addr = listener.local_addr().map_err(StartError::Listen)?;
    if let Some(tokens) = &config.auth.dev_tokens {
        tracing::warn!(?tokens, "--dev-tokens: static development tokens are accepted; not for production");
    }
    if config.enable_faults {
        tracing::warn!(faults = ?config.faults, "--enable-faults: FAULT INJECTION IS ON; requests will fail on purpose");
    }
    let blobs = http::open_blobs(&config).map_err(StartError::Config)?;
    let limits = config.limits.clone();
    let retention = limits.answer_retention;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    if !retention.is_zero() {
        tasks.push(tokio::spawn(prune_loop(store.clone(), retention, stopped.clone())));
    }
    let state = http::AppState::with_auth(config, store, auth, blobs);
    tasks.push(tokio::spawn(blobs::gc::collect_loop(state.clone(), stopped.clone())));
    let app = http::router(state);
    tasks.push(tokio::spawn(net::accept_loop(listener, app, limits, stopped)));
    Ok(RunningServer { addr, stop, tasks })
}

/// Deletes stored answers older than `retention`, every tenth of it (between 1 s and 1 h).
async fn prune_loop(store: Arc<dyn Store>, retention: Duration, mut stopped: watch::Receiver<bool>) {
    let every = (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
        let before = store::now_ms().saturating_sub(retention.as_millis() as u64);
        match store.prune(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(answers = n, "pruned stored answers past their retention"),
            Err(e) => tracing::warn!(error = %e, "pruning stored answers failed; trying again later"),
        }
    }
}
