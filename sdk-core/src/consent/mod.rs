//! Consent: the record of the visitor's choices and the rules that turn it into state.

pub mod gcm;
pub mod log;
pub mod state;

pub use log::{Change, ChoiceSource, ConsentLog, Decision, LogEntry, LogError};
pub use state::{resolve, Basis, PurposeState, Signals, Status};

use crate::error::ErrorCode;
use crate::time::Millis;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error("unknown purpose {purpose:?} at {field}: declare it in the config's `purposes`")]
    UnknownPurpose { purpose: String, field: String },
    #[error("the `necessary` purpose is always granted and cannot be denied or withdrawn ({field})")]
    NecessaryPurpose { field: String },
    #[error("no purposes given")]
    NoPurposes,
}

impl ErrorCode for ConsentError {
    fn code(&self) -> &'static str {
        match self {
            ConsentError::UnknownPurpose { .. } => "unknown_purpose",
            ConsentError::NecessaryPurpose { .. } => "necessary_purpose",
            ConsentError::NoPurposes => "no_purposes",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            ConsentError::UnknownPurpose { field, .. } | ConsentError::NecessaryPurpose { field } => {
                Some(field.clone())
            }
            ConsentError::NoPurposes => Some("purposes".into()),
        }
    }
}

/// The consent state as `attune.consent.get()` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct ConsentView {
    /// Current policy revision.
    pub revision: u32,
    /// Some purpose rests on its default (no answer, no signal): the banner should ask.
    pub needs_banner: bool,
    pub purposes: Vec<PurposeState>,
    pub signals: Signals,
    pub record: RecordStatus,
}

/// The consent record's integrity, as shown to the visitor.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct RecordStatus {
    #[cfg_attr(feature = "typescript", ts(type = "number"))]
    pub entries: usize,
    /// Hash of the newest entry; what the collector stores as proof of consent.
    pub head: String,
    /// The hash chain checks out.
    pub verified: bool,
}

/// The consent log as a document the visitor can keep (`attune.consent.receipt()`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct ConsentReceipt {
    /// Always `"attune-consent-receipt/1"`.
    pub format: String,
    pub site_id: String,
    pub generated_at: Millis,
    pub policy_revision: u32,
    pub policy_hash: String,
    pub head: String,
    pub verified: bool,
    pub entries: Vec<LogEntry>,
}

pub(crate) fn view(
    config: &crate::config::ValidConfig,
    log: &ConsentLog,
    signals: Signals,
    now: Millis,
) -> ConsentView {
    let purposes = resolve(config, log, signals, now);
    ConsentView {
        revision: config.revision,
        needs_banner: purposes.iter().any(|p| p.source == Basis::Default),
        purposes,
        signals,
        record: RecordStatus {
            entries: log.entries().len(),
            head: log.head().to_owned(),
            verified: log.verify().is_ok(),
        },
    }
}
