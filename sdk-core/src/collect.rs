//! What may leave: the site's declaration of events and properties per purpose, and the rules
//! that coarsen each property before an event is queued.
//!
//! The default is silence. An event name not declared for its purpose is refused at capture;
//! a property not declared for its event is stripped; a declared property whose value does not
//! fit its rule is stripped too. What survives is coarsened (a URL becomes its path, a price
//! becomes a range), so the queue never holds more than the site promised to send.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Longest string any rule lets through.
pub const MAX_TEXT_CHARS: usize = 2048;
/// Default length cap of a declared free-text property.
pub const DEFAULT_TEXT_CHARS: u32 = 200;
/// Longest `token` value.
pub const MAX_TOKEN_CHARS: usize = 128;
/// Longest coarsened URL path.
pub const MAX_PATH_CHARS: usize = 512;

/// How one property is coarsened before it may leave.
///
/// In the config a rule is a name (`"urlPath"`, `"urlOrigin"`, `"token"`, `"count"`, `"number"`,
/// `"boolean"`, `"text"`) or an object with one key (`{"oneOf": ["a", "b"]}`,
/// `{"bucket": [10, 50, 100]}`, `{"text": {"maxLength": 80}}`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FieldRule {
    /// A URL or path, sent as its path only: no origin, query string or fragment.
    UrlPath,
    /// A URL, sent as its origin only (`https://example.com`).
    UrlOrigin,
    /// An identifier such as a product id: 1–128 characters of `A-Z a-z 0-9 _ - . : /`, no spaces.
    Token,
    /// A whole number from 0 to 1,000,000,000.
    Count,
    /// Any finite number, exact.
    Number,
    Boolean,
    /// One of the listed strings.
    OneOf(Vec<String>),
    /// A number sent as the range it falls in, e.g. bounds `[10, 50]` give `"<10"`, `"10-50"`, `">=50"`.
    Bucket(Vec<f64>),
    /// Free text, trimmed and cut to `max_length` characters. Only when declared.
    Text {
        max_length: u32,
    },
}

impl FieldRule {
    /// The rule in words, for the egress manifest.
    pub fn describe(&self) -> String {
        match self {
            FieldRule::UrlPath => "URL path only (no domain, query string or fragment)".into(),
            FieldRule::UrlOrigin => "URL origin only (scheme and host)".into(),
            FieldRule::Token => "identifier (no spaces, at most 128 characters)".into(),
            FieldRule::Count => "whole number".into(),
            FieldRule::Number => "number".into(),
            FieldRule::Boolean => "yes/no".into(),
            FieldRule::OneOf(values) => format!("one of: {}", values.join(", ")),
            FieldRule::Bucket(bounds) => format!("range: {}", bucket_labels(bounds).join(", ")),
            FieldRule::Text { max_length } => format!("free text, at most {max_length} characters"),
        }
    }

    /// Coarsens `value` by this rule; `None` means it does not fit and must not leave.
    pub fn apply(&self, value: &Value) -> Option<Value> {
        match (self, value) {
            (FieldRule::UrlPath, Value::String(s)) => url_path(s).map(Value::String),
            (FieldRule::UrlOrigin, Value::String(s)) => url_origin(s).map(Value::String),
            (FieldRule::Token, Value::String(s)) => is_token(s).then(|| value.clone()),
            (FieldRule::Count, Value::Number(n)) => {
                let n = n.as_f64()?;
                (n.fract() == 0.0 && (0.0..=1e9).contains(&n)).then(|| Value::from(n as u64))
            }
            (FieldRule::Number, Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()).map(|_| value.clone()),
            (FieldRule::Boolean, Value::Bool(_)) => Some(value.clone()),
            (FieldRule::OneOf(values), Value::String(s)) => values.contains(s).then(|| value.clone()),
            (FieldRule::Bucket(bounds), Value::Number(n)) => {
                let n = n.as_f64().filter(|f| f.is_finite())?;
                let labels = bucket_labels(bounds);
                let index = bounds.iter().take_while(|b| n >= **b).count();
                Some(Value::String(labels[index].clone()))
            }
            (FieldRule::Text { max_length }, Value::String(s)) => {
                // Control characters out, then trimmed, cut, and trimmed again: applying the rule
                // to its own output changes nothing (a cut can end in spaces).
                let clean: String = s.chars().filter(|c| !c.is_control()).collect();
                let cut: String = clean.trim().chars().take(*max_length as usize).collect();
                let text = cut.trim_end();
                (!text.is_empty()).then(|| Value::String(text.to_owned()))
            }
            _ => None,
        }
    }

