//! What a device key proves: a copy of everything filed under it, and its
//! erasure. Each answered request spends its nonce, in the same transaction.

use std::collections::BTreeSet;

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::Value;

use super::{Store, StoreError, SuppressionKind};
use crate::digest::sha256_hex;

/// Everything a site holds under one device key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceExport {
    /// `None` when the key was never seen (or has been erased).
    pub device: Option<DeviceRecord>,
    pub pseudonymous_ids: Vec<PseudonymousId>,
    pub events: Vec<ExportedEvent>,
    pub receipts: Vec<ExportedReceipt>,
}

/// A device key as the collector knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRecord {
    pub key_hash: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// A pid filed under the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PseudonymousId {
    pub purpose: String,
    pub id: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// A stored event that belongs to the key: it arrived in a batch carrying
/// the key, or its pid was filed under the key when it arrived.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedEvent {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub ts: i64,
    pub props: Value,
    pub pid: String,
    pub received_at: i64,
}

/// A consent receipt as seen with the key: `first_seen` and `last_seen` are
/// those of the key's own batches, not of anyone else's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedReceipt {
    pub hash: String,
    pub granted: Vec<String>,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// What one erasure removed and suppressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasureCounts {
    /// Events that belonged to the key.
    pub events: usize,
    /// Receipt rows with a hash seen with the key.
    pub receipts: usize,
    /// Pid registrations of the key.
    pub pseudonymous_ids: usize,
    /// Distinct pids now suppressed.
    pub suppressed_pids: usize,
}

