//! Turns raw request bytes into a checked [`Batch`], following
//! `docs/wire-format.md` exactly.
//!
//! The body is parsed into a `serde_json::Value` and walked by hand so that
//! every rejection names the JSON path of the offending value (for example
//! `events[3].id` or `consent.granted[1]`) and says what was expected and
//! what was found.
//!
//! The envelope (`v`, `siteId`, `sentAt`, `device`, `consent`, and `events`
//! being an array of 1–500 items) is all or nothing: a fault there rejects the whole
//! body. Each event is then checked on its own; a bad event becomes a
//! [`Rejection`] and the others are kept.

use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};

/// Most events one batch may carry.
pub const MAX_EVENTS: usize = 500;
/// Longest `siteId`, in characters.
pub const MAX_SITE_ID_LEN: usize = 64;
/// Longest purpose id, in characters.
pub const MAX_PURPOSE_LEN: usize = 32;
/// Longest event name, in characters.
pub const MAX_EVENT_NAME_LEN: usize = 64;
/// Most keys in one event's `props`.
pub const MAX_PROPS: usize = 64;
/// Longest `props` key, in characters.
pub const MAX_PROP_KEY_LEN: usize = 64;
/// Longest `props` string value, in characters.
pub const MAX_PROP_STRING_CHARS: usize = 2048;
/// Largest event, in bytes of compact JSON.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;

/// A request body whose envelope passed every rule of the wire format,
/// split into the events that passed their own rules and those that did not.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub site_id: String,
    pub sent_at: i64,
    /// SHA-256 (lowercase hex) of the device's public key, sent when some
    /// event carries a `pid`: the collector files those pids under it.
    pub device: Option<String>,
    pub consent: Consent,
    /// Events that passed validation, in body order.
    pub events: Vec<Event>,
    /// Events that did not, in body order.
    pub rejected: Vec<Rejection>,
}

/// The consent state the device reported with the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub receipt_hash: String,
    pub granted: Vec<String>,
}

/// One event of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position of the event in the body's `events`.
    pub index: usize,
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub ts: i64,
    /// Always a JSON object of strings, finite numbers and booleans.
    pub props: Value,
    /// The purpose-scoped pseudonymous id, when the purpose has one.
    pub pid: Option<String>,
}

/// One event that was not stored, as reported in the `200` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Position of the event in `events`.
    pub index: usize,
    /// The event's id, when it was a valid id; `null` otherwise.
    pub id: Option<String>,
    pub code: &'static str,
    /// JSON path of the offending value, e.g. `events[3].props.path`.
    pub field: String,
    pub message: String,
}

impl Rejection {
    pub(crate) fn new(index: usize, id: Option<String>, error: &ValidationError) -> Self {
        Self {
            index,
            id,
            code: error.code(),
            field: error.field().unwrap_or_default().to_owned(),
            message: error.message(),
        }
    }
}

/// Why a body or an event was rejected. Each variant maps to one
/// wire-format error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The body is not UTF-8 or not JSON at all.
    #[error("invalid JSON: {message}")]
    InvalidJson { message: String },
    /// A value is present but breaks its rule.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// A required field is absent.
    #[error("{field}: missing")]
    MissingField { field: String },
    /// A field that the wire format does not define.
    #[error("{field}: unknown field")]
    UnknownField { field: String },
    /// An event's purpose is not in `consent.granted`.
    #[error("{field}: purpose {purpose:?} is not in consent.granted")]
    PurposeNotGranted { field: String, purpose: String },
    /// An event is larger than [`MAX_EVENT_BYTES`] when serialized.
    #[error("{field}: event is {size} bytes, more than {MAX_EVENT_BYTES}")]
    EventTooLarge { field: String, size: usize },
    /// An event is already past its purpose's retention period when it arrives.
    #[error("{field}: past its {retention_days}-day retention")]
    Expired { field: String, purpose: String, retention_days: u32 },
    /// An event's `ts` is more than a day ahead of the collector's clock.
    #[error("{field}: {ahead_ms} ms ahead of the collector's clock")]
    FromTheFuture { field: String, ahead_ms: i64 },
}

