//! HTTP handlers: `/v1/batch`, `/healthz` and the optional `/__test/*` API.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{ALLOW, CONTENT_LENGTH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::BodyExt;
use serde_json::json;

use crate::app::AppState;
use crate::error::ApiError;
use crate::origin::{self, OriginCheck};
use crate::validate;

/// Largest accepted request body: 512 KiB.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// `POST /v1/batch`.
pub async fn post_batch(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let origin = origin::check(&headers, &state.allowed_origins);
    if let OriginCheck::Denied(o) = origin {
        return ApiError::OriginNotAllowed(o).into_response();
    }
    let mut response = match ingest(&state, &headers, body).await {
        Ok(outcome) => Json(outcome).into_response(),
        Err(e) => e.into_response(),
    };
    origin.apply(response.headers_mut());
    response
}

async fn ingest(state: &AppState, headers: &HeaderMap, body: Body) -> Result<crate::store::InsertOutcome, ApiError> {
    let bytes = read_limited(headers, body, MAX_BODY_BYTES).await?;
    let batch = validate::parse_batch(&bytes)?;
    if let Some(allowed) = &state.site_ids {
        if !allowed.contains(&batch.site_id) {
            return Err(ApiError::UnknownSite(batch.site_id));
        }
    }

    let received_at = now_millis();
    let store = state.store.clone();
    let site_id = batch.site_id.clone();
    let outcome = tokio::task::spawn_blocking(move || store.insert_batch(&batch, received_at)).await??;
    tracing::info!(site_id, accepted = outcome.accepted, duplicates = outcome.duplicates, "batch stored");
    Ok(outcome)
}

/// Reads the whole body, refusing it as soon as it passes `limit` bytes
/// (or up front, when `Content-Length` already says so).
async fn read_limited(headers: &HeaderMap, mut body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
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

/// `OPTIONS /v1/batch`: the CORS preflight.
pub async fn preflight_batch(State(state): State<AppState>, headers: HeaderMap) -> Response {
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

/// `DELETE /__test/events`: forget all events and receipts.
pub async fn test_clear(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.clear()).await??;
    Ok(StatusCode::NO_CONTENT)
}

fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
