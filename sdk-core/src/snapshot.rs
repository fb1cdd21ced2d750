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
use crate::egress_log::EgressLog;
use crate::error::ErrorCode;
use crate::ids::is_lower_hex;
use crate::pseudonym::{PseudonymousId, PseudonymousIds};
use crate::purpose::{PurposeId, NECESSARY};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::VecDeque;

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

/// The visitor's answers (each with its purpose), prompt history and the counts prompt triggers
/// need; written only while a question's purpose is granted (see `profiling::visit`).
pub const PROFILE_KEY: StoredKey = StoredKey { name: "attune:profile", purpose: PER_ENTRY };

/// The visitor's recommendation signals and muted tags; only while personalization is granted.
pub const RECS_KEY: StoredKey = StoredKey { name: "attune:recs", purpose: crate::purpose::PERSONALIZATION };

/// The device key that proves which server-side data is this device's (see `privacy`): made when
/// a purpose that sends data is first granted, kept while the server may hold data of this
/// device (a withdrawal does not end the right to a copy or an erasure), removed by "Clear
/// everything" and replaced after a server erasure.
pub const DEVICE_KEY: StoredKey = StoredKey { name: "attune:device", purpose: NECESSARY };

/// Every key the SDK writes. Nothing else is ever stored.
pub const STORED_KEYS: &[StoredKey] =
    &[CONSENT_KEY, QUEUE_KEY, IDS_KEY, EGRESS_LOG_KEY, PROFILE_KEY, RECS_KEY, DEVICE_KEY];

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

/// `{"schema": 1, "<name>": [...]}`: the stored form of the queue, the ids and the egress log.
/// The items are read as JSON values and checked field by field by hand: typed decoders (and
/// `serde_path_to_error`) for each document would cost the wasm dearly, and by hand each bad
/// item is dropped on its own with an error naming it, keeping the good ones.
fn decode_document(raw: &str) -> Result<Map<String, Value>, StateError> {
    let corrupt = |field: &str, message: String| StateError::Corrupt { field: field.into(), message };
    let doc: Map<String, Value> = serde_json::from_str(raw).map_err(|e| corrupt("$", e.to_string()))?;
    let schema =
        doc.get("schema").and_then(Value::as_u64).ok_or_else(|| corrupt("schema", "expected a number".into()))?;
    let schema = u32::try_from(schema).unwrap_or(u32::MAX);
    if schema > SCHEMA_VERSION {
        return Err(StateError::FutureSchema { found: schema, supported: SCHEMA_VERSION });
    }
    if schema < SCHEMA_VERSION {
        return Err(StateError::UnsupportedSchema { found: schema });
    }
    Ok(doc)
}

fn take_list(doc: &mut Map<String, Value>, name: &str) -> Result<Vec<Value>, StateError> {
    match doc.remove(name) {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(StateError::Corrupt { field: name.into(), message: "expected an array".into() }),
    }
}

fn decode_list(raw: &str, name: &str) -> Result<Vec<Value>, StateError> {
    take_list(&mut decode_document(raw)?, name)
}

fn encode_list<T: Serialize>(name: &str, items: &[T]) -> String {
    let items = serde_json::to_string(items).expect("documents always serialize");
    format!("{{\"schema\":{SCHEMA_VERSION},\"{name}\":{items}}}")
}

/// Reads one field of a stored item, or says which and why not.
fn field<'a, T>(
    item: &'a Value,
    at: &str,
    key: &str,
    read: impl FnOnce(&'a Value) -> Option<T>,
    expected: &str,
) -> Result<T, StateError> {
    item.get(key)
        .and_then(read)
        .ok_or_else(|| StateError::Corrupt { field: format!("{at}.{key}"), message: format!("expected {expected}") })
}

/// The stored form of the queue, with the ids known delivered (so other tabs drop their copies).
pub fn encode_queue(events: Vec<&Event>, delivered: &VecDeque<(PurposeId, String)>) -> String {
    let events = serde_json::to_string(&events).expect("events always serialize");
    let delivered: Vec<String> = delivered.iter().map(|(purpose, id)| format!("{purpose}:{id}")).collect();
    let delivered = serde_json::to_string(&delivered).expect("ids always serialize");
    format!("{{\"schema\":{SCHEMA_VERSION},\"events\":{events},\"delivered\":{delivered}}}")
}

/// The stored queue: its events (each checked on its own), the ids known delivered, and what was
/// wrong with the events that were dropped.
pub struct StoredQueue {
    pub events: Vec<Event>,
    /// `(purpose, event id)` of events known delivered.
    pub delivered: Vec<(PurposeId, String)>,
    pub problems: Vec<StateError>,
}

