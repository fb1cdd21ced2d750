//! The marketer's prompt config: questions, their triggers and audience, and the fatigue rules.
//!
//! Read by hand from JSON values so that *every* problem is reported at once, each with its path,
//! what was expected and what was found (`questions[3].options[1].tags: expected an array of
//! strings, found a number`). Keys named `__proto__` and the like are ordinary unknown keys here.
//!
//! The keys and limits below are shared with the JSON Schema ([`super::schema`]), so an editor
//! checks a config against the same rules as this reader.

use crate::collect::unknown_keys;
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// The keys of the config object. `$schema` lets an editor find the JSON Schema; it is not read.
pub const CONFIG_KEYS: [&str; 4] = [SCHEMA_KEY, "defaultLanguage", "fatigue", "questions"];
pub const SCHEMA_KEY: &str = "$schema";
/// The keys of a question.
pub const QUESTION_KEYS: [&str; 17] = [
    "id",
    "text",
    "kind",
    "options",
    "min",
    "max",
    "maxLength",
    "purpose",
    "why",
    "usedFor",
    "retentionDays",
    "priority",
    "requires",
    "trigger",
    "audience",
    "start",
    "end",
];
/// The keys a question must have.
pub const QUESTION_REQUIRED: [&str; 7] = ["id", "kind", "text", "purpose", "why", "usedFor", "retentionDays"];
/// The keys of an answer option (`id` and `label` required).
pub const OPTION_KEYS: [&str; 3] = ["id", "label", "tags"];
/// The keys of a `requires` or `audience` condition (`question` required).
pub const CONDITION_KEYS: [&str; 2] = ["question", "anyOf"];
/// The keys of a trigger.
pub const TRIGGER_KEYS: [&str; 5] = ["event", "url", MIN_PAGE_VIEWS.key, MIN_SECONDS_ON_SITE.key, MIN_SESSION.key];
/// The keys of a trigger's event (`name` required).
pub const EVENT_KEYS: [&str; 3] = ["name", MIN_COUNT.key, "props"];

/// A whole-number setting from 0 to `max`, `default` when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    pub key: &'static str,
    pub max: u32,
    pub default: u32,
}

pub const PER_SESSION: Count = Count { key: "perSession", max: 100, default: 1 };
pub const PER_DAY: Count = Count { key: "perDay", max: 100, default: 2 };
pub const PER_WEEK: Count = Count { key: "perWeek", max: 500, default: 4 };
pub const QUIET_MINUTES: Count = Count { key: "quietMinutes", max: 10_080, default: 10 };
pub const DISMISS_BACKOFF_HOURS: Count = Count { key: "dismissBackoffHours", max: 8_760, default: 24 };
/// 0 is taken as 1.
pub const MAX_DISMISSALS: Count = Count { key: "maxDismissals", max: 100, default: 3 };
/// The keys of `fatigue`, in order, with their limits.
pub const FATIGUE: [Count; 6] = [PER_SESSION, PER_DAY, PER_WEEK, QUIET_MINUTES, DISMISS_BACKOFF_HOURS, MAX_DISMISSALS];

pub const MIN_COUNT: Count = Count { key: "minCount", max: 1000, default: 1 };
pub const MIN_PAGE_VIEWS: Count = Count { key: "minPageViews", max: 10_000, default: 0 };
pub const MIN_SECONDS_ON_SITE: Count = Count { key: "minSecondsOnSite", max: 86_400, default: 0 };
pub const MIN_SESSION: Count = Count { key: "minSession", max: 10_000, default: 0 };

/// Read as a count from 0 to `max` (so a wrong type says so); then 0 is refused.
pub const RETENTION_DAYS: Count = Count { key: "retentionDays", max: 3650, default: 0 };
pub const MIN_RETENTION_DAYS: u32 = 1;
/// For `text` questions; 0 is taken as 1.
pub const MAX_LENGTH: Count = Count { key: "maxLength", max: 500, default: 80 };

