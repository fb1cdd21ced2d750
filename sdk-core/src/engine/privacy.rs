//! The privacy centre's calls: everything held about the visitor in plain terms, the visitor's
//! deletions, the device export, clearing the device, and the signed requests to the collector.

use super::{limits, Engine, Warning};
use crate::consent::ConsentLog;
use crate::egress::Egress;
use crate::egress_log::EgressLog;
use crate::privacy::{read_rights_response, DeviceKey, PrivacyError, RightsAction, RightsRequest, EXPORT_FORMAT};
use crate::profiling::config::Kind;
use crate::profiling::scheduler::ProfileState;
use crate::profiling::view::pick_language;
use crate::pseudonym::PseudonymousIds;
use crate::purpose::NECESSARY;
use crate::recommend::Signals as RecSignals;
use crate::time::Millis;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One stored answer, in words.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyAnswer {
    pub question: String,
    pub text: String,
    pub answer: String,
    pub value: Value,
    pub purpose: String,
    pub why: String,
    pub used_for: String,
    pub retention_days: u32,
    pub at: Millis,
    pub expires: Millis,
}

/// An interest inferred from the visitor's own signals.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interest {
    pub tag: String,
    /// 0–1, relative to the strongest, to two decimals.
    pub strength: f64,
    pub level: &'static str,
    /// The items it comes from, newest first.
    pub items: Vec<String>,
}

/// A remembered item, newest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RememberedItem {
    pub item: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub kind: &'static str,
    pub at: Millis,
}

/// What the core knows for the privacy centre (the bindings add consent, manifest, egress log).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyData {
    pub site_id: String,
    pub generated_at: Millis,
    pub history: Vec<crate::consent::LogEntry>,
    pub history_verified: bool,
    pub answers: Vec<PrivacyAnswer>,
    pub interests: Vec<Interest>,
    pub recent_items: Vec<RememberedItem>,
    pub muted: Vec<String>,
    pub queued: usize,
    pub device_key: bool,
}

/// Remembered items shown (the newest).
const MAX_ITEMS_SHOWN: usize = 50;

impl Engine {
    /// Whether the browser should make a device key now: a purpose that sends data is granted
    /// and this device has none.
    pub fn needs_device_key(&mut self, now: Millis) -> bool {
        if self.device.is_some() {
            return false;
        }
        let states = self.sync_egress(now);
        states.iter().any(|s| s.granted() && s.id.as_str() != NECESSARY && self.config.collect.contains_key(&s.id))
    }

    /// Takes the public half of the key the browser made (its private half stays in the
    /// browser's key store); returns what to store under `attune:device`. Refused when no purpose
    /// that sends data is granted any more (another tab cleared everything meanwhile).
    pub fn set_device_key(&mut self, public_key: &str, now: Millis) -> Result<String, PrivacyError> {
        if !self.needs_device_key(now) {
            return Err(PrivacyError::Invalid {
                field: "publicKey".into(),
                message: "no device key is needed: one exists, or no purpose that sends data is granted".into(),
            });
        }
        let key = DeviceKey::new(public_key, now, self.erased_at)?;
        let stored = key.encode();
        self.device = Some(key);
        self.sync_egress(now);
        Ok(stored)
    }

    /// Reads the stored device key (storage is its only truth: another tab may have replaced
    /// or removed it). A record that does not check out is not used.
    pub fn load_device_key(&mut self, stored: Option<&str>, now: Millis) -> Vec<Warning> {
        let mut warnings = Vec::new();
        self.device = match stored.map(DeviceKey::decode) {
            None => None,
            Some(Ok(key)) => {
                self.erased_at = self.erased_at.max(key.erased_before);
                Some(key)
            }
            Some(Err(e)) => {
                warnings.push(Warning::from_error(&e));
                None
            }
        };
        self.sync_egress(now);
        warnings
    }

    /// The browser lost the key's private half (its key store was cleared, the rest kept): the
    /// key can prove nothing any more, so it is dropped with the ids filed under it, and a new key
    /// and new ids are made for what leaves from now on. False if `public_key` is not the key.
    pub fn retire_device_key(&mut self, public_key: &str, now: Millis) -> bool {
        if self.device.as_ref().is_none_or(|d| d.public_key != public_key) {
            return false;
        }
        self.device = None;
        self.pseudonyms = PseudonymousIds::default();
        self.sync_egress(now);
        true
    }

    pub fn device_key(&self) -> Option<&DeviceKey> {
        self.device.as_ref()
    }

