//! The site's configuration: parsed strictly, validated as a whole, every error naming its path.

use crate::collect::{EventSpec, PurposeCollect};
use crate::error::ErrorCode;
use crate::ids::sha256_hex;
use crate::purpose::{PurposeId, ANALYTICS, BUILT_IN, MARKETING, NECESSARY, PERSONALIZATION};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What the site passes to `Attune.init({ config })`.
///
/// ```ts
/// const config: SiteConfig = {
///   policy: { revision: 2, expiryDays: 365, changes: [{ revision: 2, purposes: ["marketing"] }] },
///   purposes: [{ id: "support_chat", label: "Support chat", description: "Keeps your chat history." }],
/// };
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct SiteConfig {
    #[serde(default, skip_serializing)]
    pub policy: PolicyConfig,
    /// Labels for the built-in purposes (to override their text) and custom purposes.
    #[serde(default, skip_serializing)]
    pub purposes: Vec<PurposeConfig>,
    /// Answer assumed before the visitor chooses. Everything but `necessary` defaults to denied.
    #[serde(default, skip_serializing)]
    pub defaults: BTreeMap<String, DefaultDecision>,
    #[serde(default, skip_serializing)]
    pub signals: SignalConfig,
    #[serde(default, skip_serializing)]
    pub banner: BannerText,
    #[serde(default, skip_serializing)]
    pub egress: EgressConfig,
    /// What may leave the device, per purpose: event names, their properties and how each is
    /// coarsened. Nothing undeclared leaves. Keys are purpose ids.
    // Read by hand (`PurposeCollect::from_value`), not by serde: every problem is reported with
    // its path, and the wasm stays ~4 KB (brotli) smaller.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<BTreeMap<String, PurposeCollect>>", optional))]
    pub collect: serde_json::Map<String, serde_json::Value>,
}

/// The consent policy's version and lifetime.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct PolicyConfig {
    /// Bump it when the text shown to visitors changes: their answers are asked again.
    #[serde(default = "one", skip_serializing)]
    pub revision: u32,
    /// An answer older than this counts as not given.
    #[serde(default = "default_expiry_days", skip_serializing)]
    pub expiry_days: u32,
    /// Which purposes each revision changed. A revision not listed here changed all of them.
    #[serde(default, skip_serializing)]
    pub changes: Vec<PolicyChange>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct PolicyChange {
    pub revision: u32,
    pub purposes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct PurposeConfig {
    pub id: String,
    pub label: String,
    pub description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub enum DefaultDecision {
    Granted,
    Denied,
}

/// Which purposes each browser privacy signal denies.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct SignalConfig {
    /// `navigator.globalPrivacyControl`; default `["marketing"]`.
    #[serde(default = "default_gpc", skip_serializing)]
    pub gpc: Vec<String>,
    /// Do Not Track; default `["analytics", "marketing"]`.
    #[serde(default = "default_dnt", skip_serializing)]
    pub dnt: Vec<String>,
}

/// Text of the consent banner. Part of the policy text whose hash the consent log records.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct BannerText {
    #[cfg_attr(feature = "typescript", ts(as = "Option<String>", optional))]
    pub title: String,
    #[cfg_attr(feature = "typescript", ts(as = "Option<String>", optional))]
    pub body: String,
    #[cfg_attr(feature = "typescript", ts(as = "Option<String>", optional))]
    pub accept_all: String,
    #[cfg_attr(feature = "typescript", ts(as = "Option<String>", optional))]
    pub reject_all: String,
    #[cfg_attr(feature = "typescript", ts(as = "Option<String>", optional))]
    pub save: String,
    #[cfg_attr(feature = "typescript", ts(as = "Option<String>", optional))]
    pub close: String,
}

