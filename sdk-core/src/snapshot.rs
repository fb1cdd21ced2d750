//! What the SDK keeps in the browser's storage, and how it is read back.
//!
//! Every stored key has exactly one purpose ([`STORED_KEYS`]). Reading fails closed: state that
//! does not parse, does not verify, names a purpose the site does not declare, or was written by a
//! newer SDK is an error, and the caller starts from "no consent" (the banner asks again, nothing
//! is sent) and reports a warning.

use crate::collect::recheck;
use crate::config::ValidConfig;
use crate::consent::{ConsentLog, LogEntry, LogError};
use crate::egress::Event;
use crate::egress_log::{EgressLog, SentPayload};
use crate::error::ErrorCode;
use crate::ids::is_lower_hex;
use crate::pseudonym::{PseudonymousId, PseudonymousIds};
use crate::purpose::{PurposeId, NECESSARY};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A key the SDK may write, with the purpose that allows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredKey {
    pub name: &'static str,
    /// The purpose whose grant allows the key; [`PER_ENTRY`] when each entry carries its own
    /// purpose and only entries of granted purposes are ever written.
    pub purpose: &'static str,
}

/// Marks a key whose entries each carry their own (granted) purpose.
pub const PER_ENTRY: &str = "*";

/// The consent record: what `necessary` needs to remember the visitor's choices.
pub const CONSENT_KEY: StoredKey = StoredKey { name: "attune:consent", purpose: NECESSARY };
/// Events of granted purposes waiting to be sent; written before each send, shared by tabs.
pub const QUEUE_KEY: StoredKey = StoredKey { name: "attune:queue", purpose: PER_ENTRY };
/// Pseudonymous ids, one per granted purpose that declares one.
pub const IDS_KEY: StoredKey = StoredKey { name: "attune:ids", purpose: PER_ENTRY };
/// What left the device lately, kept for the visitor to see.
pub const EGRESS_LOG_KEY: StoredKey = StoredKey { name: "attune:egress-log", purpose: NECESSARY };

/// Every key the SDK writes. Nothing else is ever stored.
pub const STORED_KEYS: &[StoredKey] = &[CONSENT_KEY, QUEUE_KEY, IDS_KEY, EGRESS_LOG_KEY];

/// Schema of what this SDK writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Upgrades a stored document from schema `from` to `from + 1`.
pub struct Migration {
    pub from: u32,
    pub migrate: fn(&mut Value) -> Result<(), String>,
}

/// Migrations shipped with the SDK, in order. Schema 1 is the first released format, so there is
/// nothing to upgrade yet; a future schema 2 adds `Migration { from: 1, .. }` here.
pub const MIGRATIONS: &[Migration] = &[];

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConsentDocument {
    schema: u32,
    /// Hash of the newest entry, kept beside the log so that a log cut short is noticed.
    head: String,
    log: Vec<LogEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("stored state is not readable at {field}: {message}")]
    Corrupt { field: String, message: String },
    #[error("stored state has schema {found}, newer than this SDK's {supported}")]
    FutureSchema { found: u32, supported: u32 },
    #[error("stored state has schema {found}, which this SDK cannot upgrade")]
    UnsupportedSchema { found: u32 },
    #[error("stored consent failed verification: {0}")]
    Tampered(LogError),
    #[error("stored consent log was cut short: its head is missing")]
    Truncated,
    #[error("stored consent names purpose {purpose:?} (at {field}), which this site does not declare")]
    UnknownPurpose { purpose: String, field: String },
    #[error("stored state holds {what} (at {field}), which this site does not declare")]
    Undeclared { what: String, field: String },
}

impl ErrorCode for StateError {
    fn code(&self) -> &'static str {
        match self {
            StateError::Corrupt { .. } => "state_corrupt",
            StateError::FutureSchema { .. } => "state_future_schema",
            StateError::UnsupportedSchema { .. } => "state_unsupported_schema",
            StateError::Tampered(_) | StateError::Truncated => "state_tampered",
            StateError::UnknownPurpose { .. } => "state_unknown_purpose",
            StateError::Undeclared { .. } => "state_undeclared",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            StateError::Corrupt { field, .. }
            | StateError::UnknownPurpose { field, .. }
            | StateError::Undeclared { field, .. } => Some(field.clone()),
            StateError::Tampered(e) => Some(format!("log[{}]", e.index())),
            StateError::Truncated => Some("head".into()),
            StateError::FutureSchema { .. } | StateError::UnsupportedSchema { .. } => Some("schema".into()),
        }
    }
}

/// The stored form of a consent log.
pub fn encode_consent(log: &ConsentLog) -> String {
    let doc = ConsentDocument { schema: SCHEMA_VERSION, head: log.head().to_owned(), log: log.entries().to_vec() };
    serde_json::to_string(&doc).expect("consent document always serializes")
}

/// Reads a stored consent log, upgrading older schemas with [`MIGRATIONS`].
pub fn decode_consent(raw: &str, config: &ValidConfig) -> Result<ConsentLog, StateError> {
    decode_consent_with(raw, config, MIGRATIONS)
}

