//! One page's Attune: config, consent record, signals and the door out, driven by the bindings.
//!
//! The engine never reads a clock, a random source or storage itself: `now`, the id seed, the
//! browser's signals and the stored consent come in as arguments, and what must be written or sent
//! comes out as values ([`Engine::consent_snapshot`], [`Engine::take_batch`]).

use crate::config::{ConfigError, FieldIssue, ValidConfig};
use crate::consent::gcm::{google_consent_mode, GcmValue};
use crate::consent::{
    resolve, view, Basis, Change, ChoiceSource, ConsentError, ConsentLog, ConsentReceipt, ConsentView, Decision,
    PurposeState, Signals, Status,
};
use crate::egress::{validate_event, Captured, Egress, Event, Limits, TrackError};
use crate::error::ErrorCode;
use crate::ids::IdGenerator;
use crate::purpose::PurposeId;
use crate::snapshot::{decode_consent, encode_consent};
use crate::time::Millis;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Something the site's developer should know about, that does not stop the SDK.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct Warning {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl Warning {
    pub fn from_error(e: &dyn ErrorCode) -> Self {
        Self { code: e.code().into(), message: e.to_string(), field: e.field() }
    }
}

/// A batch ready to POST to the collector (see docs/wire-format.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingBatch {
    /// Pass back to [`Engine::ack`] or [`Engine::fail`].
    pub id: u64,
    pub body: String,
    pub events: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchBody<'a> {
    v: u32,
    site_id: &'a str,
    sent_at: Millis,
    consent: BatchConsent<'a>,
    events: Vec<Event>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchConsent<'a> {
    receipt_hash: &'a str,
    granted: Vec<&'a str>,
}

pub struct Engine {
    config: ValidConfig,
    site_id: String,
    signals: Signals,
    log: ConsentLog,
    egress: Egress,
    ids: IdGenerator,
}

/// A purpose's status among resolved states; a purpose not among them is denied.
fn status_in(states: &[PurposeState], purpose: &PurposeId) -> Status {
    states.iter().find(|s| &s.id == purpose).map_or(Status::Denied, |s| s.status)
}

/// `siteId`: the site's public routing id, 1–64 characters of `A-Z a-z 0-9 _ -`.
pub fn validate_site_id(site_id: &str) -> Result<(), ConfigError> {
    let ok = (1..=64).contains(&site_id.len())
        && site_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Malformed(FieldIssue {
            path: "siteId".into(),
            message: format!("expected 1-64 characters of A-Z, a-z, 0-9, '_' or '-', found {site_id:?}"),
        }))
    }
}

/// `endpoint`: where batches go — a path on this site (`/v1/batch`) or an `http(s)://` URL.
pub fn validate_endpoint(endpoint: &str) -> Result<(), ConfigError> {
    let ok = endpoint.len() <= 2048
        && !endpoint.chars().any(|c| c.is_whitespace() || c.is_control())
        && ((endpoint.starts_with('/') && !endpoint.starts_with("//"))
            || endpoint.starts_with("https://")
            || endpoint.starts_with("http://"));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Malformed(FieldIssue {
            path: "endpoint".into(),
            message: format!("expected a path like \"/v1/batch\" or an http(s) URL, found {endpoint:?}"),
        }))
    }
}

impl Engine {
    /// Starts from the stored consent record, if any. A record that cannot be trusted is
    /// ignored — the visitor is asked again and nothing is sent — and reported as a warning.
    pub fn start(
        config: ValidConfig,
        site_id: &str,
        stored_consent: Option<&str>,
        signals: Signals,
        seed: [u8; 32],
    ) -> Result<(Self, Vec<Warning>), ConfigError> {
        validate_site_id(site_id)?;
        let mut warnings = Vec::new();
        let log = match stored_consent.map(|raw| decode_consent(raw, &config)) {
            None => ConsentLog::default(),
            Some(Ok(log)) => log,
            Some(Err(e)) => {
                warnings.push(Warning::from_error(&e));
                ConsentLog::default()
            }
        };
        let limits = Limits {
            buffer: config.egress.pre_consent_buffer as usize,
            outbox: config.egress.max_queued_events as usize,
        };
        let engine = Self {
            config,
            site_id: site_id.to_owned(),
            signals,
            log,
            egress: Egress::new(limits),
            ids: IdGenerator::new(seed),
        };
        Ok((engine, warnings))
    }

