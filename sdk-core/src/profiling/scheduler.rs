//! Which question, if any, to show now — and why each other one is not shown.
//!
//! Deterministic: the visitor's profile state, the page context and `now` come in; a decision
//! and a trace come out. Fatigue is counted conservatively: a prompt recorded in the future (the
//! clock went backwards) still counts in every window and still holds the quiet period.

use super::config::{AnswerCondition, Kind, ProfilingConfig, Question};
use super::visit::Visit;
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde::Serialize;
use serde_json::{Map, Value};

const HOUR: u64 = 60 * 60 * 1000;
const MINUTE: u64 = 60 * 1000;

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub question: String,
    #[cfg_attr(feature = "typescript", ts(type = "string | string[] | number | boolean"))]
    pub value: Value,
    pub purpose: PurposeId,
    pub at: Millis,
    /// After this the answer is forgotten and the question may be asked again.
    pub expires: Millis,
}

/// What happened to a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Shown,
    Answered,
    Dismissed,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PromptRecord {
    pub question: String,
    pub at: Millis,
    pub outcome: Outcome,
    /// The visitor's session number (counted by session, not by time: clocks move).
    pub session: u32,
}

/// The visitor's profile: answers and prompt history (both on the device only).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileState {
    pub answers: Vec<Answer>,
    pub history: Vec<PromptRecord>,
    /// Session and trigger counts.
    pub visit: Visit,
}

/// An event seen on the site (for triggers).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeenEvent {
    pub name: String,
    pub props: Map<String, Value>,
    pub at: Millis,
}

/// What the page knows right now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    pub path: String,
    pub page_views: u32,
    pub session: u32,
    pub session_start: Millis,
    pub events: Vec<SeenEvent>,
    /// The visitor's current interest weights by catalogue tag (for choosing among equals).
    pub interests: Vec<(String, f64)>,
}

/// Why a question is not shown now.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct TraceLine {
    pub question: String,
    pub eligible: bool,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export, rename = "PromptDecision"))]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The question to show, if any.
    pub show: Option<String>,
    /// One line per question, in config order, plus a first line for global fatigue if it applies.
    pub trace: Vec<TraceLine>,
}

/// Fatigue windows, counted from prompts *shown*.
fn shown_within(state: &ProfileState, now: Millis, window: u64) -> u32 {
    state.history.iter().filter(|r| r.outcome == Outcome::Shown && r.at.0.saturating_add(window) > now.0).count() as u32
}

/// Why fatigue forbids any prompt now, if it does.
fn global_block(config: &ProfilingConfig, state: &ProfileState, ctx: &Context, now: Millis) -> Option<String> {
    let f = &config.fatigue;
    let in_session =
        state.history.iter().filter(|r| r.outcome == Outcome::Shown && r.session == ctx.session).count() as u32;
    if in_session >= f.per_session {
        return Some(format!("{in_session} prompt(s) this session (limit {})", f.per_session));
    }
    let day = shown_within(state, now, 24 * HOUR);
    if day >= f.per_day {
        return Some(format!("{day} prompt(s) in the last 24 hours (limit {})", f.per_day));
    }
    let week = shown_within(state, now, 7 * 24 * HOUR);
    if week >= f.per_week {
        return Some(format!("{week} prompt(s) in the last 7 days (limit {})", f.per_week));
    }
    let quiet = u64::from(f.quiet_minutes) * MINUTE;
    if state.history.iter().any(|r| r.outcome == Outcome::Shown && r.at.0.saturating_add(quiet) > now.0) {
        return Some(format!("quiet period of {} minutes after the last prompt", f.quiet_minutes));
    }
    None
}

/// Whether `path` matches `pattern` with `*` wildcards.
fn glob(pattern: &str, path: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = path;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else { return false };
            rest = &rest[at + part.len()..];
        }
    }
    rest.is_empty()
}

fn answer_matches(answer: &Value, any_of: &[String]) -> bool {
    if any_of.is_empty() {
        return true;
    }
    match answer {
        Value::String(s) => any_of.contains(s),
        Value::Bool(b) => any_of.iter().any(|a| a == if *b { "yes" } else { "no" }),
        Value::Array(items) => items.iter().any(|i| i.as_str().is_some_and(|s| any_of.iter().any(|a| a == s))),
        _ => false,
    }
}

