//! Binding, the "listening" line, and graceful shutdown.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::app::{build_app, AppState};
use crate::config::{Config, ConfigError};
use crate::purge_job;
use crate::routes::now_millis;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting connections and waits for in-flight requests to finish.
/// Handlers see the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Opens the store, runs the retention job once, binds, prints
/// `attune-collector listening on http://<addr>` to stdout, and serves
/// until `shutdown` completes (running the retention job every
/// `retention_interval` meanwhile).
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), RunError> {
    let db = config.db.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(db)).await.map_err(std::io::Error::other)??;
    let store = Arc::new(store);
    let state = AppState::new(&config, store.clone());
    if let Err(e) = purge_job::run_once(&state, now_millis()).await {
        tracing::error!(error = %e, "retention job failed at start-up");
    }

    let listener =
        TcpListener::bind(config.bind).await.map_err(|source| RunError::Bind { addr: config.bind, source })?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "attune-collector listening on http://{addr}")?;
        out.flush()?;
    }
    tracing::info!(
        %addr,
        db = %config.db.display(),
        static_dir = ?config.static_dir,
        site_ids = ?config.site_ids,
        allowed_origins = ?config.allowed_origins,
        test_api = config.test_api,
        rate_per_site = ?config.rate_per_site,
        rate_per_device = ?config.rate_per_device,
        trust_forwarded_for = config.trust_forwarded_for,
        site_config = ?config.site_config,
        default_retention_days = config.retention.default_days,
        retention_days = ?config.retention.purposes,
        retention_interval_s = config.retention_interval.map(|d| d.as_secs()),
        "collector started"
    );
    if config.test_api {
        tracing::warn!("test API enabled: /__test/* exposes and deletes stored events");
    }

    let (stop_job, job_stopped) = tokio::sync::oneshot::channel();
    let job = config
        .retention_interval
        .map(|every| tokio::spawn(purge_job::run_periodically(state.clone(), every, job_stopped)));

    let served = serve(listener, build_app(state), shutdown).await;
    // Let a run of the job in progress finish, so the store is free to close.
    let _ = stop_job.send(());
    if let Some(job) = job {
        if let Err(e) = job.await {
            tracing::error!(error = %e, "retention job task failed");
        }
    }
    served?;
    // Every connection is closed and every handler has answered, so every
    // `200` batch is committed. Checkpoint the WAL and close the database.
    match Arc::try_unwrap(store) {
        Ok(store) => tokio::task::spawn_blocking(move || store.close()).await.map_err(std::io::Error::other)??,
        Err(_) => tracing::warn!("database still in use at shutdown; leaving it to close on exit"),
    }
    tracing::info!("collector stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
