//! Turns raw request bytes into a checked [`Batch`], following
//! `docs/wire-format.md` exactly.
//!
//! The body is parsed into a `serde_json::Value` and walked by hand so that
//! every rejection names the JSON path of the offending value (for example
//! `events[3].id` or `consent.granted[1]`) and says what was expected and
//! what was found.

use serde_json::{Map, Value};

/// Most events one batch may carry.
pub const MAX_EVENTS: usize = 500;
/// Longest `siteId`, in characters.
pub const MAX_SITE_ID_LEN: usize = 64;
/// Longest purpose id, in characters.
pub const MAX_PURPOSE_LEN: usize = 32;
/// Longest event name, in characters.
pub const MAX_EVENT_NAME_LEN: usize = 64;

/// A request body that passed every rule of the wire format.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub site_id: String,
    pub sent_at: i64,
    pub consent: Consent,
    pub events: Vec<Event>,
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
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub ts: i64,
    /// Always a JSON object.
    pub props: Value,
}

/// Why a body was rejected. Each variant maps to one wire-format error code.
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
        }
    }

    /// The JSON path of the offending value (none for `invalid_json`).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidJson { .. } => None,
            Self::InvalidField { field, .. }
            | Self::MissingField { field }
            | Self::UnknownField { field }
            | Self::PurposeNotGranted { field, .. } => Some(field),
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
        }
    }
}

type Result<T> = std::result::Result<T, ValidationError>;

/// Parses and checks a request body.
pub fn parse_batch(body: &[u8]) -> Result<Batch> {
    let text = std::str::from_utf8(body).map_err(|e| ValidationError::InvalidJson {
        message: format!("body is not valid UTF-8 (bad byte at offset {})", e.valid_up_to()),
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ValidationError::InvalidJson { message: format!("body is not valid JSON: {e}") })?;
    validate_batch(&value)
}

/// Checks an already-parsed body.
pub fn validate_batch(root: &Value) -> Result<Batch> {
    let obj = expect_object(root, "", "a JSON object at the top level")?;
    reject_unknown(obj, "", &["v", "siteId", "sentAt", "consent", "events"])?;

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
    let consent = validate_consent(require(obj, "", "consent")?)?;
    let events = validate_events(require(obj, "", "events")?, &consent.granted)?;

    Ok(Batch { site_id: site_id.to_owned(), sent_at, consent, events })
}

const SITE_ID_RULE: &str = "a string of 1-64 characters from [A-Za-z0-9_-]";
const PURPOSE_RULE: &str = "a purpose id: 1-32 characters from [a-z0-9_-]";
const RECEIPT_HASH_RULE: &str = "64 lowercase hex characters";
const EVENT_ID_RULE: &str = "32 lowercase hex characters";
const EVENT_NAME_RULE: &str = "a string of 1-64 characters";
const TIMESTAMP_RULE: &str = "a non-negative integer (milliseconds since the Unix epoch)";

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

fn validate_events(value: &Value, granted: &[String]) -> Result<Vec<Event>> {
    let Value::Array(items) = value else {
        return Err(invalid("events", "an array of 1-500 events", value));
    };
    if items.is_empty() || items.len() > MAX_EVENTS {
        return Err(ValidationError::InvalidField {
            field: "events".to_owned(),
            message: format!("expected an array of 1-{MAX_EVENTS} events, found {} events", items.len()),
        });
    }
    items.iter().enumerate().map(|(i, item)| validate_event(item, &format!("events[{i}]"), granted)).collect()
}

fn validate_event(value: &Value, path: &str, granted: &[String]) -> Result<Event> {
    let obj = expect_object(value, path, "an event object")?;
    reject_unknown(obj, path, &["id", "name", "purpose", "ts", "props"])?;

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
    expect_object(props, &format!("{path}.props"), "an object (may be empty)")?;

    Ok(Event { id: id.to_owned(), name: name.to_owned(), purpose: purpose.to_owned(), ts, props: props.clone() })
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

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn require<'a>(obj: &'a Map<String, Value>, parent: &str, key: &str) -> Result<&'a Value> {
    obj.get(key).ok_or_else(|| ValidationError::MissingField { field: join(parent, key) })
}

fn reject_unknown(obj: &Map<String, Value>, parent: &str, known: &[&str]) -> Result<()> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(ValidationError::UnknownField { field: join(parent, key) }),
        None => Ok(()),
    }
}

fn expect_object<'a>(value: &'a Value, path: &str, expected: &str) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| invalid(path, expected, value))
}

fn expect_str<'a>(value: &'a Value, path: &str, expected: &str) -> Result<&'a str> {
    value.as_str().ok_or_else(|| invalid(path, expected, value))
}

fn expect_timestamp(value: &Value, path: &str) -> Result<i64> {
    value.as_u64().and_then(|n| i64::try_from(n).ok()).ok_or_else(|| invalid(path, TIMESTAMP_RULE, value))
}

fn invalid(path: &str, expected: &str, found: &Value) -> ValidationError {
    ValidationError::InvalidField {
        field: path.to_owned(),
        message: format!("expected {expected}, found {}", describe(found)),
    }
}

fn invalid_str(path: &str, expected: &str, found: &str) -> ValidationError {
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

    #[test]
    fn accepts_the_documented_example() {
        let batch = validate_batch(&valid()).unwrap();
        assert_eq!(batch.site_id, "demo-shop");
        assert_eq!(batch.sent_at, 1_763_923_200_000);
        assert_eq!(batch.consent.granted, ["necessary", "analytics"]);
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.events[0].props, json!({"path": "/product/42"}));
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
        let e = err(&v);
        assert_eq!((e.code(), e.field()), ("invalid_field", Some("events[0].ts")));
    }

    #[test]
    fn nested_unknown_field_is_named_with_its_path() {
        let mut v = valid();
        v["consent"]["extra"] = json!(true);
        assert_eq!(err(&v).field(), Some("consent.extra"));
        let mut v = valid();
        v["events"][0]["userId"] = json!("x");
        let e = err(&v);
        assert_eq!((e.code(), e.field()), ("unknown_field", Some("events[0].userId")));
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
        assert_eq!(err(&v).field(), Some("events[0].props"));
        let mut v = valid();
        v["events"][0]["name"] = json!("n".repeat(65));
        assert_eq!(err(&v).field(), Some("events[0].name"));
        let mut v = valid();
        v["events"][0]["name"] = json!("é".repeat(64));
        assert!(validate_batch(&v).is_ok(), "64 non-ASCII characters fit");
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