fn condition_holds(state: &ProfileState, c: &AnswerCondition, now: Millis) -> bool {
    state.answers.iter().any(|a| a.question == c.question && a.expires > now && answer_matches(&a.value, &c.any_of))
}

/// Why `q` may not show now (ignoring global fatigue), or `None` if it may.
fn blocked(
    q: &Question,
    config: &ProfilingConfig,
    state: &ProfileState,
    ctx: &Context,
    granted: &dyn Fn(&PurposeId) -> bool,
    now: Millis,
) -> Option<String> {
    if !granted(&q.purpose) {
        return Some(format!("purpose {} is not granted", q.purpose));
    }
    if q.start.is_some_and(|s| now < s) || q.end.is_some_and(|e| now >= e) {
        return Some("outside its start/end dates".into());
    }
    if let Some(a) = state.answers.iter().find(|a| a.question == q.id && a.expires > now) {
        return Some(format!("answered; asked again after its retention ends ({} ms from now)", a.expires.0 - now.0));
    }
    let dismissals: Vec<Millis> =
        state.history.iter().filter(|r| r.question == q.id && r.outcome == Outcome::Dismissed).map(|r| r.at).collect();
    let f = &config.fatigue;
    if dismissals.len() as u32 >= f.max_dismissals {
        return Some(format!("dismissed {} times: never again", dismissals.len()));
    }
    if let Some(last) = dismissals.iter().max() {
        let backoff = u64::from(f.dismiss_backoff_hours) * HOUR * (1u64 << (dismissals.len() as u32 - 1).min(20));
        if last.0.saturating_add(backoff) > now.0 {
            return Some(format!("dismissed {} time(s): backing off for {} hours", dismissals.len(), backoff / HOUR));
        }
    }
    for c in &q.requires {
        if !condition_holds(state, c, now) {
            return Some(format!("requires an answer to {:?} first", c.question));
        }
    }
    for c in &q.audience {
        if !condition_holds(state, c, now) {
            return Some(format!("visitor is not in its audience (answer to {:?})", c.question));
        }
    }
    let t = &q.trigger;
    if let Some(pattern) = &t.url {
        if !glob(pattern, &ctx.path) {
            return Some(format!("page {} does not match {pattern}", ctx.path));
        }
    }
    if ctx.page_views < t.min_page_views {
        return Some(format!("{} page view(s), needs {}", ctx.page_views, t.min_page_views));
    }
    let seconds = now.since(ctx.session_start) / 1000;
    if seconds < u64::from(t.min_seconds_on_site) {
        return Some(format!("{seconds} s on site, needs {}", t.min_seconds_on_site));
    }
    if ctx.session < t.min_session {
        return Some(format!("session {}, needs session {}", ctx.session, t.min_session));
    }
    if let Some(e) = &t.event {
        let count = ctx
            .events
            .iter()
            .filter(|seen| seen.name == e.name && e.props.iter().all(|(k, v)| seen.props.get(k) == Some(v)))
            .count() as u32;
        if count < e.min_count {
            return Some(format!("{count} {} event(s), needs {}", e.name, e.min_count));
        }
    }
    None
}

/// How much an answer to `q` is expected to change recommendations: the entropy of the
/// visitor's interest split across its options' tags. A question whose options divide the
/// current interests evenly teaches the most; one whose options the visitor shows no interest
/// in, or that has no tags, teaches least. With no interests yet, every option weighs the same.
pub fn information(q: &Question, interests: &[(String, f64)]) -> f64 {
    if !matches!(q.kind, Kind::Single | Kind::Multiple) || q.options.iter().all(|o| o.tags.is_empty()) {
        return 0.0;
    }
    let weight = |tags: &[String]| -> f64 {
        if interests.is_empty() {
            return 1.0;
        }
        tags.iter().map(|t| interests.iter().find(|(k, _)| k == t).map_or(0.0, |(_, w)| w.max(0.0))).sum()
    };
    let weights: Vec<f64> = q.options.iter().map(|o| weight(&o.tags)).collect();
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    -weights.iter().filter(|w| **w > 0.0).map(|w| (w / total) * (w / total).ln()).sum::<f64>()
}

