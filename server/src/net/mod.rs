//! Connections: accepting up to `--max-connections`, and serving each over HTTP/1.1 with the
//! head limit and timeouts of [`crate::config::Limits`].

pub mod canned;
pub mod io;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::Limits;
use crate::http::faults::ConnectionKill;
use io::{GuardedIo, Watch};

/// Accepts until `stopped` changes. Past the connection cap, accepting waits (new connections
/// wait in the listen queue) until a connection closes.
pub async fn accept_loop(listener: TcpListener, app: Router, limits: Limits, mut stopped: watch::Receiver<bool>) {
    let cap = Arc::new(Semaphore::new(limits.max_connections));
    let limits = Arc::new(limits);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            permit = cap.clone().acquire_owned() => {
                let Ok(permit) = permit else { break };
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            let (app, limits) = (app.clone(), limits.clone());
                            connections.spawn(async move {
                                serve_connection(stream, app, &limits).await;
                                drop(permit);
                            });
                        }
                        Err(e) => {
                            // Out of file descriptors and the like: wait a little instead of spinning.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                    _ = stopped.changed() => break,
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped.changed() => break,
        }
    }
    connections.shutdown().await;
}

/// Serves one HTTP/1.1 connection; a request may close it without an answer (`--drop-rate`).
async fn serve_connection(stream: TcpStream, app: Router, limits: &Limits) {
    let _ = stream.set_nodelay(true);
    let stream = Arc::new(stream);
    let watch = Arc::new(Watch::default());
    let kill = Arc::new(Notify::new());
    let killer = kill.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectionKill(killer.clone()));
        app.clone().oneshot(req.map(Body::new))
    });
    let io = GuardedIo::new(stream.clone(), watch.clone(), limits.send_timeout);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes)
        .serve_connection(TokioIo::new(io), service);
    tokio::select! {
        result = connection => {
            if let Err(e) = result {
                if e.is_timeout() && watch.started.load(Ordering::Relaxed) {
                    answer_timeout(&stream).await;
                }
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = kill.notified() => {}
    }
}

/// Writes the 408 of a head that did not arrive in time, giving up after a second.
async fn answer_timeout(stream: &TcpStream) {
    let bytes = canned::request_timeout();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut written = 0;
        while written < bytes.len() {
            if stream.writable().await.is_err() {
                return;
            }
            match stream.try_write(&bytes[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return,
            }
        }
    })
    .await;
}
