//! The prompt config's errors and the scheduler's decisions.

use super::config::ProfilingConfig;
use super::scheduler::{check_answer, next_prompt, Context, ProfileState, SeenEvent};
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde_json::{json, Value};

const T0: Millis = Millis(1_800_000_000_000);
const HOUR: u64 = 3_600_000;

fn purposes() -> Vec<PurposeId> {
    ["necessary", "analytics", "personalization", "marketing"].iter().map(|p| PurposeId::parse(p).unwrap()).collect()
}

fn question(id: &str, extra: Value) -> Value {
    let mut q = json!({
        "id": id, "kind": "single", "purpose": "personalization", "retentionDays": 30,
        "text": {"en": "Which do you prefer?", "de": "Was magst du?"},
        "why": {"en": "To suggest better products."}, "usedFor": {"en": "Your suggestions."},
        "options": [{"id": "hiking", "label": {"en": "Hiking"}, "tags": ["hiking"]},
                    {"id": "cooking", "label": {"en": "Cooking"}, "tags": ["kitchen"]}]
    });
    for (k, v) in extra.as_object().unwrap() {
        q[k] = v.clone();
    }
    q
}

fn config(questions: Vec<Value>, fatigue: Value) -> ProfilingConfig {
    let doc = json!({"defaultLanguage": "en", "fatigue": fatigue, "questions": questions});
    ProfilingConfig::from_value(&doc, &purposes()).unwrap()
}

fn errors(doc: Value) -> Vec<String> {
    ProfilingConfig::from_value(&doc, &purposes()).unwrap_err().into_iter().map(|(p, m)| format!("{p}: {m}")).collect()
}

fn all_granted(_: &PurposeId) -> bool {
    true
}

fn ctx() -> Context {
    Context { path: "/".into(), page_views: 1, session: 1, session_start: T0, ..Context::default() }
}

#[test]
fn every_config_error_is_reported_at_once_with_path_expected_and_found() {
    let mut bad_tags = question("a", json!({}));
    bad_tags["options"][1]["tags"] = json!([3]);
    let errs = errors(json!({"questions": [
        bad_tags,
        question("b", json!({"purpose": "ads", "colour": "red"})),
        question("b", json!({"kind": "dropdown"})),
        question("c", json!({"text": {"de": "Nur Deutsch"}, "retentionDays": "forever"})),
    ]}));
    let expected = [
        "questions[0].options[1].tags: expected an array of strings, found a number",
        "questions[1].colour: unknown field `colour`",
        "questions[1].purpose: expected a declared purpose",
        "questions[2].kind: expected \"single\", \"multiple\", \"scale\", \"yesNo\" or \"text\", found \"dropdown\"",
        "questions[3].text: missing the default language \"en\"",
        "questions[3].retentionDays: expected a whole number of days from 1 to 3650, found a string",
    ];
    for e in expected {
        assert!(errs.iter().any(|x| x.starts_with(e)), "missing {e:?} in {errs:#?}");
    }
}

