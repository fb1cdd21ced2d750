//! The engine's behaviour, end to end through its public calls.

use super::*;
use crate::egress::MAX_BATCH_BYTES;
use crate::profiling::scheduler::Context;
use serde_json::json;

const T0: Millis = Millis(1_750_000_000_000);

const CONFIG: &str = r#"{"purposes":[{"id":"chat","label":"Chat","description":"History."}],
    "collect":{
      "analytics":{"retentionDays":30,"pseudonymousId":{"rotateDays":30},
         "events":{"page_view":{"path":"urlPath","price":{"bucket":[10,50]}},"x":{},"y":{},
                   "prompt_shown":{"question":"token"},"prompt_answered":{"question":"token"}}},
      "marketing":{"retentionDays":30,"pseudonymousId":{"rotateDays":30},"events":{"x":{},"y":{}}},
      "personalization":{"retentionDays":30,"events":{"x":{}}},
      "chat":{"retentionDays":30,"events":{"x":{}}}}}"#;

fn engine_with(stored: Option<&str>, signals: Signals) -> (Engine, Vec<Warning>) {
    let config = ValidConfig::from_json(CONFIG).unwrap();
    Engine::start(config, "shop", "/v1/batch", stored, signals, [9; 32]).unwrap()
}

fn engine() -> Engine {
    engine_with(None, Signals::default()).0
}

fn grant(e: &mut Engine, ids: &[&str], now: Millis) {
    let choices: Vec<_> = ids.iter().map(|id| (id.to_string(), Decision::Granted)).collect();
    e.record(&choices, ChoiceSource::Api, now).unwrap();
}

fn body(batch: &OutgoingBatch) -> Value {
    serde_json::from_str(&batch.body).unwrap()
}

#[test]
fn nothing_is_sent_or_stored_before_a_choice() {
    let mut e = engine();
    e.track("page_view", Value::Null, "analytics", T0).unwrap();
    assert!(e.take_batch(T0, MAX_BATCH_BYTES).is_none());
    assert!(e.consent_snapshot().is_none());
    assert!(e.consent(T0).needs_banner);
}

#[test]
fn an_event_captured_before_the_grant_leaves_with_its_original_time() {
    let mut e = engine();
    let TrackResult { id, status, .. } =
        e.track("page_view", serde_json::json!({"path": "/"}), "analytics", T0).unwrap();
    assert_eq!(status, Captured::Buffered);
    grant(&mut e, &["analytics"], Millis(T0.0 + 5_000));
    let batch = e.take_batch(Millis(T0.0 + 6_000), MAX_BATCH_BYTES).unwrap();
    let body = body(&batch);
    assert_eq!(body["events"][0]["id"], id);
    assert_eq!(body["events"][0]["ts"], T0.0);
    assert_eq!(body["siteId"], "shop");
    assert_eq!(body["consent"]["granted"], serde_json::json!(["necessary", "analytics"]));
    assert_eq!(body["consent"]["receiptHash"], e.consent(T0).record.head);
}

#[test]
fn only_granted_purposes_leave() {
    let mut e = engine();
    grant(&mut e, &["analytics"], T0);
    for purpose in ["analytics", "marketing", "personalization", "chat"] {
        e.track("x", Value::Null, purpose, T0).unwrap();
    }
    let batch = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    assert_eq!(batch.events, 1);
    assert_eq!(body(&batch)["events"][0]["purpose"], "analytics");
}

#[test]
fn withdrawing_drops_waiting_events() {
    let mut e = engine();
    grant(&mut e, &["analytics"], T0);
    e.track("x", Value::Null, "analytics", T0).unwrap();
    e.record(&[("analytics".into(), Decision::Withdrawn)], ChoiceSource::Banner, T0).unwrap();
    assert!(e.take_batch(T0, MAX_BATCH_BYTES).is_none());
    assert_eq!(e.pending(), (0, 0, 0));
    assert_eq!(e.receipt(T0).entries[1].changes[0].decision, Decision::Withdrawn);
}

#[test]
fn necessary_cannot_be_denied_or_withdrawn() {
    let mut e = engine();
    for d in [Decision::Denied, Decision::Withdrawn] {
        let err = e.record(&[("necessary".into(), d)], ChoiceSource::Api, T0).unwrap_err();
        assert_eq!(err.code(), "necessary_purpose");
        assert_eq!(err.field().as_deref(), Some("purposes[0]"));
    }
    assert!(e.consent(T0).purposes[0].granted());
}

#[test]
fn unknown_purposes_are_errors_naming_the_position() {
    let mut e = engine();
    let err =
        e.record(&[("analytics".into(), Decision::Granted), ("ads".into(), Decision::Granted)], ChoiceSource::Api, T0);
    assert_eq!(err.unwrap_err().field().as_deref(), Some("purposes[1]"));
    assert_eq!(e.track("x", Value::Null, "ads", T0).unwrap_err().code(), "unknown_purpose");
    assert!(e.consent(T0).purposes.iter().all(|p| p.required || !p.granted()), "nothing was half-applied");
}

#[test]
fn repeating_a_choice_does_not_grow_the_record() {
    let mut e = engine();
    grant(&mut e, &["analytics"], T0);
    let again = e.record(&[("analytics".into(), Decision::Granted)], ChoiceSource::Api, T0).unwrap();
    assert!(!again);
    assert_eq!(e.consent(T0).record.entries, 1);
}

#[test]
fn accept_all_leaves_signal_denied_purposes_denied() {
    let (mut e, _) = engine_with(None, Signals { gpc: true, dnt: false });
    e.accept_all(ChoiceSource::Banner, T0).unwrap();
    let view = e.consent(T0);
    let marketing = view.purposes.iter().find(|p| p.id.as_str() == "marketing").unwrap();
    assert_eq!((marketing.status, marketing.source), (Status::Denied, Basis::Gpc));
    assert!(view.purposes.iter().filter(|p| p.id.as_str() != "marketing").all(|p| p.granted()));
    assert!(!view.needs_banner);
    grant(&mut e, &["marketing"], T0);
    assert!(e.is_granted(&PurposeId::parse("marketing").unwrap(), T0), "an explicit grant overrides GPC");
}