/// The prompt to show now, if any, with the reason for every question.
///
/// Rule: among questions not blocked (purpose granted, in dates, not answered within retention,
/// not backing off or given up after dismissals, prerequisites and audience met, triggers met),
/// and only when global fatigue allows a prompt, the highest `priority` wins; among equal
/// priorities, the one with the most [`information`]; then config order.
pub fn next_prompt(
    config: &ProfilingConfig,
    state: &ProfileState,
    ctx: &Context,
    granted: &dyn Fn(&PurposeId) -> bool,
    now: Millis,
) -> Decision {
    let global = global_block(config, state, ctx, now);
    let mut trace = Vec::with_capacity(config.questions.len());
    let mut best: Option<(&Question, f64)> = None;
    for q in &config.questions {
        match blocked(q, config, state, ctx, granted, now) {
            Some(reason) => trace.push(TraceLine { question: q.id.clone(), eligible: false, reason }),
            None => {
                let info = information(q, &ctx.interests);
                let better = match best {
                    None => true,
                    Some((b, b_info)) => q.priority > b.priority || (q.priority == b.priority && info > b_info + 1e-9),
                };
                if better {
                    best = Some((q, info));
                }
                let reason = format!("eligible (priority {}, information {info:.3})", q.priority);
                trace.push(TraceLine { question: q.id.clone(), eligible: true, reason });
            }
        }
    }
    if let Some(reason) = global {
        trace.insert(
            0,
            TraceLine { question: String::new(), eligible: false, reason: format!("no prompt now: {reason}") },
        );
        return Decision { show: None, trace };
    }
    let show = best.map(|(q, _)| q.id.clone());
    if let Some(id) = &show {
        for line in trace.iter_mut().filter(|l| l.eligible && &l.question != id) {
            line.reason.push_str(&format!("; {id:?} ranks higher"));
        }
    }
    Decision { show, trace }
}

/// Why an answer is not acceptable for a question.
pub fn check_answer(q: &Question, value: &Value) -> Result<Value, String> {
    match (&q.kind, value) {
        (Kind::Single, Value::String(s)) if q.options.iter().any(|o| &o.id == s) => Ok(value.clone()),
        (Kind::Multiple, Value::Array(items))
            if !items.is_empty()
                && items.iter().all(|i| i.as_str().is_some_and(|s| q.options.iter().any(|o| o.id == s))) =>
        {
            Ok(value.clone())
        }
        (Kind::Scale { min, max }, Value::Number(n)) if n.as_i64().is_some_and(|n| (*min..=*max).contains(&n)) => {
            Ok(value.clone())
        }
        (Kind::YesNo, Value::Bool(_)) => Ok(value.clone()),
        (Kind::Text { max_length }, Value::String(s)) => {
            let text: String = s.trim().chars().filter(|c| !c.is_control()).collect();
            if text.is_empty() || text.chars().count() > *max_length as usize {
                Err(format!("expected 1 to {max_length} characters"))
            } else {
                Ok(Value::String(text))
            }
        }
        (Kind::Single, _) => Err("expected one of the option ids".into()),
        (Kind::Multiple, _) => Err("expected a non-empty array of option ids".into()),
        (Kind::Scale { min, max }, _) => Err(format!("expected a whole number from {min} to {max}")),
        (Kind::YesNo, _) => Err("expected true or false".into()),
        (Kind::Text { .. }, _) => Err("expected a string".into()),
    }
}

impl ProfileState {
    pub fn shown(&mut self, question: &str, session: u32, now: Millis) {
        self.history.push(PromptRecord { question: question.into(), at: now, outcome: Outcome::Shown, session });
    }

    pub fn dismissed(&mut self, question: &str, session: u32, now: Millis) {
        self.history.push(PromptRecord { question: question.into(), at: now, outcome: Outcome::Dismissed, session });
    }

