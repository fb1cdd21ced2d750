//! The egress manifest: every field that can ever leave the device, with its purpose,
//! destination and retention, derived from the site's config — as JSON for machines and as a
//! table for people.

use crate::config::ValidConfig;
use crate::purpose::PurposeId;
use serde::Serialize;

/// Everything that can leave, by purpose.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct EgressManifest {
    /// `"attune-egress-manifest/1"`.
    pub format: String,
    pub site_id: String,
    /// Where every payload goes: the site's own collector.
    pub destination: String,
    pub purposes: Vec<ManifestPurpose>,
    /// One row per field × purpose: the human-readable table.
    pub rows: Vec<ManifestRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct ManifestPurpose {
    pub purpose: PurposeId,
    pub label: String,
    pub retention_days: u32,
    /// Days between new pseudonymous ids; `null` when events of this purpose carry no id.
    pub pseudonymous_id_rotate_days: Option<u32>,
    pub events: Vec<ManifestEvent>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct ManifestEvent {
    pub name: String,
    pub props: Vec<ManifestProp>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct ManifestProp {
    pub name: String,
    /// How the value is coarsened, in words.
    pub sent_as: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct ManifestRow {
    /// The field's path in the payload, e.g. `events[].props.path`.
    pub field: String,
    pub purpose: PurposeId,
    /// Events that carry it (empty: every event of the purpose, or the batch envelope).
    pub events: Vec<String>,
    pub sent_as: String,
    pub destination: String,
    pub retention_days: u32,
}

/// Fields of every event, whatever its purpose.
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("events[].id", "random id of the event (lets the collector store it once)"),
    ("events[].name", "event name"),
    ("events[].purpose", "purpose id"),
    ("events[].ts", "time of the event, in milliseconds"),
];

/// Fields of every batch; they travel with the events of any purpose.
pub const ENVELOPE_FIELDS: &[(&str, &str)] = &[
    ("v", "wire format version"),
    ("siteId", "the site's public id"),
    ("sentAt", "time the batch was sent"),
    ("consent.receiptHash", "fingerprint of your consent record (proof of consent)"),
    ("consent.granted", "purposes you granted"),
];

impl EgressManifest {
    pub fn from_config(config: &ValidConfig, site_id: &str, destination: &str) -> Self {
        let mut purposes = Vec::new();
        let mut rows = Vec::new();
        let any_pid = config.collect.values().any(|c| c.pseudonymous_id.is_some());
        for (purpose, collect) in &config.collect {
            let label = config.purpose(purpose).map_or_else(|| purpose.to_string(), |p| p.label.clone());
            let rotate = collect.pseudonymous_id.as_ref().map(|p| p.rotate_days);
            let row = |field: String, events: Vec<String>, sent_as: String| ManifestRow {
                field,
                purpose: purpose.clone(),
                events,
                sent_as,
                destination: destination.to_owned(),
                retention_days: collect.retention_days,
            };
            if collect.events.is_empty() {
                continue;
            }
            for (field, sent_as) in ENVELOPE_FIELDS.iter().chain(EVENT_FIELDS) {
                rows.push(row((*field).into(), Vec::new(), (*sent_as).into()));
            }
            if let Some(days) = rotate {
                let sent_as = format!("pseudonymous id of this purpose only, replaced every {days} days");
                rows.push(row("events[].pid".into(), Vec::new(), sent_as));
            }
            if any_pid {
                // In the envelope: it goes with every event of a batch that carries an id.
                let sent_as = "fingerprint of this device's key, with batches that carry a pseudonymous id: lets \
                               the site find this device's data when you ask for a copy or deletion";
                rows.push(row("device".into(), Vec::new(), sent_as.into()));
            }
            // (prop, how it is sent) → events carrying it, in first-seen order.
            let mut props: Vec<(&str, String, Vec<String>)> = Vec::new();
            let mut events = Vec::new();
            for (name, spec) in &collect.events {
                let mut event_props = Vec::new();
                for (prop, rule) in spec {
                    let sent_as = rule.describe();
                    match props.iter_mut().find(|(p, s, _)| *p == prop.as_str() && *s == sent_as) {
                        Some((_, _, events)) => events.push(name.clone()),
                        None => props.push((prop.as_str(), sent_as.clone(), vec![name.clone()])),
                    }
                    event_props.push(ManifestProp { name: prop.clone(), sent_as });
                }
                events.push(ManifestEvent { name: name.clone(), props: event_props });
            }
            for (prop, sent_as, events) in props {
                rows.push(row(format!("events[].props.{prop}"), events, sent_as));
            }
            purposes.push(ManifestPurpose {
                purpose: purpose.clone(),
                label,
                retention_days: collect.retention_days,
                pseudonymous_id_rotate_days: rotate,
                events,
            });
        }
        Self {
            format: "attune-egress-manifest/1".into(),
            site_id: site_id.to_owned(),
            destination: destination.to_owned(),
            purposes,
            rows,
        }
    }

    /// The rows as a Markdown table.
    pub fn to_markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = String::from(
            "| Field | Purpose | Events | Sent as | Destination | Kept for |\n|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            let events = if r.events.is_empty() { "all".to_owned() } else { r.events.join(", ") };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} days |\n",
                cell(&r.field),
                r.purpose,
                cell(&events),
                cell(&r.sent_as),
                cell(&r.destination),
                r.retention_days
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> EgressManifest {
        let config = ValidConfig::from_json(
            r#"{"collect":{
                "analytics":{"retentionDays":395,"pseudonymousId":{"rotateDays":30},
                  "events":{"page_view":{"path":"urlPath"},"product_view":{"path":"urlPath","productId":"token"}}},
                "marketing":{"retentionDays":90,"events":{"add_to_cart":{"price":{"bucket":[10,50]}}}}}}"#,
        )
        .unwrap();
        EgressManifest::from_config(&config, "shop", "/v1/batch")
    }

    #[test]
    fn lists_every_field_by_purpose_with_destination_and_retention() {
        let m = manifest();
        let fields = |purpose: &str| -> Vec<String> {
            m.rows.iter().filter(|r| r.purpose.as_str() == purpose).map(|r| r.field.clone()).collect()
        };
        let analytics = fields("analytics");
        assert!(analytics.contains(&"events[].pid".to_owned()));
        assert!(analytics.contains(&"events[].props.productId".to_owned()));
        assert!(analytics.contains(&"consent.receiptHash".to_owned()));
        let marketing = fields("marketing");
        assert!(!marketing.contains(&"events[].pid".to_owned()), "marketing declares no id");
        let path = m.rows.iter().find(|r| r.field == "events[].props.path").unwrap();
        assert_eq!(path.events, ["page_view", "product_view"]);
        assert_eq!((path.destination.as_str(), path.retention_days), ("/v1/batch", 395));
        let price = m.rows.iter().find(|r| r.field == "events[].props.price").unwrap();
        assert_eq!(price.sent_as, "range: <10, 10-50, >=50");
    }

    #[test]
    fn renders_a_table_people_can_read() {
        let table = manifest().to_markdown();
        assert!(table.starts_with("| Field | Purpose |"));
        assert!(table.contains("| `events[].props.productId` | analytics | product_view | identifier"), "{table}");
        assert!(table.contains("| 90 days |"));
    }
}