pub const KIND_SINGLE: &str = "single";
pub const KIND_MULTIPLE: &str = "multiple";
pub const KIND_SCALE: &str = "scale";
pub const KIND_YES_NO: &str = "yesNo";
pub const KIND_TEXT: &str = "text";
pub const KINDS: [&str; 5] = [KIND_SINGLE, KIND_MULTIPLE, KIND_SCALE, KIND_YES_NO, KIND_TEXT];
/// The kinds that have `options`.
pub const CHOICE_KINDS: [&str; 2] = [KIND_SINGLE, KIND_MULTIPLE];
/// The answers of a `yesNo` question, as conditions name them.
pub const YES_NO_ANSWERS: [&str; 2] = ["yes", "no"];

/// A scale's `min` and `max` when absent.
pub const SCALE_DEFAULT: (i64, i64) = (1, 5);
pub const MAX_SCALE_STEPS: i64 = 100;
pub const PRIORITY: RangeInclusive<i64> = -1000..=1000;
pub const MAX_QUESTIONS: usize = 200;
/// Characters of a text (`text`, `why`, `usedFor`, `label`), which must not be blank.
pub const MAX_TEXT: usize = 500;
/// Characters of an id; ids are made of [`is_id_char`] characters.
pub const MAX_ID: usize = 64;
pub const ID_CHARS: &str = "A-Z, a-z, 0-9, '_' or '-'";
pub const DEFAULT_LANGUAGE: &str = "en";
/// Characters of a language tag.
pub const LANGUAGE_TAG_LENGTH: RangeInclusive<usize> = 2..=16;
/// Characters of a trigger's path pattern, which starts with `/`.
pub const MAX_URL: usize = 200;
/// Dates are `YYYY-MM-DD`, midnight UTC, in these years.
pub const DATE_FORMAT: &str = "YYYY-MM-DD";
pub const DATE_YEARS: RangeInclusive<i64> = 1970..=9999;

pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A text in several languages: language tag → text.
pub type Texts = BTreeMap<String, String>;

#[derive(Clone, Debug, PartialEq)]
pub struct ProfilingConfig {
    /// Used when the visitor's language has no translation; every text must have it.
    pub default_language: String,
    pub fatigue: Fatigue,
    pub questions: Vec<Question>,
}

/// Limits across all questions, so that visitors are never nagged.
#[derive(Clone, Debug, PartialEq)]
pub struct Fatigue {
    pub per_session: u32,
    pub per_day: u32,
    pub per_week: u32,
    /// No prompt within this long after any prompt was shown.
    pub quiet_minutes: u32,
    /// After the first dismissal a question waits this long; each further dismissal doubles it.
    pub dismiss_backoff_hours: u32,
    /// After this many dismissals a question is never shown again.
    pub max_dismissals: u32,
}