impl ValidationError {
    /// The wire-format error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson { .. } => "invalid_json",
            Self::InvalidField { .. } => "invalid_field",
            Self::MissingField { .. } => "missing_field",
            Self::UnknownField { .. } => "unknown_field",
            Self::PurposeNotGranted { .. } => "purpose_not_granted",
            Self::EventTooLarge { .. } => "too_large",
            Self::Expired { .. } => "expired",
            Self::FromTheFuture { .. } => "from_the_future",
        }
    }

    /// The JSON path of the offending value (none for `invalid_json`).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidJson { .. } => None,
            Self::InvalidField { field, .. }
            | Self::MissingField { field }
            | Self::UnknownField { field }
            | Self::PurposeNotGranted { field, .. }
            | Self::EventTooLarge { field, .. }
            | Self::Expired { field, .. }
            | Self::FromTheFuture { field, .. } => Some(field),
        }
    }

    /// A human-readable explanation, without the path.
    pub fn message(&self) -> String {
        match self {
            Self::InvalidJson { message } | Self::InvalidField { message, .. } => message.clone(),
            Self::MissingField { .. } => "required field is missing".to_owned(),
            Self::UnknownField { .. } => "field is not part of wire format v1".to_owned(),
            Self::PurposeNotGranted { purpose, .. } => {
                format!("purpose \"{purpose}\" is not listed in consent.granted")
            }
            Self::EventTooLarge { size, .. } => {
                format!("event is {size} bytes as compact JSON; the limit is {MAX_EVENT_BYTES} bytes")
            }
            Self::Expired { purpose, retention_days, .. } => format!(
                "event is older than the {retention_days}-day retention of purpose \"{purpose}\" \
                 (counted from the earlier of its ts and the time it arrived); it would be deleted at once"
            ),
            Self::FromTheFuture { ahead_ms, .. } => format!(
                "ts is {:.1} hours ahead of the collector's clock; more than 24 hours ahead is refused \
                 (the device's clock is wrong)",
                *ahead_ms as f64 / 3_600_000.0
            ),
        }
    }
}

type Result<T> = std::result::Result<T, ValidationError>;

/// Parses and checks a request body.
pub fn parse_batch(body: &[u8]) -> Result<Batch> {
    validate_batch(&parse_json(body)?)
}

/// Parses a request body as UTF-8 JSON (`invalid_json` otherwise).
pub fn parse_json(body: &[u8]) -> Result<Value> {
    let text = std::str::from_utf8(body).map_err(|e| ValidationError::InvalidJson {
        message: format!("body is not valid UTF-8 (bad byte at offset {})", e.valid_up_to()),
    })?;
    serde_json::from_str(text)
        .map_err(|e| ValidationError::InvalidJson { message: format!("body is not valid JSON: {e}") })
}

/// Checks an already-parsed body.
pub fn validate_batch(root: &Value) -> Result<Batch> {
    let obj = expect_object(root, "", "a JSON object at the top level")?;
    reject_unknown(obj, "", &["v", "siteId", "sentAt", "device", "consent", "events"])?;

    let v = require(obj, "", "v")?;
    if v.as_u64() != Some(1) {
        return Err(invalid("v", "expected the integer 1", v));
    }

    let site_id = require(obj, "", "siteId")?;
    let site_id = expect_str(site_id, "siteId", SITE_ID_RULE)?;
    if !is_site_id(site_id) {
        return Err(invalid_str("siteId", SITE_ID_RULE, site_id));
    }

    let sent_at = expect_timestamp(require(obj, "", "sentAt")?, "sentAt")?;
    let device = match obj.get("device") {
        None => None,
        Some(value) => {
            let device = expect_str(value, "device", KEY_HASH_RULE)?;
            if !is_lower_hex(device, 64) {
                return Err(invalid_str("device", KEY_HASH_RULE, device));
            }
            Some(device.to_owned())
        }
    };
    let consent = validate_consent(require(obj, "", "consent")?)?;
    let items = expect_event_array(require(obj, "", "events")?)?;

    let mut events = Vec::with_capacity(items.len());
    let mut rejected = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match validate_event(item, index, &consent.granted) {
            Ok(event) => events.push(event),
            Err(error) => rejected.push(Rejection::new(index, valid_event_id(item), &error)),
        }
    }

    Ok(Batch { site_id: site_id.to_owned(), sent_at, device, consent, events, rejected })
}