#[test]
fn consent_survives_a_reload_and_a_tampered_record_means_no_consent() {
    let mut e = engine();
    grant(&mut e, &["analytics", "chat"], T0);
    let stored = e.consent_snapshot().unwrap();

    let (reloaded, warnings) = engine_with(Some(&stored), Signals::default());
    assert!(warnings.is_empty());
    assert!(reloaded.is_granted(&PurposeId::parse("chat").unwrap(), T0));

    let edited = stored.replacen("\"at\":1750000000000", "\"at\":1750000000001", 1);
    assert_ne!(edited, stored);
    let (mut reloaded, warnings) = engine_with(Some(&edited), Signals::default());
    assert_eq!(warnings[0].code, "state_tampered");
    assert!(reloaded.consent(T0).needs_banner);
    reloaded.track("x", Value::Null, "analytics", T0).unwrap();
    assert!(reloaded.take_batch(T0, MAX_BATCH_BYTES).is_none());
}

#[test]
fn consent_expiring_mid_session_stops_sending() {
    let mut e = engine();
    grant(&mut e, &["analytics"], T0);
    e.track("x", Value::Null, "analytics", T0).unwrap();
    let later = Millis(T0.0 + 366 * Millis::DAY);
    assert!(e.take_batch(later, MAX_BATCH_BYTES).is_none());
}

#[test]
fn an_event_seen_without_consent_is_gone_even_if_the_clock_turns_back() {
    let mut e = engine();
    grant(&mut e, &["analytics"], T0);
    e.track("x", Value::Null, "analytics", T0).unwrap();
    let expired = Millis(T0.0 + 366 * Millis::DAY);
    e.track("y", Value::Null, "marketing", expired).unwrap();
    assert!(e.take_batch(Millis(T0.0 + 1), MAX_BATCH_BYTES).is_none(), "the engine saw the grant lapse");
}

#[test]
fn endpoints_must_be_a_path_or_http_url() {
    for ok in ["/v1/batch", "https://collect.example.com/v1/batch", "http://127.0.0.1:8080/v1/batch"] {
        assert!(validate_endpoint(ok).is_ok(), "{ok}");
    }
    for bad in ["", "v1/batch", "//evil.example/x", "javascript:alert(1)", "/a b"] {
        assert_eq!(validate_endpoint(bad).unwrap_err().field().as_deref(), Some("endpoint"), "{bad}");
    }
}

#[test]
fn bad_site_id_is_a_config_error() {
    let config = ValidConfig::from_json("{}").unwrap();
    let err = Engine::start(config, "my site!", "/v1/batch", None, Signals::default(), [0; 32]).err().unwrap();
    assert_eq!(err.field().as_deref(), Some("siteId"));
}

fn granted_engine() -> Engine {
    let mut e = engine();
    grant(&mut e, &["analytics", "marketing"], T0);
    with_key(&mut e);
    e
}

/// Gives the engine a device key, as the browser does on the first grant.
fn with_key(e: &mut Engine) {
    e.set_device_key(&device_key(7), T0).unwrap();
}

fn ok(code: u16) -> SendResult {
    SendResult::Status { code, retry_after_ms: None }
}

#[test]
fn undeclared_events_are_refused_and_undeclared_props_never_queued() {
    let mut e = granted_engine();
    let err = e.track("purchase", Value::Null, "analytics", T0).unwrap_err();
    assert_eq!((err.code(), err.field().as_deref()), ("undeclared_event", Some("name")));
    let props = serde_json::json!({"path": "https://shop.example/p/1?email=jane@example.com", "price": 42.5, "email": "jane@example.com"});
    let result = e.track("page_view", props, "analytics", T0).unwrap();
    assert_eq!(result.stripped, ["email"]);
    let queued = e.queue_snapshot(T0).unwrap();
    assert!(!queued.contains("jane"), "the stored queue holds only what may leave: {queued}");
    let body = body(&e.take_batch(T0, MAX_BATCH_BYTES).unwrap());
    assert_eq!(body["events"][0]["props"], serde_json::json!({"path": "/p/1", "price": "10-50"}));
}

#[test]
fn each_purpose_has_its_own_pseudonymous_id_created_only_once_granted() {
    let mut e = engine();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    assert!(e.ids_snapshot().is_none(), "no identifier before a grant");
    grant(&mut e, &["analytics", "marketing", "personalization"], T0);
    let anonymous = body_of(&mut e);
    assert!(anonymous["events"][0].get("pid").is_none(), "no id without the device key that could prove it");
    with_key(&mut e);
    e.track("x", Value::Null, "analytics", T0).unwrap();
    for purpose in ["analytics", "marketing", "personalization"] {
        e.track("x", Value::Null, purpose, T0).unwrap();
    }
    let body = body(&e.take_batch(T0, MAX_BATCH_BYTES).unwrap());
    let pid = |i: usize| body["events"][i]["pid"].as_str().map(str::to_owned);
    let (analytics, marketing) = (pid(0).unwrap(), pid(2).unwrap());
    assert_eq!(pid(1).as_deref(), Some(analytics.as_str()), "same purpose, same id");
    assert_ne!(analytics, marketing, "purposes cannot be joined by id");
    assert_eq!(pid(3), None, "personalization declares no id");

    e.record(&[("analytics".into(), Decision::Withdrawn)], ChoiceSource::Api, T0).unwrap();
    assert!(!e.ids_snapshot().unwrap().contains(&analytics), "withdrawal wipes the id");
    let later = Millis(T0.0 + 1000);
    grant(&mut e, &["analytics"], later);
    e.track("x", Value::Null, "analytics", later).unwrap();
    let again: Value = serde_json::from_str(&e.take_batch(later, MAX_BATCH_BYTES).unwrap().body).unwrap();
    assert_ne!(again["events"][0]["pid"], analytics.as_str(), "a new grant starts a new id");
}

#[test]
fn a_tab_that_missed_a_withdrawal_does_not_bring_back_old_events_or_ids_after_a_regrant() {
    let mut a = granted_engine();
    a.track("x", Value::Null, "analytics", T0).unwrap();
    let old_pid = body(&a.take_batch(T0, MAX_BATCH_BYTES).unwrap())["events"][0]["pid"].clone();
    a.track("y", Value::Null, "analytics", T0).unwrap(); // queued, not yet sent
    let stale_ids = a.ids_snapshot();
    // Tab B withdraws and grants again; tab A only ever sees the final record.
    let (mut b, _) = engine_with(a.consent_snapshot().as_deref(), Signals::default());
    b.record(&[("analytics".into(), Decision::Withdrawn)], ChoiceSource::Banner, Millis(T0.0 + 10)).unwrap();
    grant(&mut b, &["analytics"], Millis(T0.0 + 20));
    let later = Millis(T0.0 + 30);
    a.reload_consent(b.consent_snapshot().as_deref(), later);
    a.load_ids(stale_ids.as_deref(), later);
    assert!(a.take_batch(later, MAX_BATCH_BYTES).is_none(), "the event queued before the withdrawal is gone");
    a.track("x", Value::Null, "analytics", later).unwrap();
    let fresh = body(&a.take_batch(later, MAX_BATCH_BYTES).unwrap());
    assert_ne!(fresh["events"][0]["pid"], old_pid, "the old id is not revived by a stale copy");
    assert!(!a.egress_log().iter().any(|p| p["events"][0]["pid"] == old_pid), "nor kept in the egress log");
}