    /// Whether `value` is something this rule could have produced (for events read back from
    /// storage, which were coarsened before they were stored).
    pub fn produced(&self, value: &Value) -> bool {
        match (self, value) {
            (FieldRule::Bucket(bounds), Value::String(s)) => bucket_labels(bounds).contains(s),
            _ => self.apply(value).as_ref() == Some(value),
        }
    }

    /// Problems with the rule itself (empty lists, unsorted bounds), for config validation.
    pub fn check(&self) -> Option<String> {
        match self {
            FieldRule::OneOf(values) if values.is_empty() || values.len() > 100 => {
                Some("expected 1 to 100 allowed values".into())
            }
            FieldRule::OneOf(values) if values.iter().any(|v| v.is_empty() || v.chars().count() > 128) => {
                Some("allowed values must be 1-128 characters".into())
            }
            FieldRule::Bucket(bounds) if bounds.is_empty() || bounds.len() > 50 => {
                Some("expected 1 to 50 bucket bounds".into())
            }
            FieldRule::Bucket(bounds) if bounds.windows(2).any(|w| w[0] >= w[1]) => {
                Some("bucket bounds must be strictly increasing".into())
            }
            FieldRule::Text { max_length } if !(1..=MAX_TEXT_CHARS as u32).contains(max_length) => {
                Some(format!("expected maxLength from 1 to {MAX_TEXT_CHARS}, found {max_length}"))
            }
            _ => None,
        }
    }
}

fn bucket_labels(bounds: &[f64]) -> Vec<String> {
    let mut labels = Vec::with_capacity(bounds.len() + 1);
    if let Some(first) = bounds.first() {
        labels.push(format!("<{}", number(*first)));
    }
    for pair in bounds.windows(2) {
        labels.push(format!("{}-{}", number(pair[0]), number(pair[1])));
    }
    if let Some(last) = bounds.last() {
        labels.push(format!(">={}", number(*last)));
    }
    labels
}

/// A bound as text: whole numbers without ".0". (serde_json's float printer, not `{}`: core's
/// float formatting would add ~15 KB to the wasm.)
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        (n as i64).to_string()
    } else {
        Value::from(n).to_string()
    }
}

fn is_token(s: &str) -> bool {
    (1..=MAX_TOKEN_CHARS).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/'))
}

/// Splits `scheme://authority/rest` into (`scheme://authority`, `/rest`); `None` if not absolute.
fn split_absolute(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) {
        return None;
    }
    let after = &url[scheme_end + 3..];
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..authority_end];
    if authority.is_empty() {
        return None;
    }
    Some((&url[..scheme_end + 3 + authority_end], &after[authority_end..]))
}

fn url_path(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let rest = match split_absolute(raw) {
        Some((_, rest)) => rest,
        None if raw.starts_with('/') && !raw.starts_with("//") => raw,
        None => return None,
    };
    // `;` starts path parameters (`;jsessionid=…`): session ids, never part of the page's path.
    let path = &rest[..rest.find(['?', '#', ';']).unwrap_or(rest.len())];
    // "http://host//x" has the path "//x", which would read back as a protocol-relative URL.
    let path = format!("/{}", path.trim_start_matches('/'));
    (path.chars().count() <= MAX_PATH_CHARS && !path.chars().any(|c| c.is_whitespace() || c.is_control()))
        .then_some(path)
}