pub fn decode_consent_with(
    raw: &str,
    config: &ValidConfig,
    migrations: &[Migration],
) -> Result<ConsentLog, StateError> {
    let corrupt = |field: &str, message: String| StateError::Corrupt { field: field.into(), message };
    let mut doc: Value = serde_json::from_str(raw).map_err(|e| corrupt("$", e.to_string()))?;
    let mut schema = doc
        .get("schema")
        .and_then(Value::as_u64)
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| corrupt("schema", "expected a schema number".into()))?;
    if schema > SCHEMA_VERSION {
        return Err(StateError::FutureSchema { found: schema, supported: SCHEMA_VERSION });
    }
    while schema < SCHEMA_VERSION {
        let step =
            migrations.iter().find(|m| m.from == schema).ok_or(StateError::UnsupportedSchema { found: schema })?;
        (step.migrate)(&mut doc)
            .map_err(|message| corrupt("schema", format!("upgrade from {schema} failed: {message}")))?;
        schema += 1;
        doc["schema"] = Value::from(schema);
    }
    let doc: ConsentDocument = serde_path_to_error::deserialize(doc).map_err(|e| {
        let field = e.path().to_string();
        corrupt(&field, e.into_inner().to_string())
    })?;
    let log = ConsentLog::from_entries(doc.log);
    log.verify().map_err(StateError::Tampered)?;
    if log.head() != doc.head {
        return Err(StateError::Truncated);
    }
    for (i, entry) in log.entries().iter().enumerate() {
        for (j, change) in entry.changes.iter().enumerate() {
            if config.purpose(&change.purpose).is_none() || change.purpose.is_necessary() {
                return Err(StateError::UnknownPurpose {
                    purpose: change.purpose.to_string(),
                    field: format!("log[{i}].changes[{j}].purpose"),
                });
            }
        }
    }
    Ok(log)
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Document<T> {
    schema: u32,
    #[serde(flatten)]
    body: T,
}

/// Reads `{schema, ...}` documents of the simpler keys (no migrations yet: schema 1 is the first).
fn decode_document<T: DeserializeOwned>(raw: &str) -> Result<T, StateError> {
    let corrupt = |field: String, message: String| StateError::Corrupt { field, message };
    let doc: Value = serde_json::from_str(raw).map_err(|e| corrupt("$".into(), e.to_string()))?;
    let schema = doc
        .get("schema")
        .and_then(Value::as_u64)
        .ok_or_else(|| corrupt("schema".into(), "expected a schema number".into()))?;
    if schema > u64::from(SCHEMA_VERSION) {
        return Err(StateError::FutureSchema { found: schema as u32, supported: SCHEMA_VERSION });
    }
    if schema < u64::from(SCHEMA_VERSION) {
        return Err(StateError::UnsupportedSchema { found: schema as u32 });
    }
    serde_path_to_error::deserialize(doc).map_err(|e| corrupt(e.path().to_string(), e.into_inner().to_string()))
}

fn encode_document<T: Serialize>(body: T) -> String {
    serde_json::to_string(&Document { schema: SCHEMA_VERSION, body }).expect("documents always serialize")
}

#[derive(Serialize, Deserialize)]
struct QueueBody<E> {
    events: Vec<E>,
}

/// The stored form of the queue.
pub fn encode_queue(events: Vec<&Event>) -> String {
    encode_document(QueueBody { events })
}

/// Reads the stored queue. Each event is checked on its own: one that is unreadable, of a purpose
/// or event name the site no longer declares, is dropped and reported, the others are kept. Props
/// are filtered through the declaration again, so an edited queue cannot add fields.
pub fn decode_queue(raw: &str, config: &ValidConfig) -> Result<(Vec<Event>, Vec<StateError>), StateError> {
    let body: QueueBody<Value> = decode_document(raw)?;
    let mut events = Vec::with_capacity(body.events.len());
    let mut problems = Vec::new();
    for (i, value) in body.events.into_iter().enumerate() {
        let mut event: Event = match serde_path_to_error::deserialize(value) {
            Ok(e) => e,
            Err(e) => {
                let field = format!("events[{i}].{}", e.path());
                problems.push(StateError::Corrupt { field, message: e.into_inner().to_string() });
                continue;
            }
        };
        let Some(spec) = config.event_spec(&event.purpose, &event.name) else {
            problems.push(StateError::Undeclared {
                what: format!("event {:?} of purpose {:?}", event.name, event.purpose.as_str()),
                field: format!("events[{i}].name"),
            });
            continue;
        };
        if !is_lower_hex(&event.id, 32) {
            let message = "expected 32 lowercase hex characters".into();
            problems.push(StateError::Corrupt { field: format!("events[{i}].id"), message });
            continue;
        }
        event.props = recheck(spec, &event.props);
        event.pid = None;
        events.push(event);
    }
    Ok((events, problems))
}

#[derive(Serialize, Deserialize)]
struct IdsBody {
    ids: BTreeMap<PurposeId, PseudonymousId>,
}

pub fn encode_ids(ids: &PseudonymousIds) -> String {
    encode_document(IdsBody { ids: ids.as_map().clone() })
}

