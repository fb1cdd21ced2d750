//! The retention job's deletions.

use rusqlite::params;

use super::{PurgeCounts, Store, StoreError};
use crate::proof::NONCE_KEPT_MS;
use crate::retention::Retention;

impl Store {
    /// Deletes, in one transaction, what has outlived its retention at
    /// `now` (ms since the epoch):
    ///
    /// - events whose `min(ts, received_at)` is at least their purpose's
    ///   retention before `now`;
    /// - receipts last seen at least the longest retention ago, and the
    ///   sightings of receipts with a device key last seen that long ago;
    /// - pid registrations last seen that long ago that no stored event
    ///   carries any more, then device keys last seen that long ago with no
    ///   pid or receipt sighting left under them;
    /// - erasure records that old (they hold a key hash);
    /// - suppression entries older than the longest retention plus a day:
    ///   anything an erased device could still resend is expired at ingest
    ///   by then (an event's `ts` is at most a day ahead of the collector's
    ///   clock, or it is refused);
    /// - the nonces of rights requests signed at least [`NONCE_KEPT_MS`]
    ///   ago: such a request is stale, it can no longer be replayed.
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
        // A sighting is never seen later than its receipt row: both are touched by the same batches.
        tx.prepare_cached("DELETE FROM receipt_sightings WHERE last_seen <= ?1")?.execute([cutoff])?;
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
                 AND NOT EXISTS (SELECT 1 FROM receipt_sightings l
                                 WHERE l.site_id = devices.site_id AND l.key_hash = devices.key_hash)",
            )?
            .execute([cutoff])?;
        let erasures = tx.prepare_cached("DELETE FROM erasures WHERE erased_at <= ?1")?.execute([cutoff])?;
        let suppressions = tx
            .prepare_cached("DELETE FROM suppressions WHERE at <= ?1")?
            .execute([retention.suppression_cutoff(now)])?;
        let nonces = tx
            .prepare_cached("DELETE FROM rights_nonces WHERE at <= ?1")?
            .execute([now.saturating_sub(NONCE_KEPT_MS)])?;
        tx.commit()?;
        Ok(PurgeCounts { events, receipts, pseudonymous_ids, devices, suppressions, erasures, nonces })
    }
}