    pub fn config(&self) -> &ValidConfig {
        &self.config
    }

    pub fn consent(&self, now: Millis) -> ConsentView {
        view(&self.config, &self.log, self.signals, now)
    }

    fn status(&self, purpose: &PurposeId, now: Millis) -> Status {
        status_in(&resolve(&self.config, &self.log, self.signals, now), purpose)
    }

    pub fn is_granted(&self, purpose: &PurposeId, now: Millis) -> bool {
        self.status(purpose, now) == Status::Granted
    }

    /// Records explicit choices as one log entry. Purposes already in the asked-for state by an
    /// explicit choice are left alone. Returns whether the record changed (and must be stored).
    pub fn record(
        &mut self,
        choices: &[(String, Decision)],
        source: ChoiceSource,
        now: Millis,
    ) -> Result<bool, ConsentError> {
        if choices.is_empty() {
            return Err(ConsentError::NoPurposes);
        }
        let current = resolve(&self.config, &self.log, self.signals, now);
        let mut changes = Vec::new();
        for (i, (raw, decision)) in choices.iter().enumerate() {
            let field = format!("purposes[{i}]");
            let purpose = self
                .config
                .known_purpose(raw)
                .ok_or_else(|| ConsentError::UnknownPurpose { purpose: raw.clone(), field: field.clone() })?;
            if purpose.is_necessary() {
                if *decision == Decision::Granted {
                    continue;
                }
                return Err(ConsentError::NecessaryPurpose { field });
            }
            let state = current.iter().find(|s| s.id == purpose).expect("resolve covers every declared purpose");
            let explicit = matches!(state.source, Basis::Banner | Basis::Api);
            let decision = match (decision, state.status) {
                (Decision::Withdrawn, Status::Granted) => Decision::Withdrawn,
                (Decision::Withdrawn, _) => Decision::Denied,
                (d, _) => *d,
            };
            let already = explicit && (state.granted() == (decision == Decision::Granted));
            if !already && !changes.iter().any(|c: &Change| c.purpose == purpose) {
                changes.push(Change { purpose, decision });
            }
        }
        if changes.is_empty() {
            return Ok(false);
        }
        self.log.append(now, source, self.config.revision, &self.config.policy_hash, changes);
        self.sync_egress(now);
        Ok(true)
    }

    /// Brings waiting events in line with consent at `now`. Consent also changes without a
    /// choice (an answer expires, a signal takes over), so every entry point that sees the
    /// time calls this: an event whose purpose the engine once saw refused never leaves later.
    /// Returns the states it applied, so callers need not resolve them again.
    fn sync_egress(&mut self, now: Millis) -> Vec<PurposeState> {
        let states = resolve(&self.config, &self.log, self.signals, now);
        self.egress.apply_consent(|p| status_in(&states, p));
        states
    }

    /// "Accept all": grants every purpose except those a browser signal (GPC, DNT) denies — the
    /// visitor grants those one by one, explicitly.
    pub fn accept_all(&mut self, source: ChoiceSource, now: Millis) -> Result<bool, ConsentError> {
        let choices: Vec<(String, Decision)> = self
            .consent(now)
            .purposes
            .into_iter()
            .filter(|p| !p.required && !matches!(p.source, Basis::Gpc | Basis::Dnt))
            .map(|p| (p.id.to_string(), Decision::Granted))
            .collect();
        if choices.is_empty() {
            return Ok(false);
        }
        self.record(&choices, source, now)
    }

    /// "Reject all": denies every purpose but `necessary`.
    pub fn reject_all(&mut self, source: ChoiceSource, now: Millis) -> Result<bool, ConsentError> {
        let choices: Vec<(String, Decision)> = self
            .config
            .purposes
            .iter()
            .filter(|p| !p.id.is_necessary())
            .map(|p| (p.id.to_string(), Decision::Denied))
            .collect();
        self.record(&choices, source, now)
    }

