//! HTTP handlers: `/v1/batch`, the CORS preflight, `/healthz` and the
//! optional `/__test/*` API, and the request plumbing `/v1/rights/*` shares.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{ALLOW, CONTENT_ENCODING, CONTENT_LENGTH};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use flate2::read::GzDecoder;
use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::json;

use crate::app::AppState;
use crate::error::ApiError;
use crate::limit::retry_after_secs;
use crate::origin::{self, OriginCheck};
use crate::purge_job;
use crate::retention::Retention;
use crate::store::InsertOutcome;
use crate::validate::{self, Rejection, ValidationError};

/// Largest accepted request body, on the wire and after decompression: 512 KiB.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// The `200` answer to `POST /v1/batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReply {
    /// Events that were new and are now stored.
    pub accepted: usize,
    /// Valid events whose id was already stored.
    pub duplicates: usize,
    /// Valid events not stored because their device was erased.
    pub suppressed: usize,
    /// Events that broke a rule, in body order; always present.
    pub rejected: Vec<Rejection>,
}

/// `POST /v1/batch`.
pub async fn post_batch(State(state): State<AppState>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let (origin, device) = match caller(&parts, &state) {
        Ok(caller) => caller,
        Err(denied) => return denied.into_response(),
    };
    let mut response = match ingest(&state, &parts.headers, device, body, started).await {
        Ok(reply) => Json(reply).into_response(),
        Err(e) => e.into_response(),
    };
    origin.apply(response.headers_mut());
    response
}

async fn ingest(
    state: &AppState,
    headers: &HeaderMap,
    device: Option<IpAddr>,
    body: Body,
    started: std::time::Instant,
) -> Result<BatchReply, ApiError> {
    // The clock of the rate limits: tokio's, so tests can pause it.
    let now = tokio::time::Instant::now();
    if let (Some(limiter), Some(ip)) = (&state.device_limiter, device) {
        limiter.check(&ip, now).map_err(|wait| ApiError::RateLimited { retry_after: retry_after_secs(wait) })?;
    }
    let gzip = is_gzip(headers)?;
    let wire = read_limited(headers, body, MAX_BODY_BYTES).await?;
    let bytes = wire.len();

    // Decompressing, parsing and storing are CPU and disk work: off the executor.
    let mut batch = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let body = if gzip { gunzip(&wire, MAX_BODY_BYTES)? } else { wire };
        Ok(validate::parse_batch(&body)?)
    })
    .await??;
    if let Some(allowed) = &state.site_ids {
        if !allowed.contains(&batch.site_id) {
            return Err(ApiError::UnknownSite(batch.site_id));
        }
    }
    if let Some(limiter) = &state.site_limiter {
        limiter
            .check(&batch.site_id, now)
            .map_err(|wait| ApiError::RateLimited { retry_after: retry_after_secs(wait) })?;
    }
    let received_at = now_millis();
    Retention::reject_from_the_future(&mut batch, received_at);
    state.retention.reject_expired(&mut batch, received_at);
    let rejected = std::mem::take(&mut batch.rejected);
    let site_id = batch.site_id.clone();
    let outcome = if batch.events.is_empty() {
        InsertOutcome::default()
    } else {
        // Writers queue in arrival order (tokio's mutex is fair), so a burst
        // of batches is committed first come, first served.
        let _turn = state.write_turn.lock().await;
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || store.insert_batch(&batch, received_at)).await??
    };
    let reply = BatchReply {
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
        suppressed: outcome.suppressed,
        rejected,
    };

    tracing::info!(
        site_id,
        accepted = reply.accepted,
        duplicates = reply.duplicates,
        suppressed = reply.suppressed,
        rejected = reply.rejected.len(),
        bytes,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "batch"
    );
    Ok(reply)
}

