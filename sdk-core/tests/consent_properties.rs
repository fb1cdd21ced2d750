//! Over random sequences of consent changes, events, clock moves, sends and reloads:
//! - no event reaches the sender unless its purpose is granted at send time, was not denied when
//!   captured, and was never seen denied or withdrawn by the engine between capture and send;
//! - no event reaches the sender twice once its batch was acknowledged;
//! - the consent log always verifies and survives a reload, unless it was tampered with, in which
//!   case the engine starts from "no consent" and sends nothing;
//! - the persisted queue survives reloads, stays bounded, never holds an event of a purpose that
//!   is not granted, and never holds an id twice.

use attune_core::config::ValidConfig;
use attune_core::consent::{ChoiceSource, Decision, Status};
use attune_core::egress::{Captured, MAX_BATCH_BYTES};
use attune_core::engine::{Engine, SendResult};
use attune_core::{Millis, PurposeId, Signals};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

const PURPOSES: [&str; 5] = ["necessary", "analytics", "personalization", "marketing", "chat"];

#[derive(Clone, Debug)]
enum Op {
    Track(usize),
    Decide(usize, Decision),
    AcceptAll,
    RejectAll,
    Clock(i64),
    Send { status: u16 },
    Reload,
    Tamper(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let decision = prop_oneof![Just(Decision::Granted), Just(Decision::Denied), Just(Decision::Withdrawn)];
    prop_oneof![
        4 => (0..PURPOSES.len()).prop_map(Op::Track),
        3 => ((0..PURPOSES.len()), decision).prop_map(|(p, d)| Op::Decide(p, d)),
        1 => Just(Op::AcceptAll),
        1 => Just(Op::RejectAll),
        2 => prop_oneof![
            (-5 * Millis::DAY as i64..5 * Millis::DAY as i64),
            (300 * Millis::DAY as i64..400 * Millis::DAY as i64),
        ].prop_map(Op::Clock),
        3 => prop_oneof![Just(200u16), Just(503), Just(413), Just(400)].prop_map(|status| Op::Send { status }),
        1 => Just(Op::Reload),
        1 => (0..10_000usize).prop_map(Op::Tamper),
    ]
}

fn config() -> ValidConfig {
    ValidConfig::from_json(
        r#"{"policy":{"expiryDays":365},"purposes":[{"id":"chat","label":"Chat","description":"History."}],
            "egress":{"preConsentBuffer":20,"maxBatchEvents":7,"maxQueuedEvents":25},
            "collect":{"necessary":{"retentionDays":1,"events":{"e":{}}},
                       "analytics":{"retentionDays":1,"pseudonymousId":{"rotateDays":1},"events":{"e":{}}},
                       "personalization":{"retentionDays":1,"events":{"e":{}}},
                       "marketing":{"retentionDays":1,"pseudonymousId":{"rotateDays":2},"events":{"e":{}}},
                       "chat":{"retentionDays":1,"events":{"e":{}}}}}"#,
    )
    .unwrap()
}