fn url_origin(raw: &str) -> Option<String> {
    let (origin, _) = split_absolute(raw.trim())?;
    // Credentials (`user:pass@host`) never leave.
    let (scheme, authority) = origin.split_once("://")?;
    let host = authority.rsplit('@').next()?;
    (!host.is_empty() && !host.chars().any(|c| c.is_whitespace() || c.is_control()))
        .then(|| format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

impl FieldRule {
    const NAMES: &'static str = "\"urlPath\", \"urlOrigin\", \"token\", \"count\", \"number\", \"boolean\", \"text\"";

    /// Reads a rule from the config: a name, or an object with one of `oneOf`, `bucket`, `text`.
    pub fn from_value(value: &Value) -> Result<FieldRule, String> {
        let rule = match value {
            Value::String(name) => match name.as_str() {
                "urlPath" => FieldRule::UrlPath,
                "urlOrigin" => FieldRule::UrlOrigin,
                "token" => FieldRule::Token,
                "count" => FieldRule::Count,
                "number" => FieldRule::Number,
                "boolean" => FieldRule::Boolean,
                "text" => FieldRule::Text { max_length: DEFAULT_TEXT_CHARS },
                other => return Err(format!("unknown rule {other:?}, expected one of {}", Self::NAMES)),
            },
            Value::Object(map) if map.len() == 1 => {
                let (key, inner) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "oneOf" => FieldRule::OneOf(
                        inner
                            .as_array()
                            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
                            .ok_or("expected \"oneOf\" to be a list of strings")?,
                    ),
                    "bucket" => FieldRule::Bucket(
                        inner
                            .as_array()
                            .and_then(|a| a.iter().map(Value::as_f64).collect())
                            .ok_or("expected \"bucket\" to be a list of numbers")?,
                    ),
                    "text" => {
                        let max_length = inner
                            .as_object()
                            .filter(|o| o.len() == 1)
                            .and_then(|o| o.get("maxLength"))
                            .and_then(Value::as_u64)
                            .ok_or("expected {\"text\": {\"maxLength\": <number>}}")?;
                        FieldRule::Text { max_length: u32::try_from(max_length).unwrap_or(u32::MAX) }
                    }
                    other => return Err(format!("unknown rule `{other}`, expected `oneOf`, `bucket` or `text`")),
                }
            }
            _ => {
                return Err(format!("expected a rule name ({}) or an object such as {{\"oneOf\": [...]}}", Self::NAMES))
            }
        };
        match rule.check() {
            Some(problem) => Err(problem),
            None => Ok(rule),
        }
    }
}

/// Declared properties of one event: property name → rule.
pub type EventSpec = BTreeMap<String, FieldRule>;

/// The data one purpose may send (`config.collect.<purpose>`).
///
/// ```ts
/// const analytics: PurposeCollect = {
///   retentionDays: 395,
///   pseudonymousId: { rotateDays: 30 },
///   events: { page_view: { path: "urlPath", referrer: "urlOrigin" } },
/// };
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export, rename_all = "camelCase"))]
pub struct PurposeCollect {
    /// How long the site's collector keeps these events, in days (shown to visitors).
    pub retention_days: u32,
    /// Give this purpose's events a random id of their own, replaced every `rotateDays`.
    /// Absent: the events carry no identifier at all.
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub pseudonymous_id: Option<PseudonymousIdConfig>,
    /// Event name → property name → rule (`"urlPath"`, `"token"`, `{"bucket": [10, 50]}`, ...).
    #[cfg_attr(
        feature = "typescript",
        ts(
            type = "Record<string, Record<string, \"urlPath\" | \"urlOrigin\" | \"token\" | \"count\" | \"number\" | \"boolean\" | \"text\" | { oneOf: string[] } | { bucket: number[] } | { text: { maxLength: number } }>>"
        )
    )]
    pub events: BTreeMap<String, EventSpec>,
}

#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export, rename_all = "camelCase"))]
pub struct PseudonymousIdConfig {
    /// Days before the id is replaced by a new random one (1–365).
    pub rotate_days: u32,
}

/// Event names: 1–64 characters, no control characters.
pub fn is_event_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= 64 && !name.chars().any(char::is_control)
}

