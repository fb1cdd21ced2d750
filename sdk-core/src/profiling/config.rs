//! The marketer's prompt config: questions, their triggers and audience, and the fatigue rules.
//!
//! Read by hand from JSON values so that *every* problem is reported at once, each with its path,
//! what was expected and what was found (`questions[3].options[1].tags: expected an array of
//! strings, found a number`). Keys named `__proto__` and the like are ordinary unknown keys here.

use crate::collect::unknown_keys;
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

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
            per_session: 1,
            per_day: 2,
            per_week: 4,
            quiet_minutes: 10,
            dismiss_backoff_hours: 24,
            max_dismissals: 3,
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

fn found(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

const MAX_TEXT: usize = 500;
const MAX_ID: usize = 64;

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
            Some(s)
                if (1..=MAX_ID).contains(&s.len())
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                Some(s.to_owned())
            }
            Some(s) => {
                let shown: String = s.chars().take(40).collect();
                self.problem(path, format!("expected 1-64 characters of A-Z, a-z, 0-9, '_' or '-', found {shown:?}"));
                None
            }
            None => {
                self.expected(path, "an id string", v);
                None
            }
        }
    }

    fn count(&mut self, map: &Map<String, Value>, path: &str, key: &str, max: u32, default: u32) -> u32 {
        match map.get(key) {
            None => default,
            Some(v) => match v.as_u64().filter(|n| *n <= u64::from(max)) {
                Some(n) => n as u32,
                None if v.is_u64() => {
                    self.problem(format!("{path}.{key}"), format!("expected at most {max}, found {v}"));
                    default
                }
                None => {
                    self.expected(&format!("{path}.{key}"), &format!("a whole number from 0 to {max}"), v);
                    default
                }
            },
        }
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
        if parsed.is_none() {
            self.expected(path, "a date \"YYYY-MM-DD\"", v);
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
            let Some(map) = self.object(item, &at, &["question", "anyOf"]) else { continue };
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
        let allowed = ["event", "url", "minPageViews", "minSecondsOnSite", "minSession"];
        let Some(map) = self.object(v, path, &allowed) else { return Trigger::default() };
        let event = map.get("event").and_then(|e| {
            let at = format!("{path}.event");
            let ev = self.object(e, &at, &["name", "minCount", "props"])?;
            let name = self.required(ev, &at, "name").and_then(|n| n.as_str().map(str::to_owned));
            let min_count = self.count(ev, &at, "minCount", 1000, 1);
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
            Some(Value::String(p)) if p.starts_with('/') && p.len() <= 200 => Some(p.clone()),
            Some(other) => {
                self.expected(&format!("{path}.url"), "a path pattern starting with '/'", other);
                None
            }
        };
        Trigger {
            event,
            url,
            min_page_views: self.count(map, path, "minPageViews", 10_000, 0),
            min_seconds_on_site: self.count(map, path, "minSecondsOnSite", 86_400, 0),
            min_session: self.count(map, path, "minSession", 10_000, 0),
        }
    }

    fn question(&mut self, v: &Value, path: &str, default_language: &str, purposes: &[PurposeId]) -> Option<Question> {
        const KEYS: &[&str] = &[
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
        let map = self.object(v, path, KEYS)?;
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
        let retention_days = self.count(map, path, "retentionDays", 3650, 0);
        if retention_days == 0 && map.contains_key("retentionDays") {
            self.problem(format!("{path}.retentionDays"), "expected 1 to 3650 days, found 0");
        } else if !map.contains_key("retentionDays") {
            self.problem(format!("{path}.retentionDays"), "missing");
        }
        let priority = match map.get("priority") {
            None => 0,
            Some(v) => match v.as_i64().filter(|p| (-1000..=1000).contains(p)) {
                Some(p) => p as i32,
                None => {
                    self.expected(&format!("{path}.priority"), "a whole number from -1000 to 1000", v);
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
                        let Some(o) = self.object(item, &at, &["id", "label", "tags"]) else { continue };
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
        let kind = match map.get("kind").and_then(Value::as_str) {
            Some("single") => Kind::Single,
            Some("multiple") => Kind::Multiple,
            Some("yesNo") => Kind::YesNo,
            Some("scale") => {
                let min = map.get("min").and_then(Value::as_i64).unwrap_or(1);
                let max = map.get("max").and_then(Value::as_i64).unwrap_or(5);
                if !(min < max && max - min <= 100) {
                    self.problem(
                        format!("{path}.max"),
                        format!("expected min < max with at most 100 steps, found {min}..{max}"),
                    );
                }
                Kind::Scale { min, max }
            }
            Some("text") => Kind::Text { max_length: self.count(map, path, "maxLength", 500, 80).max(1) },
            _ => {
                let v = map.get("kind").unwrap_or(&Value::Null);
                self.problem(
                    format!("{path}.kind"),
                    format!("expected \"single\", \"multiple\", \"scale\", \"yesNo\" or \"text\", found {v}"),
                );
                return None;
            }
        };
        let choice = matches!(kind, Kind::Single | Kind::Multiple);
        if choice && options.len() < 2 {
            self.problem(format!("{path}.options"), "a choice question needs at least 2 options");
        }
        if !choice && map.contains_key("options") {
            self.problem(format!("{path}.options"), "only \"single\" and \"multiple\" questions have options");
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

/// `YYYY-MM-DD` as midnight UTC.
fn parse_date(s: &str) -> Option<Millis> {
    let mut parts = s.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
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
        let Some(map) = r.object(value, "", &["defaultLanguage", "fatigue", "questions"]) else {
            return Err(r.problems);
        };
        let default_language = match map.get("defaultLanguage") {
            None => "en".to_owned(),
            Some(Value::String(l)) if (2..=16).contains(&l.len()) => l.clone(),
            Some(other) => {
                r.expected("defaultLanguage", "a language tag such as \"en\"", other);
                "en".to_owned()
            }
        };
        let mut fatigue = Fatigue::default();
        if let Some(f) = map.get("fatigue") {
            let keys = ["perSession", "perDay", "perWeek", "quietMinutes", "dismissBackoffHours", "maxDismissals"];
            if let Some(f) = r.object(f, "fatigue", &keys) {
                let d = Fatigue::default();
                fatigue = Fatigue {
                    per_session: r.count(f, "fatigue", "perSession", 100, d.per_session),
                    per_day: r.count(f, "fatigue", "perDay", 100, d.per_day),
                    per_week: r.count(f, "fatigue", "perWeek", 500, d.per_week),
                    quiet_minutes: r.count(f, "fatigue", "quietMinutes", 10_080, d.quiet_minutes),
                    dismiss_backoff_hours: r.count(f, "fatigue", "dismissBackoffHours", 8_760, d.dismiss_backoff_hours),
                    max_dismissals: r.count(f, "fatigue", "maxDismissals", 100, d.max_dismissals).max(1),
                };
            }
        }
        let mut questions: Vec<Question> = Vec::new();
        match map.get("questions") {
            Some(Value::Array(items)) => {
                if items.len() > 200 {
                    r.problem("questions", format!("expected at most 200 questions, found {}", items.len()));
                }
                for (i, item) in items.iter().enumerate().take(200) {
                    let path = format!("questions[{i}]");
                    if let Some(q) = r.question(item, &path, &default_language, purposes) {
                        if questions.iter().any(|x| x.id == q.id) {
                            r.problem(format!("{path}.id"), format!("duplicate question id {:?}", q.id));
                        }
                        questions.push(q);
                    }
                }
            }
            Some(other) => r.expected("questions", "an array of questions", other),
            None => r.problem("questions", "missing"),
        }
        check_references(&questions, &mut r);
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

/// Conditions name existing questions and answers, and prerequisites form no cycle.
fn check_references(questions: &[Question], r: &mut Reader) {
    for (i, q) in questions.iter().enumerate() {
        for (list, conditions) in [("requires", &q.requires), ("audience", &q.audience)] {
            for (j, c) in conditions.iter().enumerate() {
                let path = format!("questions[{i}].{list}[{j}]");
                let Some(target) = questions.iter().find(|t| t.id == c.question) else {
                    r.problem(format!("{path}.question"), format!("no question has the id {:?}", c.question));
                    continue;
                };
                for answer in &c.any_of {
                    let known = match target.kind {
                        Kind::YesNo => answer == "yes" || answer == "no",
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
    for (i, q) in questions.iter().enumerate() {
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