pub(crate) const SITE_ID_RULE: &str = "a string of 1-64 characters from [A-Za-z0-9_-]";
const PURPOSE_RULE: &str = "a purpose id: 1-32 characters from [a-z0-9_-]";
const RECEIPT_HASH_RULE: &str = "64 lowercase hex characters";
const EVENT_ID_RULE: &str = "32 lowercase hex characters";
const PID_RULE: &str = "32 lowercase hex characters";
const KEY_HASH_RULE: &str = "64 lowercase hex characters (SHA-256 of the device's public key)";
const EVENT_NAME_RULE: &str = "a string of 1-64 characters";
pub(crate) const TIMESTAMP_RULE: &str = "a non-negative integer (milliseconds since the Unix epoch)";
const PROP_VALUE_RULE: &str = "a string of at most 2048 characters, a finite number or a boolean";

fn validate_consent(value: &Value) -> Result<Consent> {
    let obj = expect_object(value, "consent", "an object")?;
    reject_unknown(obj, "consent", &["receiptHash", "granted"])?;

    let hash = require(obj, "consent", "receiptHash")?;
    let hash = expect_str(hash, "consent.receiptHash", RECEIPT_HASH_RULE)?;
    if !is_lower_hex(hash, 64) {
        return Err(invalid_str("consent.receiptHash", RECEIPT_HASH_RULE, hash));
    }

    let granted = require(obj, "consent", "granted")?;
    let Value::Array(items) = granted else {
        return Err(invalid("consent.granted", "an array of purpose ids", granted));
    };
    let mut purposes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("consent.granted[{i}]");
        let purpose = expect_str(item, &path, PURPOSE_RULE)?;
        if !is_purpose_id(purpose) {
            return Err(invalid_str(&path, PURPOSE_RULE, purpose));
        }
        purposes.push(purpose.to_owned());
    }

    Ok(Consent { receipt_hash: hash.to_owned(), granted: purposes })
}

fn expect_event_array(value: &Value) -> Result<&[Value]> {
    let Value::Array(items) = value else {
        return Err(invalid("events", "an array of 1-500 events", value));
    };
    if items.is_empty() || items.len() > MAX_EVENTS {
        return Err(ValidationError::InvalidField {
            field: "events".to_owned(),
            message: format!("expected an array of 1-{MAX_EVENTS} events, found {} events", items.len()),
        });
    }
    Ok(items)
}

/// The event's `id` when it is a well-formed id, for reporting a rejection.
fn valid_event_id(value: &Value) -> Option<String> {
    value.get("id").and_then(Value::as_str).filter(|id| is_lower_hex(id, 32)).map(str::to_owned)
}

fn validate_event(value: &Value, index: usize, granted: &[String]) -> Result<Event> {
    let path = &format!("events[{index}]");
    let obj = expect_object(value, path, "an event object")?;
    let size = json_size(value);
    if size > MAX_EVENT_BYTES {
        return Err(ValidationError::EventTooLarge { field: path.to_owned(), size });
    }
    reject_unknown(obj, path, &["id", "name", "purpose", "ts", "props", "pid"])?;

    let id_path = format!("{path}.id");
    let id = expect_str(require(obj, path, "id")?, &id_path, EVENT_ID_RULE)?;
    if !is_lower_hex(id, 32) {
        return Err(invalid_str(&id_path, EVENT_ID_RULE, id));
    }

    let name_path = format!("{path}.name");
    let name = expect_str(require(obj, path, "name")?, &name_path, EVENT_NAME_RULE)?;
    let name_len = name.chars().count();
    if name_len == 0 || name_len > MAX_EVENT_NAME_LEN {
        return Err(invalid_str(&name_path, EVENT_NAME_RULE, name));
    }

    let purpose_path = format!("{path}.purpose");
    let purpose = expect_str(require(obj, path, "purpose")?, &purpose_path, PURPOSE_RULE)?;
    if !is_purpose_id(purpose) {
        return Err(invalid_str(&purpose_path, PURPOSE_RULE, purpose));
    }
    if !granted.iter().any(|g| g == purpose) {
        return Err(ValidationError::PurposeNotGranted { field: purpose_path, purpose: purpose.to_owned() });
    }

    let ts = expect_timestamp(require(obj, path, "ts")?, &format!("{path}.ts"))?;

    let props = require(obj, path, "props")?;
    validate_props(props, &format!("{path}.props"))?;

    let pid = match obj.get("pid") {
        None => None,
        Some(value) => {
            let pid_path = format!("{path}.pid");
            let pid = expect_str(value, &pid_path, PID_RULE)?;
            if !is_lower_hex(pid, 32) {
                return Err(invalid_str(&pid_path, PID_RULE, pid));
            }
            Some(pid.to_owned())
        }
    };

    Ok(Event {
        index,
        id: id.to_owned(),
        name: name.to_owned(),
        purpose: purpose.to_owned(),
        ts,
        props: props.clone(),
        pid,
    })
}