/// Property names: 1–64 characters of `A-Z a-z 0-9 _`.
pub fn is_prop_key(key: &str) -> bool {
    (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks `keys` of a config object against the allowed ones (`path` empty: the root).
pub(crate) fn unknown_keys(
    map: &Map<String, Value>,
    allowed: &[&str],
    path: &str,
    problems: &mut Vec<(String, String)>,
) {
    for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        let expected = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
        let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        problems.push((at, format!("unknown field `{key}`, expected one of {expected}")));
    }
}

fn days(
    value: Option<&Value>,
    range: std::ops::RangeInclusive<u32>,
    path: String,
    problems: &mut Vec<(String, String)>,
) -> u32 {
    match value.and_then(Value::as_u64).and_then(|d| u32::try_from(d).ok()) {
        Some(d) if range.contains(&d) => d,
        _ => {
            let found = value.map_or("nothing".to_owned(), Value::to_string);
            problems.push((path, format!("expected {} to {} days, found {found}", range.start(), range.end())));
            0
        }
    }
}

impl PurposeCollect {
    /// Reads `config.collect.<purpose>` at `path`, reporting every problem with its path.
    pub fn from_value(value: &Value, path: &str) -> Result<PurposeCollect, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let Some(map) = value.as_object() else {
            return Err(vec![(path.to_owned(), "expected an object with `retentionDays` and `events`".into())]);
        };
        unknown_keys(map, &["retentionDays", "pseudonymousId", "events"], path, &mut problems);
        let retention_days = days(map.get("retentionDays"), 1..=3650, format!("{path}.retentionDays"), &mut problems);
        let pseudonymous_id = match map.get("pseudonymousId") {
            None | Some(Value::Null) => None,
            Some(Value::Object(_)) if path == "collect.necessary" => {
                let message = "`necessary` needs no consent, so it may not carry an identifier".into();
                problems.push((format!("{path}.pseudonymousId"), message));
                None
            }
            Some(Value::Object(id)) => {
                let id_path = format!("{path}.pseudonymousId");
                unknown_keys(id, &["rotateDays"], &id_path, &mut problems);
                let rotate_days = days(id.get("rotateDays"), 1..=365, format!("{id_path}.rotateDays"), &mut problems);
                Some(PseudonymousIdConfig { rotate_days })
            }
            Some(_) => {
                problems.push((format!("{path}.pseudonymousId"), "expected {\"rotateDays\": <days>}".into()));
                None
            }
        };
        let mut events = BTreeMap::new();
        match map.get("events").and_then(Value::as_object) {
            None => problems.push((format!("{path}.events"), "expected an object of event name → properties".into())),
            Some(declared) => {
                for (name, props) in declared {
                    let event_path = format!("{path}.events.{name}");
                    if !is_event_name(name) {
                        let message =
                            format!("event names are 1-64 characters without control characters, found {name:?}");
                        problems.push((event_path.clone(), message));
                    }
                    let Some(props) = props.as_object() else {
                        problems.push((event_path, "expected an object of property name → rule".into()));
                        continue;
                    };
                    if props.len() > 64 {
                        problems.push((
                            event_path.clone(),
                            format!("expected at most 64 properties, found {}", props.len()),
                        ));
                    }
                    let mut spec = EventSpec::new();
                    for (key, rule) in props {
                        let prop_path = format!("{event_path}.{key}");
                        if !is_prop_key(key) {
                            let message =
                                format!("property names are 1-64 characters of A-Z, a-z, 0-9 or '_', found {key:?}");
                            problems.push((prop_path.clone(), message));
                        }
                        match FieldRule::from_value(rule) {
                            Ok(rule) => {
                                spec.insert(key.clone(), rule);
                            }
                            Err(message) => problems.push((prop_path, message)),
                        }
                    }
                    events.insert(name.clone(), spec);
                }
            }
        }
        if problems.is_empty() {
            Ok(PurposeCollect { retention_days, pseudonymous_id, events })
        } else {
            Err(problems)
        }
    }
}

/// The result of applying an event's declaration to what the page passed to `track`.
#[derive(Debug, PartialEq)]
pub struct Sanitized {
    pub props: Map<String, Value>,
    /// Properties that were passed but may not leave (undeclared, or not fitting their rule).
    pub stripped: Vec<String>,
}

/// Keeps only declared properties, each coarsened by its rule.
pub fn sanitize(spec: &EventSpec, props: &Map<String, Value>) -> Sanitized {
    let mut out = Map::new();
    let mut stripped = Vec::new();
    for (key, value) in props {
        match spec.get(key).and_then(|rule| rule.apply(value)) {
            Some(v) => {
                out.insert(key.clone(), v);
            }
            None => stripped.push(key.clone()),
        }
    }
    Sanitized { props: out, stripped }
}

