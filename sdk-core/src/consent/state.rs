//! From the log, the browser's signals, the config and the time to each purpose's state.
//!
//! Precedence, highest first:
//! 1. `necessary` — always granted.
//! 2. The visitor's explicit choice (banner or API), unless it expired (`policy.expiryDays`) or
//!    the policy changed this purpose's text since (`policy.revision` / `policy.changes`).
//! 3. Global Privacy Control — denies the purposes in `signals.gpc` (marketing by default).
//! 4. Do Not Track — denies the purposes in `signals.dnt` (analytics and marketing by default).
//! 5. The configured default — denied for every non-necessary purpose unless the site says
//!    otherwise; a purpose left at its default counts as "not yet asked".

use super::log::{ConsentLog, Decision};
use crate::config::{DefaultDecision, ValidConfig};
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde::{Deserialize, Serialize};

/// Privacy signals read from the browser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct Signals {
    /// `navigator.globalPrivacyControl === true`
    pub gpc: bool,
    /// `navigator.doNotTrack === "1"`
    pub dnt: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub enum Status {
    Granted,
    Denied,
    /// No valid answer yet: treated as denied, and the banner asks.
    NotAsked,
}

/// How a purpose came to its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub enum Basis {
    Required,
    Banner,
    Api,
    Gpc,
    Dnt,
    Default,
}

/// One purpose as a visitor or site sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct PurposeState {
    pub id: PurposeId,
    pub label: String,
    pub description: String,
    /// Always granted (`necessary`).
    pub required: bool,
    pub status: Status,
    pub source: Basis,
    /// When the visitor answered (explicit choices only).
    pub at: Option<Millis>,
    /// The policy revision the answer was given under (explicit choices only).
    pub revision: Option<u32>,
}

impl PurposeState {
    pub fn granted(&self) -> bool {
        self.status == Status::Granted
    }
}

/// Every purpose's state at `now`.
pub fn resolve(config: &ValidConfig, log: &ConsentLog, signals: Signals, now: Millis) -> Vec<PurposeState> {
    config
        .purposes
        .iter()
        .map(|info| {
            let (status, source, at, revision) = decide(config, log, signals, now, &info.id);
            PurposeState {
                id: info.id.clone(),
                label: info.label.clone(),
                description: info.description.clone(),
                required: info.id.is_necessary(),
                status,
                source,
                at,
                revision,
            }
        })
        .collect()
}