fn body_of(e: &mut Engine) -> Value {
    body(&e.take_batch(T0, MAX_BATCH_BYTES).unwrap())
}

#[test]
fn the_queue_survives_a_reload_with_the_same_event_ids() {
    let mut e = granted_engine();
    let id = e.track("x", Value::Null, "analytics", T0).unwrap().id;
    let consent = e.consent_snapshot().unwrap();
    let queue = e.queue_snapshot(T0).unwrap();
    let (mut reloaded, _) = engine_with(Some(&consent), Signals::default());
    assert!(reloaded.load_queue(Some(&queue), T0).is_empty());
    assert_eq!(body_of(&mut reloaded)["events"][0]["id"], id.as_str());
}

#[test]
fn a_stored_queue_with_one_bad_event_keeps_the_good_ones() {
    let mut e = granted_engine();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    e.track("y", Value::Null, "analytics", T0).unwrap();
    let mut doc: Value = serde_json::from_str(&e.queue_snapshot(T0).unwrap()).unwrap();
    doc["events"][0]["id"] = Value::from("not hex");
    doc["events"][1]["props"] = serde_json::json!({"email": "smuggled@example.com"});
    let (mut reloaded, _) = engine_with(e.consent_snapshot().as_deref(), Signals::default());
    let warnings = reloaded.load_queue(Some(&doc.to_string()), T0);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].field.as_deref(), Some("events[0].id"));
    let body = body_of(&mut reloaded);
    assert_eq!(body["events"].as_array().unwrap().len(), 1);
    assert_eq!(body["events"][0]["props"], serde_json::json!({}), "stored props are filtered again");
}

#[test]
fn a_withdrawal_in_another_tab_purges_this_tabs_queue_before_its_next_send() {
    let mut a = granted_engine();
    a.track("x", Value::Null, "analytics", T0).unwrap();
    a.track("x", Value::Null, "marketing", T0).unwrap();
    let (mut b, _) = engine_with(a.consent_snapshot().as_deref(), Signals::default());
    b.record(&[("analytics".into(), Decision::Withdrawn)], ChoiceSource::Banner, T0).unwrap();
    let (changed, _) = a.reload_consent(b.consent_snapshot().as_deref(), T0);
    assert!(changed);
    assert!(!a.queue_snapshot(T0).unwrap().contains("analytics"));
    let body = body_of(&mut a);
    assert_eq!(body["events"].as_array().unwrap().len(), 1);
    assert_eq!(body["events"][0]["purpose"], "marketing");
}

#[test]
fn in_flight_batches_are_aborted_when_their_purpose_is_withdrawn() {
    let mut e = granted_engine();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    let batch = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    assert!(!e.should_abort(batch.id, T0));
    e.record(&[("analytics".into(), Decision::Withdrawn)], ChoiceSource::Api, T0).unwrap();
    assert!(e.should_abort(batch.id, T0));
    e.settle(batch.id, SendResult::Aborted, T0);
    assert_eq!(e.pending(), (0, 0, 0), "nothing of the withdrawn purpose is kept for a retry");
    assert!(e.queue_snapshot(T0).is_none());
}

#[test]
fn a_batch_mixing_purposes_is_aborted_when_one_is_withdrawn_and_logged_whole() {
    let mut e = granted_engine();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    e.track("x", Value::Null, "marketing", T0).unwrap();
    let batch = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    e.record(&[("analytics".into(), Decision::Withdrawn)], ChoiceSource::Api, T0).unwrap();
    assert!(e.should_abort(batch.id, T0), "the batch still carries a withdrawn purpose's event");
    e.settle(batch.id, SendResult::Aborted, T0);
    assert_eq!(e.pending(), (0, 1, 0), "the marketing event goes back to the queue");
    let log = e.egress_log();
    assert_eq!(log[0]["outcome"], "aborted");
    assert_eq!(log[0]["events"].as_array().unwrap().len(), 2, "the log shows everything the request carried");
    let b = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    assert!(!e.should_abort(b.id, T0));
    assert_eq!(body(&b)["events"][0]["purpose"], "marketing");
}

#[test]
fn failed_sends_back_off_and_offline_failures_cost_nothing() {
    let mut e = granted_engine();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    let b = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    assert_eq!(e.settle(b.id, SendResult::NetworkError { online: false }, T0).next, NextSend::WhenOnline);
    let b = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    let NextSend::After(first) = e.settle(b.id, ok(503), T0).next else { panic!() };
    assert!((2000..=4000).contains(&first), "first retry backs off from the interval: {first}");
    let b = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    let NextSend::After(second) =
        e.settle(b.id, SendResult::Status { code: 429, retry_after_ms: Some(90_000) }, T0).next
    else {
        panic!()
    };
    assert_eq!(second, 90_000, "Retry-After is honoured");
    let b = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    assert_eq!(body(&b)["events"].as_array().unwrap().len(), 1, "the same event, never duplicated");
    assert_eq!(e.settle(b.id, ok(200), T0).next, NextSend::After(2000));
    assert_eq!(e.pending(), (0, 0, 0));
    let log = e.egress_log();
    let outcomes: Vec<_> = log.iter().map(|p| (p["status"].as_u64(), p["outcome"].as_str().unwrap())).collect();
    assert_eq!(
        outcomes,
        [(None, "willRetry"), (Some(503), "willRetry"), (Some(429), "willRetry"), (Some(200), "delivered")]
    );
    assert_eq!(log[3]["destination"], "/v1/batch");
    assert!(log[3]["events"][0]["pid"].is_string());
}

#[test]
fn a_413_splits_the_batch_and_a_4xx_drops_it() {
    let mut e = granted_engine();
    for _ in 0..4 {
        e.track("x", Value::Null, "analytics", T0).unwrap();
    }
    let b = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    assert_eq!(b.events, 4);
    assert_eq!(e.settle(b.id, ok(413), T0).next, NextSend::After(0));
    let b = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    assert_eq!(b.events, 2);
    e.settle(b.id, ok(400), T0);
    assert_eq!(e.pending(), (0, 2, 0), "a refused batch is not retried");
    let b = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    e.settle(b.id, ok(200), T0);
    e.track("x", Value::Null, "analytics", T0).unwrap();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    assert_eq!(e.take_batch(T0, MAX_BATCH_BYTES).unwrap().events, 3, "a delivered batch lifts the cap");
}

