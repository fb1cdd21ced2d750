//! The engine's recommendation calls: catalogue, neighbours and config, the visitor's signals
//! (recorded and used only under `personalization`), the visitor's controls, and rankings.

use super::{status_in, Engine, Warning};
use crate::config::ConfigError;
use crate::consent::{PurposeState, Status};
use crate::purpose::{PurposeId, PERSONALIZATION};
use crate::recommend::binary::is_binary;
use crate::recommend::{Catalog, Issues, Neighbours, RankRequest, RecConfig, RecError, Recommendation, SignalKind};
use crate::recommend::{Reason, Signals as RecSignals};
use crate::time::Millis;
use serde::Serialize;
use serde_json::Value;

/// What loading a catalogue or sidecar found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadSummary {
    /// Items (or links) kept.
    pub kept: usize,
    /// Items left out because of a problem (or links to unknown items).
    pub skipped: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The problems, each as a warning naming its field (at most 100, then a count).
    pub warnings: Vec<Warning>,
}

fn summary(kept: usize, skipped: usize, revision: Option<String>, issues: Issues, code: &str) -> LoadSummary {
    let mut warnings: Vec<Warning> = issues
        .listed
        .into_iter()
        .map(|i| Warning { code: code.into(), message: i.message, field: Some(i.field) })
        .collect();
    if issues.more > 0 {
        warnings.push(Warning {
            code: code.into(),
            message: format!("{} more problems not listed", issues.more),
            field: None,
        });
    }
    LoadSummary { kept, skipped, revision, warnings }
}

fn personalization() -> PurposeId {
    PurposeId::parse(PERSONALIZATION).expect("built-in purpose")
}

impl Engine {
    /// Loads the catalogue, JSON or binary (told apart by the binary header). Bad items are
    /// skipped and reported; the previous catalogue stays if nothing could be read.
    pub fn set_catalog(&mut self, bytes: &[u8]) -> Result<LoadSummary, RecError> {
        let (catalog, issues) = if is_binary(bytes) {
            Catalog::from_binary(bytes)?
        } else {
            let text =
                std::str::from_utf8(bytes).map_err(|_| RecError::invalid("catalog", "neither JSON nor binary"))?;
            Catalog::from_json(text)?
        };
        let (kept, skipped, revision) = (catalog.len(), issues.skipped, catalog.revision.clone());
        // A sidecar built for another catalogue refers to other indices: it is dropped.
        self.recs.neighbours = None;
        self.recs.catalog = catalog;
        self.recs.warm_up(Millis(0));
        Ok(summary(kept, skipped, revision, issues, "invalid_catalog"))
    }

    /// Loads the neighbours sidecar for the loaded catalogue.
    pub fn set_neighbours(&mut self, json: &str) -> Result<LoadSummary, RecError> {
        if self.recs.catalog.is_empty() {
            return Err(RecError::NoCatalog);
        }
        let (neighbours, issues) = Neighbours::from_json(json, &self.recs.catalog)?;
        let (kept, skipped) = (neighbours.links(), neighbours.unknown);
        self.recs.neighbours = Some(neighbours);
        Ok(summary(kept, skipped, None, issues, "invalid_neighbours"))
    }

    /// Loads the ranking config; every problem is reported with its path.
    pub fn set_rec_config(&mut self, json: &str) -> Result<(), ConfigError> {
        self.recs.config = RecConfig::from_json(json)?;
        Ok(())
    }

    pub fn recommender(&self) -> &crate::recommend::Recommender {
        &self.recs
    }

    pub fn rec_config(&self) -> &RecConfig {
        &self.recs.config
    }

    /// Loads the stored signals (`attune:recs`); bad entries are dropped and reported.
    pub fn load_rec_signals(&mut self, stored: Option<&str>, now: Millis) -> Vec<Warning> {
        let Some(raw) = stored else { return Vec::new() };
        let warning =
            |field: String, message: String| Warning { code: "state_corrupt".into(), message, field: Some(field) };
        let warnings = match RecSignals::decode(raw) {
            Ok((signals, problems)) => {
                self.rec_signals.merge(signals, &self.recs.config, now);
                problems.into_iter().map(|(field, message)| warning(field, message)).collect()
            }
            Err(message) => vec![warning("attune:recs".into(), message)],
        };
        self.sync_egress(now);
        warnings
    }

    /// What to store under `attune:recs`; `None`: remove the key.
    pub fn rec_signals_snapshot(&self) -> Option<String> {
        (!self.rec_signals.is_empty()).then(|| self.rec_signals.encode())
    }

    /// The visitor's signals and muted tags (for the privacy centre).
    pub fn rec_signals(&self) -> &RecSignals {
        &self.rec_signals
    }

    fn personalizing(&mut self, now: Millis) -> bool {
        let states = self.sync_egress(now);
        status_in(&states, &personalization()) == Status::Granted
    }