/// `props`: a flat object of at most 64 keys `[A-Za-z0-9_]{1,64}` whose
/// values are strings (≤ 2048 characters), finite numbers or booleans.
fn validate_props(value: &Value, path: &str) -> Result<()> {
    let obj = expect_object(value, path, "an object (may be empty)")?;
    if obj.len() > MAX_PROPS {
        return Err(ValidationError::InvalidField {
            field: path.to_owned(),
            message: format!("expected at most {MAX_PROPS} keys, found {} keys", obj.len()),
        });
    }
    for (key, value) in obj {
        if !is_prop_key(key) {
            return Err(ValidationError::InvalidField {
                field: path.to_owned(),
                message: format!(
                    "expected keys of 1-{MAX_PROP_KEY_LEN} characters from [A-Za-z0-9_], found key {}",
                    describe_str(key)
                ),
            });
        }
        let ok = match value {
            Value::String(s) => s.len() <= MAX_PROP_STRING_CHARS || s.chars().count() <= MAX_PROP_STRING_CHARS,
            Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
            Value::Bool(_) => true,
            Value::Null | Value::Array(_) | Value::Object(_) => false,
        };
        if !ok {
            return Err(invalid(&format!("{path}.{key}"), PROP_VALUE_RULE, value));
        }
    }
    Ok(())
}

/// `[A-Za-z0-9_]{1,64}`.
fn is_prop_key(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_PROP_KEY_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Length of `value` as compact JSON, without building the string.
fn json_size(value: &Value) -> usize {
    struct Count(usize);
    impl Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// `[A-Za-z0-9_-]{1,64}`.
pub fn is_site_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SITE_ID_LEN
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `[a-z0-9_-]{1,32}`.
pub fn is_purpose_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_PURPOSE_LEN
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

pub(crate) fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

pub(crate) fn require<'a>(obj: &'a Map<String, Value>, parent: &str, key: &str) -> Result<&'a Value> {
    obj.get(key).ok_or_else(|| ValidationError::MissingField { field: join(parent, key) })
}

pub(crate) fn reject_unknown(obj: &Map<String, Value>, parent: &str, known: &[&str]) -> Result<()> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(ValidationError::UnknownField { field: join(parent, key) }),
        None => Ok(()),
    }
}

pub(crate) fn expect_object<'a>(value: &'a Value, path: &str, expected: &str) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| invalid(path, expected, value))
}

pub(crate) fn expect_str<'a>(value: &'a Value, path: &str, expected: &str) -> Result<&'a str> {
    value.as_str().ok_or_else(|| invalid(path, expected, value))
}

pub(crate) fn expect_timestamp(value: &Value, path: &str) -> Result<i64> {
    value.as_u64().and_then(|n| i64::try_from(n).ok()).ok_or_else(|| invalid(path, TIMESTAMP_RULE, value))
}

pub(crate) fn invalid(path: &str, expected: &str, found: &Value) -> ValidationError {
    ValidationError::InvalidField {
        field: path.to_owned(),
        message: format!("expected {expected}, found {}", describe(found)),
    }
}

pub(crate) fn invalid_str(path: &str, expected: &str, found: &str) -> ValidationError {
    ValidationError::InvalidField {
        field: path.to_owned(),
        message: format!("expected {expected}, found {}", describe_str(found)),
    }
}

