//! The HTTP API: one file per resource, one error type, the extractors, and the router.

pub mod error;
pub mod extractor;
pub mod faults;
pub mod health;
pub mod openapi;
pub mod pull;
pub mod push;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware;
use axum::routing::{any, get, post};
use axum::Router;
use tokio::sync::Semaphore;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use ferrysync::protocol::{HEALTH_PATH, OPENAPI_PATH, PULL_PATH, PUSH_PATH};

use crate::config::Config;
use crate::store::Store;

/// What every handler may use. Nothing in it is state that matters between requests: the
/// configuration, a handle on the storage, and a counter of requests in flight.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub in_flight: Arc<Semaphore>,
}

impl AppState {
    pub fn new(config: Config, store: Arc<dyn Store>) -> AppState {
        let in_flight = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
        AppState { config: Arc::new(config), store, in_flight }
    }
}

/// CORS for every origin: browser tests and demos are served from another port. Tokens travel
/// in the Authorization header (no cookies), so a wildcard origin is safe.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

pub fn router(state: AppState) -> Router {
    // Faults (and their latency) count as time in flight, so load shedding wraps them.
    let inject = middleware::from_fn_with_state(state.clone(), faults::inject);
    let shed = middleware::from_fn_with_state(state.clone(), faults::shed);
    let mut app = Router::new()
        .route(PUSH_PATH, post(push::push).route_layer(inject.clone()).route_layer(shed.clone()))
        .route(PULL_PATH, get(pull::pull).route_layer(inject.clone()).route_layer(shed))
        .route(HEALTH_PATH, get(health::health).route_layer(inject))
        .route(OPENAPI_PATH, get(openapi::document))
        .route("/v1", any(error::not_found))
        .route("/v1/{*rest}", any(error::not_found))
        .method_not_allowed_fallback(error::method_not_allowed);
    app = match &state.config.static_dir {
        Some(dir) => app.fallback_service(
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
                .service(ServeDir::new(dir).append_index_html_on_directories(true)),
        ),
        None => app.fallback(error::not_found),
    };
    app.layer(middleware::from_fn(log_request))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(cors())
        .with_state(state)
}

async fn log_request(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = std::time::Instant::now();
    let response = next.run(req).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), elapsed_ms = start.elapsed().as_millis() as u64);
    response
}