    /// Stores a checked answer with its purpose and retention.
    pub fn answered(&mut self, q: &Question, value: Value, session: u32, now: Millis) {
        self.answers.retain(|a| a.question != q.id);
        let expires = Millis(now.0.saturating_add(u64::from(q.retention_days) * Millis::DAY));
        self.answers.push(Answer { question: q.id.clone(), value, purpose: q.purpose.clone(), at: now, expires });
        self.history.push(PromptRecord { question: q.id.clone(), at: now, outcome: Outcome::Answered, session });
    }
}

impl ProfileState {
    /// The stored form (`attune:profile`): answers with their purpose and expiry, and the
    /// prompt history the fatigue rules need.
    pub fn encode(&self) -> String {
        let doc =
            serde_json::json!({"schema": 1, "answers": self.answers, "history": self.history, "visit": self.visit});
        doc.to_string()
    }

    /// Reads the stored profile. Entries that are unreadable, or name a question the config no
    /// longer has, are dropped and reported as `(path, message)`; the others are kept.
    pub fn decode(raw: &str, config: &ProfilingConfig) -> Result<(Self, Vec<(String, String)>), String> {
        let doc: Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        if doc.get("schema").and_then(Value::as_u64) != Some(1) {
            return Err("expected schema 1".into());
        }
        let mut state = ProfileState::default();
        let mut problems = Vec::new();
        let list = |key: &str| doc.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        for (i, a) in list("answers").iter().enumerate() {
            let at = format!("answers[{i}]");
            let question = a.get("question").and_then(Value::as_str).and_then(|id| config.question(id));
            let times = (a.get("at").and_then(Value::as_u64), a.get("expires").and_then(Value::as_u64));
            // An answer given under another purpose (the site moved the question since) is not
            // carried over to the new one.
            let stored_purpose = a.get("purpose").and_then(Value::as_str);
            let question = question.filter(|q| stored_purpose.is_none_or(|p| p == q.purpose.as_str()));
            match (question, times, a.get("value")) {
                (Some(q), (Some(t), Some(e)), Some(v)) if check_answer(q, v).is_ok() => state.answers.push(Answer {
                    question: q.id.clone(),
                    value: v.clone(),
                    purpose: q.purpose.clone(),
                    at: Millis(t),
                    expires: Millis(e),
                }),
                _ => problems.push((at, "expected an answer to a configured question".into())),
            }
        }
        for (i, r) in list("history").iter().enumerate() {
            let outcome = match r.get("outcome").and_then(Value::as_str) {
                Some("shown") => Some(Outcome::Shown),
                Some("answered") => Some(Outcome::Answered),
                Some("dismissed") => Some(Outcome::Dismissed),
                _ => None,
            };
            let question = r.get("question").and_then(Value::as_str).filter(|id| config.question(id).is_some());
            let at = r.get("at").and_then(Value::as_u64);
            let session = r.get("session").and_then(Value::as_u64).and_then(|s| u32::try_from(s).ok());
            match (question, at, outcome, session) {
                (Some(q), Some(at), Some(outcome), Some(session)) => {
                    state.history.push(PromptRecord { question: q.into(), at: Millis(at), outcome, session })
                }
                _ => problems.push((format!("history[{i}]"), "expected a prompt record".into())),
            }
        }
        match doc.get("visit").map(|v| (v, Visit::decode(v))) {
            None => {}
            Some((_, Some(visit))) => state.visit = visit,
            Some((_, None)) => problems.push(("visit".into(), "expected session and trigger counts".into())),
        }
        Ok((state, problems))
    }

    /// Another tab's copy of the profile: for each question the newer answer wins; history is
    /// the union; session counts as in [`Visit::merge`].
    pub fn merge(&mut self, other: &ProfileState) {
        for a in &other.answers {
            match self.answers.iter_mut().find(|x| x.question == a.question) {
                Some(x) if x.at < a.at => *x = a.clone(),
                Some(_) => {}
                None => self.answers.push(a.clone()),
            }
        }
        for r in &other.history {
            if !self.history.contains(r) {
                self.history.push(r.clone());
            }
        }
        self.history.sort_by_key(|r| r.at);
        self.visit.merge(&other.visit);
    }
}