/// Keeps only properties that fit their declaration as already coarsened values (for stored
/// events: an edited queue cannot add fields or smuggle values).
pub fn recheck(spec: &EventSpec, props: &Map<String, Value>) -> Map<String, Value> {
    props
        .iter()
        .filter(|(k, v)| spec.get(*k).is_some_and(|rule| rule.produced(v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(json: &str) -> FieldRule {
        FieldRule::from_value(&serde_json::from_str(json).unwrap()).unwrap()
    }

    fn spec(value: Value) -> EventSpec {
        value.as_object().unwrap().iter().map(|(k, v)| (k.clone(), FieldRule::from_value(v).unwrap())).collect()
    }

    #[test]
    fn urls_leave_as_their_path_or_origin_only() {
        let path = FieldRule::UrlPath;
        assert_eq!(path.apply(&json!("https://shop.example/p/42?email=a@b.c#x")), Some(json!("/p/42")));
        assert_eq!(path.apply(&json!("/cart?coupon=SECRET")), Some(json!("/cart")));
        assert_eq!(path.apply(&json!("/cart;jsessionid=A1B2")), Some(json!("/cart")));
        assert_eq!(path.apply(&json!("https://shop.example")), Some(json!("/")));
        assert_eq!(path.apply(&json!("//evil.example/x")), None);
        assert_eq!(path.apply(&json!("not a url")), None);
        let origin = FieldRule::UrlOrigin;
        assert_eq!(
            origin.apply(&json!("HTTPS://user:pw@News.Example:8443/a?b")),
            Some(json!("https://news.example:8443"))
        );
        assert_eq!(origin.apply(&json!("/relative")), None);
    }

    #[test]
    fn numbers_are_bucketed_and_counts_must_be_whole() {
        let bucket = rule(r#"{"bucket":[10,50,100]}"#);
        assert_eq!(bucket.apply(&json!(3.5)), Some(json!("<10")));
        assert_eq!(bucket.apply(&json!(10)), Some(json!("10-50")));
        assert_eq!(bucket.apply(&json!(99.99)), Some(json!("50-100")));
        assert_eq!(bucket.apply(&json!(1e6)), Some(json!(">=100")));
        assert_eq!(bucket.apply(&json!("12")), None);
        assert_eq!(FieldRule::Count.apply(&json!(3)), Some(json!(3)));
        assert_eq!(FieldRule::Count.apply(&json!(3.5)), None);
        assert_eq!(FieldRule::Count.apply(&json!(-1)), None);
    }

    #[test]
    fn tokens_refuse_free_text_and_text_is_cut() {
        assert_eq!(FieldRule::Token.apply(&json!("sku-42")), Some(json!("sku-42")));
        assert_eq!(FieldRule::Token.apply(&json!("jane doe")), None);
        assert_eq!(FieldRule::Token.apply(&json!("jane@example.com")), None, "no @: emails are not tokens");
        let text = rule(r#"{"text":{"maxLength":5}}"#);
        assert_eq!(text.apply(&json!("  hello world ")), Some(json!("hello")));
        assert_eq!(rule(r#""text""#), FieldRule::Text { max_length: DEFAULT_TEXT_CHARS });
        let one_of = rule(r#"{"oneOf":["a","b"]}"#);
        assert_eq!(one_of.apply(&json!("b")), Some(json!("b")));
        assert_eq!(one_of.apply(&json!("c")), None);
    }

    #[test]
    fn undeclared_and_unfit_properties_are_stripped() {
        let spec = spec(json!({"path": "urlPath", "price": {"bucket": [10]}}));
        let props = json!({"path": "/a?q=1", "price": "free", "email": "a@b.c"});
        let out = sanitize(&spec, props.as_object().unwrap());
        assert_eq!(Value::Object(out.props), json!({"path": "/a"}));
        assert_eq!(out.stripped, ["email", "price"]);
    }

    #[test]
    fn coarsened_values_are_recognised_when_read_back() {
        let spec = spec(json!({"path": "urlPath", "price": {"bucket": [10]}, "q": "text"}));
        let raw = json!({"path": "/a?x", "price": 12, "q": " hi "});
        let out = sanitize(&spec, raw.as_object().unwrap()).props;
        assert_eq!(recheck(&spec, &out), out, "what was coarsened survives a reload");
        let edited = json!({"path": "/a?x=1", "price": "cheap", "q": "hi", "email": "a@b.c"});
        assert_eq!(Value::Object(recheck(&spec, edited.as_object().unwrap())), json!({"q": "hi"}));
    }

    #[test]
    fn bad_rules_are_errors_naming_the_choices() {
        let err = |json: &str| FieldRule::from_value(&serde_json::from_str(json).unwrap()).unwrap_err();
        assert!(err(r#""url""#).contains("urlPath"), "{}", err(r#""url""#));
        assert!(err(r#"{"range":[1]}"#).contains("oneOf"));
        assert!(err(r#"{"bucket":[5,1]}"#).contains("increasing"));
        assert!(err(r#"{"oneOf":[]}"#).contains("1 to 100"));
        assert!(err(r#"{"text":{"maxLength":0}}"#).contains("maxLength"));
        assert!(err(r#"{"oneOf":["a"],"bucket":[1]}"#).contains("rule name"));
    }
}
