//! The HTTP API: one file per resource, one error type, the extractors, and the router.

pub mod blobs;
pub mod error;
pub mod extractor;
pub mod faults;
pub mod health;
pub mod openapi;
pub mod pull;
pub mod push;
pub mod slots;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware;
use axum::routing::{any, get, patch, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use ferrysync::protocol::{HEALTH_PATH, OPENAPI_PATH, PULL_PATH, PUSH_PATH};

use crate::blobs::BlobObjects;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::store::Store;
use error::Error;
use slots::Slots;

/// What every handler may use. Nothing in it is state that matters between requests: the
/// configuration, a handle on the storage and on the blobs' bytes, the authenticator, and the
/// in-flight counters.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    /// The blobs' bytes (their metadata is in `store`).
    pub blobs: BlobObjects,
    pub slots: Arc<Slots>,
    pub auth: Arc<Authenticator>,
    /// The server's clock (ms since the epoch): answers carry it, and versions are stamped no
    /// later than it. The wall clock, unless a caller without HTTP (the simulation) brings its own.
    pub clock: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl AppState {
    /// A state whose authenticator knows only the configuration's development tokens (it reads
    /// no key file), and whose blobs are where the configuration says ([`open_blobs`]): for
    /// callers of [`push::apply`], [`pull::page`], [`pull::spaces`], [`blobs::status`],
    /// [`blobs::append`], [`blobs::read`] and [`crate::blobs::gc::collect`] without HTTP.
    ///
    /// # Panics
    ///
    /// When the blob directory cannot be created (never with `--memory`).
    pub fn new(config: Config, store: Arc<dyn Store>) -> AppState {
        let auth = Authenticator::dev_only(&config.auth);
        let blobs = open_blobs(&config).unwrap_or_else(|e| panic!("{e}"));
        AppState::with_auth(config, store, auth, blobs)
    }

    pub fn with_auth(config: Config, store: Arc<dyn Store>, auth: Authenticator, blobs: BlobObjects) -> AppState {
        let slots = Slots::new(config.limits.max_in_flight, config.limits.max_in_flight_per_tenant);
        AppState {
            config: Arc::new(config),
            store,
            blobs,
            slots: Arc::new(slots),
            auth: Arc::new(auth),
            clock: Arc::new(crate::store::now_ms),
        }
    }
}

/// The blobs' object store the configuration names: `--blob-store` (S3), `--blob-dir` (or the
/// default beside the SQLite file), else memory.
pub fn open_blobs(config: &Config) -> Result<BlobObjects, String> {
    if let Some(url) = &config.blob_store {
        let options = crate::blobs::s3::S3Options {
            url: url.clone(),
            endpoint: config.s3_endpoint.clone(),
            region: config.s3_region.clone(),
        };
        return crate::blobs::s3::open(&options);
    }
    match config.blob_dir() {
        Some(dir) => BlobObjects::local(&dir),
        None => Ok(BlobObjects::in_memory()),
    }
}

/// CORS for every origin: browser tests and demos are served from another port. Tokens travel
/// in the Authorization header (no cookies), so a wildcard origin is safe.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::RANGE])
        .expose_headers([header::RETRY_AFTER, header::CONTENT_RANGE, header::ETAG, header::ACCEPT_RANGES])
        .max_age(Duration::from_secs(600))
}

pub fn router(state: AppState) -> Router {
    let mut api = Router::new()
        .route(PUSH_PATH, post(push::push))
        .route(PULL_PATH, get(pull::pull).post(pull::pull_spaces))
        .route(HEALTH_PATH, get(health::health))
        .route("/v1/blobs/{hash}", get(blobs::get_blob))
        .route("/v1/blobs/{hash}/upload", get(blobs::get_status).merge(patch(blobs::patch_upload)));
    if state.config.enable_faults {
        api = api.route_layer(middleware::from_fn_with_state(state.clone(), faults::inject));
    }
    let mut app = api
        .route(OPENAPI_PATH, get(openapi::document))
        .route("/v1", any(error::not_found))
        .route("/v1/{*rest}", any(error::not_found))
        .method_not_allowed_fallback(error::method_not_allowed);
    app = match &state.config.static_dir {
        Some(dir) => app.fallback_service(
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
                .service(
                    ServeDir::new(dir)
                        .append_index_html_on_directories(true)
                        .call_fallback_on_method_not_allowed(true)
                        .fallback(axum::handler::HandlerWithoutStateExt::into_service(static_miss)),
                ),
        ),
        None => app.fallback(error::not_found),
    };
    let max_uri = state.config.limits.max_uri_bytes;
    app.layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn(move |req: axum::extract::Request, next: middleware::Next| {
            refuse_long_uri(max_uri, req, next)
        }))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(cors())
        .with_state(state)
}

/// The JSON 404 or 405 of static files.
async fn static_miss(method: Method) -> Error {
    if method == Method::GET || method == Method::HEAD {
        Error::NotFound
    } else {
        Error::MethodNotAllowed
    }
}

/// 414 for a request target over `--max-uri-bytes` (before routing, so no handler sees it).
async fn refuse_long_uri(max: usize, req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > max {
        return axum::response::IntoResponse::into_response(Error::UriTooLong { limit: max });
    }
    next.run(req).await
}

async fn log_request(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = std::time::Instant::now();
    let response = next.run(req).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), elapsed_ms = start.elapsed().as_millis() as u64);
    response
}
