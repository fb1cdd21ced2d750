//! The visitor's recommendation signals, kept on the device under the `personalization`
//! purpose only: what they did with which item and when, the tags they muted, and what they
//! asked to forget.
//!
//! Tabs share one copy in storage, so forgetting and resetting leave tombstones: a merge with a
//! tab that still holds the old signals cannot bring them back.

use super::config::{RecConfig, SignalRule};
use crate::time::Millis;
use serde_json::{json, Value};

/// What the visitor did with an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalKind {
    View = 0,
    Click = 1,
    Cart = 2,
    Purchase = 3,
    /// Time spent or share consumed; carries a ratio from 0 to 1.
    Dwell = 4,
    Skip = 5,
    NotInterested = 6,
}

impl SignalKind {
    pub const ALL: [SignalKind; 7] = [
        SignalKind::View,
        SignalKind::Click,
        SignalKind::Cart,
        SignalKind::Purchase,
        SignalKind::Dwell,
        SignalKind::Skip,
        SignalKind::NotInterested,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SignalKind::View => "view",
            SignalKind::Click => "click",
            SignalKind::Cart => "cart",
            SignalKind::Purchase => "purchase",
            SignalKind::Dwell => "dwell",
            SignalKind::Skip => "skip",
            SignalKind::NotInterested => "notInterested",
        }
    }

    pub fn parse(s: &str) -> Option<SignalKind> {
        SignalKind::ALL.into_iter().find(|k| k.name() == s)
    }

    pub(crate) fn default_rule(self) -> SignalRule {
        let (weight, half_life_days) = match self {
            SignalKind::View => (1.0, 14.0),
            SignalKind::Click => (1.5, 14.0),
            SignalKind::Cart => (3.0, 30.0),
            SignalKind::Purchase => (4.0, 60.0),
            SignalKind::Dwell => (2.0, 14.0),
            SignalKind::Skip => (-0.5, 7.0),
            SignalKind::NotInterested => (-3.0, 90.0),
        };
        SignalRule { weight, half_life_days }
    }

    /// Items with this signal are never recommended again.
    pub fn excludes(self) -> bool {
        matches!(self, SignalKind::Purchase | SignalKind::NotInterested)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    pub item: String,
    pub kind: SignalKind,
    pub at: Millis,
    /// For `dwell`: the share from 0 to 1.
    pub ratio: Option<f32>,
}

/// At most this many forgotten items are remembered as tombstones.
const MAX_TOMBSTONES: usize = 200;
const MAX_MUTED: usize = 100;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    /// Oldest first.
    pub history: Vec<Signal>,
    pub muted: Vec<String>,
    /// When `muted` last changed (the newer list wins a merge).
    pub muted_at: Millis,
    /// Items the visitor asked to forget, and when.
    pub forgotten: Vec<(String, Millis)>,
    /// Signals up to this time were reset.
    pub reset_at: Millis,
}

impl Signals {
    pub fn is_empty(&self) -> bool {
        self.history.is_empty() && self.muted.is_empty() && self.forgotten.is_empty() && self.reset_at == Millis(0)
    }

    /// Records a signal, keeping the newest `max_history` within `history_days`.
    pub fn record(&mut self, config: &RecConfig, item: &str, kind: SignalKind, ratio: Option<f32>, at: Millis) {
        let ratio = ratio.filter(|r| r.is_finite()).map(|r| r.clamp(0.0, 1.0));
        self.history.push(Signal { item: item.to_owned(), kind, at, ratio });
        self.tidy(config, at);
    }

    /// Drops what is too old, too many, forgotten or reset.
    pub fn tidy(&mut self, config: &RecConfig, now: Millis) {
        let horizon = now.0.saturating_sub(u64::from(config.history_days) * Millis::DAY);
        let forgotten = &self.forgotten;
        let reset_at = self.reset_at;
        self.history.retain(|s| {
            s.at.0 >= horizon && s.at > reset_at && !forgotten.iter().any(|(item, at)| *item == s.item && s.at <= *at)
        });
        // Oldest first; signals at the same millisecond keep the order they were recorded in.
        self.history.sort_by_key(|s| s.at);
        let mut k = 0;
        while k < self.history.len() {
            let s = &self.history[k];
            let same_at = self.history[..k].iter().rev().take_while(|e| e.at == s.at);
            if same_at.into_iter().any(|e| e.item == s.item && e.kind == s.kind) {
                self.history.remove(k);
            } else {
                k += 1;
            }
        }
        let excess = self.history.len().saturating_sub(config.max_history);
        self.history.drain(..excess);
        self.forgotten.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        self.forgotten.dedup_by(|a, b| a.0 == b.0);
        self.forgotten.truncate(MAX_TOMBSTONES);
    }

