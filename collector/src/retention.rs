//! How long events are kept: per purpose from the site's SDK config
//! (`collect.<purpose>.retentionDays`), a default for every other purpose.
//!
//! An event expires `retentionDays` after the earlier of its capture time
//! (`ts`, the device's clock, which can run ahead) and the time it reached
//! the collector. The retention job deletes what has expired; an event that
//! has already expired when it arrives is rejected (`expired`), and so is an
//! event stamped more than a day ahead of the collector's clock
//! (`from_the_future`). Together they let the job drop suppression entries
//! once they are older than the longest retention plus a day: anything an
//! erased device could still resend is expired by then.

use std::collections::BTreeMap;

use crate::validate::{Batch, Rejection, ValidationError};

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Days kept for a purpose the site config does not declare.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Longest retention the SDK config allows (`retentionDays` is 1–3650).
pub const MAX_RETENTION_DAYS: u32 = 3650;
/// How far an event's `ts` may be ahead of the collector's clock: one day.
/// Suppression entries are kept this much longer than the longest retention.
pub const MAX_AHEAD_MS: i64 = DAY_MS;

/// Retention periods, in days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// For purposes not in `purposes`.
    pub default_days: u32,
    /// Purpose id → days, from the site config.
    pub purposes: BTreeMap<String, u32>,
}

impl Default for Retention {
    fn default() -> Self {
        Self::new(DEFAULT_RETENTION_DAYS)
    }
}

impl Retention {
    /// The same period for every purpose.
    pub fn new(default_days: u32) -> Self {
        Self { default_days, purposes: BTreeMap::new() }
    }

    /// Reads `collect.<purpose>.retentionDays` from the site's SDK config,
    /// validated exactly as the SDK validates it.
    pub fn from_site_config(json: &str, default_days: u32) -> Result<Self, attune_core::ConfigError> {
        let config = attune_core::ValidConfig::from_json(json)?;
        let purposes = config
            .collect
            .iter()
            .map(|(purpose, collect)| (purpose.as_str().to_owned(), collect.retention_days))
            .collect();
        Ok(Self { default_days, purposes })
    }

    /// Days kept for `purpose`.
    pub fn days(&self, purpose: &str) -> u32 {
        self.purposes.get(purpose).copied().unwrap_or(self.default_days)
    }

    /// The longest period of any purpose, the default included.
    pub fn longest_days(&self) -> u32 {
        self.purposes.values().copied().fold(self.default_days, u32::max)
    }

    /// Events of `purpose` captured or received at or before this time are
    /// expired at `now`.
    pub fn cutoff(&self, purpose: &str, now: i64) -> i64 {
        now.saturating_sub(i64::from(self.days(purpose)) * DAY_MS)
    }

    /// Receipts, registrations and erasure records last touched at or
    /// before this time are dropped at `now`.
    pub fn longest_cutoff(&self, now: i64) -> i64 {
        now.saturating_sub(i64::from(self.longest_days()) * DAY_MS)
    }

    /// Suppression entries made at or before this time are dropped at
    /// `now`: a day before [`Retention::longest_cutoff`]. An event sent
    /// before an erasure had a `ts` at most [`MAX_AHEAD_MS`] past its
    /// arrival, so at most a day past the erasure; once the entry is gone,
    /// that `ts` is at least the longest retention old and the event is
    /// expired on arrival.
    pub fn suppression_cutoff(&self, now: i64) -> i64 {
        self.longest_cutoff(now).saturating_sub(MAX_AHEAD_MS)
    }

    /// Moves the batch's events stamped more than [`MAX_AHEAD_MS`] ahead of
    /// `now` into its rejections (code `from_the_future`), keeping the
    /// rejections in body order.
    pub fn reject_from_the_future(batch: &mut Batch, now: i64) {
        let mut ahead = Vec::new();
        batch.events.retain(|event| {
            if event.ts <= now.saturating_add(MAX_AHEAD_MS) {
                return true;
            }
            let error = ValidationError::FromTheFuture {
                field: format!("events[{}].ts", event.index),
                ahead_ms: event.ts - now,
            };
            ahead.push(Rejection::new(event.index, Some(event.id.clone()), &error));
            false
        });
        if !ahead.is_empty() {
            batch.rejected.extend(ahead);
            batch.rejected.sort_by_key(|r| r.index);
        }
    }