fn decode_event(item: &Value, at: &str, config: &ValidConfig) -> Result<Event, StateError> {
    let id = field(item, at, "id", Value::as_str, "32 lowercase hex characters")?;
    if !is_lower_hex(id, 32) {
        return Err(StateError::Corrupt {
            field: format!("{at}.id"),
            message: "expected 32 lowercase hex characters".into(),
        });
    }
    let name = field(item, at, "name", Value::as_str, "an event name")?;
    let purpose = field(item, at, "purpose", |v| v.as_str().and_then(|s| PurposeId::parse(s).ok()), "a purpose id")?;
    let ts = field(item, at, "ts", Value::as_u64, "a time in milliseconds")?;
    let props = field(item, at, "props", Value::as_object, "an object")?;
    let spec = config.event_spec(&purpose, name).ok_or_else(|| StateError::Undeclared {
        what: format!("event {name:?} of purpose {:?}", purpose.as_str()),
        field: format!("{at}.name"),
    })?;
    Ok(Event { id: id.into(), name: name.into(), purpose, ts: Millis(ts), props: recheck(spec, props), pid: None })
}

/// Reads the stored queue. Each event is checked on its own: one that is unreadable, of a purpose
/// or event name the site no longer declares, is dropped and reported, the others are kept. Props
/// are checked against the declaration again, so an edited queue cannot add fields.
pub fn decode_queue(raw: &str, config: &ValidConfig) -> Result<StoredQueue, StateError> {
    let mut doc = decode_document(raw)?;
    let mut problems = Vec::new();
    let mut events = Vec::new();
    for (i, item) in take_list(&mut doc, "events")?.iter().enumerate() {
        match decode_event(item, &format!("events[{i}]"), config) {
            Ok(event) => events.push(event),
            Err(e) => problems.push(e),
        }
    }
    let mut delivered = Vec::new();
    // Absent in a queue with nothing delivered yet.
    let listed = if doc.contains_key("delivered") { take_list(&mut doc, "delivered")? } else { Vec::new() };
    for (i, item) in listed.iter().enumerate() {
        let parsed = item.as_str().and_then(|s| s.split_once(':')).and_then(|(purpose, id)| {
            Some((PurposeId::parse(purpose).ok()?, id.to_owned())).filter(|(_, id)| is_lower_hex(id, 32))
        });
        match parsed {
            Some(entry) => delivered.push(entry),
            None => problems.push(StateError::Corrupt {
                field: format!("delivered[{i}]"),
                message: "expected \"<purpose>:<32 hex characters>\"".into(),
            }),
        }
    }
    Ok(StoredQueue { events, delivered, problems })
}

/// The stored ids, with the time of the last server erasure if there was one: a tab that reads
/// ids made after an erasure also learns that nothing captured until then may leave (it would
/// otherwise send its old events under the new ids).
pub fn encode_ids(ids: &PseudonymousIds, erased_before: Option<Millis>) -> String {
    let list = encode_list("ids", ids.entries());
    match erased_before {
        Some(at) => format!("{},\"erasedBefore\":{}}}", &list[..list.len() - 1], at.0),
        None => list,
    }
}

/// The erasure time stored beside the ids (see [`encode_ids`]); `None` if absent or unreadable.
pub fn ids_erased_before(raw: &str) -> Option<Millis> {
    serde_json::from_str::<Value>(raw).ok()?.get("erasedBefore")?.as_u64().map(Millis)
}

/// Reads the stored pseudonymous ids. An unreadable entry, or one of a purpose that no longer
/// declares an id, is dropped and reported; the others are kept.
pub fn decode_ids(raw: &str, config: &ValidConfig) -> Result<(PseudonymousIds, Vec<StateError>), StateError> {
    let declared = |p: &PurposeId| config.collect.get(p).is_some_and(|c| c.pseudonymous_id.is_some());
    let mut ids = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in decode_list(raw, "ids")?.iter().enumerate() {
        let at = format!("ids[{i}]");
        let read = || -> Result<PseudonymousId, StateError> {
            let purpose =
                field(item, &at, "purpose", |v| v.as_str().and_then(|s| PurposeId::parse(s).ok()), "a purpose id")?;
            let id = field(item, &at, "id", |v| v.as_str().filter(|s| is_lower_hex(s, 32)), "32 hex characters")?;
            let since = field(item, &at, "since", Value::as_u64, "a time in milliseconds")?;
            if !declared(&purpose) {
                let what = format!("a pseudonymous id for purpose {:?}", purpose.as_str());
                return Err(StateError::Undeclared { what, field: format!("{at}.purpose") });
            }
            Ok(PseudonymousId { purpose, id: id.into(), since: Millis(since) })
        };
        match read() {
            Ok(entry) => ids.push(entry),
            Err(e) => problems.push(e),
        }
    }
    Ok((PseudonymousIds::from_entries(ids), problems))
}

pub fn encode_egress_log(log: &EgressLog) -> String {
    let entries: Vec<&Value> = log.entries().collect();
    encode_list("entries", &entries)
}

/// Reads the stored egress log; an entry not shaped like a sent payload is dropped and reported.
pub fn decode_egress_log(raw: &str) -> Result<(EgressLog, Vec<StateError>), StateError> {
    let (log, bad) = EgressLog::from_stored(decode_list(raw, "entries")?);
    let problems = bad
        .into_iter()
        .map(|i| StateError::Corrupt {
            field: format!("entries[{i}]"),
            message: "expected a sent payload with `at`, `destination` and `events`".into(),
        })
        .collect();
    Ok((log, problems))
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
