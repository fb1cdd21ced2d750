//! Google Consent Mode v2: which consent types each purpose's state maps to.

use super::state::PurposeState;
use crate::purpose::{ANALYTICS, MARKETING, PERSONALIZATION};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub enum GcmValue {
    Granted,
    Denied,
}

/// The `gtag('consent', …)` argument for the current states. `security_storage` is always
/// granted (it is what `necessary` covers); everything else follows its purpose and is denied
/// unless that purpose is granted.
pub fn google_consent_mode(states: &[PurposeState]) -> BTreeMap<&'static str, GcmValue> {
    let granted = |id: &str| {
        if states.iter().any(|s| s.id.as_str() == id && s.granted()) {
            GcmValue::Granted
        } else {
            GcmValue::Denied
        }
    };
    BTreeMap::from([
        ("analytics_storage", granted(ANALYTICS)),
        ("ad_storage", granted(MARKETING)),
        ("ad_user_data", granted(MARKETING)),
        ("ad_personalization", granted(MARKETING)),
        ("personalization_storage", granted(PERSONALIZATION)),
        ("functionality_storage", granted(PERSONALIZATION)),
        ("security_storage", GcmValue::Granted),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ValidConfig;
    use crate::consent::log::{Change, ChoiceSource, ConsentLog, Decision};
    use crate::consent::state::{resolve, Signals};
    use crate::purpose::PurposeId;
    use crate::time::Millis;

    #[test]
    fn maps_each_purpose_to_its_consent_types() {
        let config = ValidConfig::from_json("{}").unwrap();
        let none = google_consent_mode(&resolve(&config, &ConsentLog::default(), Signals::default(), Millis(5)));
        assert!(none.iter().all(|(k, v)| (*k == "security_storage") == (*v == GcmValue::Granted)), "{none:?}");

        let mut log = ConsentLog::default();
        let change = |id: &str| Change { purpose: PurposeId::parse(id).unwrap(), decision: Decision::Granted };
        log.append(Millis(1), ChoiceSource::Banner, 1, &config.policy_hash, vec![change("marketing")]);
        let map = google_consent_mode(&resolve(&config, &log, Signals::default(), Millis(5)));
        assert_eq!(map["ad_storage"], GcmValue::Granted);
        assert_eq!(map["ad_user_data"], GcmValue::Granted);
        assert_eq!(map["ad_personalization"], GcmValue::Granted);
        assert_eq!(map["analytics_storage"], GcmValue::Denied);
        assert_eq!(map.len(), 7);
    }
}
