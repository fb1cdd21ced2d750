//! The engine's progressive-profiling calls: the prompt config, the visitor's profile, and
//! the questions shown, answered and dismissed.

use super::{status_in, Engine, Warning};
use crate::config::{ConfigError, FieldIssue};
use crate::consent::{resolve, Status};
use crate::profiling::config::{ProfilingConfig, Question};
use crate::profiling::scheduler::{
    check_answer, next_prompt, Answer, Context, Decision as PromptDecision, Outcome, ProfileState,
};
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
        self.profile
            .history
            .retain(|r| r.at.0.saturating_add(PROMPT_HISTORY_MS) > now.0 || r.outcome != Outcome::Shown);
        self.sync_egress(now);
        warnings
    }

    /// What to store under `attune:profile`; `None`: remove the key.
    pub fn profile_snapshot(&self) -> Option<String> {
        (!self.profile.answers.is_empty() || !self.profile.history.is_empty()).then(|| self.profile.encode())
    }

    /// The visitor's current answers (stated preferences).
    pub fn answers(&self) -> &[Answer] {
        &self.profile.answers
    }

    /// Which question to show now, if any, with the scheduler's trace.
    pub fn next_prompt(&mut self, ctx: &Context, now: Millis) -> Result<PromptDecision, PromptError> {
        let states = self.sync_egress(now);
        let config = self.prompts.as_ref().ok_or(PromptError::NoConfig)?;
        let granted = |p: &PurposeId| status_in(&states, p) == Status::Granted;
        Ok(next_prompt(config, &self.profile, ctx, &granted, now))
    }

    fn prompt_question(&self, id: &str, now: Millis) -> Result<&Question, PromptError> {
        let config = self.prompts.as_ref().ok_or(PromptError::NoConfig)?;
        let q = config.question(id).ok_or_else(|| PromptError::UnknownQuestion { id: id.into() })?;
        if status_in(&resolve(&self.config, &self.log, self.signals, now), &q.purpose) != Status::Granted {
            return Err(PromptError::NotGranted { question: id.into(), purpose: q.purpose.to_string() });
        }
        Ok(q)
    }

    /// The page showed question `id`.
    pub fn prompt_shown(&mut self, id: &str, session: u32, now: Millis) -> Result<(), PromptError> {
        self.prompt_question(id, now)?;
        self.profile.shown(id, session, now);
        Ok(())
    }

    /// The visitor answered `id`: checked against the question, stored with its purpose and
    /// retention. Refused unless the question's purpose is granted.
    pub fn answer_prompt(&mut self, id: &str, value: &Value, session: u32, now: Millis) -> Result<(), PromptError> {
        let q = self.prompt_question(id, now)?.clone();
        let value =
            check_answer(&q, value).map_err(|message| PromptError::InvalidAnswer { question: id.into(), message })?;
        self.profile.answered(&q, value, session, now);
        Ok(())
    }

    /// The visitor skipped `id` (counts as a dismissal).
    pub fn dismiss_prompt(&mut self, id: &str, session: u32, now: Millis) -> Result<(), PromptError> {
        let config = self.prompts.as_ref().ok_or(PromptError::NoConfig)?;
        config.question(id).ok_or_else(|| PromptError::UnknownQuestion { id: id.into() })?;
        self.profile.dismissed(id, session, now);
        Ok(())
    }
}