#[test]
fn broken_configs_each_give_their_error() {
    let cycle = vec![
        question("a", json!({"requires": [{"question": "b"}]})),
        question("b", json!({"requires": [{"question": "a"}]})),
    ];
    let huge = "x".repeat(100_000);
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let corpus: Vec<(Value, &str)> = vec![
        (json!([]), "config: expected an object, found an array"),
        (json!({"questions": cycle}), "questions[0].requires: prerequisites form a cycle"),
        (
            json!({"questions": [question("a", json!({})), question("a", json!({}))]}),
            "questions[1].id: duplicate question id",
        ),
        (json!({"__proto__": {}, "questions": []}), "__proto__: unknown field `__proto__`"),
        (
            json!({"questions": [question("a", json!({"__proto__": {"polluted": true}}))]}),
            "questions[0].__proto__: unknown field",
        ),
        (
            json!({"questions": [question("a", json!({"why": {"en": huge}}))]}),
            "questions[0].why.en: expected 1 to 500 characters",
        ),
        (
            json!({"questions": [question("a", json!({"trigger": deep}))]}),
            "questions[0].trigger: expected an object, found an array",
        ),
        (
            json!({"questions": [question("a", json!({"requires": [{"question": "ghost"}]}))]}),
            "questions[0].requires[0].question: no question has the id \"ghost\"",
        ),
        (
            json!({"questions": [question("a", json!({"audience": [{"question": "a", "anyOf": ["surfing"]}]}))]}),
            "questions[0].audience[0].anyOf: \"surfing\" is not an answer",
        ),
        (
            json!({"questions": [question("a", json!({"purpose": "necessary"}))]}),
            "questions[0].purpose: `necessary` needs no consent",
        ),
        (json!({"questions": [question("a", json!({"start": "2026-02-30x"}))]}), "questions[0].start: expected a date"),
        (
            json!({"questions": [question("a", json!({"kind": "yesNo"}))]}),
            "questions[0].options: only \"single\" and \"multiple\" questions have options",
        ),
        (
            json!({"questions": [question("a", json!({"options": []}))]}),
            "questions[0].options: a choice question needs at least 2 options",
        ),
        (json!({"fatigue": {"perDay": -1}, "questions": []}), "fatigue.perDay: expected a whole number"),
    ];
    for (doc, expected) in corpus {
        let errs = errors(doc);
        assert!(errs.iter().any(|e| e.starts_with(expected)), "expected {expected:?} in {errs:#?}");
    }
    let text = serde_json::to_string(&json!({"questions": []})).unwrap();
    assert!(ProfilingConfig::from_json(&text, &purposes()).is_ok());
    assert!(ProfilingConfig::from_json("{\"questions\": [", &purposes()).is_err());
}

#[test]
fn a_question_waits_for_its_trigger_and_its_purpose() {
    let trigger = json!({"trigger": {"event": {"name": "product_view", "minCount": 2, "props": {"category": "outdoor"}}, "url": "/product*"}});
    let c = config(vec![question("a", trigger)], json!({}));
    let state = ProfileState::default();
    let mut cx = ctx();
    cx.path = "/product.html".into();
    let view = |category: &str| SeenEvent {
        name: "product_view".into(),
        props: json!({"category": category}).as_object().unwrap().clone(),
        at: T0,
    };
    cx.events = vec![view("outdoor"), view("kitchen")];
    let d = next_prompt(&c, &state, &cx, &all_granted, T0);
    assert_eq!(d.show, None);
    assert!(d.trace[0].reason.contains("1 product_view event(s), needs 2"), "{:?}", d.trace);
    cx.events.push(view("outdoor"));
    assert_eq!(next_prompt(&c, &state, &cx, &all_granted, T0).show.as_deref(), Some("a"));
    let only_analytics = |p: &PurposeId| p.as_str() == "analytics";
    let d = next_prompt(&c, &state, &cx, &only_analytics, T0);
    assert_eq!(d.show, None);
    assert!(d.trace[0].reason.contains("purpose personalization is not granted"));
    cx.path = "/cart.html".into();
    assert_eq!(next_prompt(&c, &state, &cx, &all_granted, T0).show, None);
}

#[test]
fn fatigue_limits_prompts_and_dismissals_back_off_then_stop() {
    let c = config(
        vec![question("a", json!({})), question("b", json!({"priority": -1}))],
        json!({"perSession": 5, "perDay": 5, "perWeek": 10, "quietMinutes": 30, "dismissBackoffHours": 24, "maxDismissals": 2}),
    );
    let mut state = ProfileState::default();
    state.shown("a", 1, T0);
    let d = next_prompt(&c, &state, &ctx(), &all_granted, Millis(T0.0 + 60_000));
    assert_eq!(d.show, None, "quiet period");
    assert!(d.trace[0].reason.contains("quiet period"));
    state.dismissed("a", 1, T0);
    let later = Millis(T0.0 + HOUR);
    assert_eq!(next_prompt(&c, &state, &ctx(), &all_granted, later).show.as_deref(), Some("b"), "a backs off");
    assert_eq!(next_prompt(&c, &state, &ctx(), &all_granted, Millis(T0.0 + 25 * HOUR)).show.as_deref(), Some("a"));
    state.shown("a", 1, Millis(T0.0 + 25 * HOUR));
    state.dismissed("a", 1, Millis(T0.0 + 25 * HOUR));
    let d = next_prompt(&c, &state, &ctx(), &all_granted, Millis(T0.0 + 500 * HOUR));
    assert_eq!(d.show.as_deref(), Some("b"));
    assert!(d.trace[0].reason.contains("never again"), "{:?}", d.trace);
}