impl Default for Fatigue {
    fn default() -> Self {
        Self {
            per_session: PER_SESSION.default,
            per_day: PER_DAY.default,
            per_week: PER_WEEK.default,
            quiet_minutes: QUIET_MINUTES.default,
            dismiss_backoff_hours: DISMISS_BACKOFF_HOURS.default,
            max_dismissals: MAX_DISMISSALS.default,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Single,
    Multiple,
    Scale { min: i64, max: i64 },
    YesNo,
    Text { max_length: u32 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct AnswerOption {
    pub id: String,
    pub label: Texts,
    /// Catalogue tags this answer stands for (how answers feed recommendations).
    pub tags: Vec<String>,
}

/// What must have happened before a question may show (all given conditions must hold).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trigger {
    pub event: Option<EventTrigger>,
    /// A path pattern with `*` wildcards, e.g. `/product*`.
    pub url: Option<String>,
    pub min_page_views: u32,
    pub min_seconds_on_site: u32,
    pub min_session: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventTrigger {
    pub name: String,
    pub min_count: u32,
    /// Only events whose props have these values count.
    pub props: Map<String, Value>,
}

/// A condition on an earlier answer.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerCondition {
    pub question: String,
    /// Any of these answers (option ids, or "yes"/"no"); empty: any answer at all.
    pub any_of: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub id: String,
    pub text: Texts,
    pub kind: Kind,
    pub options: Vec<AnswerOption>,
    pub purpose: PurposeId,
    pub why: Texts,
    pub used_for: Texts,
    pub retention_days: u32,
    pub priority: i32,
    /// Only after these questions were answered (with one of the given answers, if any).
    pub requires: Vec<AnswerCondition>,
    pub trigger: Trigger,
    /// Only for visitors whose earlier answers match all of these.
    pub audience: Vec<AnswerCondition>,
    pub start: Option<Millis>,
    pub end: Option<Millis>,
}

/// Collects problems while reading a JSON document.
#[derive(Default)]
struct Reader {
    problems: Vec<(String, String)>,
}

pub(crate) fn found(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `"a", "b" or "c"`.
fn one_of(names: &[&str]) -> String {
    listed(names, "or")
}

/// `"a", "b" and "c"`.
fn and_list(names: &[&str]) -> String {
    listed(names, "and")
}

fn listed(names: &[&str], conjunction: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} {conjunction} {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

impl Reader {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push((path.into(), message.into()));
    }

    fn expected(&mut self, path: &str, what: &str, v: &Value) {
        self.problem(path, format!("expected {what}, found {}", found(v)));
    }

    /// The object at `path`, its unknown keys reported.
    fn object<'a>(&mut self, v: &'a Value, path: &str, allowed: &[&str]) -> Option<&'a Map<String, Value>> {
        let Some(map) = v.as_object() else {
            self.expected(if path.is_empty() { "config" } else { path }, "an object", v);
            return None;
        };
        unknown_keys(map, allowed, path, &mut self.problems);
        Some(map)
    }

    fn required<'a>(&mut self, map: &'a Map<String, Value>, path: &str, key: &str) -> Option<&'a Value> {
        let v = map.get(key);
        if v.is_none() {
            self.problem(format!("{path}.{key}"), "missing");
        }
        v
    }

    fn id(&mut self, v: &Value, path: &str) -> Option<String> {
        match v.as_str() {
            Some(s) if (1..=MAX_ID).contains(&s.len()) && s.chars().all(is_id_char) => Some(s.to_owned()),
            Some(s) => {
                let shown: String = s.chars().take(40).collect();
                self.problem(path, format!("expected 1-{MAX_ID} characters of {ID_CHARS}, found {shown:?}"));
                None
            }
            None => {
                self.expected(path, "an id string", v);
                None
            }
        }
    }

    fn count(&mut self, map: &Map<String, Value>, path: &str, count: Count) -> u32 {
        let Count { key, max, default } = count;
        match map.get(key) {
            None => default,
            Some(v) => match v.as_u64().filter(|n| *n <= u64::from(max)) {
                Some(n) => n as u32,
                None if v.is_u64() => {
                    self.problem(format!("{path}.{key}"), format!("expected at most {max}, found {v}"));
                    default
                }
                None => {
                    let what = format!("a whole number from 0 to {max}");
                    match v {
                        // -1 or 1.5: the number says more than "found a number".
                        Value::Number(n) => {
                            self.problem(format!("{path}.{key}"), format!("expected {what}, found {n}"))
                        }
                        _ => self.expected(&format!("{path}.{key}"), &what, v),
                    }
                    default
                }
            },
        }
    }

    /// The whole number at `key`, if present.
    fn whole_number(&mut self, map: &Map<String, Value>, path: &str, key: &str) -> Option<i64> {
        let v = map.get(key)?;
        let n = v.as_i64();
        if n.is_none() {
            self.expected(&format!("{path}.{key}"), "a whole number", v);
        }
        n
    }

