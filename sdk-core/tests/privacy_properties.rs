//! Server erasure with two tabs, a stale shared queue and a model collector that files ids under
//! the device key (first registration wins), deletes and suppresses on erasure, and stores
//! everything else. Whatever the interleaving: once the visitor had the server's copy erased,
//! the collector never again holds an event of the device (one with a pseudonymous id) captured
//! up to the erasure — not from the tab that asked, not from the other tab's memory, not from a
//! stale copy of the queue.

use attune_core::config::ValidConfig;
use attune_core::consent::ChoiceSource;
use attune_core::egress::MAX_BATCH_BYTES;
use attune_core::engine::{Engine, SendResult};
use attune_core::ids::base64url_encode;
use attune_core::{Millis, Signals};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

const CONFIG: &str = r#"{"egress":{"maxBatchEvents":3},
  "collect":{"analytics":{"retentionDays":1,"pseudonymousId":{"rotateDays":1},"events":{"e":{}}},
             "marketing":{"retentionDays":1,"pseudonymousId":{"rotateDays":1},"events":{"e":{}}}}}"#;

#[derive(Clone, Debug)]
enum Op {
    Track {
        tab: usize,
        marketing: bool,
    },
    /// A flush cycle reading the stored queue as it was `staleness` writes ago.
    Cycle {
        tab: usize,
        staleness: usize,
        ok: bool,
    },
    Erase {
        tab: usize,
    },
    /// The browser made the key the core asked for (after an erasure, a new one).
    MakeKey {
        tab: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, any::<bool>()).prop_map(|(tab, marketing)| Op::Track { tab, marketing }),
        3 => (0..2usize, 0..3usize, prop_oneof![Just(true), Just(true), Just(false)])
            .prop_map(|(tab, staleness, ok)| Op::Cycle { tab, staleness, ok }),
        1 => (0..2usize).prop_map(|tab| Op::Erase { tab }),
        1 => (0..2usize).prop_map(|tab| Op::MakeKey { tab }),
    ]
}

/// The public half of a key as the browser would make it (the collector checks the curve).
fn key(n: u8) -> String {
    let point: Vec<u8> = std::iter::once(4).chain((0..64).map(|i| n.wrapping_mul(31).wrapping_add(i))).collect();
    base64url_encode(&point)
}

#[derive(Default)]
struct Storage {
    queue: Vec<Option<String>>,
    ids: Option<String>,
    device: Option<String>,
}

/// The reference collector's rules, in memory.
#[derive(Default)]
struct Collector {
    /// event id → (pid, capture time)
    events: HashMap<String, (Option<String>, u64)>,
    filed: HashMap<String, String>,
    suppressed_keys: HashSet<String>,
    suppressed_pids: HashSet<String>,
}

impl Collector {
    fn batch(&mut self, body: &Value) {
        let device = body.get("device").and_then(Value::as_str).map(str::to_owned);
        if device.as_ref().is_some_and(|d| self.suppressed_keys.contains(d)) {
            return;
        }
        for e in body["events"].as_array().unwrap() {
            let pid = e.get("pid").and_then(Value::as_str).map(str::to_owned);
            if pid.as_ref().is_some_and(|p| self.suppressed_pids.contains(p)) {
                continue;
            }
            if let (Some(p), Some(d)) = (&pid, &device) {
                self.filed.entry(p.clone()).or_insert_with(|| d.clone());
            }
            self.events.entry(e["id"].as_str().unwrap().to_owned()).or_insert((pid, e["ts"].as_u64().unwrap()));
        }
    }

    fn erase(&mut self, key_hash: &str) {
        let pids: HashSet<String> = self.filed.iter().filter(|(_, k)| *k == key_hash).map(|(p, _)| p.clone()).collect();
        self.events.retain(|_, (pid, _)| !pid.as_ref().is_some_and(|p| pids.contains(p)));
        self.filed.retain(|p, _| !pids.contains(p));
        self.suppressed_pids.extend(pids);
        self.suppressed_keys.insert(key_hash.to_owned());
    }
}

