//! The egress log: the last payloads that actually left the device — what, when, where and for
//! which purpose — kept on the device so the visitor can see them.

use crate::egress::Event;
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;

/// Payloads kept.
pub const MAX_ENTRIES: usize = 20;
/// Bytes (JSON) kept at most; the oldest entries go first.
pub const MAX_LOG_BYTES: usize = 96 * 1024;

/// How a payload left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub enum Transport {
    Fetch,
    /// `navigator.sendBeacon` while the page was going away: the answer is never seen.
    Beacon,
}

/// What became of a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub enum SendOutcome {
    /// The collector stored it.
    Delivered,
    /// It will be sent again (network error, 408, 429, 5xx).
    WillRetry,
    /// Split in two and sent again (413).
    Split,
    /// The collector refused it for good; it will not be sent again.
    Refused,
    /// Handed to the browser as a beacon.
    HandedOff,
    /// Cancelled because consent was withdrawn while it was on its way.
    Aborted,
}

/// One payload that left the device.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct SentPayload {
    pub at: Millis,
    pub destination: String,
    pub transport: Transport,
    /// The HTTP status, if one was seen.
    pub status: Option<u16>,
    pub outcome: SendOutcome,
    pub bytes: usize,
    pub purposes: Vec<PurposeId>,
    /// The events exactly as they were sent (with their pseudonymous ids).
    pub events: Vec<Event>,
}

/// The log keeps entries as JSON values: it only ever appends, shows and stores them, so reading
/// them back needs no typed decoder (which would cost the wasm several KB).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EgressLog {
    entries: VecDeque<(Value, usize)>,
    bytes: usize,
}

impl EgressLog {
    /// Entries read back from storage; any that is not shaped like a [`SentPayload`] (an object
    /// with a numeric `at`, a `destination` and an `events` array) is dropped, and its index
    /// returned.
    pub fn from_stored(entries: Vec<Value>) -> (Self, Vec<usize>) {
        let mut log = Self::default();
        let mut bad = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let shaped = entry.get("at").is_some_and(Value::is_u64)
                && entry.get("destination").is_some_and(Value::is_string)
                && entry.get("events").is_some_and(Value::is_array);
            if shaped {
                log.push_value(entry);
            } else {
                bad.push(i);
            }
        }
        (log, bad)
    }

    /// Removes the pseudonymous ids of purposes no longer granted from the entries (the log is
    /// kept for the visitor; the ids are forgotten with their purpose).
    /// `keep(purpose, ts)` says whether an event's id may stay.
    pub fn forget_ids(&mut self, keep: impl Fn(&str, Millis) -> bool) {
        for (entry, _) in self.entries.iter_mut() {
            if let Some(events) = entry.get_mut("events").and_then(Value::as_array_mut) {
                for event in events.iter_mut().filter_map(Value::as_object_mut) {
                    let purpose = event.get("purpose").and_then(Value::as_str).unwrap_or_default();
                    let ts = Millis(event.get("ts").and_then(Value::as_u64).unwrap_or(0));
                    if !keep(purpose, ts) {
                        event.remove("pid");
                    }
                }
            }
        }
    }

    /// Merges entries read from storage with this tab's: storage may lag behind another tab's
    /// last write (or this tab's), so neither side replaces the other. Entries are ordered by
    /// time; an entry present on both sides is kept once.
    pub fn merge_stored(&mut self, stored: EgressLog) {
        let key = |e: &Value| {
            let first = e["events"].get(0).map_or(Value::Null, |ev| ev["id"].clone());
            format!("{}/{}/{}/{}", e["at"], e["outcome"], e["status"], first)
        };
        let mut all: Vec<Value> = self.entries.drain(..).chain(stored.entries).map(|(e, _)| e).collect();
        all.sort_by_key(|e| e["at"].as_u64().unwrap_or(0));
        let mut seen = std::collections::HashSet::new();
        self.bytes = 0;
        for entry in all {
            if seen.insert(key(&entry)) {
                self.push_value(entry);
            }
        }
    }

    pub fn push(&mut self, entry: SentPayload) {
        self.push_value(serde_json::to_value(entry).expect("payload records always serialize"));
    }

    fn push_value(&mut self, entry: Value) {
        let size = serde_json::to_string(&entry).map_or(usize::MAX, |s| s.len());
        if size > MAX_LOG_BYTES {
            return;
        }
        self.entries.push_back((entry, size));
        self.bytes += size;
        while self.entries.len() > MAX_ENTRIES || self.bytes > MAX_LOG_BYTES {
            let (_, gone) = self.entries.pop_front().expect("over a bound means not empty");
            self.bytes -= gone;
        }
    }

    /// Drops the entries sent before `cut` (the log's retention); returns whether any went.
    pub fn purge_before(&mut self, cut: Millis) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(e, _)| e["at"].as_u64().is_some_and(|at| at >= cut.0));
        self.bytes = self.entries.iter().map(|(_, size)| size).sum();
        self.entries.len() != before
    }

    /// Oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(e, _)| e)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn entries_older_than_the_retention_are_purged() {
        let mut log = EgressLog::default();
        for at in [100, 200, 300] {
            log.push(payload(at, 1));
        }
        assert!(log.purge_before(Millis(200)));
        let kept: Vec<u64> = log.entries().map(|e| e["at"].as_u64().unwrap()).collect();
        assert_eq!(kept, [200, 300]);
        assert!(!log.purge_before(Millis(150)));
    }

    fn payload(at: u64, events: usize) -> SentPayload {
        let event = Event {
            id: "0".repeat(32),
            name: "page_view".into(),
            purpose: PurposeId::parse("analytics").unwrap(),
            ts: Millis(at),
            props: Map::new(),
            pid: None,
        };
        SentPayload {
            at: Millis(at),
            destination: "/v1/batch".into(),
            transport: Transport::Fetch,
            status: Some(200),
            outcome: SendOutcome::Delivered,
            bytes: 100,
            purposes: vec![event.purpose.clone()],
            events: vec![event; events],
        }
    }

    #[test]
    fn keeps_the_newest_entries_within_count_and_bytes() {
        let mut log = EgressLog::default();
        for at in 0..30 {
            log.push(payload(at, 1));
        }
        assert_eq!(log.len(), MAX_ENTRIES);
        assert_eq!(log.entries().next().unwrap()["at"], 10);
        for at in 100..110 {
            log.push(payload(at, 60));
        }
        let bytes: usize = log.entries().map(|e| serde_json::to_string(e).unwrap().len()).sum();
        assert!(bytes <= MAX_LOG_BYTES, "{bytes}");
        assert_eq!(log.entries().last().unwrap()["at"], 109);
    }

    #[test]
    fn merging_with_a_stale_copy_loses_no_entry() {
        let mut mine = EgressLog::default();
        mine.push(payload(1, 1));
        mine.push(payload(3, 1));
        let (stale, _) = EgressLog::from_stored(vec![
            serde_json::to_value(payload(1, 1)).unwrap(),
            serde_json::to_value(payload(2, 1)).unwrap(),
        ]);
        mine.merge_stored(stale);
        let ats: Vec<u64> = mine.entries().map(|e| e["at"].as_u64().unwrap()).collect();
        assert_eq!(ats, [1, 2, 3]);
    }

    #[test]
    fn stored_entries_of_the_wrong_shape_are_dropped() {
        let good = serde_json::to_value(payload(5, 1)).unwrap();
        let (log, bad) = EgressLog::from_stored(vec![good, Value::from(3), serde_json::json!({"at": "yesterday"})]);
        assert_eq!(log.len(), 1);
        assert_eq!(bad, [1, 2]);
    }
}