#[test]
fn the_manifest_names_the_destination() {
    let e = engine();
    let m = e.manifest();
    assert_eq!(m.destination, "/v1/batch");
    assert_eq!(m.site_id, "shop");
    assert!(m.rows.iter().any(|r| r.field == "events[].props.path" && r.purpose.as_str() == "analytics"));
}

const PROMPTS: &str = r#"{"fatigue": {"quietMinutes": 0, "perSession": 5, "perDay": 5, "perWeek": 5},
  "questions": [{"id": "activity", "kind": "single", "purpose": "personalization", "retentionDays": 30,
    "text": {"en": "What do you do outdoors?"}, "why": {"en": "To suggest gear."}, "usedFor": {"en": "Your suggestions."},
    "options": [{"id": "hiking", "label": {"en": "Hiking"}, "tags": ["hiking"]}, {"id": "biking", "label": {"en": "Biking"}, "tags": ["bike"]}]}]}"#;

fn prompt_ctx() -> Context {
    Context { path: "/".into(), page_views: 1, session: 1, session_start: T0, ..Context::default() }
}

#[test]
fn prompts_need_their_purpose_and_answers_go_with_it() {
    let mut e = engine();
    e.set_prompts(PROMPTS).unwrap();
    assert_eq!(e.next_prompt(&prompt_ctx(), T0).unwrap().show, None, "personalization not granted yet");
    let err = e.answer_prompt("activity", &serde_json::json!("hiking"), T0).unwrap_err();
    assert_eq!(err.code(), "purpose_not_granted", "no answer is stored without consent");

    grant(&mut e, &["personalization"], T0);
    assert_eq!(e.next_prompt(&prompt_ctx(), T0).unwrap().show.as_deref(), Some("activity"));
    e.prompt_shown("activity", T0).unwrap();
    let bad = e.answer_prompt("activity", &serde_json::json!("surfing"), T0).unwrap_err();
    assert_eq!((bad.code(), bad.field().as_deref()), ("invalid_answer", Some("value")));
    e.answer_prompt("activity", &serde_json::json!("hiking"), T0).unwrap();
    assert_eq!(e.next_prompt(&prompt_ctx(), T0).unwrap().show, None, "answered: not asked again");

    let stored = e.profile_snapshot().unwrap();
    let (mut reloaded, _) = engine_with(e.consent_snapshot().as_deref(), Signals::default());
    reloaded.set_prompts(PROMPTS).unwrap();
    assert!(reloaded.load_profile(Some(&stored), T0).is_empty());
    assert_eq!(reloaded.answers().len(), 1, "the answer survives a reload");

    reloaded.record(&[("personalization".into(), Decision::Withdrawn)], ChoiceSource::Api, Millis(T0.0 + 1)).unwrap();
    assert!(reloaded.answers().is_empty(), "withdrawal forgets the answers of that purpose");
}

#[test]
fn a_broken_prompt_config_lists_every_problem() {
    let mut e = engine();
    let err = e.set_prompts(r#"{"questions": [{"id": "a"}], "colour": 1}"#).unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert!(paths.contains(&"colour") && paths.contains(&"questions[0].text"), "{paths:?}");
}

const TRIGGERED: &str = r#"{"fatigue": {"quietMinutes": 0, "perSession": 5, "perDay": 5, "perWeek": 5},
  "questions": [{"id": "kind", "kind": "yesNo", "purpose": "personalization", "retentionDays": 30,
    "text": {"en": "Gift?", "de": "Geschenk?"}, "why": {"en": "To suggest."}, "usedFor": {"en": "Suggestions."},
    "trigger": {"minPageViews": 2, "event": {"name": "x", "minCount": 2, "props": {"cat": "tent"}}}}]}"#;

#[test]
fn the_visit_is_counted_only_with_consent_and_keeps_only_what_triggers_need() {
    let mut e = engine();
    e.set_prompts(TRIGGERED).unwrap();
    e.page_view(T0);
    e.track("x", json!({"cat": "tent", "secret": "s"}), "analytics", T0).unwrap();
    assert_eq!(e.profile_snapshot(), None, "nothing about the visit is kept before personalization is granted");

    grant(&mut e, &["personalization"], T0);
    let at = |min: u64| Millis(T0.0 + min * 60_000);
    e.page_view(at(1));
    e.track("x", json!({"cat": "tent", "secret": "s"}), "analytics", at(1)).unwrap();
    e.track("y", json!({}), "analytics", at(1)).unwrap();
    let d = e.next_prompt(&e.prompt_context("/", Vec::new()), at(2)).unwrap();
    assert_eq!(d.show, None, "{:?}", d.trace);
    e.page_view(at(2));
    e.track("x", json!({"cat": "tent"}), "analytics", at(2)).unwrap();
    let d = e.next_prompt(&e.prompt_context("/", Vec::new()), at(3)).unwrap();
    assert_eq!(d.show.as_deref(), Some("kind"), "{:?}", d.trace);

    let stored = e.profile_snapshot().unwrap();
    assert!(!stored.contains("secret") && !stored.contains("\"y\""), "only trigger events and props: {stored}");
    assert_eq!(e.prompt_context("/", Vec::new()).session, 1);
    e.page_view(at(40));
    let ctx = e.prompt_context("/", Vec::new());
    assert_eq!((ctx.session, ctx.page_views), (2, 1), "30 minutes of quiet start a new session");

    e.record(&[("personalization".into(), Decision::Withdrawn)], ChoiceSource::Api, at(41)).unwrap();
    assert_eq!(e.profile_snapshot(), None, "withdrawal forgets the visit");
}

#[test]
fn prompts_are_measured_by_question_id_only_and_only_if_declared() {
    let mut e = engine();
    e.set_prompts(PROMPTS).unwrap();
    grant(&mut e, &["personalization", "analytics"], T0);
    assert_eq!(e.prompt_shown("activity", T0).unwrap(), None);
    assert_eq!(e.answer_prompt("activity", &json!("hiking"), T0).unwrap(), None);
    let batch = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    let body: serde_json::Value = serde_json::from_str(&batch.body).unwrap();
    let sent: Vec<(&str, &serde_json::Value)> =
        body["events"].as_array().unwrap().iter().map(|ev| (ev["name"].as_str().unwrap(), &ev["props"])).collect();
    let props = json!({"question": "activity"});
    assert_eq!(sent, [("prompt_shown", &props), ("prompt_answered", &props)], "the answer itself never leaves");
    let warning = e.dismiss_prompt("activity", T0).unwrap().expect("prompt_dismissed is not declared");
    assert_eq!(warning.code, "undeclared_event");
}