    /// Language → text, each text 1-500 characters, the default language present.
    fn texts(&mut self, v: &Value, path: &str, default_language: &str) -> Texts {
        let mut texts = Texts::new();
        let Some(map) = v.as_object() else {
            self.expected(path, "an object of language → text", v);
            return texts;
        };
        for (lang, text) in map {
            match text.as_str() {
                Some(t) if !t.trim().is_empty() && t.chars().count() <= MAX_TEXT => {
                    texts.insert(lang.clone(), t.to_owned());
                }
                Some(_) => self.problem(format!("{path}.{lang}"), format!("expected 1 to {MAX_TEXT} characters")),
                None => self.expected(&format!("{path}.{lang}"), "a string", text),
            }
        }
        if !map.contains_key(default_language) {
            self.problem(path, format!("missing the default language {default_language:?}"));
        }
        texts
    }

    fn strings(&mut self, v: &Value, path: &str) -> Vec<String> {
        match v.as_array() {
            Some(items) if items.iter().all(Value::is_string) => {
                items.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()
            }
            _ => {
                let what = match v.as_array() {
                    Some(items) => found(items.iter().find(|i| !i.is_string()).expect("a non-string item")),
                    None => found(v),
                };
                self.problem(path, format!("expected an array of strings, found {what}"));
                Vec::new()
            }
        }
    }

    fn date(&mut self, v: &Value, path: &str) -> Option<Millis> {
        let parsed = v.as_str().and_then(parse_date);
        match v.as_str() {
            Some(s) if parsed.is_none() => {
                let shown: String = s.chars().take(40).collect();
                self.problem(path, format!("expected a date \"{DATE_FORMAT}\", found {shown:?}"));
            }
            _ if parsed.is_none() => self.expected(path, &format!("a date \"{DATE_FORMAT}\""), v),
            _ => {}
        }
        parsed
    }

    fn conditions(&mut self, v: Option<&Value>, path: &str) -> Vec<AnswerCondition> {
        let Some(v) = v else { return Vec::new() };
        let Some(items) = v.as_array() else {
            self.expected(path, "an array", v);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let Some(map) = self.object(item, &at, &CONDITION_KEYS) else { continue };
            let question = self.required(map, &at, "question").and_then(|q| self.id(q, &format!("{at}.question")));
            let any_of = map.get("anyOf").map(|a| self.strings(a, &format!("{at}.anyOf"))).unwrap_or_default();
            if let Some(question) = question {
                out.push(AnswerCondition { question, any_of });
            }
        }
        out
    }

    fn trigger(&mut self, v: Option<&Value>, path: &str) -> Trigger {
        let Some(v) = v else { return Trigger::default() };
        let Some(map) = self.object(v, path, &TRIGGER_KEYS) else { return Trigger::default() };
        let event = map.get("event").and_then(|e| {
            let at = format!("{path}.event");
            let ev = self.object(e, &at, &EVENT_KEYS)?;
            let name = self.required(ev, &at, "name").and_then(|n| match n.as_str() {
                Some(name) => Some(name.to_owned()),
                None => {
                    self.expected(&format!("{at}.name"), "an event name", n);
                    None
                }
            });
            let min_count = self.count(ev, &at, MIN_COUNT);
            let props = match ev.get("props") {
                None => Map::new(),
                Some(Value::Object(p)) => p.clone(),
                Some(other) => {
                    self.expected(&format!("{at}.props"), "an object of property → value", other);
                    Map::new()
                }
            };
            Some(EventTrigger { name: name?, min_count, props })
        });
        let url = match map.get("url") {
            None => None,
            Some(Value::String(p)) if p.starts_with('/') && p.chars().count() <= MAX_URL => Some(p.clone()),
            Some(other) => {
                let what = format!("a path pattern starting with '/' of at most {MAX_URL} characters");
                self.expected(&format!("{path}.url"), &what, other);
                None
            }
        };
        Trigger {
            event,
            url,
            min_page_views: self.count(map, path, MIN_PAGE_VIEWS),
            min_seconds_on_site: self.count(map, path, MIN_SECONDS_ON_SITE),
            min_session: self.count(map, path, MIN_SESSION),
        }
    }