/// Tuning of the door out.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct EgressConfig {
    /// How long granted events wait before a batch is sent (100–600000 ms).
    #[cfg_attr(feature = "typescript", ts(as = "Option<u32>", optional))]
    pub flush_interval_ms: u32,
    /// Events per batch (1–500).
    #[cfg_attr(feature = "typescript", ts(as = "Option<u32>", optional))]
    pub max_batch_events: u32,
    /// Events held in memory while their purpose is undecided (0–1000); oldest dropped first.
    #[cfg_attr(feature = "typescript", ts(as = "Option<u32>", optional))]
    pub pre_consent_buffer: u32,
    /// Granted events waiting to be sent (1–10000); oldest dropped first.
    #[cfg_attr(feature = "typescript", ts(as = "Option<u32>", optional))]
    pub max_queued_events: u32,
    /// Days the egress log keeps a sent payload on the device for the visitor (1–3650; default
    /// 30); older entries are purged when the SDK starts and whenever the log is read.
    #[cfg_attr(feature = "typescript", ts(as = "Option<u32>", optional))]
    pub log_retention_days: u32,
}

fn one() -> u32 {
    1
}
fn default_expiry_days() -> u32 {
    365
}
fn default_gpc() -> Vec<String> {
    vec![MARKETING.into()]
}
fn default_dnt() -> Vec<String> {
    vec![ANALYTICS.into(), MARKETING.into()]
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self { revision: 1, expiry_days: default_expiry_days(), changes: Vec::new() }
    }
}

impl Default for SignalConfig {
    fn default() -> Self {
        Self { gpc: default_gpc(), dnt: default_dnt() }
    }
}

impl Default for BannerText {
    fn default() -> Self {
        Self {
            title: "Your privacy choices".into(),
            body: "We use your data only for the purposes you allow. Necessary storage keeps the site working; everything else is off until you turn it on, and you can change your mind at any time.".into(),
            accept_all: "Accept all".into(),
            reject_all: "Reject all".into(),
            save: "Save choices".into(),
            close: "Close".into(),
        }
    }
}

impl Default for EgressConfig {
    fn default() -> Self {
        Self {
            flush_interval_ms: 2000,
            max_batch_events: 50,
            pre_consent_buffer: 100,
            max_queued_events: 1000,
            log_retention_days: 30,
        }
    }
}

/// One problem in a config, located by its path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct FieldIssue {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The JSON could not be read into a config; serde stops at the first such problem.
    #[error("config {}: {}", .0.path, .0.message)]
    Malformed(FieldIssue),
    /// The config parsed but breaks rules; every broken rule is listed.
    #[error("config has {} problem(s): {}", .0.len(), summarize(.0))]
    Invalid(Vec<FieldIssue>),
}

fn summarize(issues: &[FieldIssue]) -> String {
    issues.iter().map(|i| format!("{}: {}", i.path, i.message)).collect::<Vec<_>>().join("; ")
}

impl ConfigError {
    pub fn issues(&self) -> &[FieldIssue] {
        match self {
            ConfigError::Malformed(issue) => std::slice::from_ref(issue),
            ConfigError::Invalid(issues) => issues,
        }
    }
}

impl ErrorCode for ConfigError {
    fn code(&self) -> &'static str {
        "invalid_config"
    }
    fn field(&self) -> Option<String> {
        self.issues().first().map(|i| i.path.clone())
    }
}

/// A purpose as shown to visitors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurposeInfo {
    pub id: PurposeId,
    pub label: String,
    pub description: String,
}

/// A config that passed every rule, with the built-in purposes filled in.
#[derive(Clone, Debug)]
pub struct ValidConfig {
    pub revision: u32,
    pub expiry_ms: u64,
    /// Revision → purposes it changed (absent: it changed all of them).
    pub changes: BTreeMap<u32, BTreeSet<PurposeId>>,
    /// `necessary` first, the other built-ins, then custom purposes in declaration order.
    pub purposes: Vec<PurposeInfo>,
    pub defaults: BTreeMap<PurposeId, DefaultDecision>,
    pub gpc: BTreeSet<PurposeId>,
    pub dnt: BTreeSet<PurposeId>,
    pub banner: BannerText,
    pub egress: EgressConfig,
    /// What each purpose may send; a purpose absent here sends nothing.
    pub collect: BTreeMap<PurposeId, PurposeCollect>,
    /// SHA-256 of everything the banner shows; recorded with each consent decision.
    pub policy_hash: String,
}

