//! The engine's progressive-profiling calls: the prompt config, the visitor's profile, and
//! the questions shown, answered and dismissed.

use super::{status_in, Engine, Warning};
use crate::config::{ConfigError, FieldIssue};
use crate::consent::{resolve, PurposeState, Status};
use crate::profiling::config::{ProfilingConfig, Question};
use crate::profiling::scheduler::{
    check_answer, next_prompt, Answer, Context, Decision as PromptDecision, Outcome, ProfileState,
};
use crate::profiling::view::{NextPrompt, PromptView};
use crate::profiling::visit::Visit;
use crate::profiling::PromptError;
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde_json::Value;

/// How long prompt history is kept: the longest window a fatigue rule looks at.
const PROMPT_HISTORY_MS: u64 = 8 * Millis::DAY;

impl Engine {
    /// Loads the marketer's prompt config; every problem is reported with its path.
    pub fn set_prompts(&mut self, json: &str) -> Result<(), ConfigError> {
        let purposes: Vec<PurposeId> = self.config.purposes.iter().map(|p| p.id.clone()).collect();
        let config = ProfilingConfig::from_json(json, &purposes).map_err(|problems| {
            ConfigError::Invalid(problems.into_iter().map(|(path, message)| FieldIssue { path, message }).collect())
        })?;
        self.prompts = Some(config);
        Ok(())
    }

    /// Loads the stored profile (`attune:profile`); bad entries are dropped and reported, and
    /// expired answers and answers of purposes not granted are forgotten.
    pub fn load_profile(&mut self, stored: Option<&str>, now: Millis) -> Vec<Warning> {
        let (Some(raw), Some(config)) = (stored, &self.prompts) else { return Vec::new() };
        let warning =
            |field: String, message: String| Warning { code: "state_corrupt".into(), message, field: Some(field) };
        let warnings = match ProfileState::decode(raw, config) {
            Ok((profile, problems)) => {
                self.profile = profile;
                problems.into_iter().map(|(field, message)| warning(field, message)).collect()
            }
            Err(message) => vec![warning("attune:profile".into(), message)],
        };
        // Dismissals are kept (back-off, "never again"); the rest only as long as fatigue looks.
        self.profile
            .history
            .retain(|r| r.outcome == Outcome::Dismissed || r.at.0.saturating_add(PROMPT_HISTORY_MS) > now.0);
        self.sync_egress(now);
        warnings
    }

    pub fn has_prompts(&self) -> bool {
        self.prompts.is_some()
    }

    /// What to store under `attune:profile`; `None`: remove the key.
    pub fn profile_snapshot(&self) -> Option<String> {
        let p = &self.profile;
        (!p.answers.is_empty() || !p.history.is_empty() || p.visit != Visit::default()).then(|| p.encode())
    }

    /// The visitor's current answers (stated preferences).
    pub fn answers(&self) -> &[Answer] {
        &self.profile.answers
    }

    /// Whether anything may be counted for the prompt triggers: some question's purpose is
    /// granted. Otherwise nothing about the visit is kept.
    pub(super) fn counting(&self, states: &[PurposeState]) -> bool {
        self.prompts
            .as_ref()
            .is_some_and(|c| c.questions.iter().any(|q| status_in(states, &q.purpose) == Status::Granted))
    }

    /// A page view (for `minPageViews`, sessions and `minSecondsOnSite`).
    pub fn page_view(&mut self, now: Millis) {
        let states = self.sync_egress(now);
        if self.counting(&states) {
            self.profile.visit.page_view(now);
        }
        self.page_seen = true;
    }

    /// A tracked event, remembered if a trigger waits for it (see [`Visit::event`]).
    pub(super) fn note_event(
        &mut self,
        name: &str,
        props: &serde_json::Map<String, Value>,
        states: &[PurposeState],
        now: Millis,
    ) {
        if let Some(config) = &self.prompts {
            let granted = |p: &PurposeId| status_in(states, p) == Status::Granted;
            self.profile.visit.event(config, &granted, name, props, now);
        }
    }

    /// The scheduler's context for a page at `path`. Interests are the page's (e.g. from
    /// browsing) plus one unit per tag of every option the visitor chose.
    pub fn prompt_context(&self, path: &str, mut interests: Vec<(String, f64)>) -> Context {
        if let Some(config) = &self.prompts {
            for a in &self.profile.answers {
                let Some(q) = config.question(&a.question) else { continue };
                let chosen = |id: &str| match &a.value {
                    Value::String(s) => s == id,
                    Value::Array(items) => items.iter().any(|i| i.as_str() == Some(id)),
                    _ => false,
                };
                for tag in q.options.iter().filter(|o| chosen(&o.id)).flat_map(|o| &o.tags) {
                    match interests.iter_mut().find(|(t, _)| t == tag) {
                        Some((_, w)) => *w += 1.0,
                        None => interests.push((tag.clone(), 1.0)),
                    }
                }
            }
        }
        self.profile.visit.context(path, interests)
    }

    /// Which question to show now, if any, with the scheduler's trace.
    pub fn next_prompt(&mut self, ctx: &Context, now: Millis) -> Result<PromptDecision, PromptError> {
        let states = self.sync_egress(now);
        let config = self.prompts.as_ref().ok_or(PromptError::NoConfig)?;
        let granted = |p: &PurposeId| status_in(&states, p) == Status::Granted;
        Ok(next_prompt(config, &self.profile, ctx, &granted, now))
    }

    fn purpose_label(&self, purpose: &PurposeId) -> String {
        self.config.purpose(purpose).map_or_else(|| purpose.to_string(), |p| p.label.clone())
    }