    fn question(&mut self, v: &Value, path: &str, default_language: &str, purposes: &[PurposeId]) -> Option<Question> {
        let map = self.object(v, path, &QUESTION_KEYS)?;
        let id = self.required(map, path, "id").and_then(|v| self.id(v, &format!("{path}.id")));
        let text = self.required(map, path, "text").map(|v| self.texts(v, &format!("{path}.text"), default_language));
        let why = self.required(map, path, "why").map(|v| self.texts(v, &format!("{path}.why"), default_language));
        let used_for =
            self.required(map, path, "usedFor").map(|v| self.texts(v, &format!("{path}.usedFor"), default_language));
        let purpose = self.required(map, path, "purpose").and_then(|v| match v.as_str().map(PurposeId::parse) {
            Some(Ok(p)) if purposes.contains(&p) && !p.is_necessary() => Some(p),
            Some(Ok(p)) if p.is_necessary() => {
                self.problem(
                    format!("{path}.purpose"),
                    "`necessary` needs no consent; a question needs a purpose the visitor grants",
                );
                None
            }
            _ => {
                let known = purposes.iter().map(PurposeId::as_str).collect::<Vec<_>>().join(", ");
                self.problem(format!("{path}.purpose"), format!("expected a declared purpose ({known}), found {v}"));
                None
            }
        });
        let at = format!("{path}.{}", RETENTION_DAYS.key);
        let (min, max) = (MIN_RETENTION_DAYS, RETENTION_DAYS.max);
        let retention_days = match map.get(RETENTION_DAYS.key) {
            None => {
                self.problem(at, "missing");
                0
            }
            Some(v) => match v.as_u64().filter(|n| (u64::from(min)..=u64::from(max)).contains(n)) {
                Some(n) => n as u32,
                None => {
                    let shown = match v {
                        Value::Number(n) => n.to_string(),
                        _ => found(v).to_owned(),
                    };
                    self.problem(at, format!("expected a whole number of days from {min} to {max}, found {shown}"));
                    0
                }
            },
        };
        let priority = match map.get("priority") {
            None => 0,
            Some(v) => match v.as_i64().filter(|p| PRIORITY.contains(p)) {
                Some(p) => p as i32,
                None => {
                    let (min, max) = (PRIORITY.start(), PRIORITY.end());
                    self.expected(&format!("{path}.priority"), &format!("a whole number from {min} to {max}"), v);
                    0
                }
            },
        };
        let mut options = Vec::new();
        if let Some(list) = map.get("options") {
            match list.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let at = format!("{path}.options[{i}]");
                        let Some(o) = self.object(item, &at, &OPTION_KEYS) else { continue };
                        let oid = self.required(o, &at, "id").and_then(|v| self.id(v, &format!("{at}.id")));
                        let label = self
                            .required(o, &at, "label")
                            .map(|v| self.texts(v, &format!("{at}.label"), default_language))
                            .unwrap_or_default();
                        let tags = o.get("tags").map(|t| self.strings(t, &format!("{at}.tags"))).unwrap_or_default();
                        if let Some(oid) = oid {
                            if options.iter().any(|x: &AnswerOption| x.id == oid) {
                                self.problem(format!("{at}.id"), format!("duplicate option id {oid:?}"));
                            }
                            options.push(AnswerOption { id: oid, label, tags });
                        }
                    }
                }
                None => self.expected(&format!("{path}.options"), "an array of options", list),
            }
        }
        let kind_name = map.get("kind").and_then(Value::as_str);
        let kind = match kind_name {
            Some(KIND_SINGLE) => Kind::Single,
            Some(KIND_MULTIPLE) => Kind::Multiple,
            Some(KIND_YES_NO) => Kind::YesNo,
            Some(KIND_SCALE) => {
                let min = self.whole_number(map, path, "min").unwrap_or(SCALE_DEFAULT.0);
                let max = self.whole_number(map, path, "max").unwrap_or(SCALE_DEFAULT.1);
                if !(min < max && max.checked_sub(min).is_some_and(|steps| steps <= MAX_SCALE_STEPS)) {
                    self.problem(
                        format!("{path}.max"),
                        format!("expected min < max with at most {MAX_SCALE_STEPS} steps, found {min}..{max}"),
                    );
                }
                Kind::Scale { min, max }
            }
            Some(KIND_TEXT) => Kind::Text { max_length: self.count(map, path, MAX_LENGTH).max(1) },
            _ => {
                let v = map.get("kind").unwrap_or(&Value::Null);
                self.problem(format!("{path}.kind"), format!("expected {}, found {v}", one_of(&KINDS)));
                return None;
            }
        };
        let choice = kind_name.is_some_and(|k| CHOICE_KINDS.contains(&k));
        if choice && options.len() < 2 {
            self.problem(format!("{path}.options"), "a choice question needs at least 2 options");
        }
        // Keys of another kind are refused rather than ignored: they show the kind was mistaken.
        let only = [
            ("options", !choice, format!("only {} questions have options", and_list(&CHOICE_KINDS))),
            ("min", kind_name != Some(KIND_SCALE), format!("only {KIND_SCALE:?} questions have min and max")),
            ("max", kind_name != Some(KIND_SCALE), format!("only {KIND_SCALE:?} questions have min and max")),
            (MAX_LENGTH.key, kind_name != Some(KIND_TEXT), format!("only {KIND_TEXT:?} questions have maxLength")),
        ];
        for (key, refused, message) in only {
            if refused && map.contains_key(key) {
                self.problem(format!("{path}.{key}"), message);
            }
        }
        let requires = self.conditions(map.get("requires"), &format!("{path}.requires"));
        let audience = self.conditions(map.get("audience"), &format!("{path}.audience"));
        let trigger = self.trigger(map.get("trigger"), &format!("{path}.trigger"));
        let start = map.get("start").and_then(|v| self.date(v, &format!("{path}.start")));
        let end = map.get("end").and_then(|v| self.date(v, &format!("{path}.end")));
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                self.problem(format!("{path}.end"), "expected an end after the start");
            }
        }
        Some(Question {
            id: id?,
            text: text?,
            kind,
            options,
            purpose: purpose?,
            why: why?,
            used_for: used_for?,
            retention_days,
            priority,
            requires,
            trigger,
            audience,
            start,
            end,
        })
    }
}