    /// A request for the collector's copy or an erasure, to be signed with the device key.
    pub fn rights_request(&mut self, action: &str, now: Millis) -> Result<RightsRequest, PrivacyError> {
        let action = RightsAction::parse(action).ok_or_else(|| PrivacyError::Invalid {
            field: "action".into(),
            message: format!("expected \"export\" or \"erase\", found {action:?}"),
        })?;
        let key = self.device.as_ref().ok_or(PrivacyError::NoDeviceKey)?;
        let nonce = self.ids.next_hex128();
        Ok(RightsRequest::new(action, &self.endpoint, &self.site_id, now, nonce, key))
    }

    /// Reads the collector's answer. After an erasure this device's identity is retired: its
    /// pseudonymous ids and key are forgotten and nothing captured until now leaves (a new key
    /// and new ids are made if a purpose that sends data is still granted).
    pub fn rights_answer(
        &mut self,
        request: &RightsRequest,
        status: u16,
        body: &str,
        now: Millis,
    ) -> Result<Value, PrivacyError> {
        let key =
            self.device.as_ref().filter(|k| k.public_key == request.public_key).ok_or(PrivacyError::NoDeviceKey)?;
        let answer = read_rights_response(request, key, status, body)?;
        if request.action == RightsAction::Erase {
            self.erased_at = Some(now.max(request.at));
            self.device = None;
            self.sync_egress(now);
        }
        Ok(answer)
    }

    /// Deletes the stored answer to `question`; false if there was none.
    pub fn forget_answer(&mut self, question: &str, now: Millis) -> bool {
        let before = self.profile.answers.len();
        self.profile.answers.retain(|a| a.question != question);
        self.sync_egress(now);
        self.profile.answers.len() != before
    }

    /// The visitor's stored answers in words, in the best of `languages`.
    pub fn privacy_answers(&self, languages: &[String]) -> Vec<PrivacyAnswer> {
        let config = self.prompts.as_ref();
        self.profile
            .answers
            .iter()
            .map(|a| {
                let question = config.and_then(|c| c.question(&a.question));
                let default = config.map_or("en", |c| c.default_language.as_str());
                let (text, why, used_for, retention_days, answer) = match question {
                    Some(q) => {
                        let language = pick_language(&q.text, languages, default);
                        let pick = |t: &BTreeMap<String, String>| {
                            t.get(&language).or_else(|| t.get(default)).cloned().unwrap_or_default()
                        };
                        let label = |id: &str| {
                            q.options.iter().find(|o| o.id == id).map_or_else(|| id.to_owned(), |o| pick(&o.label))
                        };
                        let answer = match (&q.kind, &a.value) {
                            (Kind::YesNo, Value::Bool(b)) => if *b { "Yes" } else { "No" }.to_owned(),
                            (_, Value::String(s)) if !q.options.is_empty() => label(s),
                            (_, Value::Array(ids)) => {
                                ids.iter().filter_map(Value::as_str).map(label).collect::<Vec<_>>().join(", ")
                            }
                            (_, Value::String(s)) => s.clone(),
                            (_, other) => other.to_string(),
                        };
                        (pick(&q.text), pick(&q.why), pick(&q.used_for), q.retention_days, answer)
                    }
                    None => (a.question.clone(), String::new(), String::new(), 0, a.value.to_string()),
                };
                PrivacyAnswer {
                    question: a.question.clone(),
                    text,
                    answer,
                    value: a.value.clone(),
                    purpose: a.purpose.to_string(),
                    why,
                    used_for,
                    retention_days,
                    at: a.at,
                    expires: a.expires,
                }
            })
            .collect()
    }

    /// Interests inferred from the visitor's own signals (faded like the ranker fades them),
    /// strongest first. Needs the catalogue (for the items' tags).
    pub fn interests(&self, now: Millis) -> Vec<Interest> {
        let catalog = &self.recs.catalog;
        // Per tag: the summed faded weight, and the items behind it (newest first). A few tags
        // at most: a list is smaller in the wasm than a map.
        let mut by_tag: Vec<(&str, f32, Vec<String>)> = Vec::new();
        for s in self.rec_signals.history.iter().rev() {
            let Some(i) = catalog.position(&s.item) else { continue };
            let w = s.faded_weight(&self.recs.config, now);
            let count = catalog.tags_of(i).count() as f32;
            for tag in catalog.tags_of(i) {
                let at = match by_tag.iter().position(|t| t.0 == tag) {
                    Some(at) => at,
                    None => {
                        by_tag.push((tag, 0.0, Vec::new()));
                        by_tag.len() - 1
                    }
                };
                let entry = &mut by_tag[at];
                entry.1 += w / count;
                if !entry.2.contains(&s.item) {
                    entry.2.push(s.item.clone());
                }
            }
        }
        let strongest = by_tag.iter().map(|t| t.1).fold(0.0f32, f32::max);
        let mut out: Vec<Interest> = by_tag
            .into_iter()
            .filter(|t| t.1.is_finite() && t.1 > 0.0 && strongest > 0.0)
            .map(|(tag, w, items)| {
                let strength = (f64::from(w / strongest) * 100.0).round() / 100.0;
                let level = if strength >= 0.66 {
                    "strong"
                } else if strength >= 0.33 {
                    "some"
                } else {
                    "slight"
                };
                Interest { tag: tag.to_owned(), strength, level, items }
            })
            .collect();
        out.sort_by(|a, b| b.strength.total_cmp(&a.strength).then_with(|| a.tag.cmp(&b.tag)));
        out
    }