#[test]
fn an_answered_question_is_not_asked_again_within_its_retention() {
    let c = config(
        vec![question("a", json!({"retentionDays": 2}))],
        json!({"quietMinutes": 0, "perSession": 9, "perDay": 9, "perWeek": 9}),
    );
    let mut state = ProfileState::default();
    let q = c.question("a").unwrap();
    let value = check_answer(q, &json!("hiking")).unwrap();
    state.answered(q, value, 1, T0);
    assert_eq!(next_prompt(&c, &state, &ctx(), &all_granted, Millis(T0.0 + HOUR)).show, None);
    // The expired answer is still in the state (the engine forgets it); it no longer counts.
    assert_eq!(next_prompt(&c, &state, &ctx(), &all_granted, Millis(T0.0 + 3 * 24 * HOUR)).show.as_deref(), Some("a"));
    assert!(check_answer(q, &json!("surfing")).is_err());
}

#[test]
fn among_equal_priorities_the_question_that_splits_interests_most_evenly_wins() {
    let lopsided = json!({"options": [
        {"id": "x", "label": {"en": "X"}, "tags": ["hiking"]}, {"id": "y", "label": {"en": "Y"}, "tags": ["fishing"]}]});
    let even = json!({"options": [
        {"id": "x", "label": {"en": "X"}, "tags": ["hiking"]}, {"id": "y", "label": {"en": "Y"}, "tags": ["kitchen"]}]});
    let c = config(vec![question("lopsided", lopsided), question("even", even)], json!({}));
    let mut cx = ctx();
    cx.interests = vec![("hiking".into(), 3.0), ("kitchen".into(), 3.0), ("fishing".into(), 0.1)];
    let d = next_prompt(&c, &ProfileState::default(), &cx, &all_granted, T0);
    assert_eq!(d.show.as_deref(), Some("even"), "{:?}", d.trace);
    assert!(d.trace[0].reason.contains("\"even\" ranks higher"));
}

#[test]
fn prerequisites_and_audience_follow_earlier_answers() {
    let c = config(
        vec![
            question("a", json!({})),
            question("b", json!({"priority": 5, "requires": [{"question": "a", "anyOf": ["hiking"]}]})),
        ],
        json!({"quietMinutes": 0, "perSession": 9, "perDay": 9, "perWeek": 9}),
    );
    let mut state = ProfileState::default();
    assert_eq!(next_prompt(&c, &state, &ctx(), &all_granted, T0).show.as_deref(), Some("a"));
    state.answered(c.question("a").unwrap(), json!("cooking"), 1, T0);
    assert_eq!(next_prompt(&c, &state, &ctx(), &all_granted, T0).show, None, "b needs the answer hiking");
    state.answered(c.question("a").unwrap(), json!("hiking"), 1, T0);
    assert_eq!(next_prompt(&c, &state, &ctx(), &all_granted, T0).show.as_deref(), Some("b"));
}

#[test]
fn the_profile_survives_a_reload_and_bad_entries_are_reported_one_by_one() {
    let c = config(vec![question("a", json!({}))], json!({}));
    let mut state = ProfileState::default();
    state.shown("a", 1, T0);
    state.answered(c.question("a").unwrap(), json!("hiking"), 1, T0);
    let raw = state.encode();
    let (back, problems) = ProfileState::decode(&raw, &c).unwrap();
    assert_eq!(back, state);
    assert!(problems.is_empty());

    let mut doc: Value = serde_json::from_str(&raw).unwrap();
    doc["answers"][0]["value"] = json!("surfing");
    doc["history"].as_array_mut().unwrap().push(json!({"question": "gone", "at": 1, "outcome": "shown", "session": 1}));
    let (back, problems) = ProfileState::decode(&doc.to_string(), &c).unwrap();
    assert!(back.answers.is_empty(), "an answer the question does not allow is dropped");
    assert_eq!(back.history.len(), 2, "the good records are kept");
    let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["answers[0]", "history[2]"]);
    assert!(ProfileState::decode("{\"schema\":2}", &c).is_err());
}
