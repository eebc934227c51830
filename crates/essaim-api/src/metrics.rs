//! Prometheus `/metrics`: what the process counted (HTTP latency by route, solver runs, sends by the
//! dispatcher) through the `metrics` facade, and what the database holds at scrape time (queued messages
//! per platform, campaigns per status), which only the database can count when several replicas share it.
//!
//! The recorder is the process's global one, installed when the first router is built; the text is
//! rendered from its handle in an axum route (no second listener). Access: open, or behind its own bearer
//! token when `api.metrics_sha256` is set (see the README, « Metrics »).

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use essaim_store::Store;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::ApiError;

/// Seconds from a request's arrival to its response, by `route` (the route template, e.g.
/// `/tenders/{reference}/status`, or `unmatched`: never the raw path), `method` and `status`.
pub const HTTP_DURATION: &str = "essaim_http_request_duration_seconds";
/// Messages waiting in the outbox, by `platform`.
pub const OUTBOX_PENDING: &str = "essaim_outbox_pending";
/// Age in seconds of the oldest waiting message, by `platform` (0 when none waits).
pub const OUTBOX_OLDEST_AGE: &str = "essaim_outbox_oldest_pending_age_seconds";
/// Campaigns by `state`.
pub const CAMPAIGNS: &str = "essaim_campaigns";

const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
const SOLVER_BUCKETS: [f64; 11] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The process's recorder handle; installs the recorder on first call.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = buckets().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "metrics: histogram buckets refused; durations as summaries");
            PrometheusBuilder::new()
        });
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Refused only when a recorder is already installed (by a program embedding this crate): ours then
        // renders nothing recorded through the facade, and says so once.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("metrics: another recorder is installed; /metrics shows only the database gauges");
        }
        handle
    })
}

fn buckets() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &LATENCY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full("essaim_solver_duration_seconds".to_owned()), &SOLVER_BUCKETS)
}

/// Around every API route: its latency under its route template.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

#[derive(Clone)]
struct MetricsState {
    store: Store,
    token_sha256: Option<String>,
}

/// `GET /metrics`, to merge beside [`crate::router`]: open when `token_sha256` is `None`, else it asks for
/// `Authorization: Bearer TOKEN` whose SHA-256 (hex) is `token_sha256`.
pub fn metrics_router(store: Store, token_sha256: Option<String>) -> axum::Router {
    handle();
    axum::Router::new()
        .route("/metrics", get(scrape))
        .with_state(MetricsState { store, token_sha256: token_sha256.map(|t| t.to_ascii_lowercase()) })
}

async fn scrape(State(state): State<MetricsState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(expected) = &state.token_sha256 {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| crate::hash_token(t.trim()));
        let allowed = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())));
        if !allowed {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "/metrics asks for its bearer token (api.metrics_sha256)",
            ));
        }
    }
    let unavailable = |e: essaim_store::StoreError| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database", format!("the database did not answer: {e}"))
    };
    let now = Utc::now();
    let pending = state.store.outbox_pending_by_platform().await.map_err(unavailable)?;
    let campaigns = state.store.campaigns_by_status().await.map_err(unavailable)?;
    // A platform or state seen once stays at 0 rather than vanishing, so that a queue that empties shows.
    static PLATFORMS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    static STATES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    if let Ok(mut seen) = PLATFORMS.lock() {
        seen.extend(["discord", "email", "telegram"].map(str::to_owned));
        seen.extend(pending.iter().map(|p| p.0.clone()));
        for platform in seen.iter() {
            let row = pending.iter().find(|p| &p.0 == platform);
            let count = row.map_or(0, |r| r.1);
            let age = row.map_or(0.0, |r| (now - r.2).num_milliseconds().max(0) as f64 / 1000.0);
            metrics::gauge!(OUTBOX_PENDING, "platform" => platform.clone()).set(count as f64);
            metrics::gauge!(OUTBOX_OLDEST_AGE, "platform" => platform.clone()).set(age);
        }
    }
    if let Ok(mut seen) = STATES.lock() {
        seen.extend(campaigns.iter().map(|c| c.0.clone()));
        for status in seen.iter() {
            let count = campaigns.iter().find(|c| &c.0 == status).map_or(0, |c| c.1);
            metrics::gauge!(CAMPAIGNS, "state" => status.clone()).set(count as f64);
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle().render()).into_response())
}
