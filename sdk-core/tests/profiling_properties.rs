//! Under any sequence of page views, events, answers, dismissals, consent changes and clock moves
//! (the clock going backwards too): no window holds more prompts than the fatigue budget, a
//! dismissed question respects its back-off, an answered one is not asked again within its
//! retention, and no question is shown without its purpose granted.

use attune_core::profiling::config::ProfilingConfig;
use attune_core::profiling::scheduler::{next_prompt, Outcome, ProfileState};
use attune_core::{Millis, PurposeId};
use proptest::prelude::*;
use serde_json::{json, Map};
use std::collections::BTreeMap;

const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;

#[derive(Clone, Debug)]
enum Op {
    PageView,
    Event,
    Clock(i64),
    NewSession,
    Reload,
    Consent(bool),
    Ask,
    Answer,
    Dismiss,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::PageView),
        2 => Just(Op::Event),
        3 => prop_oneof![-(2 * DAY as i64)..(2 * DAY as i64), 0i64..(10 * 60_000)].prop_map(Op::Clock),
        1 => Just(Op::NewSession),
        1 => Just(Op::Reload),
        1 => any::<bool>().prop_map(Op::Consent),
        4 => Just(Op::Ask),
        1 => Just(Op::Answer),
        2 => Just(Op::Dismiss),
    ]
}

fn config() -> ProfilingConfig {
    let q = |id: &str, purpose: &str, trigger: serde_json::Value| {
        json!({"id": id, "kind": "yesNo", "purpose": purpose, "retentionDays": 3, "trigger": trigger,
               "text": {"en": "?"}, "why": {"en": "why"}, "usedFor": {"en": "for"}})
    };
    let doc = json!({
        "fatigue": {"perSession": 2, "perDay": 3, "perWeek": 5, "quietMinutes": 5, "dismissBackoffHours": 6, "maxDismissals": 3},
        "questions": [
            q("a", "personalization", json!({})),
            q("b", "personalization", json!({"minPageViews": 2})),
            q("c", "marketing", json!({"event": {"name": "view", "minCount": 2}})),
        ]
    });
    let purposes: Vec<PurposeId> =
        ["necessary", "personalization", "marketing"].iter().map(|p| PurposeId::parse(p).unwrap()).collect();
    ProfilingConfig::from_value(&doc, &purposes).unwrap()
}

fn max_in_window(times: &[u64], window: u64) -> usize {
    times.iter().map(|start| times.iter().filter(|t| **t >= *start && **t < start + window).count()).max().unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn prompts_respect_budget_backoff_retention_and_consent(ops in prop::collection::vec(op(), 1..120)) {
        let config = config();
        let mut now: u64 = 1_800_000_000_000;
        let mut state = ProfileState::default();
        let mut marketing = false;
        let mut last_shown: Option<String> = None;
        // Prompts shown per session number, as the visit counts sessions.
        let mut sessions: BTreeMap<u32, usize> = BTreeMap::new();
        state.visit.page_view(Millis(now));

        for op in ops {
            let granted = |p: &PurposeId| p.as_str() == "personalization" || (p.as_str() == "marketing" && marketing);
            match op {
                Op::PageView => state.visit.page_view(Millis(now)),
                Op::Event => state.visit.event(&config, &granted, "view", &Map::new(), Millis(now)),
                Op::Clock(delta) => now = now.saturating_add_signed(delta),
                Op::NewSession => {
                    now += 31 * 60_000;
                    state.visit.page_view(Millis(now));
                }
                Op::Reload => {
                    let (reloaded, problems) = ProfileState::decode(&state.encode(), &config).unwrap();
                    prop_assert!(problems.is_empty(), "{:?}", problems);
                    prop_assert_eq!(&reloaded, &state);
                    state = reloaded;
                }
                Op::Consent(on) => marketing = on,
                Op::Ask => {
                    let ctx = state.visit.context("/", Vec::new());
                    let decision = next_prompt(&config, &state, &ctx, &granted, Millis(now));
                    if let Some(id) = decision.show {
                        let q = config.question(&id).unwrap();
                        prop_assert!(granted(&q.purpose), "{} shown without {}", id, q.purpose);
                        prop_assert!(
                            !state.answers.iter().any(|a| a.question == id && a.expires.0 > now),
                            "{} asked again within its retention", id
                        );
                        let dismissals: Vec<u64> = state.history.iter()
                            .filter(|r| r.question == id && r.outcome == Outcome::Dismissed).map(|r| r.at.0).collect();
                        prop_assert!(dismissals.len() < 3, "{} shown after 3 dismissals", id);
                        if let Some(last) = dismissals.iter().max() {
                            let backoff = (6 * HOUR) << (dismissals.len() - 1);
                            prop_assert!(now >= last + backoff, "{} shown {} ms into a {} ms back-off", id, now.saturating_sub(*last), backoff);
                        }
                        state.shown(&id, state.visit.session, Millis(now));
                        *sessions.entry(state.visit.session).or_default() += 1;
                        last_shown = Some(id);
                    }
                }
                Op::Answer => {
                    if let Some(id) = last_shown.take() {
                        let q = config.question(&id).unwrap().clone();
                        state.answered(&q, json!(true), state.visit.session, Millis(now));
                    }
                }
                Op::Dismiss => {
                    if let Some(id) = last_shown.take() {
                        state.dismissed(&id, state.visit.session, Millis(now));
                    }
                }
            }
            let shown: Vec<u64> =
                state.history.iter().filter(|r| r.outcome == Outcome::Shown).map(|r| r.at.0).collect();
            prop_assert!(max_in_window(&shown, DAY) <= 3, "more than 3 prompts within 24 hours: {:?}", shown);
            prop_assert!(max_in_window(&shown, 7 * DAY) <= 5, "more than 5 prompts within 7 days: {:?}", shown);
            prop_assert!(sessions.values().all(|n| *n <= 2), "more than 2 prompts in a session: {:?}", sessions);
        }
    }
}