    /// Question `id` as the visitor sees it, in the best of `languages` the config has.
    pub fn prompt_view(&self, id: &str, languages: &[String]) -> Result<PromptView, PromptError> {
        let config = self.prompts.as_ref().ok_or(PromptError::NoConfig)?;
        config
            .view(id, languages, &|p| self.purpose_label(p))
            .ok_or_else(|| PromptError::UnknownQuestion { id: id.into() })
    }

    /// The prompt to show on the page at `path` now, if any, in the best of `languages`, with
    /// the scheduler's trace.
    pub fn next_prompt_for(
        &mut self,
        path: &str,
        interests: Vec<(String, f64)>,
        languages: &[String],
        now: Millis,
    ) -> Result<NextPrompt, PromptError> {
        let ctx = self.prompt_context(path, interests);
        let decision = self.next_prompt(&ctx, now)?;
        let config = self.prompts.as_ref().ok_or(PromptError::NoConfig)?;
        Ok(config.next_prompt(decision, languages, &|p| self.purpose_label(p)))
    }

    fn prompt_question(&self, id: &str, now: Millis) -> Result<&Question, PromptError> {
        let config = self.prompts.as_ref().ok_or(PromptError::NoConfig)?;
        let q = config.question(id).ok_or_else(|| PromptError::UnknownQuestion { id: id.into() })?;
        if status_in(&resolve(&self.config, &self.log, self.signals, now), &q.purpose) != Status::Granted {
            return Err(PromptError::NotGranted { question: id.into(), purpose: q.purpose.to_string() });
        }
        Ok(q)
    }

    /// Measures prompts through the one door: `prompt_shown`, `prompt_answered` and
    /// `prompt_dismissed` are analytics events carrying only the question id (never the answer),
    /// sent only if analytics is granted and the site declares them in `collect.analytics`.
    /// Returns a warning if the site does not declare the event.
    fn measure(&mut self, name: &str, id: &str, now: Millis) -> Option<Warning> {
        match self.track(name, serde_json::json!({ "question": id }), "analytics", now) {
            Ok(_) => None,
            Err(e) => Some(Warning::from_error(&e)),
        }
    }

    /// The page showed question `id`.
    pub fn prompt_shown(&mut self, id: &str, now: Millis) -> Result<Option<Warning>, PromptError> {
        self.prompt_question(id, now)?;
        self.profile.shown(id, self.profile.visit.session, now);
        Ok(self.measure("prompt_shown", id, now))
    }

    /// The visitor answered `id`: checked against the question, stored with its purpose and
    /// retention. Refused unless the question's purpose is granted.
    pub fn answer_prompt(&mut self, id: &str, value: &Value, now: Millis) -> Result<Option<Warning>, PromptError> {
        let q = self.prompt_question(id, now)?.clone();
        let value =
            check_answer(&q, value).map_err(|message| PromptError::InvalidAnswer { question: id.into(), message })?;
        self.profile.answered(&q, value, self.profile.visit.session, now);
        Ok(self.measure("prompt_answered", id, now))
    }

    /// The visitor skipped `id` (counts as a dismissal).
    pub fn dismiss_prompt(&mut self, id: &str, now: Millis) -> Result<Option<Warning>, PromptError> {
        self.prompt_question(id, now)?;
        self.profile.dismissed(id, self.profile.visit.session, now);
        Ok(self.measure("prompt_dismissed", id, now))
    }

    /// A page without the prompt config still honours consent in the stored profile: answers of
    /// purposes no longer granted (or expired) are dropped, and the prompt history and visit
    /// counts, which name no purpose without the config, are dropped if anything was withdrawn or
    /// denied since they were recorded. Returns the new document (`None`: remove the key) if it
    /// changed.
    pub fn prune_stored_profile(&self, stored: &str, now: Millis) -> Option<Option<String>> {
        if self.prompts.is_some() {
            return None;
        }
        let mut doc: Value = serde_json::from_str(stored).ok()?;
        let before = doc.clone();
        let grants = self.grants(now);
        let time = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).map(Millis);
        if let Some(answers) = doc.get_mut("answers").and_then(Value::as_array_mut) {
            answers.retain(|a| {
                let purpose = a.get("purpose").and_then(Value::as_str).and_then(|p| PurposeId::parse(p).ok());
                match (purpose, time(a, "at"), time(a, "expires")) {
                    (Some(p), Some(at), Some(expires)) => expires > now && grants.allowed(&p, at) == Status::Granted,
                    _ => false,
                }
            });
        }
        let oldest = doc
            .get("history")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| time(r, "at"))
            .chain(doc.get("visit").and_then(|v| time(v, "sessionStart")))
            .min();
        if oldest.is_some_and(|oldest| grants.revoked.iter().any(|(_, r)| *r >= oldest)) {
            if let Some(map) = doc.as_object_mut() {
                map.remove("history");
                map.remove("visit");
            }
        }
        if doc == before {
            return None;
        }
        let empty = |key: &str| doc.get(key).and_then(Value::as_array).is_none_or(Vec::is_empty);
        let keep = !empty("answers") || !empty("history") || doc.get("visit").is_some();
        Some(keep.then(|| doc.to_string()))
    }

    /// Merges the profile another tab stored (answers, history and counts are unions).
    pub fn merge_profile(&mut self, stored: Option<&str>, now: Millis) {
        let (Some(raw), Some(config)) = (stored, &self.prompts) else { return };
        if let Ok((other, _)) = ProfileState::decode(raw, config) {
            self.profile.merge(&other);
            self.sync_egress(now);
        }
    }
}
