//! The site's ranking config: how much each signal counts, how fast it fades, which tracked
//! events are signals, and the business rules. Every key is optional; the defaults suit a shop.
//!
//! ```json
//! {
//!   "weights": {"tags": 0.4, "neighbours": 1.0, "embedding": 0.5, "stated": 0.6, "popularity": 0.15},
//!   "signals": {"view": {"weight": 1, "halfLifeDays": 14}, "notInterested": {"weight": -3}},
//!   "events": {"product_view": {"signal": "view", "item": "productId"}},
//!   "recentItems": 20, "recencyDecay": 0.85, "maxHistory": 200, "historyDays": 90,
//!   "diversity": 0.2,
//!   "rules": [{"tag": "sale", "boost": 0.2}, {"item": "p07", "pin": 0, "slots": ["home"]}]
//! }
//! ```

use super::signals::SignalKind;
use super::{show, Slot};
use crate::collect::unknown_keys;
use crate::config::{ConfigError, FieldIssue};
use crate::profiling::config::found;
use serde_json::{Map, Value};

pub const CONFIG_KEYS: [&str; 9] =
    ["weights", "signals", "events", "recentItems", "recencyDecay", "maxHistory", "historyDays", "diversity", "rules"];
pub const WEIGHT_KEYS: [&str; 6] = ["tags", "neighbours", "embedding", "stated", "popularity", "context"];
pub const RULE_KEYS: [&str; 5] = ["tag", "item", "boost", "pin", "slots"];
/// Weights and boosts are bounded so every score stays finite and comparable.
pub const MAX_WEIGHT: f64 = 100.0;

/// How much each part of the score counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Affinity to the tags of items the visitor interacted with.
    pub tags: f32,
    /// Neighbours (sidecar) of the visitor's recent items.
    pub neighbours: f32,
    /// Embedding similarity to the visitor's vector.
    pub embedding: f32,
    /// Tags the visitor stated in answers to questions.
    pub stated: f32,
    /// The popularity prior (what cold start falls back to).
    pub popularity: f32,
    /// How much a context item (the product on screen, the cart) counts against one viewed item.
    pub context: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { tags: 0.4, neighbours: 1.0, embedding: 0.5, stated: 0.6, popularity: 0.15, context: 3.0 }
    }
}

/// A signal kind's weight and half-life.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SignalRule {
    pub weight: f32,
    pub half_life_days: f32,
}