impl ValidConfig {
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let config: SiteConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            ConfigError::Malformed(FieldIssue {
                path: if path == "." { "config".into() } else { path },
                message: strip_position(&e.into_inner().to_string()),
            })
        })?;
        Self::validate(config)
    }

    pub fn validate(config: SiteConfig) -> Result<Self, ConfigError> {
        let mut issues = Vec::new();
        let mut issue = |path: String, message: String| issues.push(FieldIssue { path, message });

        let policy = &config.policy;
        if policy.revision == 0 {
            issue("policy.revision".into(), "expected a revision of 1 or more, found 0".into());
        }
        if !(1..=3650).contains(&policy.expiry_days) {
            issue("policy.expiryDays".into(), format!("expected 1 to 3650 days, found {}", policy.expiry_days));
        }

        let mut purposes: Vec<PurposeInfo> = BUILT_IN
            .iter()
            .map(|id| {
                let (label, description) = built_in_text(id);
                PurposeInfo {
                    id: PurposeId::parse(id).expect("built-in ids are valid"),
                    label: label.into(),
                    description: description.into(),
                }
            })
            .collect();
        for (i, p) in config.purposes.iter().enumerate() {
            let id = match PurposeId::parse(&p.id) {
                Ok(id) => id,
                Err(e) => {
                    issue(format!("purposes[{i}].id"), e.to_string());
                    continue;
                }
            };
            if config.purposes[..i].iter().any(|q| q.id == p.id) {
                issue(format!("purposes[{i}].id"), format!("duplicate purpose id {:?}", p.id));
                continue;
            }
            for (field, text) in [("label", &p.label), ("description", &p.description)] {
                if text.trim().is_empty() {
                    issue(format!("purposes[{i}].{field}"), "expected non-empty text".into());
                }
            }
            let info = PurposeInfo { id: id.clone(), label: p.label.clone(), description: p.description.clone() };
            match purposes.iter_mut().find(|known| known.id == id) {
                Some(built_in) => *built_in = info,
                None => purposes.push(info),
            }
        }
        if purposes.len() > 32 {
            issue("purposes".into(), format!("expected at most 28 custom purposes, found {}", purposes.len() - 4));
        }
        let declared: BTreeSet<PurposeId> = purposes.iter().map(|p| p.id.clone()).collect();
        let mut known_purpose = |path: String, raw: &str, allow_necessary: bool| -> Option<PurposeId> {
            match PurposeId::parse(raw) {
                Err(e) => issue(path, e.to_string()),
                Ok(id) if !declared.contains(&id) => {
                    issue(path, format!("unknown purpose {raw:?}: declare it in `purposes` first"))
                }
                Ok(id) if id.is_necessary() && !allow_necessary => {
                    issue(path, "`necessary` is always granted and cannot be listed here".into())
                }
                Ok(id) => return Some(id),
            }
            None
        };

        let mut defaults = BTreeMap::new();
        for (raw, decision) in &config.defaults {
            if let Some(id) = known_purpose(format!("defaults.{raw}"), raw, false) {
                defaults.insert(id, *decision);
            }
        }
        let mut signal_set = |name: &str, list: &[String]| -> BTreeSet<PurposeId> {
            list.iter()
                .enumerate()
                .filter_map(|(i, raw)| known_purpose(format!("signals.{name}[{i}]"), raw, false))
                .collect()
        };
        let gpc = signal_set("gpc", &config.signals.gpc);
        let dnt = signal_set("dnt", &config.signals.dnt);

        let mut changes = BTreeMap::new();
        for (i, change) in policy.changes.iter().enumerate() {
            let set: BTreeSet<PurposeId> = change
                .purposes
                .iter()
                .enumerate()
                .filter_map(|(j, raw)| known_purpose(format!("policy.changes[{i}].purposes[{j}]"), raw, true))
                .collect();
            changes.entry(change.revision).or_insert_with(BTreeSet::new).extend(set);
        }
        let collect_purposes: Vec<Option<PurposeId>> =
            config.collect.keys().map(|raw| known_purpose(format!("collect.{raw}"), raw, true)).collect();
        let bad_revisions: Vec<(usize, u32)> = policy
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.revision < 2 || c.revision > policy.revision)
            .map(|(i, c)| (i, c.revision))
            .collect();
        for (i, revision) in bad_revisions {
            issue(
                format!("policy.changes[{i}].revision"),
                format!("expected a revision from 2 to the current {}, found {revision}", policy.revision),
            );
        }

        let egress = &config.egress;
        for (path, value, range) in [
            ("egress.flushIntervalMs", egress.flush_interval_ms, 100..=600_000),
            ("egress.maxBatchEvents", egress.max_batch_events, 1..=500),
            ("egress.preConsentBuffer", egress.pre_consent_buffer, 0..=1000),
            ("egress.maxQueuedEvents", egress.max_queued_events, 1..=10_000),
            ("egress.logRetentionDays", egress.log_retention_days, 1..=3650),
        ] {
            if !range.contains(&value) {
                issue(path.into(), format!("expected {} to {}, found {value}", range.start(), range.end()));
            }
        }

        let mut collect = BTreeMap::new();
        for ((raw, value), purpose) in config.collect.iter().zip(collect_purposes) {
            let parsed = PurposeCollect::from_value(value, &format!("collect.{raw}"));
            match (purpose, parsed) {
                (Some(purpose), Ok(spec)) => {
                    collect.insert(purpose, spec);
                }
                (_, Err(problems)) => problems.into_iter().for_each(|(path, message)| issue(path, message)),
                (None, Ok(_)) => {}
            }
        }

        let banner = &config.banner;
        for (path, text) in [
            ("banner.title", &banner.title),
            ("banner.body", &banner.body),
            ("banner.acceptAll", &banner.accept_all),
            ("banner.rejectAll", &banner.reject_all),
            ("banner.save", &banner.save),
            ("banner.close", &banner.close),
        ] {
            if text.trim().is_empty() {
                issue(path.into(), "expected non-empty text".into());
            }
        }

        if !issues.is_empty() {
            return Err(ConfigError::Invalid(issues));
        }
        let policy_hash = policy_text_hash(policy.revision, &purposes, banner);
        Ok(ValidConfig {
            revision: policy.revision,
            expiry_ms: u64::from(policy.expiry_days) * crate::time::Millis::DAY,
            changes,
            purposes,
            defaults,
            gpc,
            dnt,
            banner: config.banner,
            egress: config.egress,
            collect,
            policy_hash,
        })
    }

    pub fn purpose(&self, id: &PurposeId) -> Option<&PurposeInfo> {
        self.purposes.iter().find(|p| &p.id == id)
    }

    /// The declared properties of event `name` for `purpose`; `None` if it may not leave.
    pub fn event_spec(&self, purpose: &PurposeId, name: &str) -> Option<&EventSpec> {
        self.collect.get(purpose)?.events.get(name)
    }

    /// Parses `raw` as a purpose this site declared.
    pub fn known_purpose(&self, raw: &str) -> Option<PurposeId> {
        PurposeId::parse(raw).ok().filter(|id| self.purpose(id).is_some())
    }

    /// Whether a choice made under `answered` must be asked again under the current revision.
    pub fn revision_invalidates(&self, answered: u32, purpose: &PurposeId) -> bool {
        if answered > self.revision {
            return true; // the site rolled its policy back: what was answered is not what is shown
        }
        (answered + 1..=self.revision).any(|rev| self.changes.get(&rev).is_none_or(|changed| changed.contains(purpose)))
    }
}