    /// Forgets every signal about `item` (a visitor control).
    pub fn forget(&mut self, config: &RecConfig, item: &str, now: Millis) {
        self.forgotten.push((item.to_owned(), now));
        self.tidy(config, now);
    }

    pub fn mute(&mut self, tag: &str, now: Millis) {
        if !self.muted.iter().any(|t| t == tag) && self.muted.len() < MAX_MUTED {
            self.muted.push(tag.to_owned());
        }
        self.muted_at = self.muted_at.max(now);
    }

    pub fn unmute(&mut self, tag: &str, now: Millis) {
        self.muted.retain(|t| t != tag);
        self.muted_at = self.muted_at.max(now);
    }

    /// Forgets every signal up to now (muted tags stay muted).
    pub fn reset(&mut self, config: &RecConfig, now: Millis) {
        self.reset_at = self.reset_at.max(now);
        self.forgotten.clear();
        self.tidy(config, now);
    }

    /// Takes in another tab's copy.
    pub fn merge(&mut self, other: Signals, config: &RecConfig, now: Millis) {
        self.history.extend(other.history);
        self.forgotten.extend(other.forgotten);
        self.reset_at = self.reset_at.max(other.reset_at);
        if other.muted_at > self.muted_at {
            self.muted = other.muted;
            self.muted_at = other.muted_at;
        }
        self.tidy(config, now);
    }

    pub fn encode(&self) -> String {
        let history: Vec<Value> = self
            .history
            .iter()
            .map(|s| {
                let mut v = json!({"item": s.item, "kind": s.kind.name(), "at": s.at.0});
                if let Some(r) = s.ratio {
                    v["ratio"] = json!(r);
                }
                v
            })
            .collect();
        let forgotten: Vec<Value> = self.forgotten.iter().map(|(item, at)| json!([item, at.0])).collect();
        json!({
            "v": 1,
            "history": history,
            "muted": self.muted,
            "mutedAt": self.muted_at.0,
            "forgotten": forgotten,
            "resetAt": self.reset_at.0,
        })
        .to_string()
    }

    /// Reads the stored signals; bad entries are dropped and reported by path, the good kept.
    pub fn decode(raw: &str) -> Result<(Signals, Vec<(String, String)>), String> {
        let value: Value = serde_json::from_str(raw).map_err(|e| format!("not valid JSON: {e}"))?;
        let map = value.as_object().ok_or("expected an object")?;
        if map.get("v").and_then(Value::as_u64) != Some(1) {
            return Err(format!("expected version 1, found {}", map.get("v").unwrap_or(&Value::Null)));
        }
        let mut problems = Vec::new();
        let mut out = Signals::default();
        let millis = |v: Option<&Value>| v.and_then(Value::as_u64).map(Millis);
        let array = |key: &str| map.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for (k, s) in array("history").iter().enumerate() {
            let item = s.get("item").and_then(Value::as_str).filter(|i| !i.is_empty() && i.len() <= 128);
            let kind = s.get("kind").and_then(Value::as_str).and_then(SignalKind::parse);
            let ratio = match s.get("ratio") {
                None => Some(None),
                Some(r) => r.as_f64().filter(|r| (0.0..=1.0).contains(r)).map(|r| Some(r as f32)),
            };
            match (item, kind, millis(s.get("at")), ratio) {
                (Some(item), Some(kind), Some(at), Some(ratio)) => {
                    out.history.push(Signal { item: item.to_owned(), kind, at, ratio })
                }
                _ => problems.push((format!("attune:recs.history[{k}]"), "expected {item, kind, at[, ratio]}".into())),
            }
        }
        for (k, t) in array("muted").iter().enumerate() {
            match t.as_str() {
                Some(t) if !t.is_empty() && t.len() <= 128 => out.muted.push(t.to_owned()),
                _ => problems.push((format!("attune:recs.muted[{k}]"), "expected a tag".into())),
            }
        }
        for (k, f) in array("forgotten").iter().enumerate() {
            match (f.get(0).and_then(Value::as_str), millis(f.get(1))) {
                (Some(item), Some(at)) => out.forgotten.push((item.to_owned(), at)),
                _ => problems.push((format!("attune:recs.forgotten[{k}]"), "expected [item, at]".into())),
            }
        }
        out.muted_at = millis(map.get("mutedAt")).unwrap_or_default();
        out.reset_at = millis(map.get("resetAt")).unwrap_or_default();
        out.muted.truncate(MAX_MUTED);
        Ok((out, problems))
    }
}
