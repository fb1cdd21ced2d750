//! The retention job: [`Store::purge_expired`](crate::store::Store::purge_expired)
//! once at start-up, then on a timer until shutdown.

use std::time::Duration;

use crate::app::AppState;
use crate::error::ApiError;
use crate::store::PurgeCounts;

/// Runs the retention job once at `now` (ms since the epoch), in turn with
/// the writers, and logs what it deleted.
pub async fn run_once(state: &AppState, now: i64) -> Result<PurgeCounts, ApiError> {
    let _turn = state.write_turn.lock().await;
    let store = state.store.clone();
    let retention = state.retention.clone();
    let counts = tokio::task::spawn_blocking(move || store.purge_expired(&retention, now)).await??;
    tracing::info!(
        events = counts.events,
        receipts = counts.receipts,
        pseudonymous_ids = counts.pseudonymous_ids,
        devices = counts.devices,
        suppressions = counts.suppressions,
        erasures = counts.erasures,
        nonces = counts.nonces,
        "retention"
    );
    Ok(counts)
}

/// Runs the retention job every `every` until `stop` fires (or its sender
/// is dropped). A run in progress is finished first, so the store is never
/// left in use after this returns.
pub async fn run_periodically(state: AppState, every: Duration, mut stop: tokio::sync::oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = &mut stop => return,
        }
        if let Err(e) = run_once(&state, crate::routes::now_millis()).await {
            tracing::error!(error = %e, "retention job failed");
        }
    }
}