impl Store {
    /// Everything `site` holds under the device key `key_hash`: the key's
    /// own record, its pids, the events that belong to it and the receipts
    /// seen with it, in the order they were stored. Spends `nonce` (the
    /// request's, signed at `at`): [`StoreError::NonceUsed`] if the key
    /// already used it.
    pub fn export(&self, site: &str, key_hash: &str, nonce: &str, at: i64) -> Result<DeviceExport, StoreError> {
        let mut conn = self.conn()?;
        // One transaction: a consistent picture, and the nonce is spent only if the export is made.
        let tx = conn.transaction()?;
        spend_nonce(&tx, site, key_hash, nonce, at)?;
        let device = tx
            .prepare_cached("SELECT first_seen, last_seen FROM devices WHERE site_id = ?1 AND key_hash = ?2")?
            .query_row(params![site, key_hash], |r| {
                Ok(DeviceRecord { key_hash: key_hash.to_owned(), first_seen: r.get(0)?, last_seen: r.get(1)? })
            })
            .optional()?;

        let pseudonymous_ids = tx
            .prepare_cached(
                "SELECT purpose, pid, first_seen, last_seen FROM device_pids
                 WHERE site_id = ?1 AND key_hash = ?2 ORDER BY rowid",
            )?
            .query_map(params![site, key_hash], |r| {
                Ok(PseudonymousId { purpose: r.get(0)?, id: r.get(1)?, first_seen: r.get(2)?, last_seen: r.get(3)? })
            })?
            .collect::<Result<Vec<_>, _>>()?;

        let mut events = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT id, name, purpose, ts, props, pid, received_at FROM events
                 WHERE site_id = ?1 AND key_hash = ?2 AND pid IS NOT NULL
                 ORDER BY rowid",
            )?;
            let mut rows = stmt.query(params![site, key_hash])?;
            while let Some(r) = rows.next()? {
                let props: String = r.get(4)?;
                events.push(ExportedEvent {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    purpose: r.get(2)?,
                    ts: r.get(3)?,
                    props: serde_json::from_str(&props)?,
                    pid: r.get(5)?,
                    received_at: r.get(6)?,
                });
            }
        }

        let mut receipts = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT hash, granted, first_seen, last_seen FROM receipt_sightings
                 WHERE site_id = ?1 AND key_hash = ?2
                 ORDER BY rowid",
            )?;
            let mut rows = stmt.query(params![site, key_hash])?;
            while let Some(r) = rows.next()? {
                let granted: String = r.get(1)?;
                receipts.push(ExportedReceipt {
                    hash: r.get(0)?,
                    granted: serde_json::from_str(&granted)?,
                    first_seen: r.get(2)?,
                    last_seen: r.get(3)?,
                });
            }
        }
        tx.commit()?;
        Ok(DeviceExport { device, pseudonymous_ids, events, receipts })
    }

    /// Erases everything `site` holds under `key_hash`, in one transaction:
    /// the events that belong to the key, every receipt row whose hash was
    /// seen with the key (a receipt hash is the head of one device's consent
    /// record: another key that sent it copied it) with every key's sighting
    /// of it, the key's pid registrations and its own record. The key and
    /// (the SHA-256 of) each pid filed under it are then suppressed, so
    /// nothing the device sends later is stored, and the erasure is recorded
    /// under `receipt_id`. Spends `nonce` (the request's, signed at
    /// `requested_at`): [`StoreError::NonceUsed`] if the key already used it.
    pub fn erase(
        &self,
        site: &str,
        key_hash: &str,
        nonce: &str,
        requested_at: i64,
        erased_at: i64,
        receipt_id: &str,
    ) -> Result<ErasureCounts, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        spend_nonce(&tx, site, key_hash, nonce, requested_at)?;
        let pids: BTreeSet<String> = tx
            .prepare_cached("SELECT pid FROM device_pids WHERE site_id = ?1 AND key_hash = ?2")?
            .query_map(params![site, key_hash], |r| r.get(0))?
            .collect::<Result<_, _>>()?;

        let events = tx
            .prepare_cached("DELETE FROM events WHERE site_id = ?1 AND key_hash = ?2 AND pid IS NOT NULL")?
            .execute(params![site, key_hash])?;

        let hashes: Vec<String> = tx
            .prepare_cached("SELECT DISTINCT hash FROM receipt_sightings WHERE site_id = ?1 AND key_hash = ?2")?
            .query_map(params![site, key_hash], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut receipts = 0;
        for hash in &hashes {
            receipts += tx
                .prepare_cached("DELETE FROM receipts WHERE site_id = ?1 AND hash = ?2")?
                .execute(params![site, hash])?;
            tx.prepare_cached("DELETE FROM receipt_sightings WHERE site_id = ?1 AND hash = ?2")?
                .execute(params![site, hash])?;
        }

        let pseudonymous_ids = tx
            .prepare_cached("DELETE FROM device_pids WHERE site_id = ?1 AND key_hash = ?2")?
            .execute(params![site, key_hash])?;
        tx.prepare_cached("DELETE FROM devices WHERE site_id = ?1 AND key_hash = ?2")?
            .execute(params![site, key_hash])?;

        {
            let mut suppress = tx.prepare_cached(
                "INSERT INTO suppressions (site_id, kind, hash, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (site_id, kind, hash) DO UPDATE SET at = max(at, excluded.at)",
            )?;
            suppress.execute(params![site, SuppressionKind::Key.as_str(), key_hash, erased_at])?;
            for pid in &pids {
                suppress.execute(params![
                    site,
                    SuppressionKind::Pid.as_str(),
                    sha256_hex(pid.as_bytes()),
                    erased_at
                ])?;
            }
        }
        let counts = ErasureCounts { events, receipts, pseudonymous_ids, suppressed_pids: pids.len() };
        tx.prepare_cached(
            "INSERT INTO erasures
                 (receipt_id, site_id, key_hash, requested_at, erased_at, events, receipts, pseudonymous_ids)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            receipt_id,
            site,
            key_hash,
            requested_at,
            erased_at,
            counts.events,
            counts.receipts,
            counts.pseudonymous_ids
        ])?;
        tx.commit()?;
        Ok(counts)
    }
}

/// Records that `key_hash` used `nonce` in a request signed at `at`, or
/// fails with [`StoreError::NonceUsed`] if it already did (the transaction
/// is then dropped: nothing of the request happens).
fn spend_nonce(tx: &Transaction<'_>, site: &str, key_hash: &str, nonce: &str, at: i64) -> Result<(), StoreError> {
    let fresh = tx
        .prepare_cached(
            "INSERT INTO rights_nonces (site_id, key_hash, nonce, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (site_id, key_hash, nonce) DO NOTHING",
        )?
        .execute(params![site, key_hash, nonce, at])?;
    if fresh == 0 {
        return Err(StoreError::NonceUsed);
    }
    Ok(())
}
