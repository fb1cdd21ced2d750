//! Shared request state and the router that ties the handlers together.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::HeaderValue;
use axum::routing::{get, post};
use axum::Router;
use tower_http::services::ServeDir;
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

use crate::config::Config;
use crate::limit::{Limiter, DEFAULT_MAX_KEYS};
use crate::retention::Retention;
use crate::store::Store;
use crate::{rights, routes};

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    /// `None`: any syntactically valid siteId is accepted.
    pub site_ids: Option<Arc<HashSet<String>>>,
    /// Normalised origins allowed to call `/v1/batch` and `/v1/rights/*` cross-origin.
    pub allowed_origins: Arc<[String]>,
    pub test_api: bool,
    pub static_dir: Option<PathBuf>,
    pub csp: HeaderValue,
    /// Batches per site id; `None` when unlimited.
    pub site_limiter: Option<Arc<Limiter<String>>>,
    /// Batches per device (client IP address); `None` when unlimited.
    pub device_limiter: Option<Arc<Limiter<IpAddr>>>,
    /// Take the device address from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// Held while a batch, an erasure or the retention job writes, so
    /// writers take turns in arrival order.
    pub write_turn: Arc<tokio::sync::Mutex<()>>,
    /// How long events are kept, per purpose.
    pub retention: Arc<Retention>,
}

impl AppState {
    /// State for `config`, storing into `store`.
    pub fn new(config: &Config, store: Arc<Store>) -> Self {
        Self {
            store,
            site_ids: (!config.site_ids.is_empty()).then(|| Arc::new(config.site_ids.iter().cloned().collect())),
            allowed_origins: config.allowed_origins.clone().into(),
            test_api: config.test_api,
            static_dir: config.static_dir.clone(),
            // Config::resolve has already checked that the CSP is a valid header value.
            csp: HeaderValue::from_str(&config.csp)
                .unwrap_or_else(|_| HeaderValue::from_static(crate::config::DEFAULT_CSP)),
            site_limiter: config.rate_per_site.map(|rate| Arc::new(Limiter::new(rate, DEFAULT_MAX_KEYS))),
            device_limiter: config.rate_per_device.map(|rate| Arc::new(Limiter::new(rate, DEFAULT_MAX_KEYS))),
            trust_forwarded_for: config.trust_forwarded_for,
            write_turn: Arc::default(),
            retention: Arc::new(config.retention.clone()),
        }
    }
}

/// Builds the collector's router: `/v1/batch`, `/v1/rights/{export,erase}`,
/// `/healthz`, the test API when enabled, and the static files (with CSP)
/// when a directory is set.
pub fn build_app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/v1/batch", post(routes::post_batch).options(routes::preflight))
        .route("/v1/rights/export", post(rights::post_export).options(routes::preflight))
        .route("/v1/rights/erase", post(rights::post_erase).options(routes::preflight))
        .route("/healthz", get(routes::healthz));

    if state.test_api {
        router = router
            .route("/__test/events", get(routes::test_events).delete(routes::test_clear))
            .route("/__test/receipts", get(routes::test_receipts))
            .route("/__test/devices", get(routes::test_devices))
            .route("/__test/suppressed", get(routes::test_suppressed))
            .route("/__test/retention", post(routes::test_retention));
    }

    if let Some(dir) = &state.static_dir {
        let files = ServeDir::new(dir);
        let files = SetResponseHeader::overriding(files, CONTENT_SECURITY_POLICY, state.csp.clone());
        let files = SetResponseHeader::overriding(files, REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        router = router.fallback_service(files);
    }

    router
        .layer(SetResponseHeaderLayer::if_not_present(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .with_state(state)
}
