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

impl Signal {
    /// What this signal counts for at `now`: its kind's weight (times the dwell share), halved
    /// every half-life of its kind. The ranker and the interests the visitor is shown both use it.
    pub fn faded_weight(&self, config: &RecConfig, now: Millis) -> f32 {
        let rule = config.signal(self.kind);
        let age_days = now.since(self.at) as f32 / Millis::DAY as f32;
        rule.weight * self.ratio.unwrap_or(1.0) * 0.5f32.powf(age_days / rule.half_life_days)
    }
}

/// Bounds on what is kept (and read back from storage), whatever the config says.
const MAX_SIGNALS: usize = 1000;
const MAX_TOMBSTONES: usize = 1000;
const MAX_MUTED: usize = 100;

/// A tag muted (or unmuted) by the visitor, and when: tabs merge these tag by tag.
#[derive(Clone, Debug, PartialEq)]
pub struct Mute {
    pub tag: String,
    pub at: Millis,
    pub muted: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    /// Oldest first.
    pub history: Vec<Signal>,
    /// Every tag the visitor muted or unmuted, with the latest change.
    pub mutes: Vec<Mute>,
    /// Items the visitor asked to forget, and when (signals up to then are gone).
    pub forgotten: Vec<(String, Millis)>,
    /// Signals up to this time were reset.
    pub reset_at: Millis,
}

impl Signals {
    pub fn is_empty(&self) -> bool {
        self.history.is_empty() && self.mutes.is_empty() && self.forgotten.is_empty() && self.reset_at == Millis(0)
    }

    /// The tags muted now.
    pub fn muted(&self) -> impl Iterator<Item = &str> {
        self.mutes.iter().filter(|m| m.muted).map(|m| m.tag.as_str())
    }

    /// Records a signal, keeping the newest `max_history` within `history_days`.
    pub fn record(&mut self, config: &RecConfig, item: &str, kind: SignalKind, ratio: Option<f32>, at: Millis) {
        let ratio = ratio.filter(|r| r.is_finite()).map(|r| r.clamp(0.0, 1.0));
        self.history.push(Signal { item: item.to_owned(), kind, at, ratio });
        self.tidy(config, at);
    }