fn decide(
    config: &ValidConfig,
    log: &ConsentLog,
    signals: Signals,
    now: Millis,
    id: &PurposeId,
) -> (Status, Basis, Option<Millis>, Option<u32>) {
    if id.is_necessary() {
        return (Status::Granted, Basis::Required, None, None);
    }
    if let Some((entry, decision)) = log.latest(id) {
        let expired = now.since(entry.at) > config.expiry_ms;
        if !expired && !config.revision_invalidates(entry.revision, id) {
            let status = if decision == Decision::Granted { Status::Granted } else { Status::Denied };
            let source = match entry.source {
                super::log::ChoiceSource::Banner => Basis::Banner,
                super::log::ChoiceSource::Api => Basis::Api,
            };
            return (status, source, Some(entry.at), Some(entry.revision));
        }
    }
    if signals.gpc && config.gpc.contains(id) {
        return (Status::Denied, Basis::Gpc, None, None);
    }
    if signals.dnt && config.dnt.contains(id) {
        return (Status::Denied, Basis::Dnt, None, None);
    }
    match config.defaults.get(id) {
        Some(DefaultDecision::Granted) => (Status::Granted, Basis::Default, None, None),
        _ => (Status::NotAsked, Basis::Default, None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::log::{Change, ChoiceSource};

    fn p(s: &str) -> PurposeId {
        PurposeId::parse(s).unwrap()
    }

    fn state<'a>(states: &'a [PurposeState], id: &str) -> &'a PurposeState {
        states.iter().find(|s| s.id.as_str() == id).unwrap()
    }

    fn choose(log: &mut ConsentLog, config: &ValidConfig, at: u64, purpose: &str, decision: Decision) {
        log.append(
            Millis(at),
            ChoiceSource::Banner,
            config.revision,
            &config.policy_hash,
            vec![Change { purpose: p(purpose), decision }],
        );
    }

    const NOW: Millis = Millis(1_700_000_000_000);

    #[test]
    fn first_visit_everything_but_necessary_is_not_asked() {
        let config = ValidConfig::from_json("{}").unwrap();
        let states = resolve(&config, &ConsentLog::default(), Signals::default(), NOW);
        assert_eq!(state(&states, "necessary").status, Status::Granted);
        for id in ["analytics", "personalization", "marketing"] {
            assert_eq!(state(&states, id).status, Status::NotAsked, "{id}");
            assert!(!state(&states, id).granted());
        }
    }

    #[test]
    fn explicit_choice_beats_gpc_beats_dnt_beats_default() {
        let config =
            ValidConfig::from_json(r#"{"signals":{"gpc":["marketing"],"dnt":["analytics","marketing"]}}"#).unwrap();
        let both = Signals { gpc: true, dnt: true };
        let states = resolve(&config, &ConsentLog::default(), both, NOW);
        assert_eq!(
            (state(&states, "marketing").status, state(&states, "marketing").source),
            (Status::Denied, Basis::Gpc)
        );
        assert_eq!(
            (state(&states, "analytics").status, state(&states, "analytics").source),
            (Status::Denied, Basis::Dnt)
        );
        assert_eq!(state(&states, "personalization").source, Basis::Default);

        let mut log = ConsentLog::default();
        choose(&mut log, &config, NOW.0 - 10, "marketing", Decision::Granted);
        let states = resolve(&config, &log, both, NOW);
        assert_eq!(
            (state(&states, "marketing").status, state(&states, "marketing").source),
            (Status::Granted, Basis::Banner)
        );
    }

    #[test]
    fn configured_default_grant_applies_until_the_visitor_answers() {
        let config = ValidConfig::from_json(r#"{"defaults":{"analytics":"granted"}}"#).unwrap();
        let states = resolve(&config, &ConsentLog::default(), Signals::default(), NOW);
        assert_eq!(
            (state(&states, "analytics").status, state(&states, "analytics").source),
            (Status::Granted, Basis::Default)
        );
        let states = resolve(&config, &ConsentLog::default(), Signals { gpc: false, dnt: true }, NOW);
        assert_eq!(state(&states, "analytics").status, Status::Denied, "DNT outranks a default grant");
    }

    #[test]
    fn an_expired_answer_counts_as_not_asked() {
        let config = ValidConfig::from_json(r#"{"policy":{"expiryDays":30}}"#).unwrap();
        let mut log = ConsentLog::default();
        let answered = NOW.0 - 30 * Millis::DAY;
        choose(&mut log, &config, answered, "analytics", Decision::Granted);
        assert!(state(&resolve(&config, &log, Signals::default(), NOW), "analytics").granted());
        let later = Millis(NOW.0 + 1);
        assert_eq!(state(&resolve(&config, &log, Signals::default(), later), "analytics").status, Status::NotAsked);
    }

    #[test]
    fn a_clock_behind_the_answer_does_not_expire_it() {
        let config = ValidConfig::from_json("{}").unwrap();
        let mut log = ConsentLog::default();
        choose(&mut log, &config, NOW.0, "analytics", Decision::Granted);
        assert!(state(&resolve(&config, &log, Signals::default(), Millis(NOW.0 - Millis::DAY)), "analytics").granted());
    }

    #[test]
    fn a_policy_revision_reasks_only_the_changed_purposes() {
        let v1 = ValidConfig::from_json("{}").unwrap();
        let mut log = ConsentLog::default();
        choose(&mut log, &v1, NOW.0, "analytics", Decision::Granted);
        choose(&mut log, &v1, NOW.0, "marketing", Decision::Granted);
        let v2 =
            ValidConfig::from_json(r#"{"policy":{"revision":2,"changes":[{"revision":2,"purposes":["marketing"]}]}}"#)
                .unwrap();
        let states = resolve(&v2, &log, Signals::default(), NOW);
        assert!(state(&states, "analytics").granted());
        assert_eq!(state(&states, "analytics").revision, Some(1));
        assert_eq!(state(&states, "marketing").status, Status::NotAsked);
    }

    #[test]
    fn withdrawal_counts_as_denied() {
        let config = ValidConfig::from_json("{}").unwrap();
        let mut log = ConsentLog::default();
        choose(&mut log, &config, NOW.0 - 2, "analytics", Decision::Granted);
        choose(&mut log, &config, NOW.0 - 1, "analytics", Decision::Withdrawn);
        assert_eq!(state(&resolve(&config, &log, Signals::default(), NOW), "analytics").status, Status::Denied);
    }
}