/// The address rate limits are counted against: the socket peer, or with
/// `trust_forwarded_for` the last `X-Forwarded-For` entry (the one the
/// nearest proxy appended), falling back to the peer.
/// Who is calling, checked before the body is read: the origin (refused here, or applied to the
/// answer) and the device's address (its rate bucket).
pub(crate) fn caller(
    parts: &axum::http::request::Parts,
    state: &AppState,
) -> Result<(OriginCheck, Option<IpAddr>), ApiError> {
    let origin = origin::check(&parts.headers, &state.allowed_origins);
    if let OriginCheck::Denied(o) = origin {
        return Err(ApiError::OriginNotAllowed(o));
    }
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    Ok((origin, device_ip(&parts.headers, peer, state.trust_forwarded_for)))
}

pub(crate) fn device_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer
}

/// `true` for `Content-Encoding: gzip`, `false` for none or `identity`.
pub(crate) fn is_gzip(headers: &HeaderMap) -> Result<bool, ApiError> {
    let mut values = headers.get_all(CONTENT_ENCODING).iter();
    let Some(value) = values.next() else {
        return Ok(false);
    };
    let text = String::from_utf8_lossy(value.as_bytes()).trim().to_ascii_lowercase();
    match text.as_str() {
        _ if values.next().is_some() => Err(ApiError::UnsupportedEncoding(format!("{text}, …"))),
        "identity" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        _ => Err(ApiError::UnsupportedEncoding(text)),
    }
}

/// Decompresses a gzip body, giving up as soon as the output passes
/// `limit` bytes, so a small bomb never expands in memory.
pub(crate) fn gunzip(compressed: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit + 1));
    GzDecoder::new(compressed)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadGzip(e.to_string()))?;
    if out.len() > limit {
        return Err(ApiError::TooLargeDecompressed { limit });
    }
    Ok(out)
}

/// Reads the whole body, refusing it as soon as it passes `limit` bytes
/// (or up front, when `Content-Length` already says so).
pub(crate) async fn read_limited(headers: &HeaderMap, mut body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge { limit });
    }
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::BodyRead(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(ApiError::TooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// `OPTIONS /v1/batch` and `/v1/rights/*`: the CORS preflight.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let origin = origin::check(&headers, &state.allowed_origins);
    if let OriginCheck::Denied(o) = origin {
        return ApiError::OriginNotAllowed(o).into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    origin.apply_preflight(response.headers_mut());
    response
}

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /__test/events`: every stored event, in receipt order.
pub async fn test_events(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let events = tokio::task::spawn_blocking(move || store.events()).await??;
    Ok(Json(json!({ "events": events })).into_response())
}

/// `GET /__test/receipts`: every stored consent receipt.
pub async fn test_receipts(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let receipts = tokio::task::spawn_blocking(move || store.receipts()).await??;
    Ok(Json(json!({ "receipts": receipts })).into_response())
}

/// `GET /__test/devices`: every pid filed under a device key.
pub async fn test_devices(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let devices = tokio::task::spawn_blocking(move || store.devices()).await??;
    Ok(Json(json!({ "devices": devices })).into_response())
}

/// `GET /__test/suppressed`: every suppression entry.
pub async fn test_suppressed(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let suppressed = tokio::task::spawn_blocking(move || store.suppressions()).await??;
    Ok(Json(json!({ "suppressed": suppressed })).into_response())
}

/// `POST /__test/retention?now=<ms>`: runs the retention job as if the
/// clock said `now` (default: the real time) and answers what it deleted.
pub async fn test_retention(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let now = match uri.query().into_iter().flat_map(|q| q.split('&')).find_map(|kv| kv.strip_prefix("now=")) {
        None => now_millis(),
        Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| ValidationError::InvalidField {
            field: "now".to_owned(),
            message: format!("expected milliseconds since the Unix epoch, found {text:?}"),
        })?,
    };
    let counts = purge_job::run_once(&state, now).await?;
    Ok(Json(counts).into_response())
}

/// `DELETE /__test/events`: forget everything stored.
pub async fn test_clear(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.clear()).await??;
    Ok(StatusCode::NO_CONTENT)
}

/// The collector's clock, ms since the Unix epoch.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