/// `YYYY-MM-DD` as midnight UTC; the day must exist (no February 30th).
fn parse_date(s: &str) -> Option<Millis> {
    let mut parts = s.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !DATE_YEARS.contains(&y) || !(1..=12).contains(&m) || !(1..=month_days).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days).ok().map(|days| Millis(days * Millis::DAY))
}

impl ProfilingConfig {
    /// Reads a prompt config; `Err` lists every problem found, each as `(path, message)`.
    pub fn from_json(json: &str, purposes: &[PurposeId]) -> Result<Self, Vec<(String, String)>> {
        let value: Value = serde_json::from_str(json).map_err(|e| vec![("config".to_owned(), e.to_string())])?;
        Self::from_value(&value, purposes)
    }

    pub fn from_value(value: &Value, purposes: &[PurposeId]) -> Result<Self, Vec<(String, String)>> {
        let mut r = Reader::default();
        let Some(map) = r.object(value, "", &CONFIG_KEYS) else {
            return Err(r.problems);
        };
        if let Some(v) = map.get(SCHEMA_KEY).filter(|v| !v.is_string()) {
            r.expected(SCHEMA_KEY, "the JSON Schema's URL or path", v);
        }
        let default_language = match map.get("defaultLanguage") {
            None => DEFAULT_LANGUAGE.to_owned(),
            Some(Value::String(l)) if LANGUAGE_TAG_LENGTH.contains(&l.chars().count()) => l.clone(),
            Some(other) => {
                r.expected("defaultLanguage", &format!("a language tag such as {DEFAULT_LANGUAGE:?}"), other);
                DEFAULT_LANGUAGE.to_owned()
            }
        };
        let mut fatigue = Fatigue::default();
        if let Some(f) = map.get("fatigue") {
            if let Some(f) = r.object(f, "fatigue", &FATIGUE.map(|c| c.key)) {
                fatigue = Fatigue {
                    per_session: r.count(f, "fatigue", PER_SESSION),
                    per_day: r.count(f, "fatigue", PER_DAY),
                    per_week: r.count(f, "fatigue", PER_WEEK),
                    quiet_minutes: r.count(f, "fatigue", QUIET_MINUTES),
                    dismiss_backoff_hours: r.count(f, "fatigue", DISMISS_BACKOFF_HOURS),
                    max_dismissals: r.count(f, "fatigue", MAX_DISMISSALS).max(1),
                };
            }
        }
        let mut questions: Vec<Question> = Vec::new();
        // Where each read question sits in the document: a broken one before it shifts the rest.
        let mut places: Vec<usize> = Vec::new();
        // The ids of questions too broken to read: conditions on them are not reported again.
        let mut unread: Vec<&str> = Vec::new();
        match map.get("questions") {
            Some(Value::Array(items)) => {
                if items.len() > MAX_QUESTIONS {
                    r.problem(
                        "questions",
                        format!("expected at most {MAX_QUESTIONS} questions, found {}", items.len()),
                    );
                }
                for (i, item) in items.iter().enumerate().take(MAX_QUESTIONS) {
                    let path = format!("questions[{i}]");
                    if let Some(q) = r.question(item, &path, &default_language, purposes) {
                        if questions.iter().any(|x| x.id == q.id) {
                            r.problem(format!("{path}.id"), format!("duplicate question id {:?}", q.id));
                        }
                        questions.push(q);
                        places.push(i);
                    } else if let Some(id) = item.get("id").and_then(Value::as_str) {
                        unread.push(id);
                    }
                }
            }
            Some(other) => r.expected("questions", "an array of questions", other),
            None => r.problem("questions", "missing"),
        }
        check_references(&questions, &places, &unread, &mut r);
        if r.problems.is_empty() {
            Ok(ProfilingConfig { default_language, fatigue, questions })
        } else {
            Err(r.problems)
        }
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }
}

