//! Attune's decision core.
//!
//! Every rule of the SDK lives here and is testable with plain `cargo test`: which purposes a
//! visitor granted, what may be stored, and what may leave the device. The crate knows nothing of
//! browsers: time, randomness, signals and stored bytes come in as parameters, and the browser
//! layer (`attune-wasm`) only performs the I/O this crate decides on.
//!
//! Layers, bottom to top (a module only uses modules below it):
//! 1. [`time`], [`purpose`], [`ids`], [`error`] — shared types.
//! 2. [`collect`] — rules for what may leave; [`config`] — the site's configuration, validated.
//! 3. [`consent`] — the hash-chained consent log and the rules that resolve it into state;
//!    [`profiling`] — the marketer's prompt config and the scheduler.
//! 4. [`egress`] — the one door out: buffering, send-time consent checks, batches;
//!    [`egress_log`] — what left; [`pseudonym`] — per-purpose ids; [`manifest`] — what can leave;
//!    [`privacy`] — the device key and the signed requests that reach the server.
//! 5. [`snapshot`] — the persisted form of all that state, versioned, failing closed.
//! 6. [`engine`] — ties the above together for one page.

pub mod collect;
pub mod config;
pub mod consent;
pub mod egress;
pub mod egress_log;
pub mod engine;
pub mod error;
pub mod ids;
pub mod manifest;
pub mod privacy;
pub mod profiling;
pub mod pseudonym;
pub mod purpose;
pub mod recommend;
pub mod snapshot;
pub mod time;

pub use config::{ConfigError, SiteConfig, ValidConfig};
pub use consent::{ConsentError, ConsentView, PurposeState, Signals};
pub use egress::TrackError;
pub use engine::{Engine, Warning};
pub use error::ErrorCode;
pub use purpose::PurposeId;
pub use snapshot::StateError;
pub use time::Millis;