#[test]
fn the_prompt_is_shown_in_the_visitors_language_with_its_purpose_label() {
    let mut e = engine();
    e.set_prompts(TRIGGERED).unwrap();
    let view = e.prompt_view("kind", &["de-AT".into(), "en".into()]).unwrap();
    assert_eq!((view.language.as_str(), view.text.as_str(), view.why.as_str()), ("de", "Geschenk?", "To suggest."));
    assert_eq!(
        (view.purpose.as_str(), view.purpose_label.as_str(), view.retention_days),
        ("personalization", "Personalization", 30)
    );
}

#[test]
fn another_tabs_profile_is_merged_not_overwritten() {
    let mut a = engine();
    a.set_prompts(PROMPTS).unwrap();
    grant(&mut a, &["personalization"], T0);
    let (mut b, _) = engine_with(a.consent_snapshot().as_deref(), Signals::default());
    b.set_prompts(PROMPTS).unwrap();
    a.dismiss_prompt("activity", T0).unwrap();
    b.answer_prompt("activity", &json!("biking"), Millis(T0.0 + 5)).unwrap();
    a.merge_profile(b.profile_snapshot().as_deref(), Millis(T0.0 + 6));
    assert_eq!(a.answers().len(), 1);
    let stored = a.profile_snapshot().unwrap();
    assert!(stored.contains("dismissed") && stored.contains("answered"), "{stored}");
}

const TIMED: &str = r#"{"fatigue": {"quietMinutes": 0, "perSession": 1, "perDay": 5, "perWeek": 5},
  "questions": [
    {"id": "now", "kind": "yesNo", "purpose": "personalization", "retentionDays": 30,
     "text": {"en": "Now?"}, "why": {"en": "w"}, "usedFor": {"en": "u"}},
    {"id": "later", "kind": "yesNo", "purpose": "personalization", "retentionDays": 30,
     "text": {"en": "Later?"}, "why": {"en": "w"}, "usedFor": {"en": "u"}, "trigger": {"minSecondsOnSite": 600}},
    {"id": "ads", "kind": "yesNo", "purpose": "marketing", "retentionDays": 30,
     "text": {"en": "Ads?"}, "why": {"en": "w"}, "usedFor": {"en": "u"},
     "trigger": {"event": {"name": "x", "props": {"cat": "tent"}}}}]}"#;

#[test]
fn a_grant_starts_session_one_on_this_page_and_its_budget_holds_on_the_next() {
    let mut e = engine();
    e.set_prompts(TIMED).unwrap();
    e.page_view(T0);
    grant(&mut e, &["personalization"], Millis(T0.0 + 1000));
    let ctx = e.prompt_context("/", Vec::new());
    assert_eq!((ctx.session, ctx.page_views, ctx.session_start), (1, 1, Millis(T0.0 + 1000)));
    let d = e.next_prompt(&ctx, Millis(T0.0 + 2000)).unwrap();
    assert_eq!(d.show.as_deref(), Some("now"));
    assert!(d.trace.iter().any(|l| l.question == "later" && l.reason.contains("needs 600")), "{:?}", d.trace);
    e.prompt_shown("now", Millis(T0.0 + 2000)).unwrap();
    e.page_view(Millis(T0.0 + 60_000));
    let d = e.next_prompt(&e.prompt_context("/", Vec::new()), Millis(T0.0 + 700_000)).unwrap();
    assert_eq!(d.show, None, "one prompt per session, also for the session a grant started: {:?}", d.trace);
}

#[test]
fn only_events_matching_a_granted_questions_trigger_are_kept_with_only_the_config_values() {
    let mut e = engine();
    e.set_prompts(TIMED).unwrap();
    grant(&mut e, &["personalization"], T0);
    e.track("x", json!({"cat": "tent"}), "analytics", T0).unwrap();
    assert!(
        e.profile_snapshot().unwrap().contains("\"events\":[]"),
        "marketing's trigger is not counted without marketing"
    );
    grant(&mut e, &["marketing"], T0);
    e.track("x", json!({"cat": "some raw value", "other": 1}), "analytics", T0).unwrap();
    e.track("x", json!({"cat": "tent", "other": 1}), "analytics", T0).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&e.profile_snapshot().unwrap()).unwrap();
    assert_eq!(stored["visit"]["events"], json!([{"name": "x", "props": {"cat": "tent"}, "at": T0.0}]), "{stored}");
}

#[test]
fn withdrawal_forgets_the_prompt_history_and_a_page_without_prompts_prunes_the_stored_profile() {
    let mut e = engine();
    e.set_prompts(TIMED).unwrap();
    grant(&mut e, &["personalization", "marketing"], T0);
    e.dismiss_prompt("now", T0).unwrap();
    e.answer_prompt("ads", &json!(true), T0).unwrap();
    let stored = e.profile_snapshot().unwrap();
    let withdraw_at = Millis(T0.0 + 10);

    // Another page of the site has no prompt config: the withdrawal still reaches the stored profile.
    let (mut other, _) = engine_with(e.consent_snapshot().as_deref(), Signals::default());
    assert_eq!(other.prune_stored_profile(&stored, T0), None, "nothing to change while all is granted");
    other.record(&[("personalization".into(), Decision::Withdrawn)], ChoiceSource::Api, withdraw_at).unwrap();
    let pruned = other.prune_stored_profile(&stored, withdraw_at).unwrap().unwrap();
    assert!(pruned.contains("\"ads\""), "marketing's answer stays: {pruned}");
    assert!(!pruned.contains("dismissed") && !pruned.contains("\"visit\""), "history and visit go: {pruned}");

    e.record(&[("personalization".into(), Decision::Withdrawn)], ChoiceSource::Api, withdraw_at).unwrap();
    let kept = e.profile_snapshot().unwrap();
    assert!(!kept.contains("\"now\""), "the withdrawn question's history is forgotten: {kept}");
    e.record(&[("marketing".into(), Decision::Withdrawn)], ChoiceSource::Api, withdraw_at).unwrap();
    assert_eq!(e.profile_snapshot(), None, "nothing left once no question's purpose is granted");
}

