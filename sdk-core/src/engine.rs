//! One page's Attune: config, consent record, signals and the door out, driven by the bindings.
//!
//! The engine never reads a clock, a random source or storage itself: `now`, the id seed, the
//! browser's signals and the stored consent come in as arguments, and what must be written or sent
//! comes out as values ([`Engine::consent_snapshot`], [`Engine::take_batch`]).

use crate::collect::sanitize;
use crate::config::{ConfigError, FieldIssue, ValidConfig};
use crate::consent::gcm::{google_consent_mode, GcmValue};
use crate::consent::{
    resolve, view, Basis, Change, ChoiceSource, ConsentError, ConsentLog, ConsentReceipt, ConsentView, Decision,
    PurposeState, Signals, Status,
};
use crate::egress::{
    classify_status, next_send_delay, validate_event, Captured, Delivery, Egress, Event, Limits, TrackError,
    MAX_QUEUED_BYTES,
};
use crate::egress_log::{EgressLog, SendOutcome, SentPayload, Transport};
use crate::error::ErrorCode;
use crate::ids::IdGenerator;
use crate::manifest::EgressManifest;
use crate::privacy::DeviceKey;
use crate::profiling::config::ProfilingConfig;
use crate::profiling::scheduler::ProfileState;
use crate::pseudonym::PseudonymousIds;
use crate::purpose::{PurposeId, PERSONALIZATION};
use crate::recommend::{Recommender, Signals as RecSignals};
use crate::snapshot::{
    decode_consent, decode_egress_log, decode_ids, decode_queue, encode_consent, encode_egress_log, encode_ids,
    encode_queue,
};
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
    /// Pass back to [`Engine::settle`].
    pub id: u64,
    pub body: String,
    pub events: usize,
}

/// What `track` did with an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackResult {
    pub id: String,
    pub status: Captured,
    /// Properties removed because the config does not declare them (or their value did not fit).
    pub stripped: Vec<String>,
}

/// How a send attempt ended, as seen by the bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// The collector answered with this status (`Retry-After` in ms, if it sent one).
    Status { code: u16, retry_after_ms: Option<u32> },
    /// No answer: the network failed. `online` is the browser's `navigator.onLine` afterwards.
    NetworkError { online: bool },
    /// The request was cancelled because consent changed while it was on its way.
    Aborted,
    /// Handed to `sendBeacon` as the page went away (`accepted`: the browser took it).
    Beacon { accepted: bool },
}

/// What [`Engine::settle`] made of a send attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settled {
    pub outcome: SendOutcome,
    pub next: NextSend,
}

/// When to try the next send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextSend {
    /// After this many milliseconds.
    After(u32),
    /// When the browser is back online.
    WhenOnline,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchBody<'a> {
    v: u32,
    site_id: &'a str,
    sent_at: Millis,
    consent: BatchConsent<'a>,
    /// SHA-256 of the device's public key, with batches that carry a pseudonymous id: the
    /// collector files the ids under it, so a signed request can reach them (see `privacy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<&'a str>,
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
    endpoint: String,
    signals: Signals,
    log: ConsentLog,
    egress: Egress,
    ids: IdGenerator,
    pseudonyms: PseudonymousIds,
    sent: EgressLog,
    /// Failed sends in a row (not counting those while offline).
    failures: u32,
    /// Events per batch after a 413, halved each time until a batch gets through.
    batch_cap: Option<usize>,
    prompts: Option<ProfilingConfig>,
    profile: ProfileState,
    /// The recommender (an empty catalogue until the site loads one) and the visitor's signals.
    recs: Recommender,
    rec_signals: RecSignals,
    /// This page was viewed (counted once the visit may be counted).
    page_seen: bool,
    /// The device key, as last read from storage (the bindings keep it current).
    device: Option<DeviceKey>,
    /// When this tab last had the visitor's server-side data erased: nothing captured up to
    /// then leaves (the next device key carries it to other tabs).
    erased_at: Option<Millis>,
}