/// Reads the stored pseudonymous ids; ids of purposes that no longer declare one are dropped.
pub fn decode_ids(raw: &str, config: &ValidConfig) -> Result<PseudonymousIds, StateError> {
    let body: IdsBody = decode_document(raw)?;
    let ids = body
        .ids
        .into_iter()
        .filter(|(p, _)| config.collect.get(p).is_some_and(|c| c.pseudonymous_id.is_some()))
        .collect();
    Ok(PseudonymousIds::from_map(ids))
}

#[derive(Serialize, Deserialize)]
struct LogBody<E> {
    entries: Vec<E>,
}

pub fn encode_egress_log(log: &EgressLog) -> String {
    encode_document(LogBody { entries: log.entries().collect() })
}

pub fn decode_egress_log(raw: &str) -> Result<EgressLog, StateError> {
    let body: LogBody<SentPayload> = decode_document(raw)?;
    Ok(EgressLog::from_entries(body.entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{Change, ChoiceSource, Decision};
    use crate::purpose::PurposeId;
    use crate::time::Millis;

    fn config() -> ValidConfig {
        ValidConfig::from_json(r#"{"purposes":[{"id":"chat","label":"Chat","description":"History."}]}"#).unwrap()
    }

    fn log_with(purpose: &str) -> ConsentLog {
        let c = config();
        let mut log = ConsentLog::default();
        let change = Change { purpose: PurposeId::parse(purpose).unwrap(), decision: Decision::Granted };
        log.append(Millis(10), ChoiceSource::Banner, 1, &c.policy_hash, vec![change]);
        log
    }

    #[test]
    fn round_trips() {
        let log = log_with("chat");
        assert_eq!(decode_consent(&encode_consent(&log), &config()), Ok(log));
    }

    #[test]
    fn hand_edited_decision_is_rejected_as_tampered() {
        let raw = encode_consent(&log_with("analytics")).replace("\"granted\"", "\"denied\"");
        let err = decode_consent(&raw, &config()).unwrap_err();
        assert_eq!(err.code(), "state_tampered");
        assert_eq!(err.field().as_deref(), Some("log[0]"));
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        for raw in ["", "null", "{", "[]", r#"{"schema":"1"}"#, r#"{"schema":1,"head":"x"}"#, "\u{0}"] {
            assert!(decode_consent(raw, &config()).is_err(), "{raw:?}");
        }
        let err = decode_consent(r#"{"schema":1,"head":"00","log":[{"seq":"x"}]}"#, &config()).unwrap_err();
        assert_eq!(err.field().as_deref(), Some("log[0].seq"));
    }

    #[test]
    fn future_schema_is_refused() {
        let raw = encode_consent(&log_with("analytics")).replace("\"schema\":1", "\"schema\":2");
        assert_eq!(decode_consent(&raw, &config()), Err(StateError::FutureSchema { found: 2, supported: 1 }));
    }

    #[test]
    fn purpose_the_site_no_longer_declares_is_refused() {
        let raw = encode_consent(&log_with("chat"));
        let other_site = ValidConfig::from_json("{}").unwrap();
        let err = decode_consent(&raw, &other_site).unwrap_err();
        assert_eq!(err.code(), "state_unknown_purpose");
        assert_eq!(err.field().as_deref(), Some("log[0].changes[0].purpose"));
    }

    #[test]
    fn truncated_log_is_detected_by_the_stored_head() {
        let c = config();
        let mut log = log_with("chat");
        let change = Change { purpose: PurposeId::parse("analytics").unwrap(), decision: Decision::Denied };
        log.append(Millis(20), ChoiceSource::Banner, 1, &c.policy_hash, vec![change]);
        let mut doc: Value = serde_json::from_str(&encode_consent(&log)).unwrap();
        doc["log"].as_array_mut().unwrap().pop();
        assert_eq!(decode_consent(&doc.to_string(), &c), Err(StateError::Truncated));
    }

    #[test]
    fn older_schemas_are_upgraded_by_the_migration_chain() {
        // A schema-0 document stored the log under "entries" and had no head.
        fn from_0(doc: &mut Value) -> Result<(), String> {
            let entries = doc.as_object_mut().and_then(|o| o.remove("entries")).ok_or("no entries")?;
            let head = entries.as_array().and_then(|a| a.last()).and_then(|e| e.get("hash")).cloned();
            doc["log"] = entries;
            doc["head"] = head.unwrap_or_else(|| Value::from(crate::consent::log::GENESIS));
            Ok(())
        }
        let log = log_with("chat");
        let mut old: Value = serde_json::from_str(&encode_consent(&log)).unwrap();
        let obj = old.as_object_mut().unwrap();
        obj.insert("schema".into(), Value::from(0));
        obj.remove("head");
        let entries = obj.remove("log").unwrap();
        obj.insert("entries".into(), entries);
        let raw = old.to_string();

        assert_eq!(decode_consent(&raw, &config()), Err(StateError::UnsupportedSchema { found: 0 }));
        let upgraded = decode_consent_with(&raw, &config(), &[Migration { from: 0, migrate: from_0 }]);
        assert_eq!(upgraded, Ok(log));
    }
}
