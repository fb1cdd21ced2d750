//! The retention job's deletions.

use rusqlite::params;

use super::{PurgeCounts, Store, StoreError};
use crate::retention::Retention;

impl Store {
    /// Deletes, in one transaction, what has outlived its retention at
    /// `now` (ms since the epoch):
    ///
    /// - events whose `min(ts, received_at)` is at least their purpose's
    ///   retention before `now`;
    /// - receipts last seen at least the longest retention ago (and their
    ///   links to device keys);
    /// - pid registrations last seen that long ago that no stored event
    ///   carries any more, then device keys last seen that long ago with no
    ///   pid or receipt left under them;
    /// - suppression entries that old: anything an erased device could
    ///   still resend is expired at ingest by then.
    pub fn purge_expired(&self, retention: &Retention, now: i64) -> Result<PurgeCounts, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let purposes: Vec<String> = tx
            .prepare_cached("SELECT DISTINCT purpose FROM events")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut events = 0;
        for purpose in &purposes {
            events += tx
                .prepare_cached("DELETE FROM events WHERE purpose = ?1 AND min(ts, received_at) <= ?2")?
                .execute(params![purpose, retention.cutoff(purpose, now)])?;
        }

        let cutoff = retention.longest_cutoff(now);
        let receipts = tx.prepare_cached("DELETE FROM receipts WHERE last_seen <= ?1")?.execute([cutoff])?;
        tx.prepare_cached(
            "DELETE FROM receipt_links WHERE NOT EXISTS (
                 SELECT 1 FROM receipts r
                 WHERE r.site_id = receipt_links.site_id AND r.hash = receipt_links.hash
                   AND r.granted = receipt_links.granted)",
        )?
        .execute([])?;
        let pseudonymous_ids = tx
            .prepare_cached(
                "DELETE FROM device_pids WHERE last_seen <= ?1 AND NOT EXISTS (
                     SELECT 1 FROM events e
                     WHERE e.site_id = device_pids.site_id AND e.pid = device_pids.pid
                       AND e.purpose = device_pids.purpose)",
            )?
            .execute([cutoff])?;
        let devices = tx
            .prepare_cached(
                "DELETE FROM devices WHERE last_seen <= ?1
                 AND NOT EXISTS (SELECT 1 FROM device_pids d
                                 WHERE d.site_id = devices.site_id AND d.key_hash = devices.key_hash)
                 AND NOT EXISTS (SELECT 1 FROM receipt_links l
                                 WHERE l.site_id = devices.site_id AND l.key_hash = devices.key_hash)",
            )?
            .execute([cutoff])?;
        let suppressions = tx.prepare_cached("DELETE FROM suppressions WHERE at <= ?1")?.execute([cutoff])?;
        tx.commit()?;
        Ok(PurgeCounts { events, receipts, pseudonymous_ids, devices, suppressions })
    }
}