    /// Records a signal; returns whether it was recorded (only with `personalization`).
    pub fn record_signal(&mut self, item: &str, kind: &str, ratio: Option<f64>, now: Millis) -> Result<bool, RecError> {
        let kind = SignalKind::parse(kind).ok_or_else(|| {
            let names: Vec<&str> = SignalKind::ALL.iter().map(|k| k.name()).collect();
            RecError::invalid("kind", format!("expected one of {}, found {kind:?}", names.join(", ")))
        })?;
        if item.is_empty() || item.len() > crate::recommend::catalog::MAX_ID_LEN {
            return Err(RecError::invalid("item", "expected an item id of 1 to 128 bytes"));
        }
        if let Some(r) = ratio.filter(|r| !(r.is_finite() && (0.0..=1.0).contains(r))) {
            return Err(RecError::invalid(
                "ratio",
                format!("expected a number from 0 to 1, found {}", crate::recommend::show(r)),
            ));
        }
        if !self.personalizing(now) {
            return Ok(false);
        }
        self.recs.record(&mut self.rec_signals, item, kind, ratio.map(|r| r as f32), now);
        Ok(true)
    }

    /// A tracked event that the config maps to a signal (recorded only with `personalization`).
    pub(super) fn note_signal(
        &mut self,
        name: &str,
        props: &serde_json::Map<String, Value>,
        states: &[PurposeState],
        now: Millis,
    ) {
        if status_in(states, &personalization()) != Status::Granted {
            return;
        }
        let found: Vec<(String, SignalKind)> = self
            .recs
            .config
            .events
            .iter()
            .filter(|e| e.event == name)
            .filter_map(|e| Some((props.get(&e.item)?.as_str()?.to_owned(), e.signal)))
            .filter(|(item, _)| !item.is_empty() && item.len() <= crate::recommend::catalog::MAX_ID_LEN)
            .collect();
        for (item, kind) in found {
            self.recs.record(&mut self.rec_signals, &item, kind, None, now);
        }
    }

    /// Tags the visitor stated in answers to `personalization` questions, from the chosen
    /// options' `tags`.
    pub fn stated_preferences(&self) -> Vec<(String, f32)> {
        let Some(config) = &self.prompts else { return Vec::new() };
        let mut out: Vec<(String, f32)> = Vec::new();
        for answer in self.profile.answers.iter().filter(|a| a.purpose.as_str() == PERSONALIZATION) {
            let Some(question) = config.question(&answer.question) else { continue };
            let chosen: Vec<&str> = match &answer.value {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => continue,
            };
            for option in question.options.iter().filter(|o| chosen.contains(&o.id.as_str())) {
                for tag in &option.tags {
                    if !out.iter().any(|(t, _)| t == tag) {
                        out.push((tag.clone(), 1.0));
                    }
                }
            }
        }
        out
    }

    /// Ranks the catalogue for this visitor. Without `personalization` only the context and the
    /// popularity prior count: no signal or answer is read.
    pub fn recommend(&mut self, req: &RankRequest, now: Millis) -> Result<Vec<Recommendation>, RecError> {
        Ok(self.recommend_explained(req, now)?.into_iter().map(|(r, _)| r).collect())
    }

    /// [`Engine::recommend`] with every part of every score.
    pub fn recommend_explained(
        &mut self,
        req: &RankRequest,
        now: Millis,
    ) -> Result<Vec<(Recommendation, Vec<Reason>)>, RecError> {
        if self.recs.catalog.is_empty() {
            return Err(RecError::NoCatalog);
        }
        if self.personalizing(now) {
            self.rec_signals.tidy(&self.recs.config, now);
            let stated = self.stated_preferences();
            self.recs.rank_explained(&self.rec_signals, &stated, req, now)
        } else {
            self.recs.rank_explained(&RecSignals::default(), &[], req, now)
        }
    }

    /// Forgets every signal about one item (a visitor control).
    pub fn forget_item(&mut self, item: &str, now: Millis) {
        self.rec_signals.forget(&self.recs.config, item, now);
        self.sync_egress(now);
    }

    /// Never recommends items with this tag (only with `personalization`, which stores it).
    pub fn mute_tag(&mut self, tag: &str, now: Millis) -> bool {
        if !self.personalizing(now) {
            return false;
        }
        self.rec_signals.mute(tag, now)
    }

    pub fn unmute_tag(&mut self, tag: &str, now: Millis) {
        self.rec_signals.unmute(tag, now);
        self.sync_egress(now);
    }

    /// Forgets every signal up to now; muted tags stay muted.
    pub fn reset_interests(&mut self, now: Millis) {
        self.rec_signals.reset(&self.recs.config, now);
        self.sync_egress(now);
    }
}