/// Conditions name existing questions and answers, and prerequisites form no cycle. `places[n]` is
/// the index in the document of `questions[n]`; `unread` are the ids of questions that had problems.
fn check_references(questions: &[Question], places: &[usize], unread: &[&str], r: &mut Reader) {
    for (q, i) in questions.iter().zip(places) {
        for (list, conditions) in [("requires", &q.requires), ("audience", &q.audience)] {
            for (j, c) in conditions.iter().enumerate() {
                let path = format!("questions[{i}].{list}[{j}]");
                let Some(target) = questions.iter().find(|t| t.id == c.question) else {
                    if !unread.contains(&c.question.as_str()) {
                        r.problem(format!("{path}.question"), format!("no question has the id {:?}", c.question));
                    }
                    continue;
                };
                for answer in &c.any_of {
                    let known = match target.kind {
                        Kind::YesNo => YES_NO_ANSWERS.contains(&answer.as_str()),
                        Kind::Single | Kind::Multiple => target.options.iter().any(|o| &o.id == answer),
                        _ => false,
                    };
                    if !known {
                        r.problem(
                            format!("{path}.anyOf"),
                            format!("{answer:?} is not an answer of question {:?}", c.question),
                        );
                    }
                }
            }
        }
    }
    // A cycle: following `requires` from a question leads back to it.
    for (q, i) in questions.iter().zip(places) {
        let mut stack: Vec<&str> = q.requires.iter().map(|c| c.question.as_str()).collect();
        let mut seen: Vec<&str> = Vec::new();
        while let Some(next) = stack.pop() {
            if next == q.id {
                r.problem(format!("questions[{i}].requires"), format!("prerequisites form a cycle back to {:?}", q.id));
                break;
            }
            if seen.contains(&next) {
                continue;
            }
            seen.push(next);
            if let Some(t) = questions.iter().find(|t| t.id == next) {
                stack.extend(t.requires.iter().map(|c| c.question.as_str()));
            }
        }
    }
}
