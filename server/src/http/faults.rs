//! Fault injection (`--latency-ms`, `--throttle-rate`, `--fail-rate`, `--drop-rate`), only
//! routed when `--enable-faults` is given.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use super::error::Error;
use super::AppState;

/// Put in each request's extensions by the connection loop: notifying it closes the connection
/// without an answer.
#[derive(Clone)]
pub struct ConnectionKill(pub Arc<Notify>);

fn roll(rate: f64) -> bool {
    rate >= 1.0 || (rate > 0.0 && fastrand::f64() < rate)
}

pub async fn inject(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let faults = &state.config.faults;
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if roll(faults.throttle_rate) {
        return Error::RateLimited { retry_after_secs: faults.retry_after_secs }.into_response();
    }
    if roll(faults.fail_rate) {
        return Error::InjectedFault.into_response();
    }
    let kill = if roll(faults.drop_rate) { req.extensions().get::<ConnectionKill>().cloned() } else { None };
    let response = next.run(req).await;
    if let Some(ConnectionKill(kill)) = kill {
        tracing::debug!("dropping the connection (injected)");
        kill.notify_one();
        // The connection task drops this request with its connection.
        std::future::pending::<()>().await;
    }
    response
}