fn built_in_text(id: &str) -> (&'static str, &'static str) {
    match id {
        NECESSARY => ("Necessary", "Keeps the site working and remembers your privacy choices. Always on."),
        ANALYTICS => ("Analytics", "Counts visits and page views so we can see what works and fix what does not."),
        PERSONALIZATION => {
            ("Personalization", "Uses what you view and tell us, on your device, to suggest things you may like.")
        }
        MARKETING => ("Marketing", "Measures our advertising and shows you offers elsewhere."),
        _ => unreachable!("not a built-in purpose: {id}"),
    }
}

/// serde_json appends " at line L column C", which means nothing once the path is given.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn policy_text_hash(revision: u32, purposes: &[PurposeInfo], banner: &BannerText) -> String {
    // Length-prefixed fields: no choice of text can make two different policies hash alike.
    let mut canonical = format!("attune-policy-v1\nrevision {revision}\n");
    let mut field = |text: &str| canonical.push_str(&format!("{}:{text}\n", text.len()));
    for text in [&banner.title, &banner.body, &banner.accept_all, &banner.reject_all, &banner.save] {
        field(text);
    }
    for p in purposes {
        field(p.id.as_str());
        field(&p.label);
        field(&p.description);
    }
    sha256_hex(canonical.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(json: &str) -> Vec<FieldIssue> {
        match ValidConfig::from_json(json) {
            Err(e) => e.issues().to_vec(),
            Ok(_) => panic!("expected {json} to be rejected"),
        }
    }

    #[test]
    fn empty_config_gives_the_four_built_in_purposes() {
        let c = ValidConfig::from_json("{}").unwrap();
        let ids: Vec<_> = c.purposes.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["necessary", "analytics", "personalization", "marketing"]);
        assert_eq!(c.revision, 1);
        assert_eq!(c.expiry_ms, 365 * Millis::DAY);
    }

    #[test]
    fn custom_purposes_are_added_and_built_in_text_can_be_overridden() {
        let c = ValidConfig::from_json(
            r#"{"purposes":[{"id":"analytics","label":"Stats","description":"Counts visits."},
                            {"id":"support_chat","label":"Chat","description":"Keeps chat history."}]}"#,
        )
        .unwrap();
        assert_eq!(c.purposes.len(), 5);
        assert_eq!(c.purposes[1].label, "Stats");
        assert_eq!(c.purposes[4].id.as_str(), "support_chat");
    }

    #[test]
    fn unknown_key_is_an_error_naming_its_path() {
        let issues = invalid(r#"{"policy":{"revison":2}}"#);
        assert_eq!(issues[0].path, "policy.revison");
        assert!(issues[0].message.contains("unknown field `revison`"), "{}", issues[0].message);
    }

    #[test]
    fn wrong_type_names_the_nested_path() {
        let issues = invalid(
            r#"{"purposes":[{"id":"a","label":"A","description":"d"},{"id":"b","label":3,"description":"d"}]}"#,
        );
        assert_eq!(issues[0].path, "purposes[1].label");
        assert!(issues[0].message.contains("expected a string"), "{}", issues[0].message);
    }

    #[test]
    fn every_rule_violation_is_reported_at_once() {
        let issues = invalid(
            r#"{"policy":{"revision":0,"expiryDays":0},
                "purposes":[{"id":"Bad Id","label":"x","description":"y"},{"id":"chat","label":" ","description":"y"}],
                "defaults":{"necessary":"denied","nope":"granted"},
                "signals":{"gpc":["ghost"]},
                "egress":{"maxBatchEvents":0}}"#,
        );
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        for expected in [
            "policy.revision",
            "policy.expiryDays",
            "purposes[0].id",
            "purposes[1].label",
            "defaults.necessary",
            "defaults.nope",
            "signals.gpc[0]",
            "egress.maxBatchEvents",
        ] {
            assert!(paths.contains(&expected), "missing {expected} in {paths:?}");
        }
    }

    #[test]
    fn duplicate_purposes_are_rejected() {
        let issues = invalid(
            r#"{"purposes":[{"id":"chat","label":"a","description":"b"},{"id":"chat","label":"a","description":"b"}]}"#,
        );
        assert_eq!(issues[0].path, "purposes[1].id");
    }

    #[test]
    fn policy_changes_must_name_a_past_or_current_revision() {
        let issues = invalid(r#"{"policy":{"revision":3,"changes":[{"revision":4,"purposes":["marketing"]}]}}"#);
        assert_eq!(issues[0].path, "policy.changes[0].revision");
    }

    #[test]
    fn revision_change_reasks_only_the_purposes_it_lists() {
        let c = ValidConfig::from_json(
            r#"{"policy":{"revision":3,"changes":[{"revision":2,"purposes":["analytics"]},{"revision":3,"purposes":["marketing"]}]}}"#,
        )
        .unwrap();
        let p = |s| PurposeId::parse(s).unwrap();
        assert!(!c.revision_invalidates(2, &p("analytics")), "analytics changed in 2, answered in 2");
        assert!(c.revision_invalidates(2, &p("marketing")));
        assert!(c.revision_invalidates(1, &p("analytics")));
        assert!(!c.revision_invalidates(1, &p("personalization")));
        assert!(!c.revision_invalidates(3, &p("marketing")));
        assert!(c.revision_invalidates(4, &p("marketing")), "a rolled-back policy re-asks");
    }

    #[test]
    fn unlisted_revision_reasks_everything() {
        let c = ValidConfig::from_json(r#"{"policy":{"revision":2}}"#).unwrap();
        assert!(c.revision_invalidates(1, &PurposeId::parse("personalization").unwrap()));
    }

    #[test]
    fn policy_hash_changes_with_any_shown_text() {
        let a = ValidConfig::from_json("{}").unwrap().policy_hash;
        let b = ValidConfig::from_json(r#"{"banner":{"title":"Privacy"}}"#).unwrap().policy_hash;
        let c = ValidConfig::from_json(r#"{"purposes":[{"id":"marketing","label":"Ads","description":"x"}]}"#)
            .unwrap()
            .policy_hash;
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, ValidConfig::from_json("{}").unwrap().policy_hash);
    }

    #[test]
    fn collect_declarations_are_checked_field_by_field() {
        let issues = invalid(
            r#"{"collect":{
                "analytics":{"retentionDays":0,"events":{"page_view":{"path":"urlPath","bad key":"token","price":{"bucket":[9,3]}}}},
                "ghost":{"retentionDays":30,"events":{}},
                "marketing":{"retentionDays":30,"pseudonymousId":{"rotateDays":0},"events":{}}}}"#,
        );
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "collect.ghost",
                "collect.analytics.retentionDays",
                "collect.analytics.events.page_view.bad key",
                "collect.analytics.events.page_view.price",
                "collect.marketing.pseudonymousId.rotateDays"
            ]
        );
        let issues =
            invalid(r#"{"collect":{"necessary":{"retentionDays":1,"pseudonymousId":{"rotateDays":1},"events":{}}}}"#);
        assert_eq!(issues[0].path, "collect.necessary.pseudonymousId", "no identifier without consent");
        let issues = invalid(r#"{"collect":{"analytics":{"retentionDays":30,"events":{"e":{"p":"url"}}}}}"#);
        assert_eq!(issues[0].path, "collect.analytics.events.e.p");
        assert!(issues[0].message.contains("urlPath"), "{}", issues[0].message);
    }

    #[test]
    fn declared_events_are_found_by_purpose_and_name() {
        let c = ValidConfig::from_json(
            r#"{"collect":{"analytics":{"retentionDays":30,"events":{"page_view":{"path":"urlPath"}}}}}"#,
        )
        .unwrap();
        let analytics = PurposeId::parse("analytics").unwrap();
        assert!(c.event_spec(&analytics, "page_view").is_some());
        assert!(c.event_spec(&analytics, "click").is_none());
        assert!(c.event_spec(&PurposeId::parse("marketing").unwrap(), "page_view").is_none());
    }

    use crate::time::Millis;
}
