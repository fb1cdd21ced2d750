//! `attune-collector`: the reference ingestion server for the Attune SDK.
//!
//! It accepts `POST /v1/batch` exactly as `docs/wire-format.md` specifies,
//! stores events and consent receipts in SQLite, answers the signed
//! export and erasure requests of `/v1/rights/*`, deletes what has outlived
//! its retention, and can serve a static site with a strict
//! Content-Security-Policy. See `docs/collector.md`.

pub mod app;
pub mod config;
pub mod digest;
pub mod error;
pub mod limit;
pub mod origin;
pub mod proof;
pub mod purge_job;
pub mod retention;
pub mod rights;
pub mod routes;
pub mod server;
pub mod store;
pub mod validate;

pub use app::{build_app, AppState};
pub use config::Config;
pub use error::ApiError;
pub use server::{run, serve, shutdown_signal, RunError};
pub use store::Store;