    /// Captures an event. Returns its id and where it went.
    pub fn track(
        &mut self,
        name: &str,
        props: Value,
        purpose: &str,
        now: Millis,
    ) -> Result<(String, Captured), TrackError> {
        let purpose =
            self.config.known_purpose(purpose).ok_or_else(|| TrackError::UnknownPurpose { purpose: purpose.into() })?;
        let (name, props) = validate_event(name, props)?;
        let status = status_in(&self.sync_egress(now), &purpose);
        let id = self.ids.next_hex128();
        let captured = self.egress.capture(Event { id: id.clone(), name, purpose, ts: now, props }, status)?;
        Ok((id, captured))
    }

    /// The one door out: the next batch, built only from events whose purpose is granted now.
    pub fn take_batch(&mut self, now: Millis, max_bytes: usize) -> Option<OutgoingBatch> {
        let states = self.sync_egress(now);
        let granted: Vec<&str> = states.iter().filter(|s| s.granted()).map(|s| s.id.as_str()).collect();
        let max_events = self.config.egress.max_batch_events as usize;
        let (id, events) = self.egress.take_batch(|p| granted.contains(&p.as_str()), max_events, max_bytes)?;
        let count = events.len();
        let body = BatchBody {
            v: 1,
            site_id: &self.site_id,
            sent_at: now,
            consent: BatchConsent { receipt_hash: self.log.head(), granted: granted.clone() },
            events,
        };
        let body = serde_json::to_string(&body).expect("batches always serialize");
        Some(OutgoingBatch { id, body, events: count })
    }

    pub fn ack(&mut self, batch: u64) {
        self.egress.ack(batch);
    }

    pub fn fail(&mut self, batch: u64) {
        self.egress.fail(batch);
    }

    /// Events waiting: (undecided, queued, in flight).
    pub fn pending(&self) -> (usize, usize, usize) {
        (self.egress.buffered(), self.egress.queued(), self.egress.in_flight())
    }

    /// What to store under [`crate::snapshot::CONSENT_KEY`]; `None` while there is nothing to
    /// remember (no explicit choice yet), so a first visit stores nothing at all.
    pub fn consent_snapshot(&self) -> Option<String> {
        (!self.log.is_empty()).then(|| encode_consent(&self.log))
    }

    pub fn receipt(&self, now: Millis) -> ConsentReceipt {
        ConsentReceipt {
            format: "attune-consent-receipt/1".into(),
            site_id: self.site_id.clone(),
            generated_at: now,
            policy_revision: self.config.revision,
            policy_hash: self.config.policy_hash.clone(),
            head: self.log.head().to_owned(),
            verified: self.log.verify().is_ok(),
            entries: self.log.entries().to_vec(),
        }
    }

    /// Google Consent Mode v2 state for the current consent.
    pub fn google_consent_mode(&self, now: Millis) -> BTreeMap<&'static str, GcmValue> {
        google_consent_mode(&resolve(&self.config, &self.log, self.signals, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::MAX_BATCH_BYTES;

    const T0: Millis = Millis(1_750_000_000_000);

    fn engine_with(stored: Option<&str>, signals: Signals) -> (Engine, Vec<Warning>) {
        let config =
            ValidConfig::from_json(r#"{"purposes":[{"id":"chat","label":"Chat","description":"History."}]}"#).unwrap();
        Engine::start(config, "shop", stored, signals, [9; 32]).unwrap()
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
        let (id, captured) = e.track("page_view", serde_json::json!({"path": "/"}), "analytics", T0).unwrap();
        assert_eq!(captured, Captured::Buffered);
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
        let err = e.record(
            &[("analytics".into(), Decision::Granted), ("ads".into(), Decision::Granted)],
            ChoiceSource::Api,
            T0,
        );
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
        let err = Engine::start(config, "my site!", None, Signals::default(), [0; 32]).err().unwrap();
        assert_eq!(err.field().as_deref(), Some("siteId"));
    }
}