/// A tracked event that is also a signal.
#[derive(Clone, Debug, PartialEq)]
pub struct EventSignal {
    pub event: String,
    pub signal: SignalKind,
    /// The event property holding the item id.
    pub item: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RuleTarget {
    Tag(String),
    Item(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum RuleAction {
    /// Added to the score (negative: bury).
    Boost(f32),
    /// Placed at this position of the rail, if it passes the filters.
    Pin(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub target: RuleTarget,
    pub action: RuleAction,
    /// Empty: every slot.
    pub slots: Vec<Slot>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecConfig {
    pub weights: Weights,
    /// Indexed by `SignalKind as usize`.
    pub signals: [SignalRule; SignalKind::ALL.len()],
    pub events: Vec<EventSignal>,
    /// How many of the most recent items feed the neighbours part.
    pub recent_items: usize,
    /// Each older recent item counts this much of the one after it.
    pub recency_decay: f32,
    /// Signals kept on the device.
    pub max_history: usize,
    /// Signals older than this are forgotten.
    pub history_days: u32,
    /// MMR trade-off from 0 (rank by score) to 1 (only diversity).
    pub diversity: f32,
    pub rules: Vec<Rule>,
}

impl Default for RecConfig {
    fn default() -> Self {
        RecConfig {
            weights: Weights::default(),
            signals: SignalKind::ALL.map(|k| k.default_rule()),
            events: Vec::new(),
            recent_items: 20,
            recency_decay: 0.85,
            max_history: 200,
            history_days: 90,
            diversity: 0.2,
            rules: Vec::new(),
        }
    }
}

impl RecConfig {
    pub fn signal(&self, kind: SignalKind) -> SignalRule {
        self.signals[kind as usize]
    }

    /// Reads the config; every problem is reported with its path.
    pub fn from_json(json: &str) -> Result<RecConfig, ConfigError> {
        let value: Value = serde_json::from_str(json).map_err(|e| {
            ConfigError::Malformed(FieldIssue { path: "recommend".into(), message: format!("not valid JSON: {e}") })
        })?;
        RecConfig::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<RecConfig, ConfigError> {
        let mut r = Reader::default();
        let mut config = RecConfig::default();
        let Some(map) = r.object(value, "", &CONFIG_KEYS) else { return Err(r.into_error()) };
        if let Some(w) = map.get("weights").and_then(|v| r.object(v, "weights", &WEIGHT_KEYS)) {
            let weights = &mut config.weights;
            for (key, slot) in [
                ("tags", &mut weights.tags),
                ("neighbours", &mut weights.neighbours),
                ("embedding", &mut weights.embedding),
                ("stated", &mut weights.stated),
                ("popularity", &mut weights.popularity),
                ("context", &mut weights.context),
            ] {
                if let Some(x) = r.number(w, "weights", key, 0.0..=MAX_WEIGHT) {
                    *slot = x;
                }
            }
        }
        let kinds: Vec<&str> = SignalKind::ALL.iter().map(|k| k.name()).collect();
        if let Some(s) = map.get("signals").and_then(|v| r.object(v, "signals", &kinds)) {
            for kind in SignalKind::ALL {
                let path = format!("signals.{}", kind.name());
                let Some(rule) = s.get(kind.name()).and_then(|v| r.object(v, &path, &["weight", "halfLifeDays"]))
                else {
                    continue;
                };
                let slot = &mut config.signals[kind as usize];
                if let Some(w) = r.number(rule, &path, "weight", -MAX_WEIGHT..=MAX_WEIGHT) {
                    slot.weight = w;
                }
                if let Some(h) = r.number(rule, &path, "halfLifeDays", 0.01..=3650.0) {
                    slot.half_life_days = h;
                }
            }
        }
        let events = match map.get("events") {
            None => None,
            Some(Value::Object(events)) => Some(events),
            Some(v) => {
                r.problem("events", format!("expected an object, found {}", found(v)));
                None
            }
        };
        if let Some(events) = events {
            for (name, spec) in events {
                let path = format!("events.{name}");
                let Some(spec) = r.object(spec, &path, &["signal", "item"]) else { continue };
                let signal = match spec.get("signal").and_then(Value::as_str) {
                    Some(s) => match SignalKind::parse(s) {
                        Some(k) => Some(k),
                        None => {
                            r.problem(
                                format!("{path}.signal"),
                                format!("expected one of {}, found {s:?}", kinds.join(", ")),
                            );
                            None
                        }
                    },
                    None => {
                        r.problem(format!("{path}.signal"), "expected a signal name");
                        None
                    }
                };
                let item = spec.get("item").and_then(Value::as_str).filter(|s| !s.is_empty());
                if item.is_none() {
                    r.problem(format!("{path}.item"), "expected the name of the event property holding the item id");
                }
                if let (Some(signal), Some(item)) = (signal, item) {
                    config.events.push(EventSignal { event: name.clone(), signal, item: item.to_owned() });
                }
            }
        }
        if let Some(n) = r.number(map, "", "recentItems", 1.0..=200.0) {
            config.recent_items = n as usize;
        }
        if let Some(d) = r.number(map, "", "recencyDecay", 0.0..=1.0) {
            config.recency_decay = d;
        }
        if let Some(n) = r.number(map, "", "maxHistory", 1.0..=1000.0) {
            config.max_history = n as usize;
        }
        if let Some(n) = r.number(map, "", "historyDays", 1.0..=3650.0) {
            config.history_days = n as u32;
        }
        if let Some(d) = r.number(map, "", "diversity", 0.0..=1.0) {
            config.diversity = d;
        }
        match map.get("rules") {
            None => {}
            Some(Value::Array(rules)) => {
                for (k, rule) in rules.iter().enumerate() {
                    if let Some(rule) = r.rule(rule, &format!("rules[{k}]")) {
                        config.rules.push(rule);
                    }
                }
            }
            Some(v) => r.problem("rules", format!("expected an array, found {}", found(v))),
        }
        if r.problems.is_empty() {
            Ok(config)
        } else {
            Err(r.into_error())
        }
    }
}

#[derive(Default)]
struct Reader {
    problems: Vec<(String, String)>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Reader {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push((path.into(), message.into()));
    }

    fn into_error(self) -> ConfigError {
        ConfigError::Invalid(self.problems.into_iter().map(|(path, message)| FieldIssue { path, message }).collect())
    }

    fn object<'a>(&mut self, v: &'a Value, path: &str, allowed: &[&str]) -> Option<&'a Map<String, Value>> {
        let Some(map) = v.as_object() else {
            self.problem(
                if path.is_empty() { "recommend" } else { path },
                format!("expected an object, found {}", found(v)),
            );
            return None;
        };
        unknown_keys(map, allowed, path, &mut self.problems);
        Some(map)
    }

    fn number(
        &mut self,
        map: &Map<String, Value>,
        path: &str,
        key: &str,
        range: std::ops::RangeInclusive<f64>,
    ) -> Option<f32> {
        let v = map.get(key)?;
        match v.as_f64() {
            Some(x) if range.contains(&x) => Some(x as f32),
            _ => {
                let (lo, hi) = (range.start(), range.end());
                self.problem(
                    join(path, key),
                    format!("expected a number from {} to {}, found {v}", show(*lo), show(*hi)),
                );
                None
            }
        }
    }

    fn rule(&mut self, v: &Value, path: &str) -> Option<Rule> {
        let map = self.object(v, path, &RULE_KEYS)?;
        let target = match (map.get("tag").and_then(Value::as_str), map.get("item").and_then(Value::as_str)) {
            (Some(t), None) => Some(RuleTarget::Tag(t.to_owned())),
            (None, Some(i)) => Some(RuleTarget::Item(i.to_owned())),
            _ => {
                self.problem(path, "expected exactly one of `tag` or `item` (a string)");
                None
            }
        };
        let action = match (map.contains_key("boost"), map.contains_key("pin")) {
            (true, false) => self.number(map, path, "boost", -MAX_WEIGHT..=MAX_WEIGHT).map(RuleAction::Boost),
            (false, true) => self.number(map, path, "pin", 0.0..=99.0).map(|p| RuleAction::Pin(p as usize)),
            _ => {
                self.problem(path, "expected exactly one of `boost` (negative buries) or `pin` (a position)");
                None
            }
        };
        if matches!((&target, &action), (Some(RuleTarget::Tag(_)), Some(RuleAction::Pin(_)))) {
            self.problem(format!("{path}.pin"), "only an `item` can be pinned");
            return None;
        }
        let mut slots = Vec::new();
        match map.get("slots") {
            None => {}
            Some(Value::Array(a)) => {
                for (k, s) in a.iter().enumerate() {
                    match s.as_str().and_then(Slot::parse) {
                        Some(slot) => slots.push(slot),
                        None => self.problem(
                            format!("{path}.slots[{k}]"),
                            format!("expected \"home\", \"similar\" or \"cart\", found {s}"),
                        ),
                    }
                }
            }
            Some(v) => self.problem(format!("{path}.slots"), format!("expected an array, found {}", found(v))),
        }
        Some(Rule { target: target?, action: action?, slots })
    }
}