struct Tracked {
    purpose: PurposeId,
    spoiled: bool,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nothing_leaves_without_consent_and_the_record_holds(ops in prop::collection::vec(op(), 1..80), gpc: bool, dnt: bool) {
        let signals = Signals { gpc, dnt };
        let mut now: u64 = 1_750_000_000_000;
        let (mut engine, _) = Engine::start(config(), "shop", "/v1/batch", None, signals, [1; 32]).unwrap();
        let mut stored: Option<String> = None;
        let mut stored_queue: Option<String> = None;
        let mut tampered = false;
        let mut tracked: HashMap<String, Tracked> = HashMap::new();
        let mut acknowledged: HashSet<String> = HashSet::new();
        let mut seed = 2u8;

        for op in ops {
            match op {
                Op::Track(p) => {
                    let result = engine.track("e", Value::Null, PURPOSES[p], Millis(now)).unwrap();
                    if result.status != Captured::Dropped {
                        tracked.insert(result.id, Tracked { purpose: PurposeId::parse(PURPOSES[p]).unwrap(), spoiled: false });
                    }
                }
                Op::Decide(p, d) => {
                    let result = engine.record(&[(PURPOSES[p].to_string(), d)], ChoiceSource::Api, Millis(now));
                    prop_assert_eq!(result.is_err(), p == 0 && d != Decision::Granted, "only `necessary` refuses");
                }
                Op::AcceptAll => { engine.accept_all(ChoiceSource::Banner, Millis(now)).unwrap(); }
                Op::RejectAll => { engine.reject_all(ChoiceSource::Banner, Millis(now)).unwrap(); }
                Op::Clock(delta) => now = now.saturating_add_signed(delta),
                Op::Send { status } => {
                    if let Some(batch) = engine.take_batch(Millis(now), MAX_BATCH_BYTES) {
                        let body: Value = serde_json::from_str(&batch.body).unwrap();
                        for event in body["events"].as_array().unwrap() {
                            let id = event["id"].as_str().unwrap();
                            let t = tracked.get(id).expect("only tracked, non-dropped events are sent");
                            prop_assert!(engine.is_granted(&t.purpose, Millis(now)), "{} sent without consent", t.purpose);
                            prop_assert!(!t.spoiled, "event of {} sent although denied since capture", t.purpose);
                            prop_assert!(!acknowledged.contains(id), "event sent again after acknowledgement");
                        }
                        if status == 200 {
                            for event in body["events"].as_array().unwrap() {
                                acknowledged.insert(event["id"].as_str().unwrap().to_owned());
                            }
                        }
                        engine.settle(batch.id, SendResult::Status { code: status, retry_after_ms: None }, Millis(now));
                    }
                }
                Op::Reload => {
                    let (mut reloaded, warnings) =
                        Engine::start(config(), "shop", "/v1/batch", stored.as_deref(), signals, [seed; 32]).unwrap();
                    seed = seed.wrapping_add(1);
                    prop_assert_eq!(warnings.is_empty(), !tampered, "warnings {:?}", warnings);
                    prop_assert!(reloaded.load_queue(stored_queue.as_deref(), Millis(now)).is_empty());
                    if tampered {
                        let view = reloaded.consent(Millis(now));
                        prop_assert!(view.purposes.iter().all(|p| p.required || p.status != Status::Granted));
                    }
                    // The tampered value stays in storage until the visitor's next choice replaces it.
                    engine = reloaded;
                    // Undecided events were memory-only: they are gone. Queued ones survive.
                }
                Op::Tamper(at) => {
                    if let Some(raw) = &stored {
                        let mut bytes = raw.clone().into_bytes();
                        let i = at % bytes.len();
                        let replacement = if bytes[i] == b'1' { b'2' } else { b'1' };
                        if bytes[i] != replacement {
                            bytes[i] = replacement;
                            stored = Some(String::from_utf8(bytes).unwrap());
                            tampered = true;
                        }
                    }
                }
            }
            if !matches!(op, Op::Tamper(_)) {
                if let Some(snapshot) = engine.consent_snapshot() {
                    stored = Some(snapshot);
                    tampered = false;
                }
            }
            stored_queue = engine.queue_snapshot(Millis(now));
            if let Some(queue) = &stored_queue {
                let doc: Value = serde_json::from_str(queue).unwrap();
                let events = doc["events"].as_array().unwrap();
                prop_assert!(events.len() <= 25, "the queue is bounded: {}", events.len());
                let ids: HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
                prop_assert_eq!(ids.len(), events.len(), "no id is stored twice");
                for e in events {
                    let purpose = PurposeId::parse(e["purpose"].as_str().unwrap()).unwrap();
                    prop_assert!(engine.is_granted(&purpose, Millis(now)), "stored event of ungranted {}", purpose);
                }
            }
            prop_assert!(engine.consent(Millis(now)).record.verified, "the live log always verifies");
            // A clock move alone is invisible to the engine until its next call; what counts is
            // every moment the SDK acts.
            if matches!(op, Op::Clock(_)) {
                continue;
            }
            for t in tracked.values_mut() {
                if !engine.is_granted(&t.purpose, Millis(now))
                    && engine.consent(Millis(now)).purposes.iter().any(|s| s.id == t.purpose && s.status == Status::Denied)
                {
                    t.spoiled = true;
                }
            }
        }
    }
}