#[test]
fn a_prompt_shown_in_another_tab_counts_here() {
    let mut a = engine();
    a.set_prompts(TIMED).unwrap();
    grant(&mut a, &["personalization"], T0);
    let (mut b, _) = engine_with(a.consent_snapshot().as_deref(), Signals::default());
    b.set_prompts(TIMED).unwrap();
    b.load_profile(a.profile_snapshot().as_deref(), T0);
    a.prompt_shown("now", T0).unwrap();
    b.merge_profile(a.profile_snapshot().as_deref(), Millis(T0.0 + 1));
    let d = b.next_prompt(&b.prompt_context("/", Vec::new()), Millis(T0.0 + 1)).unwrap();
    assert_eq!(d.show, None, "{:?}", d.trace);
    assert!(d.trace[0].reason.contains("this session"), "{:?}", d.trace);
}

const CATALOG: &str = r#"{"format": 1, "items": [
    {"id": "boots", "title": "Boots", "url": "/boots", "tags": ["hiking"], "popularity": 5},
    {"id": "socks", "title": "Socks", "url": "/socks", "tags": ["hiking"], "popularity": 1},
    {"id": "pan", "title": "Pan", "url": "/pan", "tags": ["cooking"], "popularity": 50}
]}"#;

fn recommending(e: &mut Engine) {
    e.set_catalog(CATALOG.as_bytes()).unwrap();
    e.set_neighbours(r#"{"format": 1, "items": {"boots": [["socks", 1]]}}"#).unwrap();
    e.set_rec_config(r#"{"diversity": 0, "events": {"x": {"signal": "view", "item": "productId"}}}"#).unwrap();
}

fn top(e: &mut Engine, now: Millis) -> Vec<String> {
    let req = crate::recommend::RankRequest { k: 2, ..Default::default() };
    e.recommend(&req, now).unwrap().into_iter().map(|r| r.id).collect()
}

#[test]
fn signals_are_recorded_and_used_only_with_personalization() {
    let mut e = engine();
    recommending(&mut e);
    assert_eq!(e.record_signal("boots", "view", None, T0), Ok(false));
    e.track("x", json!({"productId": "boots"}), "analytics", T0).unwrap();
    assert!(e.rec_signals_snapshot().is_none(), "nothing stored before personalization");
    assert_eq!(top(&mut e, T0), ["pan", "boots"], "popularity only");

    grant(&mut e, &["personalization"], T0);
    e.track("x", json!({"productId": "boots"}), "analytics", Millis(T0.0 + 1)).unwrap();
    assert!(e.rec_signals_snapshot().unwrap().contains("boots"));
    assert_eq!(top(&mut e, Millis(T0.0 + 2)), ["socks", "pan"]);

    // Withdrawal wipes the signals; the rail is popularity-only again.
    let withdraw = [("personalization".to_owned(), Decision::Withdrawn)];
    e.record(&withdraw, ChoiceSource::Api, Millis(T0.0 + 3)).unwrap();
    assert!(e.rec_signals_snapshot().is_none());
    assert_eq!(top(&mut e, Millis(T0.0 + 4)), ["pan", "boots"]);
    // Signals stored before the withdrawal never count again, even if granted anew.
    let stale = r#"{"v": 1, "history": [{"item": "boots", "kind": "view", "at": 1750000000001}]}"#;
    grant(&mut e, &["personalization"], Millis(T0.0 + 5));
    e.load_rec_signals(Some(stale), Millis(T0.0 + 6));
    assert!(e.rec_signals().history.is_empty());
}

#[test]
fn stated_answers_become_tag_preferences() {
    let mut e = engine();
    recommending(&mut e);
    e.set_prompts(
        r#"{"defaultLanguage": "en", "questions": [{"id": "into", "kind": "single", "text": {"en": "Into?"},
            "options": [{"id": "outdoors", "label": {"en": "Outdoors"}, "tags": ["hiking"]},
                        {"id": "food", "label": {"en": "Food"}, "tags": ["cooking"]}],
            "purpose": "personalization", "why": {"en": "To suggest."}, "usedFor": {"en": "Suggestions."},
            "retentionDays": 30}]}"#,
    )
    .unwrap();
    grant(&mut e, &["personalization"], T0);
    e.answer_prompt("into", &json!("outdoors"), T0).unwrap();
    assert_eq!(e.stated_preferences(), [("hiking".to_owned(), 1.0)]);
    let req = crate::recommend::RankRequest { k: 1, ..Default::default() };
    let out = e.recommend(&req, T0).unwrap();
    assert_eq!(out[0].id, "boots");
    assert_eq!(out[0].because[0].kind, crate::recommend::ReasonKind::Stated);
}

#[test]
fn a_bad_catalogue_keeps_the_loaded_one_and_a_sidecar_needs_a_catalogue() {
    let mut e = engine();
    assert_eq!(e.set_neighbours("{}"), Err(crate::recommend::RecError::NoCatalog));
    assert_eq!(e.recommend(&Default::default(), T0), Err(crate::recommend::RecError::NoCatalog));
    recommending(&mut e);
    assert!(e.set_catalog(b"{\"format\": 9, \"items\": []}").is_err());
    assert_eq!(top(&mut e, T0).len(), 2, "the earlier catalogue is still there");
    let summary =
        e.set_catalog(br#"{"format": 1, "items": [{"id": "a", "title": "A", "url": "/"}, {"id": "a"}]}"#).unwrap();
    assert_eq!((summary.kept, summary.skipped), (1, 1));
    assert_eq!(summary.warnings[0].field.as_deref(), Some("items[1].title"));
}

#[test]
fn nothing_from_before_the_current_grant_of_personalization_comes_back() {
    // Tab A records, mutes and forgets; tab B withdraws and grants again. A's stale copy (and a
    // signal A captured while it had not noticed the withdrawal) must not count in B.
    let mut a = engine();
    recommending(&mut a);
    grant(&mut a, &["personalization"], T0);
    a.record_signal("boots", "view", None, Millis(T0.0 + 1)).unwrap();
    assert!(a.mute_tag("cooking", Millis(T0.0 + 2)));
    a.forget_item("pan", Millis(T0.0 + 3));
    let mut b = engine_with(a.consent_snapshot().as_deref(), Signals::default()).0;
    recommending(&mut b);
    let withdraw = [("personalization".to_owned(), Decision::Withdrawn)];
    b.record(&withdraw, ChoiceSource::Api, Millis(T0.0 + 10)).unwrap();
    a.record_signal("socks", "view", None, Millis(T0.0 + 15)).unwrap(); // A has not noticed yet
    grant(&mut b, &["personalization"], Millis(T0.0 + 20));
    b.load_rec_signals(a.rec_signals_snapshot().as_deref(), Millis(T0.0 + 21));
    assert_eq!(b.rec_signals(), &crate::recommend::Signals::default());
    assert_eq!(top(&mut b, Millis(T0.0 + 22)), ["pan", "boots"], "popularity only: {:?}", b.rec_signals());
    // A, reading B's record, drops what it holds from before the re-grant too.
    a.reload_consent(b.consent_snapshot().as_deref(), Millis(T0.0 + 23));
    assert!(a.rec_signals_snapshot().is_none());
}

#[test]
fn an_answer_given_under_another_purpose_is_not_carried_over_when_the_site_moves_the_question() {
    let prompts = |purpose: &str| {
        format!(
            r#"{{"defaultLanguage": "en", "questions": [{{"id": "into", "kind": "single", "text": {{"en": "Into?"}},
            "options": [{{"id": "outdoors", "label": {{"en": "Outdoors"}}, "tags": ["hiking"]}},
                        {{"id": "food", "label": {{"en": "Food"}}, "tags": ["cooking"]}}],
            "purpose": "{purpose}", "why": {{"en": "To suggest."}}, "usedFor": {{"en": "Suggestions."}},
            "retentionDays": 30}}]}}"#
        )
    };
    let mut e = engine();
    e.set_prompts(&prompts("marketing")).unwrap();
    grant(&mut e, &["marketing", "personalization"], T0);
    e.answer_prompt("into", &json!("outdoors"), T0).unwrap();
    let stored = e.profile_snapshot().unwrap();
    let mut moved = engine();
    moved.set_prompts(&prompts("personalization")).unwrap();
    grant(&mut moved, &["personalization"], T0);
    let warnings = moved.load_profile(Some(&stored), Millis(T0.0 + 1));
    assert!(moved.answers().is_empty());
    assert!(moved.stated_preferences().is_empty());
    assert_eq!(warnings.len(), 1);
}

