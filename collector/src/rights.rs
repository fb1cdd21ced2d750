//! `POST /v1/rights/export` and `POST /v1/rights/erase`: a device that
//! proves it holds its key gets a copy of what the site holds under that
//! key, or has it erased (and suppressed, so it does not come back).

use std::net::IpAddr;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiError;
use crate::limit::retry_after_secs;
use crate::proof::{parse_rights_request, RightsAction, RightsRequest, MAX_RIGHTS_BODY_BYTES};
use crate::routes::{caller, gunzip, is_gzip, now_millis, read_limited};

/// `format` of the export document.
pub const EXPORT_FORMAT: &str = "attune-export/1";
/// `format` of the erasure receipt.
pub const ERASURE_FORMAT: &str = "attune-erasure-receipt/1";

/// `POST /v1/rights/export`.
pub async fn post_export(State(state): State<AppState>, request: Request) -> Response {
    handle(state, request, RightsAction::Export).await
}

/// `POST /v1/rights/erase`.
pub async fn post_erase(State(state): State<AppState>, request: Request) -> Response {
    handle(state, request, RightsAction::Erase).await
}

async fn handle(state: AppState, request: Request, action: RightsAction) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let (origin, device) = match caller(&parts, &state) {
        Ok(caller) => caller,
        Err(denied) => return denied.into_response(),
    };
    let mut response = match answer(&state, &parts.headers, device, body, action, started).await {
        Ok(document) => Json(document).into_response(),
        Err(e) => e.into_response(),
    };
    // Personal data, and a one-off answer: never to be cached.
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    origin.apply(response.headers_mut());
    response
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    device: Option<IpAddr>,
    body: axum::body::Body,
    action: RightsAction,
    started: Instant,
) -> Result<Value, ApiError> {
    if let (Some(limiter), Some(ip)) = (&state.device_limiter, device) {
        limiter
            .check(&ip, tokio::time::Instant::now())
            .map_err(|wait| ApiError::RateLimited { retry_after: retry_after_secs(wait) })?;
    }
    let gzip = is_gzip(headers)?;
    let wire = read_limited(headers, body, MAX_RIGHTS_BODY_BYTES).await?;
    let body = if gzip { gunzip(&wire, MAX_RIGHTS_BODY_BYTES)? } else { wire };

    let request = parse_rights_request(&body, action)?;
    if let Some(allowed) = &state.site_ids {
        if !allowed.contains(&request.site_id) {
            return Err(ApiError::UnknownSite(request.site_id));
        }
    }
    request.check_fresh(now_millis())?;
    // Verifying is CPU work: off the executor.
    let request = tokio::task::spawn_blocking(move || request.verify_signature().map(|()| request)).await??;

    match action {
        RightsAction::Export => export(state, request, started).await,
        RightsAction::Erase => erase(state, request, started).await,
    }
}

async fn export(state: &AppState, request: RightsRequest, started: Instant) -> Result<Value, ApiError> {
    // An export writes too (it spends the request's nonce): it takes its turn with the writers.
    let turn = state.write_turn.lock().await;
    let store = state.store.clone();
    let (site, key, nonce, at) = (request.site_id.clone(), request.key_hash.clone(), request.nonce.clone(), request.at);
    let data = tokio::task::spawn_blocking(move || store.export(&site, &key, &nonce, at)).await??;
    drop(turn);
    tracing::info!(
        action = "export",
        site_id = request.site_id,
        events = data.events.len(),
        receipts = data.receipts.len(),
        pseudonymous_ids = data.pseudonymous_ids.len(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "rights"
    );
    Ok(json!({
        "format": EXPORT_FORMAT,
        "source": "collector",
        "siteId": request.site_id,
        "generatedAt": now_millis(),
        "device": data.device,
        "pseudonymousIds": data.pseudonymous_ids,
        "events": data.events,
        "receipts": data.receipts,
    }))
}

async fn erase(state: &AppState, request: RightsRequest, started: Instant) -> Result<Value, ApiError> {
    let receipt_id = random_id()?;
    let turn = state.write_turn.lock().await;
    let erased_at = now_millis();
    let store = state.store.clone();
    let (site, key, nonce, id, requested_at) =
        (request.site_id.clone(), request.key_hash.clone(), request.nonce.clone(), receipt_id.clone(), request.at);
    let counts =
        tokio::task::spawn_blocking(move || store.erase(&site, &key, &nonce, requested_at, erased_at, &id)).await??;
    drop(turn);
    tracing::info!(
        action = "erase",
        site_id = request.site_id,
        events = counts.events,
        receipts = counts.receipts,
        pseudonymous_ids = counts.pseudonymous_ids,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "rights"
    );
    Ok(json!({
        "format": ERASURE_FORMAT,
        "receiptId": receipt_id,
        "siteId": request.site_id,
        "keyHash": request.key_hash,
        "requestedAt": request.at,
        "erasedAt": erased_at,
        "deleted": {
            "events": counts.events,
            "receipts": counts.receipts,
            "pseudonymousIds": counts.pseudonymous_ids,
        },
        "suppressed": {
            "keyHash": true,
            "pseudonymousIds": counts.suppressed_pids,
        },
    }))
}

/// 32 random lowercase hex characters.
fn random_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