    /// Forgets an inferred interest by forgetting the remembered items it comes from.
    pub fn forget_interest(&mut self, tag: &str, now: Millis) -> bool {
        let items: Vec<String> =
            self.interests(now).into_iter().filter(|i| i.tag == tag).flat_map(|i| i.items).collect();
        for item in &items {
            self.rec_signals.forget(&self.recs.config, item, now);
        }
        self.sync_egress(now);
        !items.is_empty()
    }

    fn remembered_items(&self) -> Vec<RememberedItem> {
        let catalog = &self.recs.catalog;
        self.rec_signals
            .history
            .iter()
            .rev()
            .take(MAX_ITEMS_SHOWN)
            .map(|s| RememberedItem {
                item: s.item.clone(),
                title: catalog.position(&s.item).map(|i| catalog.item(i).title.clone()),
                kind: s.kind.name(),
                at: s.at,
            })
            .collect()
    }

    /// Everything the privacy centre shows that the core holds.
    pub fn privacy_data(&mut self, languages: &[String], now: Millis) -> PrivacyData {
        self.sync_egress(now);
        PrivacyData {
            site_id: self.site_id.clone(),
            generated_at: now,
            history: self.log.entries().to_vec(),
            history_verified: self.log.verify().is_ok(),
            answers: self.privacy_answers(languages),
            interests: self.interests(now),
            recent_items: self.remembered_items(),
            muted: self.rec_signals.muted().map(str::to_owned).collect(),
            queued: self.egress.queued() + self.egress.buffered(),
            device_key: self.device.is_some(),
        }
    }

    /// The device export (`attune-export/1`, docs/privacy.md): everything in plain sections,
    /// and `storage`, every stored key exactly as stored (`stored`: key and raw value).
    pub fn export_device(&mut self, stored: &[(String, String)], languages: &[String], now: Millis) -> Value {
        let data = self.privacy_data(languages, now);
        let storage: Map<String, Value> = stored
            .iter()
            .map(|(k, raw)| (k.clone(), serde_json::from_str(raw).unwrap_or_else(|_| Value::from(raw.clone()))))
            .collect();
        let recommendations =
            self.rec_signals_snapshot().and_then(|raw| serde_json::from_str(&raw).ok()).unwrap_or(Value::Null);
        let device = self.device.as_ref().map_or(Value::Null, |d| {
            serde_json::json!({ "keyHash": d.key_hash, "publicKey": d.public_key, "created": d.created,
                                "erasedBefore": d.erased_before })
        });
        serde_json::json!({
            "format": EXPORT_FORMAT,
            "source": "device",
            "siteId": self.site_id,
            "generatedAt": now,
            "consent": self.receipt(now),
            "answers": data.answers,
            "interests": data.interests,
            "recentItems": data.recent_items,
            "recommendations": recommendations,
            "pseudonymousIds": self.pseudonyms.entries(),
            "queuedEvents": self.egress.to_store(),
            "egressLog": self.egress_log(),
            "device": device,
            "storage": storage,
        })
    }

    /// Forgets everything held about the visitor in this tab (the bindings remove every stored
    /// key): consent, answers, signals, ids, the queue, the egress log and the device key. The
    /// visitor is asked for consent again.
    pub fn clear_all(&mut self, now: Millis) {
        self.forget_everything();
        self.log = ConsentLog::default();
        self.sync_egress(now);
    }

    pub(super) fn forget_everything(&mut self) {
        self.egress = Egress::new(limits(&self.config));
        self.pseudonyms = PseudonymousIds::default();
        self.sent = EgressLog::default();
        self.profile = ProfileState::default();
        self.rec_signals = RecSignals::default();
        self.device = None;
        self.erased_at = None;
        self.failures = 0;
        self.batch_cap = None;
    }
}