/// The public half of a device key as the browser would make it (not checked to be on the curve).
fn device_key(seed: u8) -> String {
    let point: Vec<u8> = std::iter::once(4).chain((0..64).map(|i| seed.wrapping_add(i))).collect();
    crate::ids::base64url_encode(&point)
}

fn keyed_engine() -> Engine {
    let mut e = engine();
    assert!(!e.needs_device_key(T0), "no key before a purpose that sends data is granted");
    grant(&mut e, &["analytics", "personalization"], T0);
    assert!(e.needs_device_key(T0));
    e.set_device_key(&device_key(1), T0).unwrap();
    assert!(!e.needs_device_key(T0));
    e
}

#[test]
fn batches_carry_the_key_hash_only_beside_a_pseudonymous_id() {
    let mut e = keyed_engine();
    let hash = e.device_key().unwrap().key_hash.clone();
    e.track("x", Value::Null, "personalization", T0).unwrap();
    assert!(body_of(&mut e).get("device").is_none(), "personalization declares no id: nothing to file");
    e.track("x", Value::Null, "analytics", T0).unwrap();
    let sent = body_of(&mut e);
    assert_eq!(sent["device"], hash.as_str());
    assert!(e.set_device_key(&device_key(9), T0).is_err(), "one key at a time");
    let mut cleared = engine();
    assert!(cleared.set_device_key(&device_key(9), T0).is_err(), "no key without a purpose that sends data");
}

fn erase_answer(e: &mut Engine, req: &crate::privacy::RightsRequest) -> String {
    json!({"format": "attune-erasure-receipt/1", "receiptId": "ab".repeat(16), "siteId": "shop",
           "keyHash": e.device_key().unwrap().key_hash, "requestedAt": req.at, "erasedAt": req.at.0 + 1,
           "deleted": {"events": 2, "receipts": 1, "pseudonymousIds": 1},
           "suppressed": {"keyHash": true, "pseudonymousIds": 1}})
    .to_string()
}

