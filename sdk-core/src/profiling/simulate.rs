//! "Simulate a visitor" for the config editor: a described visitor in, the scheduler's decision
//! and trace out — the very `next_prompt` the browser runs.

use super::config::ProfilingConfig;
use super::scheduler::{next_prompt, Answer, Outcome, ProfileState, PromptRecord, SeenEvent};
use super::view::NextPrompt;
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde_json::{Map, Value};

const MINUTE: u64 = 60_000;

fn problem(problems: &mut Vec<(String, String)>, path: &str, message: &str) {
    problems.push((path.to_owned(), message.to_owned()));
}

fn number(map: &Map<String, Value>, key: &str, problems: &mut Vec<(String, String)>) -> u64 {
    match map.get(key) {
        None => 0,
        Some(v) => v.as_u64().unwrap_or_else(|| {
            problem(problems, key, "expected a whole number of 0 or more");
            0
        }),
    }
}

/// Runs the scheduler for the visitor `scenario` describes (see docs/profiling.md):
/// `granted` purposes, `path`, `pageViews`, `secondsOnSite`, `session`, `events`
/// (`{name, props, count}`), `answers` (question → answer), `dismissed` (`{question, times,
/// hoursAgo}`), `shownThisSession`, `minutesSinceLastPrompt`, `interests` (tag → weight),
/// `languages`.
pub fn simulate(
    config: &ProfilingConfig,
    scenario: &Value,
    purposes: &[(PurposeId, String)],
    now: Millis,
) -> Result<NextPrompt, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let Some(map) = scenario.as_object() else {
        return Err(vec![("scenario".into(), "expected an object".into())]);
    };
    let strings = |key: &str, problems: &mut Vec<(String, String)>| -> Vec<String> {
        match map.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                items.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()
            }
            Some(_) => {
                problem(problems, key, "expected an array of strings");
                Vec::new()
            }
        }
    };
    let granted: Vec<String> = strings("granted", &mut problems);
    let languages = strings("languages", &mut problems);
    let path = map.get("path").and_then(Value::as_str).unwrap_or("/").to_owned();
    let session = number(map, "session", &mut problems).clamp(1, u64::from(u32::MAX)) as u32;
    let mut state = ProfileState::default();
    state.visit.session = session;
    state.visit.page_views = number(map, "pageViews", &mut problems).min(u64::from(u32::MAX)) as u32;
    state.visit.session_start = Millis(now.0.saturating_sub(number(map, "secondsOnSite", &mut problems) * 1000));

    if let Some(events) = map.get("events") {
        for (i, e) in events.as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            let name = e.get("name").and_then(Value::as_str);
            let props = e.get("props").map_or(Some(Map::new()), |p| p.as_object().cloned());
            let count = e.get("count").map_or(Some(1), Value::as_u64).filter(|c| *c <= 1000);
            match (name, props, count) {
                (Some(name), Some(props), Some(count)) => {
                    for _ in 0..count {
                        let seen = SeenEvent { name: name.to_owned(), props: props.clone(), at: now };
                        state.visit.events.push(seen);
                    }
                }
                _ => problem(&mut problems, &format!("events[{i}]"), "expected {name, props?, count? (0-1000)}"),
            }
        }
        if !events.is_array() {
            problem(&mut problems, "events", "expected an array");
        }
    }
    if let Some(answers) = map.get("answers") {
        for (question, value) in answers.as_object().into_iter().flatten() {
            match config.question(question).map(|q| (q, super::scheduler::check_answer(q, value))) {
                Some((q, Ok(value))) => state.answers.push(Answer {
                    question: q.id.clone(),
                    value,
                    purpose: q.purpose.clone(),
                    at: Millis(now.0.saturating_sub(MINUTE)),
                    expires: Millis(now.0 + u64::from(q.retention_days) * Millis::DAY),
                }),
                Some((_, Err(message))) => problem(&mut problems, &format!("answers.{question}"), &message),
                None => problem(&mut problems, &format!("answers.{question}"), "no question has this id"),
            }
        }
        if !answers.is_object() {
            problem(&mut problems, "answers", "expected an object of question id → answer");
        }
    }
    if let Some(dismissed) = map.get("dismissed") {
        for (i, d) in dismissed.as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            let question = d.get("question").and_then(Value::as_str).filter(|q| config.question(q).is_some());
            let times = d.get("times").map_or(Some(1), Value::as_u64).filter(|t| (1..=100).contains(t));
            let hours = d.get("hoursAgo").map_or(Some(0), Value::as_u64);
            match (question, times, hours) {
                (Some(q), Some(times), Some(hours)) => {
                    for k in 0..times {
                        let at = Millis(now.0.saturating_sub((hours + k) * 60 * MINUTE));
                        state.history.push(PromptRecord {
                            question: q.into(),
                            at,
                            outcome: Outcome::Dismissed,
                            session,
                        });
                    }
                }
                _ => problem(
                    &mut problems,
                    &format!("dismissed[{i}]"),
                    "expected {question: a question id, times: 1-100, hoursAgo: whole number}",
                ),
            }
        }
        if !dismissed.is_array() {
            problem(&mut problems, "dismissed", "expected an array");
        }
    }
    let shown = number(map, "shownThisSession", &mut problems).min(100);
    if shown > 0 {
        let ago = map.get("minutesSinceLastPrompt").and_then(Value::as_u64).unwrap_or(0);
        for k in 0..shown {
            let at = Millis(now.0.saturating_sub((ago + k) * MINUTE));
            let question = String::new();
            state.history.push(PromptRecord { question, at, outcome: Outcome::Shown, session });
        }
    }
    let mut interests = Vec::new();
    if let Some(i) = map.get("interests") {
        match i.as_object() {
            Some(weights) => {
                for (tag, w) in weights {
                    match w.as_f64().filter(|w| w.is_finite()) {
                        Some(w) => interests.push((tag.clone(), w)),
                        None => problem(&mut problems, &format!("interests.{tag}"), "expected a number"),
                    }
                }
            }
            None => problem(&mut problems, "interests", "expected an object of tag → weight"),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let ctx = state.visit.context(&path, interests);
    let is_granted = |p: &PurposeId| granted.iter().any(|g| g == p.as_str());
    let decision = next_prompt(config, &state, &ctx, &is_granted, now);
    let label = |p: &PurposeId| purposes.iter().find(|(q, _)| q == p).map_or_else(|| p.to_string(), |(_, l)| l.clone());
    Ok(config.next_prompt(decision, &languages, &label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Millis = Millis(1_800_000_000_000);

    fn config() -> ProfilingConfig {
        let doc = json!({"questions": [
            {"id": "gift", "kind": "yesNo", "purpose": "personalization", "retentionDays": 30,
             "text": {"en": "Gift?", "fr": "Cadeau ?"}, "why": {"en": "w"}, "usedFor": {"en": "u"},
             "trigger": {"minPageViews": 2, "event": {"name": "product_view", "minCount": 2}}}]});
        let purposes = ["personalization"].map(|p| PurposeId::parse(p).unwrap());
        ProfilingConfig::from_value(&doc, &purposes).unwrap()
    }

    fn run(scenario: Value) -> Result<NextPrompt, Vec<(String, String)>> {
        simulate(&config(), &scenario, &[(PurposeId::parse("personalization").unwrap(), "Tailoring".into())], NOW)
    }

    #[test]
    fn the_described_visitor_gets_the_prompt_the_browser_would_show_with_its_trace() {
        let r = run(json!({"granted": ["personalization"], "pageViews": 2, "languages": ["fr"],
                           "events": [{"name": "product_view", "count": 1}]}))
        .unwrap();
        assert_eq!(r.decision.show, None);
        assert!(r.decision.trace[0].reason.contains("1 product_view event(s), needs 2"), "{:?}", r.decision.trace);
        let r = run(json!({"granted": ["personalization"], "pageViews": 2, "languages": ["fr"],
                           "events": [{"name": "product_view", "count": 2}]}))
        .unwrap();
        let prompt = r.prompt.unwrap();
        assert_eq!((prompt.text.as_str(), prompt.purpose_label.as_str()), ("Cadeau ?", "Tailoring"));
        let r = run(json!({"pageViews": 2, "events": [{"name": "product_view", "count": 2}]})).unwrap();
        assert!(r.decision.trace[0].reason.contains("not granted"));
        let r = run(json!({"granted": ["personalization"], "pageViews": 2, "shownThisSession": 1,
                           "events": [{"name": "product_view", "count": 2}]}))
        .unwrap();
        assert!(r.decision.trace[0].reason.starts_with("no prompt now"), "{:?}", r.decision.trace);
        let r = run(
            json!({"granted": ["personalization"], "pageViews": 2, "dismissed": [{"question": "gift", "hoursAgo": 3}],
                           "events": [{"name": "product_view", "count": 2}]}),
        )
        .unwrap();
        assert!(r.decision.trace[0].reason.contains("backing off"), "{:?}", r.decision.trace);
    }

    #[test]
    fn a_bad_scenario_names_each_field() {
        let err =
            run(json!({"pageViews": -1, "answers": {"gift": "maybe", "nope": true}, "dismissed": [{"question": "x"}]}))
                .unwrap_err();
        let paths: Vec<&str> = err.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["pageViews", "answers.gift", "answers.nope", "dismissed[0]"]);
    }
}