/// The bounds of the door out, from the config.
fn limits(config: &ValidConfig) -> Limits {
    Limits {
        buffer: config.egress.pre_consent_buffer as usize,
        outbox: config.egress.max_queued_events as usize,
        outbox_bytes: MAX_QUEUED_BYTES,
    }
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
        endpoint: &str,
        stored_consent: Option<&str>,
        signals: Signals,
        seed: [u8; 32],
    ) -> Result<(Self, Vec<Warning>), ConfigError> {
        validate_site_id(site_id)?;
        validate_endpoint(endpoint)?;
        let mut warnings = Vec::new();
        let log = match stored_consent.map(|raw| decode_consent(raw, &config)) {
            None => ConsentLog::default(),
            Some(Ok(log)) => log,
            Some(Err(e)) => {
                warnings.push(Warning::from_error(&e));
                ConsentLog::default()
            }
        };
        let limits = limits(&config);
        let engine = Self {
            config,
            site_id: site_id.to_owned(),
            endpoint: endpoint.to_owned(),
            signals,
            log,
            egress: Egress::new(limits),
            ids: IdGenerator::new(seed),
            pseudonyms: PseudonymousIds::default(),
            sent: EgressLog::default(),
            failures: 0,
            batch_cap: None,
            prompts: None,
            profile: ProfileState::default(),
            recs: Recommender::default(),
            rec_signals: RecSignals::default(),
            page_seen: false,
            device: None,
            erased_at: None,
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
    ///
    /// Data from before a purpose's last withdrawal or denial never counts as granted again,
    /// even if the purpose is granted anew: a tab that missed the withdrawal (or read a stale copy
    /// of storage) cannot bring back old events or an old pseudonymous id.
    fn sync_egress(&mut self, now: Millis) -> Vec<PurposeState> {
        let grants = self.grants(now);
        let allowed = |p: &PurposeId, at: Millis| grants.allowed(p, at);
        // What was captured before the visitor had the server's copy erased never leaves.
        let erased = self.device.as_ref().and_then(|d| d.erased_before).max(self.erased_at);
        let leaves = |p: &PurposeId, at: Millis| {
            if erased.is_some_and(|cut| at <= cut) {
                Status::Denied
            } else {
                allowed(p, at)
            }
        };
        self.egress.apply_consent(leaves);
        self.pseudonyms.retain(|p, since| leaves(p, since) == Status::Granted);
        self.sent.forget_ids(|p, ts| PurposeId::parse(p).is_ok_and(|p| leaves(&p, ts) == Status::Granted));
        let retention = u64::from(self.config.egress.log_retention_days) * Millis::DAY;
        self.sent.purge_before(Millis(now.0.saturating_sub(retention)));
        // Answers and prompt history live only while their question's purpose is granted (answers
        // also only within their retention); the visit only while some question's is.
        self.profile.answers.retain(|a| a.expires > now && allowed(&a.purpose, a.at) == Status::Granted);
        if let Some(config) = &self.prompts {
            let purpose_of = |id: &str| config.question(id).map(|q| &q.purpose);
            self.profile
                .history
                .retain(|r| purpose_of(&r.question).is_some_and(|p| allowed(p, r.at) == Status::Granted));
        }
        if self.counting(&grants.states) {
            if self.profile.visit.session == 0 {
                // Counting starts (a grant, or a first visit): this page is the session's first.
                self.profile.visit.start(now, self.page_seen);
            }
        } else {
            self.profile.visit = Default::default();
        }
        // A tab that missed a withdrawal must not bring back events counted before it.
        let revoked = |at: Millis| grants.revoked.iter().any(|(_, r)| at <= *r);
        self.profile.visit.events.retain(|e| !revoked(e.at));
        self.profile.visit.forget_old(now);
        // Recommendation signals live only while personalization is granted.
        let personalization = PurposeId::parse(PERSONALIZATION).expect("built-in purpose");
        if status_in(&grants.states, &personalization) == Status::Granted {
            // Only what was recorded since this grant began: nothing from an earlier grant (a
            // tab that missed the withdrawal) nor from while it was withdrawn (a stale tab).
            self.rec_signals.keep_since(self.granted_since(&personalization));
        } else {
            self.rec_signals = RecSignals::default();
        }
        grants.states
    }

    fn grants(&self, now: Millis) -> Grants {
        Grants { states: resolve(&self.config, &self.log, self.signals, now), revoked: self.revocations() }
    }

    /// When the purpose's current grant began: its first grant after its last withdrawal or
    /// denial in the consent record (0 if the record has none).
    fn granted_since(&self, purpose: &PurposeId) -> Millis {
        let mut since = None;
        for entry in self.log.entries() {
            for change in entry.changes.iter().filter(|c| c.purpose == *purpose) {
                since = match (change.decision, since) {
                    (Decision::Granted, None) => Some(entry.at),
                    (Decision::Granted, kept) => kept,
                    _ => None,
                };
            }
        }
        since.unwrap_or_default()
    }

    /// Each purpose's last withdrawal or denial in the consent record.
    fn revocations(&self) -> Vec<(PurposeId, Millis)> {
        let mut last: Vec<(PurposeId, Millis)> = Vec::new();
        for entry in self.log.entries() {
            for change in entry.changes.iter().filter(|c| c.decision != Decision::Granted) {
                match last.iter_mut().find(|(p, _)| *p == change.purpose) {
                    Some((_, at)) => *at = (*at).max(entry.at),
                    None => last.push((change.purpose.clone(), entry.at)),
                }
            }
        }
        last
    }

    /// Replaces the consent record with the one in storage (another tab changed it). A record
    /// that cannot be trusted means no consent. Returns whether anything changed, and warnings.
    pub fn reload_consent(&mut self, stored: Option<&str>, now: Millis) -> (bool, Vec<Warning>) {
        let mut warnings = Vec::new();
        let log = match stored.map(|raw| decode_consent(raw, &self.config)) {
            None => ConsentLog::default(),
            Some(Ok(log)) => log,
            Some(Err(e)) => {
                warnings.push(Warning::from_error(&e));
                ConsentLog::default()
            }
        };
        let changed = log.head() != self.log.head();
        let first = |l: &ConsentLog| l.entries().first().map(|e| e.hash.clone());
        if changed && !self.log.is_empty() && first(&log) != first(&self.log) {
            // The record vanished, or is another record altogether (cleared, then chosen anew —
            // seen by a tab that was frozen or in the back/forward cache meanwhile): another tab
            // cleared everything, or the visitor cleared the site's storage. Nothing this tab
            // holds about the visitor may be written back or sent.
            self.forget_everything();
        }
        if changed {
            self.log = log;
        }
        self.sync_egress(now);
        (changed, warnings)
    }

    /// Merges the queue found in storage (left by an earlier page or another tab) into this one.
    /// Events the site no longer declares, or that do not parse, are dropped one by one.
    pub fn load_queue(&mut self, stored: Option<&str>, now: Millis) -> Vec<Warning> {
        let (events, delivered, problems) = match stored.map(|raw| decode_queue(raw, &self.config)) {
            None => (Vec::new(), Vec::new(), Vec::new()),
            Some(Ok(found)) => (found.events, found.delivered, found.problems),
            Some(Err(e)) => (Vec::new(), Vec::new(), vec![e]),
        };
        self.egress.merge_stored(events, delivered);
        self.sync_egress(now);
        problems.iter().map(|e| Warning::from_error(e)).collect()
    }

    /// What to store under [`crate::snapshot::QUEUE_KEY`] at `now`; `None`: remove the key.
    pub fn queue_snapshot(&mut self, now: Millis) -> Option<String> {
        self.sync_egress(now);
        let events = self.egress.to_store();
        let delivered = self.egress.delivered_ids();
        (!events.is_empty() || !delivered.is_empty()).then(|| encode_queue(events, delivered))
    }

    /// Merges the stored pseudonymous ids into this tab's (kept only for purposes still granted).
    pub fn load_ids(&mut self, stored: Option<&str>, now: Millis) -> Vec<Warning> {
        let mut warnings = Vec::new();
        match stored.map(|raw| decode_ids(raw, &self.config)) {
            None => {}
            Some(Ok((ids, problems))) => {
                self.pseudonyms.merge_stored(ids);
                let cut = stored.and_then(crate::snapshot::ids_erased_before);
                self.erased_at = self.erased_at.max(cut);
                warnings.extend(problems.iter().map(|e| Warning::from_error(e)));
            }
            Some(Err(e)) => warnings.push(Warning::from_error(&e)),
        }
        self.sync_egress(now);
        warnings
    }

    /// What to store under [`crate::snapshot::IDS_KEY`]; `None`: remove the key.
    pub fn ids_snapshot(&self) -> Option<String> {
        (!self.pseudonyms.is_empty() || self.erased_at.is_some()).then(|| encode_ids(&self.pseudonyms, self.erased_at))
    }

    /// Merges the stored egress log into this tab's (ids of purposes no longer granted removed).
    pub fn load_egress_log(&mut self, stored: Option<&str>, now: Millis) -> Vec<Warning> {
        let warnings = match stored.map(decode_egress_log) {
            None => Vec::new(),
            Some(Ok((log, problems))) => {
                self.sent.merge_stored(log);
                problems.iter().map(|e| Warning::from_error(e)).collect()
            }
            Some(Err(e)) => vec![Warning::from_error(&e)],
        };
        self.sync_egress(now);
        warnings
    }

    /// What to store under [`crate::snapshot::EGRESS_LOG_KEY`]; `None`: remove the key.
    pub fn egress_log_snapshot(&self) -> Option<String> {
        (!self.sent.is_empty()).then(|| encode_egress_log(&self.sent))
    }

    /// The last payloads that left the device, oldest first ([`SentPayload`]s as JSON).
    pub fn egress_log(&self) -> Vec<Value> {
        self.sent.entries().cloned().collect()
    }

    /// Every field that can leave, by purpose, with destination and retention.
    pub fn manifest(&self) -> EgressManifest {
        EgressManifest::from_config(&self.config, &self.site_id, &self.endpoint)
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

    /// Captures an event: only a declared event leaves, with only its declared properties, each
    /// coarsened by its rule, before it is queued.
    pub fn track(&mut self, name: &str, props: Value, purpose: &str, now: Millis) -> Result<TrackResult, TrackError> {
        let purpose =
            self.config.known_purpose(purpose).ok_or_else(|| TrackError::UnknownPurpose { purpose: purpose.into() })?;
        let (name, props) = validate_event(name, props)?;
        let spec = self
            .config
            .event_spec(&purpose, &name)
            .ok_or_else(|| TrackError::UndeclaredEvent { name: name.clone(), purpose: purpose.to_string() })?;
        let sanitized = sanitize(spec, &props);
        let states = self.sync_egress(now);
        self.note_event(&name, &props, &states, now);
        self.note_signal(&name, &props, &states, now);
        let status = status_in(&states, &purpose);
        let id = self.ids.next_hex128();
        let event = Event { id: id.clone(), name, purpose, ts: now, props: sanitized.props, pid: None };
        let status = self.egress.capture(event, status)?;
        Ok(TrackResult { id, status, stripped: sanitized.stripped })
    }

    /// The one door out: the next batch, built only from events whose purpose is granted now,
    /// each with its purpose's pseudonymous id (if the purpose declares one and the device has
    /// its key).
    pub fn take_batch(&mut self, now: Millis, max_bytes: usize) -> Option<OutgoingBatch> {
        let states = self.sync_egress(now);
        let granted: Vec<&str> = states.iter().filter(|s| s.granted()).map(|s| s.id.as_str()).collect();
        let configured = self.config.egress.max_batch_events as usize;
        let max_events = self.batch_cap.map_or(configured, |cap| cap.min(configured));
        let (id, mut events) = self.egress.take_batch(|p| granted.contains(&p.as_str()), max_events, max_bytes)?;
        // A pseudonymous id leaves only beside the device key's hash, so the collector files
        // every id it holds under a key that can prove it (export, erasure). Without a key (not
        // made yet, retired by an erasure, or no WebCrypto) the events leave without an id.
        let keyed = self.device.is_some();
        for event in events.iter_mut().filter(|_| keyed) {
            let rotate = self.config.collect.get(&event.purpose).and_then(|c| c.pseudonymous_id.as_ref());
            if let Some(pid) = rotate {
                event.pid = Some(self.pseudonyms.current(&event.purpose, pid.rotate_days, now, &mut self.ids));
            }
        }
        self.egress.record_sent(id, events.clone());
        let count = events.len();
        let body = BatchBody {
            v: 1,
            site_id: &self.site_id,
            sent_at: now,
            consent: BatchConsent { receipt_hash: self.log.head(), granted: granted.clone() },
            device: self
                .device
                .as_ref()
                .filter(|_| events.iter().any(|e| e.pid.is_some()))
                .map(|d| d.key_hash.as_str()),
            events,
        };
        let body = serde_json::to_string(&body).expect("batches always serialize");
        Some(OutgoingBatch { id, body, events: count })
    }

    /// Whether sends are failing and being retried with back-off.
    pub fn backing_off(&self) -> bool {
        self.failures > 0
    }

    /// Whether a batch on its way should be cancelled: consent for one of its events' purposes
    /// was withdrawn (or lapsed) since it was taken.
    pub fn should_abort(&mut self, batch: u64, now: Millis) -> bool {
        self.sync_egress(now);
        self.egress.in_flight_revoked(batch)
    }

    /// Applies the result of sending `batch` and says when to send next.
    ///
    /// 2xx: delivered. 413: the batch is split (half as many events per batch until one gets
    /// through; a single event too large is dropped). 408, 429, 5xx (but 501, 505) and network
    /// errors: the events go back to the queue and the next try backs off with jitter, honouring
    /// `Retry-After`; while offline no retry is spent — sending resumes when the browser is back
    /// online. Any other status: the collector will never take the batch, so it is dropped.
    pub fn settle(&mut self, batch: u64, result: SendResult, now: Millis) -> Settled {
        let interval = self.config.egress.flush_interval_ms;
        let (status, outcome) = match result {
            SendResult::Status { code, .. } => match (classify_status(Some(code)), code) {
                (Delivery::Delivered, _) => (Some(code), SendOutcome::Delivered),
                (_, 413) => (Some(code), SendOutcome::Split),
                (Delivery::Retry, _) => (Some(code), SendOutcome::WillRetry),
                (Delivery::Rejected, _) => (Some(code), SendOutcome::Refused),
            },
            SendResult::NetworkError { .. } => (None, SendOutcome::WillRetry),
            SendResult::Aborted => (None, SendOutcome::Aborted),
            SendResult::Beacon { accepted: true } => (None, SendOutcome::HandedOff),
            SendResult::Beacon { accepted: false } => (None, SendOutcome::WillRetry),
        };
        self.record_sent(batch, result, status, outcome, now);
        let size = self.egress.sent_events(batch).len();
        let next = match outcome {
            SendOutcome::Delivered | SendOutcome::HandedOff => {
                self.egress.ack(batch);
                self.failures = 0;
                self.batch_cap = None;
                if self.egress.queued() > 0 {
                    0
                } else {
                    interval
                }
            }
            SendOutcome::Split if size > 1 => {
                self.egress.fail(batch);
                self.batch_cap = Some((size / 2).max(1));
                0
            }
            SendOutcome::Split | SendOutcome::Refused => {
                self.egress.drop_batch(batch);
                interval
            }
            SendOutcome::Aborted => {
                self.egress.fail(batch);
                0
            }
            SendOutcome::WillRetry => {
                self.egress.fail(batch);
                if let SendResult::NetworkError { online: false } = result {
                    return Settled { outcome, next: NextSend::WhenOnline };
                }
                if let SendResult::Beacon { .. } = result {
                    return Settled { outcome, next: NextSend::After(interval) };
                }
                self.failures = self.failures.saturating_add(1);
                let retry_after = match result {
                    SendResult::Status { retry_after_ms, .. } => retry_after_ms,
                    _ => None,
                };
                next_send_delay(interval, self.failures, self.ids.next_unit(), retry_after)
            }
        };
        self.sync_egress(now);
        Settled { outcome, next: NextSend::After(next) }
    }

    fn record_sent(&mut self, batch: u64, result: SendResult, status: Option<u16>, outcome: SendOutcome, now: Millis) {
        let events = self.egress.sent_events(batch).to_vec();
        if events.is_empty() {
            return;
        }
        let mut purposes: Vec<PurposeId> = Vec::new();
        for event in &events {
            if !purposes.contains(&event.purpose) {
                purposes.push(event.purpose.clone());
            }
        }
        let bytes = events.iter().map(|e| serde_json::to_string(e).map_or(0, |s| s.len())).sum();
        let transport = if matches!(result, SendResult::Beacon { .. }) { Transport::Beacon } else { Transport::Fetch };
        self.sent.push(SentPayload {
            at: now,
            destination: self.endpoint.clone(),
            transport,
            status,
            outcome,
            bytes,
            purposes,
            events,
        });
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

/// Consent at one moment: each purpose's state, and each purpose's last withdrawal or denial.
struct Grants {
    states: Vec<PurposeState>,
    revoked: Vec<(PurposeId, Millis)>,
}

impl Grants {
    /// A purpose's status for data captured at `at`: data from before its last withdrawal or
    /// denial is never granted again.
    fn allowed(&self, p: &PurposeId, at: Millis) -> Status {
        let status = status_in(&self.states, p);
        if status == Status::Granted && self.revoked.iter().any(|(q, r)| q == p && at <= *r) {
            Status::Denied
        } else {
            status
        }
    }
}

mod privacy;
mod prompts;
mod recommend;
#[cfg(test)]
mod tests;