fn tab(consent: Option<&str>, seed: u8) -> Engine {
    let config = ValidConfig::from_json(CONFIG).unwrap();
    Engine::start(config, "shop", "/v1/batch", consent, Signals::default(), [seed; 32]).unwrap().0
}

/// What the bindings do at the start of every cycle: read the key, the ids and the queue.
fn load(e: &mut Engine, s: &Storage, staleness: usize, now: Millis) {
    e.load_device_key(s.device.as_deref(), now);
    e.load_ids(s.ids.as_deref(), now);
    let read = s.queue.len().saturating_sub(1 + staleness);
    e.load_queue(s.queue.get(read).cloned().flatten().as_deref(), now);
}

fn make_key(e: &mut Engine, s: &mut Storage, n: u8, now: Millis) {
    e.load_device_key(s.device.as_deref(), now);
    if e.needs_device_key(now) {
        s.device = Some(e.set_device_key(&key(n), now).unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nothing_captured_before_an_erasure_is_stored_after_it(ops in prop::collection::vec(op(), 1..50)) {
        let mut now = Millis(1_750_000_000_000);
        let mut first = tab(None, 1);
        first.accept_all(ChoiceSource::Banner, now).unwrap();
        let consent = first.consent_snapshot().unwrap();
        let mut tabs = [first, tab(Some(&consent), 2)];
        let mut storage = Storage { queue: vec![None], ..Storage::default() };
        make_key(&mut tabs[0], &mut storage, 0, now);
        let mut collector = Collector::default();
        let mut erased_at: Option<u64> = None;
        let mut keys_made = 1u8;

        for op in ops {
            now = Millis(now.0 + 1);
            match op {
                Op::Track { tab, marketing } => {
                    let purpose = if marketing { "marketing" } else { "analytics" };
                    tabs[tab].track("e", Value::Null, purpose, now).unwrap();
                }
                Op::Cycle { tab, staleness, ok } => {
                    let e = &mut tabs[tab];
                    load(e, &storage, staleness, now);
                    if let Some(batch) = e.take_batch(now, MAX_BATCH_BYTES) {
                        let body: Value = serde_json::from_str(&batch.body).unwrap();
                        if ok {
                            collector.batch(&body);
                        }
                        let code = if ok { 200 } else { 503 };
                        e.settle(batch.id, SendResult::Status { code, retry_after_ms: None }, now);
                    }
                    storage.queue.push(e.queue_snapshot(now));
                    storage.ids = e.ids_snapshot();
                }
                Op::Erase { tab } => {
                    let e = &mut tabs[tab];
                    e.load_device_key(storage.device.as_deref(), now);
                    let Some(hash) = e.device_key().map(|k| k.key_hash.clone()) else { continue };
                    let request = e.rights_request("erase", now).unwrap();
                    collector.erase(&hash);
                    let receipt = json!({"format": "attune-erasure-receipt/1", "receiptId": "ab".repeat(16),
                        "siteId": "shop", "keyHash": hash, "requestedAt": request.at, "erasedAt": now,
                        "deleted": {"events": 0, "receipts": 0, "pseudonymousIds": 0},
                        "suppressed": {"keyHash": true, "pseudonymousIds": 0}});
                    e.rights_answer(&request, 200, &receipt.to_string(), now).unwrap();
                    // What the bindings write at once: the key removed, the ids (with the cut).
                    storage.device = None;
                    storage.ids = e.ids_snapshot();
                    erased_at = Some(now.0);
                }
                Op::MakeKey { tab } => {
                    make_key(&mut tabs[tab], &mut storage, keys_made, now);
                    keys_made = keys_made.wrapping_add(1);
                }
            }
            if let Some(cut) = erased_at {
                // Events sent without an id (while the device had no key) are nobody's: the
                // collector cannot link them to any device, so they are not the device's data.
                let back: Vec<_> =
                    collector.events.iter().filter(|(_, (pid, ts))| pid.is_some() && *ts <= cut).collect();
                prop_assert!(back.is_empty(), "captured up to the erasure at {cut}, stored after it: {back:?}");
            }
        }
    }
}