/// A short description of a JSON value for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => describe_str(s),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Quotes a string for an error message, cut to a readable length.
fn describe_str(s: &str) -> String {
    const MAX: usize = 40;
    let count = s.chars().count();
    if count == 0 {
        "an empty string".to_owned()
    } else if count <= MAX {
        format!("string {s:?} ({count} characters)")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("string {head:?}… ({count} characters)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "v": 1,
            "siteId": "demo-shop",
            "sentAt": 1_763_923_200_000_i64,
            "consent": {
                "receiptHash": "a".repeat(64),
                "granted": ["necessary", "analytics"]
            },
            "events": [{
                "id": "5d0c8e2f9b1a4c3d8e7f6a5b4c3d2e1f",
                "name": "page_view",
                "purpose": "analytics",
                "ts": 1_763_923_199_000_i64,
                "props": {"path": "/product/42"}
            }]
        })
    }

    fn err(v: &Value) -> ValidationError {
        validate_batch(v).expect_err("batch should be rejected")
    }

    /// The one rejection of a batch whose envelope is valid.
    fn rejection(v: &Value) -> Rejection {
        let batch = validate_batch(v).expect("envelope is valid");
        assert!(batch.events.is_empty(), "the event should be rejected: {:?}", batch.events);
        assert_eq!(batch.rejected.len(), 1, "{:?}", batch.rejected);
        batch.rejected[0].clone()
    }

    #[test]
    fn accepts_the_documented_example() {
        let batch = validate_batch(&valid()).unwrap();
        assert_eq!(batch.site_id, "demo-shop");
        assert_eq!(batch.sent_at, 1_763_923_200_000);
        assert_eq!(batch.consent.granted, ["necessary", "analytics"]);
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.events[0].props, json!({"path": "/product/42"}));
        assert_eq!(batch.events[0].pid, None);
        assert!(batch.rejected.is_empty());
    }

    #[test]
    fn top_level_must_be_an_object() {
        let e = err(&json!([1, 2]));
        assert_eq!(e.code(), "invalid_field");
        assert_eq!(e.field(), Some(""));
        assert!(e.message().contains("found an array of 2 items"), "{e}");
    }

    #[test]
    fn float_or_negative_timestamps_are_rejected() {
        let mut v = valid();
        v["sentAt"] = json!(1.5);
        assert_eq!(err(&v).field(), Some("sentAt"));
        let mut v = valid();
        v["events"][0]["ts"] = json!(-1);
        let r = rejection(&v);
        assert_eq!((r.code, r.field.as_str()), ("invalid_field", "events[0].ts"));
    }

    #[test]
    fn nested_unknown_field_is_named_with_its_path() {
        let mut v = valid();
        v["consent"]["extra"] = json!(true);
        assert_eq!(err(&v).field(), Some("consent.extra"));
        let mut v = valid();
        v["events"][0]["userId"] = json!("x");
        let r = rejection(&v);
        assert_eq!((r.code, r.field.as_str()), ("unknown_field", "events[0].userId"));
        assert_eq!(r.id.as_deref(), Some("5d0c8e2f9b1a4c3d8e7f6a5b4c3d2e1f"), "a valid id is reported");
    }

    #[test]
    fn granted_items_are_checked_one_by_one() {
        let mut v = valid();
        v["consent"]["granted"] = json!(["necessary", "Ads"]);
        let e = err(&v);
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("consent.granted[1]")));
        assert!(e.message().contains("\"Ads\""), "{e}");
    }

    #[test]
    fn props_must_be_an_object_and_name_must_fit() {
        let mut v = valid();
        v["events"][0]["props"] = json!([]);
        assert_eq!(rejection(&v).field, "events[0].props");
        let mut v = valid();
        v["events"][0]["name"] = json!("n".repeat(65));
        assert_eq!(rejection(&v).field, "events[0].name");
        let mut v = valid();
        v["events"][0]["name"] = json!("é".repeat(64));
        assert_eq!(validate_batch(&v).unwrap().events.len(), 1, "64 non-ASCII characters fit");
    }

    #[test]
    fn props_are_flat_scalars_with_bounded_keys_and_strings() {
        let accept = |props: Value| {
            let mut v = valid();
            v["events"][0]["props"] = props;
            validate_batch(&v).unwrap().events.len() == 1
        };
        let reject = |props: Value| {
            let mut v = valid();
            v["events"][0]["props"] = props;
            let r = rejection(&v);
            (r.code, r.field, r.message)
        };
        assert!(accept(json!({"path": "/p", "price": 12.5, "qty": -3, "sale": true, "A_z9": ""})));
        assert!(accept(json!({"s": "é".repeat(MAX_PROP_STRING_CHARS)})), "2048 non-ASCII characters fit");
        let many: Map<String, Value> = (0..MAX_PROPS).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(accept(Value::Object(many.clone())));

        for (props, field) in [
            (json!({"nested": {"a": 1}}), "events[0].props.nested"),
            (json!({"list": [1]}), "events[0].props.list"),
            (json!({"nothing": null}), "events[0].props.nothing"),
            (json!({"long": "x".repeat(MAX_PROP_STRING_CHARS + 1)}), "events[0].props.long"),
        ] {
            let (code, got, message) = reject(props);
            assert_eq!((code, got.as_str()), ("invalid_field", field), "{message}");
            assert!(message.starts_with("expected a string of at most 2048 characters"), "{message}");
        }
        let (code, field, message) = reject(json!({"bad key": 1}));
        assert_eq!((code, field.as_str()), ("invalid_field", "events[0].props"));
        assert!(message.contains("\"bad key\""), "{message}");
        assert_eq!(reject(json!({"": 1})).1, "events[0].props");
        assert_eq!(reject(json!({"k".repeat(65): 1})).1, "events[0].props");
        let mut too_many = many;
        too_many.insert("one_more".into(), json!(1));
        let (_, field, message) = reject(Value::Object(too_many));
        assert_eq!((field.as_str(), message.as_str()), ("events[0].props", "expected at most 64 keys, found 65 keys"));
    }

    #[test]
    fn pid_is_optional_but_must_be_32_lowercase_hex() {
        let mut v = valid();
        v["events"][0]["pid"] = json!("0123456789abcdef0123456789abcdef");
        assert_eq!(validate_batch(&v).unwrap().events[0].pid.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        for bad in [json!("0123456789ABCDEF0123456789ABCDEF"), json!("abc"), json!(null), json!(7)] {
            v["events"][0]["pid"] = bad.clone();
            let r = rejection(&v);
            assert_eq!((r.code, r.field.as_str()), ("invalid_field", "events[0].pid"), "{bad}");
        }
    }

    #[test]
    fn device_is_optional_but_must_be_64_lowercase_hex() {
        let mut v = valid();
        assert_eq!(validate_batch(&v).unwrap().device, None);
        v["device"] = json!("0123456789abcdef".repeat(4));
        assert_eq!(validate_batch(&v).unwrap().device, Some("0123456789abcdef".repeat(4)));
        for bad in [json!("0123456789ABCDEF".repeat(4)), json!("ab"), json!(null), json!(7), json!("g".repeat(64))] {
            v["device"] = bad.clone();
            let e = err(&v);
            assert_eq!((e.code(), e.field()), ("invalid_field", Some("device")), "{bad}");
        }
    }

    #[test]
    fn an_event_over_32_kib_is_too_large_on_its_own() {
        let mut v = valid();
        let big: Map<String, Value> = (0..20).map(|i| (format!("k{i}"), json!("x".repeat(2000)))).collect();
        v["events"][0]["props"] = Value::Object(big);
        let mut small = v["events"][0].clone();
        small["id"] = json!("f".repeat(32));
        small["props"] = json!({});
        v["events"].as_array_mut().unwrap().push(small);
        let batch = validate_batch(&v).unwrap();
        assert_eq!(batch.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["f".repeat(32)]);
        let r = &batch.rejected[0];
        assert_eq!((r.index, r.code, r.field.as_str()), (0, "too_large", "events[0]"));
        assert!(r.message.contains("the limit is 32768 bytes"), "{}", r.message);
    }

    #[test]
    fn bad_events_are_reported_by_index_and_good_ones_kept() {
        let mut v = valid();
        let good = v["events"][0].clone();
        let mut not_granted = good.clone();
        not_granted["id"] = json!("1".repeat(32));
        not_granted["purpose"] = json!("marketing");
        let mut bad_id = good.clone();
        bad_id["id"] = json!("XYZ");
        v["events"] = json!([not_granted, good, bad_id, 5]);
        let batch = validate_batch(&v).unwrap();
        assert_eq!(batch.events.len(), 1);
        let got: Vec<_> = batch.rejected.iter().map(|r| (r.index, r.id.as_deref(), r.code, r.field.as_str())).collect();
        let one = "1".repeat(32);
        assert_eq!(
            got,
            [
                (0, Some(one.as_str()), "purpose_not_granted", "events[0].purpose"),
                (2, None, "invalid_field", "events[2].id"),
                (3, None, "invalid_field", "events[3]"),
            ]
        );
    }

    #[test]
    fn long_strings_are_cut_in_messages() {
        let mut v = valid();
        v["siteId"] = json!("x".repeat(1000));
        let msg = err(&v).message();
        assert!(msg.len() < 200, "{msg}");
        assert!(msg.contains("1000 characters"), "{msg}");
    }
}
