//! Two tabs share one stored queue. Chromium's `localStorage` is eventually consistent across
//! tabs, so a tab may read a copy older than the last write, even inside the flush lock. Whatever
//! the interleaving and however stale the reads: every event tracked while its purpose is granted
//! is delivered at least once, or refused by the collector (duplicates are allowed — the collector stores each id once), and a
//! delivered event is not sent again by a tab that learnt of the delivery.

use attune_core::config::ValidConfig;
use attune_core::consent::ChoiceSource;
use attune_core::egress::MAX_BATCH_BYTES;
use attune_core::engine::{Engine, SendResult};
use attune_core::{Millis, Signals};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::HashSet;

const CONFIG: &str = r#"{"egress":{"maxBatchEvents":3},
  "collect":{"analytics":{"retentionDays":1,"events":{"e":{}}},"marketing":{"retentionDays":1,"pseudonymousId":{"rotateDays":1},"events":{"e":{}}}}}"#;

#[derive(Clone, Debug)]
enum Op {
    Track {
        tab: usize,
        marketing: bool,
    },
    /// A flush cycle in `tab`, reading the stored queue as it was `staleness` writes ago.
    Cycle {
        tab: usize,
        staleness: usize,
        status: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, any::<bool>()).prop_map(|(tab, marketing)| Op::Track { tab, marketing }),
        2 => (0..2usize, 0..4usize, prop_oneof![Just(200u16), Just(200), Just(503), Just(413)])
            .prop_map(|(tab, staleness, status)| Op::Cycle { tab, staleness, status }),
    ]
}

fn tab(consent: Option<&str>, seed: u8) -> Engine {
    let config = ValidConfig::from_json(CONFIG).unwrap();
    Engine::start(config, "shop", "/v1/batch", consent, Signals::default(), [seed; 32]).unwrap().0
}

/// One cycle: read (maybe stale), send one batch, settle, write back.
fn cycle(
    engine: &mut Engine,
    writes: &mut Vec<Option<String>>,
    staleness: usize,
    status: u16,
    now: Millis,
    delivered: &mut Vec<String>,
) {
    let read = writes.len().saturating_sub(1 + staleness);
    let stored = writes.get(read).cloned().flatten();
    assert!(engine.load_queue(stored.as_deref(), now).is_empty());
    if let Some(batch) = engine.take_batch(now, MAX_BATCH_BYTES) {
        let body: Value = serde_json::from_str(&batch.body).unwrap();
        let ids = body["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned());
        // A single event still too large for the collector (413) is refused for good, by design.
        if status == 200 || (status == 413 && batch.events == 1) {
            delivered.extend(ids);
        }
        engine.settle(batch.id, SendResult::Status { code: status, retry_after_ms: None }, now);
    }
    writes.push(engine.queue_snapshot(now));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn stale_reads_never_lose_an_event(ops in prop::collection::vec(op(), 1..60)) {
        let now = Millis(1_750_000_000_000);
        let mut first = tab(None, 1);
        first.accept_all(ChoiceSource::Banner, now).unwrap();
        let consent = first.consent_snapshot().unwrap();
        let mut tabs = [first, tab(Some(&consent), 2)];
        let mut writes: Vec<Option<String>> = vec![None];
        let mut tracked = Vec::new();
        let mut delivered = Vec::new();

        for op in ops {
            match op {
                Op::Track { tab, marketing } => {
                    let purpose = if marketing { "marketing" } else { "analytics" };
                    tracked.push(tabs[tab].track("e", Value::Null, purpose, now).unwrap().id);
                }
                Op::Cycle { tab, staleness, status } => {
                    cycle(&mut tabs[tab], &mut writes, staleness, status, now, &mut delivered);
                }
            }
        }
        // Then both tabs keep flushing with fresh reads until nothing is left.
        for _ in 0..60 {
            for engine in tabs.iter_mut() {
                cycle(engine, &mut writes, 0, 200, now, &mut delivered);
            }
        }
        let delivered_set: HashSet<&String> = delivered.iter().collect();
        for id in &tracked {
            prop_assert!(delivered_set.contains(id), "event {} was lost", id);
        }
        prop_assert_eq!(tabs[0].pending(), (0, 0, 0));
        prop_assert_eq!(tabs[1].pending(), (0, 0, 0));
        // A tab that saw a delivery does not send the event again; duplicates only come from
        // stale reads, and each event is sent at most once per tab.
        prop_assert!(delivered.len() <= 2 * tracked.len(), "{} sends for {} events", delivered.len(), tracked.len());
    }
}
