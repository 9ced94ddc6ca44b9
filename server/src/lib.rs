//! The reference sync server of ferrysync.
//!
//! `POST /v1/push` applies a batch of mutations, `GET /v1/pull` pages through a tenant's
//! changes, `GET /v1/health` answers probes, `GET /v1/openapi.json` describes it all. The wire
//! types are `ferrysync::protocol`; the rules are written down in docs/protocol.md.
//!
//! [`start`] runs the server inside the current tokio runtime, so tests can start it on port 0.

pub mod config;
pub mod http;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

pub use config::Config;
use http::faults::ConnectionKill;
use store::sqlite::{Location, SqliteStore};
use store::Store;

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    Storage(store::StoreError),
    Listen(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
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
    task: Option<JoinHandle<()>>,
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
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Opens the storage, binds the listener, and serves in a background task.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    let location = config.location();
    let store = SqliteStore::open(location.clone()).await.map_err(StartError::Storage)?;
    start_with_store(config, Arc::new(store)).await
}

/// Like [`start`], over a given store.
pub async fn start_with_store(config: Config, store: Arc<dyn Store>) -> Result<RunningServer, StartError> {
    let listener = TcpListener::bind(config.listen).await.map_err(StartError::Listen)?;
    let addr = listener.local_addr().map_err(StartError::Listen)?;
    if config.tokens.is_dev_default() {
        tracing::warn!("no --tokens given: the development token \"dev-token\" (tenant \"dev\") is accepted");
    }
    if let Location::Memory = config.location() {
        tracing::info!("no --db given: data is kept in memory and lost at exit");
    }
    if config.faults.any() {
        tracing::warn!(faults = ?config.faults, "fault injection is on");
    }
    let app = http::router(http::AppState::new(config, store));
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, app, stopped));
    Ok(RunningServer { addr, stop, task: Some(task) })
}

async fn accept_loop(listener: TcpListener, app: Router, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, app.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped.changed() => break,
        }
    }
    connections.shutdown().await;
}

/// Serves one HTTP/1.1 connection; a request may close it without an answer (`--drop-rate`).
async fn serve_connection(stream: TcpStream, app: Router) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let killer = kill.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectionKill(killer.clone()));
        app.clone().oneshot(req.map(Body::new))
    });
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = kill.notified() => {}
    }
}