#[test]
fn an_erasure_retires_the_devices_identity_and_its_waiting_events() {
    let mut e = keyed_engine();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    let old_pid = body_of(&mut e)["events"][0]["pid"].as_str().unwrap().to_owned();
    e.track("y", Value::Null, "analytics", Millis(T0.0 + 1)).unwrap(); // still queued
    let t = Millis(T0.0 + 10);
    let req = e.rights_request("erase", t).unwrap();
    assert_eq!(req.url, "/v1/rights/erase");
    let refused = e.rights_answer(&req, 403, r#"{"error":{"code":"invalid_proof","message":"no"}}"#, t);
    assert_eq!(refused.unwrap_err().code(), "rights_refused");
    assert!(e.device_key().is_some(), "a refused request changes nothing");
    let answer = erase_answer(&mut e, &req);
    e.rights_answer(&req, 200, &answer, t).unwrap();
    assert!(e.device_key().is_none(), "the key is forgotten");
    let ids: Value = serde_json::from_str(&e.ids_snapshot().unwrap()).unwrap();
    assert_eq!(ids["ids"], json!([]), "and the ids");
    assert_eq!(ids["erasedBefore"], t.0, "other tabs learn the cut from the stored ids too");
    assert!(e.take_batch(t, MAX_BATCH_BYTES).is_none(), "the queued event from before never leaves");
    // A new identity for what is captured from now on, if the visitor still allows it.
    assert!(e.needs_device_key(t));
    let stored = e.set_device_key(&device_key(2), t).unwrap();
    assert!(stored.contains("\"erasedBefore\""), "other tabs learn the cut from the new key");
    e.track("x", Value::Null, "analytics", Millis(t.0 + 1)).unwrap();
    let sent = body_of(&mut e);
    assert_eq!(sent["events"].as_array().unwrap().len(), 1);
    assert_ne!(sent["events"][0]["pid"], old_pid.as_str());
    // Another tab reading that key, or the ids made after the erasure, drops its own copies of
    // the old events (it would otherwise send them under the new ids).
    for learn in ["key", "ids"] {
        let mut other = engine_with(e.consent_snapshot().as_deref(), Signals::default()).0;
        other.track("x", Value::Null, "analytics", Millis(T0.0 + 2)).unwrap();
        match learn {
            "key" => drop(other.load_device_key(Some(&stored), t)),
            _ => drop(other.load_ids(e.ids_snapshot().as_deref(), t)),
        }
        assert!(other.take_batch(t, MAX_BATCH_BYTES).is_none(), "learnt from the {learn}");
    }
}

#[test]
fn a_key_that_lost_its_private_half_is_retired_with_its_ids() {
    let mut e = keyed_engine();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    let old_pid = body_of(&mut e)["events"][0]["pid"].clone();
    let public = e.device_key().unwrap().public_key.clone();
    assert!(!e.retire_device_key("another", T0));
    assert!(e.retire_device_key(&public, T0));
    assert!(e.needs_device_key(T0), "a new key is made");
    e.set_device_key(&device_key(5), T0).unwrap();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    assert_ne!(body_of(&mut e)["events"][0]["pid"], old_pid, "new ids, filed under the new key");
}

#[test]
fn a_rights_request_needs_a_device_key() {
    let mut e = engine();
    assert_eq!(e.rights_request("export", T0).unwrap_err().code(), "no_device_key");
    let mut e = keyed_engine();
    assert_eq!(e.rights_request("sell", T0).unwrap_err().field().as_deref(), Some("action"));
    let export = e.rights_request("export", T0).unwrap();
    e.load_device_key(Some(&DeviceKey::new(&device_key(3), T0, None).unwrap().encode()), T0);
    let doc = json!({"format": "attune-export/1", "source": "collector", "siteId": "shop", "generatedAt": 1,
                     "device": null, "pseudonymousIds": [], "events": [], "receipts": []});
    let err = e.rights_answer(&export, 200, &doc.to_string(), T0).unwrap_err();
    assert_eq!(err.code(), "no_device_key", "an answer to a request signed by a key this device no longer has");
    assert_eq!(e.load_device_key(Some("{\"schema\":1}"), T0).len(), 1, "a broken stored key is reported");
    assert!(e.device_key().is_none());
}

#[test]
fn the_visitor_deletes_answers_and_interests_and_clears_everything() {
    let mut e = engine();
    e.set_prompts(PROMPTS).unwrap();
    recommending(&mut e);
    grant(&mut e, &["personalization", "analytics"], T0);
    e.answer_prompt("activity", &json!("hiking"), T0).unwrap();
    let answers = e.privacy_answers(&["en".into()]);
    assert_eq!(answers.len(), 1);
    assert!(!answers[0].text.is_empty() && !answers[0].why.is_empty());
    assert_ne!(answers[0].answer, "hiking", "the option's label, not its id");
    assert!(!e.forget_answer("nope", T0));
    assert!(e.forget_answer("activity", T0));
    assert!(e.answers().is_empty());

    e.record_signal("boots", "view", None, T0).unwrap();
    e.record_signal("pan", "view", None, Millis(T0.0 + 1)).unwrap();
    let tags: Vec<String> = e.interests(Millis(T0.0 + 2)).into_iter().map(|i| i.tag).collect();
    assert!(tags.contains(&"hiking".to_owned()) && tags.contains(&"cooking".to_owned()), "{tags:?}");
    assert!(e.forget_interest("hiking", Millis(T0.0 + 2)));
    let tags: Vec<String> = e.interests(Millis(T0.0 + 3)).into_iter().map(|i| i.tag).collect();
    assert_eq!(tags, ["cooking"]);
    assert!(e.rec_signals().history.iter().all(|s| s.item != "boots"), "the items behind it are forgotten");

    e.track("x", Value::Null, "analytics", T0).unwrap();
    let exported = e.export_device(&[("attune:consent".into(), e.consent_snapshot().unwrap())], &[], T0);
    assert_eq!(exported["format"], "attune-export/1");
    assert_eq!(exported["storage"]["attune:consent"]["head"], e.consent(T0).record.head.as_str());
    let queued: Vec<&str> =
        exported["queuedEvents"].as_array().unwrap().iter().filter_map(|e| e["name"].as_str()).collect();
    assert!(queued.contains(&"x"), "{queued:?}");

    e.clear_all(Millis(T0.0 + 4));
    assert!(e.consent_snapshot().is_none() && e.rec_signals_snapshot().is_none() && e.profile_snapshot().is_none());
    assert!(e.take_batch(Millis(T0.0 + 4), MAX_BATCH_BYTES).is_none());
    assert!(e.consent(Millis(T0.0 + 4)).needs_banner, "consent is asked again");
}

#[test]
fn a_record_cleared_in_another_tab_wipes_this_tabs_copy() {
    let mut e = granted_engine();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    let batch = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    e.settle(batch.id, ok(200), T0);
    assert!(e.egress_log_snapshot().is_some());
    e.reload_consent(None, T0);
    assert!(e.egress_log_snapshot().is_none() && e.ids_snapshot().is_none(), "nothing to write back");
}

#[test]
fn a_tab_that_slept_through_clear_everything_and_a_new_choice_forgets_what_it_held() {
    let mut stale = granted_engine();
    stale.track("x", Value::Null, "analytics", T0).unwrap();
    // Another tab: clear everything, then the visitor accepts again (a new record, a new chain).
    let (mut other, _) = engine_with(stale.consent_snapshot().as_deref(), Signals::default());
    other.clear_all(Millis(T0.0 + 10));
    grant(&mut other, &["analytics"], Millis(T0.0 + 20));
    let (changed, _) = stale.reload_consent(other.consent_snapshot().as_deref(), Millis(T0.0 + 30));
    assert!(changed);
    assert!(stale.take_batch(Millis(T0.0 + 30), MAX_BATCH_BYTES).is_none(), "the event from before the clear is gone");
    assert!(stale.ids_snapshot().is_none() && stale.egress_log_snapshot().is_none() && stale.device_key().is_none());
    // A record that only grew (a choice made in another tab) keeps everything.
    let mut tab = granted_engine();
    tab.track("x", Value::Null, "analytics", T0).unwrap();
    let (mut b, _) = engine_with(tab.consent_snapshot().as_deref(), Signals::default());
    grant(&mut b, &["personalization"], Millis(T0.0 + 5));
    tab.reload_consent(b.consent_snapshot().as_deref(), Millis(T0.0 + 6));
    assert!(tab.take_batch(Millis(T0.0 + 6), MAX_BATCH_BYTES).is_some());
}

#[test]
fn egress_log_entries_are_kept_for_the_configured_days() {
    let mut e = granted_engine();
    e.track("x", Value::Null, "analytics", T0).unwrap();
    let batch = e.take_batch(T0, MAX_BATCH_BYTES).unwrap();
    e.settle(batch.id, ok(200), T0);
    let stored = e.egress_log_snapshot().unwrap();
    let (mut later, _) = engine_with(e.consent_snapshot().as_deref(), Signals::default());
    later.load_egress_log(Some(&stored), Millis(T0.0 + 29 * Millis::DAY));
    assert_eq!(later.egress_log().len(), 1);
    later.load_egress_log(Some(&stored), Millis(T0.0 + 31 * Millis::DAY));
    assert!(later.egress_log().is_empty(), "30 days by default");
}