    /// Moves the batch's events that have already expired at `now` into its
    /// rejections (code `expired`), keeping the rejections in body order.
    pub fn reject_expired(&self, batch: &mut Batch, now: i64) {
        let mut expired = Vec::new();
        batch.events.retain(|event| {
            if event.ts.min(now) > self.cutoff(&event.purpose, now) {
                return true;
            }
            let error = ValidationError::Expired {
                field: format!("events[{}].ts", event.index),
                purpose: event.purpose.clone(),
                retention_days: self.days(&event.purpose),
            };
            expired.push(Rejection::new(event.index, Some(event.id.clone()), &error));
            false
        });
        if !expired.is_empty() {
            batch.rejected.extend(expired);
            batch.rejected.sort_by_key(|r| r.index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::validate_batch;
    use serde_json::json;

    const SITE_CONFIG: &str = r#"{"collect": {
        "analytics": {"retentionDays": 10, "events": {"page_view": {}}},
        "marketing": {"retentionDays": 2, "events": {"add_to_cart": {}}}
    }}"#;

    #[test]
    fn periods_come_from_the_site_config_with_a_default_for_the_rest() {
        let r = Retention::from_site_config(SITE_CONFIG, 30).unwrap();
        assert_eq!((r.days("analytics"), r.days("marketing"), r.days("other")), (10, 2, 30));
        assert_eq!(r.longest_days(), 30);
        assert_eq!(Retention::from_site_config(SITE_CONFIG, 1).unwrap().longest_days(), 10);
        assert_eq!(Retention::new(7).days("analytics"), 7);
        let bad = Retention::from_site_config(r#"{"collect": {"analytics": {"retentionDays": 0, "events": {}}}}"#, 30);
        assert!(bad.unwrap_err().to_string().contains("collect.analytics.retentionDays"));
        assert!(Retention::from_site_config(r#"{"colect": {}}"#, 30).is_err(), "typos are errors, as in the SDK");
    }

    #[test]
    fn events_already_past_their_retention_are_rejected_as_expired_in_body_order() {
        let r = Retention::from_site_config(SITE_CONFIG, 30).unwrap();
        let now = 100 * DAY_MS;
        let event = |id: u8, purpose: &str, ts: i64| json!({"id": format!("{id:032x}"), "name": "n", "purpose": purpose, "ts": ts, "props": {}});
        let body = json!({
            "v": 1, "siteId": "s", "sentAt": now,
            "consent": {"receiptHash": "a".repeat(64), "granted": ["analytics", "marketing", "other"]},
            "events": [
                event(0, "analytics", now - 10 * DAY_MS),       // exactly at the boundary: expired
                event(1, "analytics", now - 10 * DAY_MS + 1),   // one ms inside
                {"id": "bad"},
                event(3, "marketing", now - 2 * DAY_MS - 1),    // expired
                event(4, "other", now - 29 * DAY_MS),
                event(5, "marketing", now + 50 * DAY_MS),       // device clock ahead: counted from now
            ]
        });
        let mut batch = validate_batch(&body).unwrap();
        r.reject_expired(&mut batch, now);
        let kept: Vec<_> = batch.events.iter().map(|e| e.index).collect();
        assert_eq!(kept, [1, 4, 5]);
        let rejected: Vec<_> = batch.rejected.iter().map(|r| (r.index, r.code, r.field.as_str())).collect();
        assert_eq!(
            rejected,
            [(0, "expired", "events[0].ts"), (2, "invalid_field", "events[2].id"), (3, "expired", "events[3].ts")]
        );
        assert_eq!(batch.rejected[0].id.as_deref(), Some(format!("{:032x}", 0).as_str()));
        assert!(batch.rejected[2].message.contains("2-day retention of purpose \"marketing\""));
    }

    #[test]
    fn events_more_than_a_day_ahead_are_rejected_as_from_the_future_in_body_order() {
        let now = 100 * DAY_MS;
        let event = |id: u8, ts: i64| json!({"id": format!("{id:032x}"), "name": "n", "purpose": "analytics", "ts": ts, "props": {}});
        let body = json!({
            "v": 1, "siteId": "s", "sentAt": now,
            "consent": {"receiptHash": "a".repeat(64), "granted": ["analytics"]},
            "events": [
                event(0, now + DAY_MS + 1),   // one ms too far
                {"id": "bad"},
                event(2, now + DAY_MS),       // exactly a day ahead: fine
                event(3, i64::MAX),
                event(4, now),
            ]
        });
        let mut batch = validate_batch(&body).unwrap();
        Retention::reject_from_the_future(&mut batch, now);
        assert_eq!(batch.events.iter().map(|e| e.index).collect::<Vec<_>>(), [2, 4]);
        let rejected: Vec<_> = batch.rejected.iter().map(|r| (r.index, r.code, r.field.as_str())).collect();
        assert_eq!(
            rejected,
            [
                (0, "from_the_future", "events[0].ts"),
                (1, "invalid_field", "events[1].id"),
                (3, "from_the_future", "events[3].ts")
            ]
        );
        assert!(
            batch.rejected[0].message.contains("24.0 hours ahead of the collector's clock"),
            "{}",
            batch.rejected[0].message
        );
    }

    #[test]
    fn suppression_entries_outlive_the_longest_retention_by_the_allowed_clock_lead() {
        let r = Retention::from_site_config(SITE_CONFIG, 3).unwrap();
        let now = 100 * DAY_MS;
        assert_eq!(r.longest_cutoff(now), now - 10 * DAY_MS);
        assert_eq!(r.suppression_cutoff(now), now - 11 * DAY_MS);
    }
}