    /// Drops what is too old, too many, forgotten or reset, and duplicates from merges.
    /// O(n log n): stored state may be large.
    pub fn tidy(&mut self, config: &RecConfig, now: Millis) {
        let horizon = Millis(now.0.saturating_sub(u64::from(config.history_days) * Millis::DAY));
        // Tombstones: the newest per item, and only while they can still hide a signal.
        self.forgotten.retain(|(_, at)| *at >= horizon);
        self.forgotten.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        self.forgotten.dedup_by(|a, b| a.0 == b.0);
        if self.forgotten.len() > MAX_TOMBSTONES {
            self.forgotten.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            self.forgotten.truncate(MAX_TOMBSTONES);
            self.forgotten.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        let forgotten = &self.forgotten;
        let forgotten_at =
            |item: &str| forgotten.binary_search_by(|(f, _)| f.as_str().cmp(item)).ok().map(|k| forgotten[k].1);
        let reset_at = self.reset_at;
        self.history.retain(|s| s.at >= horizon && s.at > reset_at && forgotten_at(&s.item).is_none_or(|f| s.at > f));
        // Oldest first; signals at the same millisecond keep the order they were recorded in.
        // A signal merged in twice (same item, kind and time) is kept once, at its first place.
        let mut keyed: Vec<(usize, &Signal)> = self.history.iter().enumerate().collect();
        keyed.sort_unstable_by(|(i, a), (j, b)| (a.at, &a.item, a.kind, i).cmp(&(b.at, &b.item, b.kind, j)));
        let mut duplicate = vec![false; keyed.len()];
        for w in keyed.windows(2) {
            let (a, b) = (w[0].1, w[1].1);
            if (a.at, &a.item, a.kind) == (b.at, &b.item, b.kind) {
                duplicate[w[1].0] = true;
            }
        }
        let mut k = 0;
        self.history.retain(|_| {
            k += 1;
            !duplicate[k - 1]
        });
        self.history.sort_by_key(|s| s.at);
        let excess = self.history.len().saturating_sub(config.max_history.min(MAX_SIGNALS));
        self.history.drain(..excess);
        // Mutes: the latest change per tag; unmutes are kept as long as tombstones.
        self.mutes.sort_unstable_by(|a, b| a.tag.cmp(&b.tag).then(b.at.cmp(&a.at)).then(a.muted.cmp(&b.muted)));
        self.mutes.dedup_by(|a, b| a.tag == b.tag);
        self.mutes.retain(|m| m.muted || m.at >= horizon);
    }

    /// The newest signal time for `item` (or any item), so a control made with a clock that
    /// went back still covers everything recorded so far.
    fn newest(&self, item: Option<&str>) -> Millis {
        let of = |s: &&Signal| item.is_none_or(|i| s.item == i);
        self.history.iter().filter(of).map(|s| s.at).max().unwrap_or_default()
    }

    /// Forgets every signal about `item` (a visitor control).
    pub fn forget(&mut self, config: &RecConfig, item: &str, now: Millis) {
        let at = now.max(self.newest(Some(item)));
        self.forgotten.push((item.to_owned(), at));
        self.tidy(config, now);
    }

    /// Never recommends items with `tag`; false if too many tags are muted already.
    pub fn mute(&mut self, tag: &str, now: Millis) -> bool {
        if !self.muted().any(|t| t == tag) && self.muted().count() >= MAX_MUTED {
            return false;
        }
        self.set_mute(tag, true, now);
        true
    }

    pub fn unmute(&mut self, tag: &str, now: Millis) {
        self.set_mute(tag, false, now);
    }

    fn set_mute(&mut self, tag: &str, muted: bool, now: Millis) {
        // Later than any change this tab knows of, so the visitor's last click wins a merge.
        let at = self.mutes.iter().filter(|m| m.tag == tag).map(|m| Millis(m.at.0 + 1)).max().unwrap_or_default();
        self.mutes.retain(|m| m.tag != tag);
        self.mutes.push(Mute { tag: tag.to_owned(), at: now.max(at), muted });
    }

    /// Forgets every signal up to now (muted tags stay muted).
    pub fn reset(&mut self, config: &RecConfig, now: Millis) {
        self.reset_at = self.reset_at.max(now).max(self.newest(None));
        self.forgotten.clear();
        self.tidy(config, now);
    }

    /// Keeps only what was recorded at or after `since` (the start of the current grant).
    pub fn keep_since(&mut self, since: Millis) {
        if since == Millis(0) {
            return;
        }
        self.history.retain(|s| s.at >= since);
        self.mutes.retain(|m| m.at >= since);
        self.forgotten.retain(|(_, at)| *at >= since);
        if self.reset_at < since {
            self.reset_at = Millis(0);
        }
    }

    /// Takes in another tab's copy.
    pub fn merge(&mut self, other: Signals, config: &RecConfig, now: Millis) {
        self.history.extend(other.history);
        self.forgotten.extend(other.forgotten);
        self.mutes.extend(other.mutes);
        self.reset_at = self.reset_at.max(other.reset_at);
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
        let mutes: Vec<Value> = self.mutes.iter().map(|m| json!([m.tag, m.at.0, m.muted])).collect();
        json!({
            "v": 1,
            "history": history,
            "muted": self.muted().collect::<Vec<_>>(),
            "mutes": mutes,
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
        let history = array("history");
        if history.len() > MAX_SIGNALS {
            problems.push((
                "attune:recs.history".into(),
                format!("{} signals, only the newest {MAX_SIGNALS} kept", history.len()),
            ));
        }
        for (k, s) in history.iter().enumerate().skip(history.len().saturating_sub(MAX_SIGNALS)) {
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
        // `muted` is the readable list; `mutes` carries the times the merge needs.
        for (k, m) in array("mutes").iter().enumerate().take(MAX_TOMBSTONES) {
            let tag = m.get(0).and_then(Value::as_str).filter(|t| !t.is_empty() && t.len() <= 128);
            match (tag, millis(m.get(1)), m.get(2).and_then(Value::as_bool)) {
                (Some(tag), Some(at), Some(muted)) => out.mutes.push(Mute { tag: tag.to_owned(), at, muted }),
                _ => problems.push((format!("attune:recs.mutes[{k}]"), "expected [tag, at, muted]".into())),
            }
        }
        for (k, f) in array("forgotten").iter().enumerate().take(MAX_TOMBSTONES) {
            match (f.get(0).and_then(Value::as_str), millis(f.get(1))) {
                (Some(item), Some(at)) => out.forgotten.push((item.to_owned(), at)),
                _ => problems.push((format!("attune:recs.forgotten[{k}]"), "expected [item, at]".into())),
            }
        }
        out.reset_at = millis(map.get("resetAt")).unwrap_or_default();
        Ok((out, problems))
    }
}
