//! SQLite storage for events, consent receipts, and what the privacy
//! rights need: which device key each pseudonymous id belongs to, and which
//! keys and ids were erased and must not come back.
//!
//! One connection behind a mutex, in WAL mode with `synchronous = NORMAL`
//! (a commit survives a crash of the process; only an OS crash or power
//! loss can undo the last commits), and cached prepared statements. Every
//! method blocks: call them from `tokio::task::spawn_blocking`, never
//! directly on the async executor.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::Value;

use crate::digest::sha256_hex;
use crate::validate::{Batch, Event};

mod purge;
mod rights;

pub use rights::{DeviceExport, DeviceRecord, ErasureCounts, ExportedEvent, ExportedReceipt, PseudonymousId};

/// Schema migrations, applied in order. `PRAGMA user_version` records how
/// many have been applied. Append only; never edit a released entry.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    "CREATE TABLE events (
        id          TEXT PRIMARY KEY,
        site_id     TEXT NOT NULL,
        name        TEXT NOT NULL,
        purpose     TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        props       TEXT NOT NULL,
        received_at INTEGER NOT NULL
    );
    CREATE TABLE receipts (
        hash       TEXT PRIMARY KEY,
        site_id    TEXT NOT NULL,
        granted    TEXT NOT NULL,
        first_seen INTEGER NOT NULL
    );",
    // 2: the purpose-scoped pseudonymous id; one receipt per distinct
    // (site, hash, granted) with first and last sighting.
    "ALTER TABLE events ADD COLUMN pid TEXT;
    CREATE TABLE receipts_v2 (
        site_id    TEXT NOT NULL,
        hash       TEXT NOT NULL,
        granted    TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        UNIQUE (site_id, hash, granted)
    );
    INSERT INTO receipts_v2 (site_id, hash, granted, first_seen, last_seen)
        SELECT site_id, hash, granted, first_seen, first_seen FROM receipts ORDER BY rowid;
    DROP TABLE receipts;
    ALTER TABLE receipts_v2 RENAME TO receipts;",
    // 3: device keys and the pids filed under them, the receipts they sent,
    // suppression after erasure, and the record of each erasure.
    "CREATE TABLE devices (
        site_id    TEXT NOT NULL,
        key_hash   TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        PRIMARY KEY (site_id, key_hash)
    );
    CREATE TABLE device_pids (
        site_id    TEXT NOT NULL,
        purpose    TEXT NOT NULL,
        pid        TEXT NOT NULL,
        key_hash   TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        PRIMARY KEY (site_id, purpose, pid)
    );
    CREATE INDEX device_pids_by_key ON device_pids (site_id, key_hash);
    CREATE TABLE receipt_links (
        site_id  TEXT NOT NULL,
        key_hash TEXT NOT NULL,
        hash     TEXT NOT NULL,
        granted  TEXT NOT NULL,
        PRIMARY KEY (site_id, key_hash, hash, granted)
    );
    CREATE INDEX receipt_links_by_receipt ON receipt_links (site_id, hash, granted);
    CREATE TABLE suppressions (
        site_id TEXT NOT NULL,
        kind    TEXT NOT NULL CHECK (kind IN ('key', 'pid')),
        hash    TEXT NOT NULL,
        at      INTEGER NOT NULL,
        PRIMARY KEY (site_id, kind, hash)
    );
    CREATE TABLE erasures (
        receipt_id       TEXT PRIMARY KEY,
        site_id          TEXT NOT NULL,
        key_hash         TEXT NOT NULL,
        requested_at     INTEGER NOT NULL,
        erased_at        INTEGER NOT NULL,
        events           INTEGER NOT NULL,
        receipts         INTEGER NOT NULL,
        pseudonymous_ids INTEGER NOT NULL
    );
    CREATE INDEX events_by_pid ON events (site_id, pid) WHERE pid IS NOT NULL;",
    // 4: the key each event belongs to, decided when it arrives (filled for existing events whose
    // pid was filed under a key by the time they arrived; events stored before their pid was filed
    // are no key's); receipt sightings per key, with their own times, instead of bare links; the
    // nonces of answered rights requests.
    "ALTER TABLE events ADD COLUMN key_hash TEXT;
    UPDATE events SET key_hash = (
        SELECT d.key_hash FROM device_pids d
        WHERE d.site_id = events.site_id AND d.purpose = events.purpose AND d.pid = events.pid
          AND d.first_seen <= events.received_at)
    WHERE pid IS NOT NULL;
    CREATE INDEX events_by_key ON events (site_id, key_hash) WHERE key_hash IS NOT NULL;
    CREATE TABLE receipt_sightings (
        site_id    TEXT NOT NULL,
        key_hash   TEXT NOT NULL,
        hash       TEXT NOT NULL,
        granted    TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        PRIMARY KEY (site_id, key_hash, hash, granted)
    );
    CREATE INDEX receipt_sightings_by_hash ON receipt_sightings (site_id, hash);
    INSERT INTO receipt_sightings (site_id, key_hash, hash, granted, first_seen, last_seen)
        SELECT l.site_id, l.key_hash, l.hash, l.granted,
               max(r.first_seen, coalesce(d.first_seen, r.first_seen)),
               min(r.last_seen, coalesce(d.last_seen, r.last_seen))
        FROM receipt_links l
        JOIN receipts r ON r.site_id = l.site_id AND r.hash = l.hash AND r.granted = l.granted
        LEFT JOIN devices d ON d.site_id = l.site_id AND d.key_hash = l.key_hash
        ORDER BY r.rowid;
    DROP TABLE receipt_links;
    CREATE TABLE rights_nonces (
        site_id  TEXT NOT NULL,
        key_hash TEXT NOT NULL,
        nonce    TEXT NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (site_id, key_hash, nonce)
    );
    CREATE INDEX rights_nonces_by_at ON rights_nonces (at);
    CREATE INDEX erasures_by_time ON erasures (erased_at);",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema version {found} is newer than this collector supports ({supported})")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("stored JSON is corrupt: {0}")]
    CorruptJson(#[from] serde_json::Error),
    #[error("store mutex poisoned by an earlier panic")]
    Poisoned,
    /// A rights request's nonce was already used by an answered request of the same key.
    #[error("this nonce was already used by an answered rights request")]
    NonceUsed,
}

/// Counts for one stored batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InsertOutcome {
    /// Events that were new and are now stored.
    pub accepted: usize,
    /// Events whose id was already stored (not stored again).
    pub duplicates: usize,
    /// Events not stored because their device key or pid was erased.
    pub suppressed: usize,
}

/// What one run of the retention job deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeCounts {
    /// Expired events.
    pub events: usize,
    /// Consent receipts not seen for the longest retention.
    pub receipts: usize,
    /// Pid registrations not seen for the longest retention that no stored event uses.
    pub pseudonymous_ids: usize,
    /// Device keys not seen for the longest retention with nothing filed under them.
    pub devices: usize,
    /// Suppression entries older than the longest retention plus a day.
    pub suppressions: usize,
    /// Erasure records older than the longest retention.
    pub erasures: usize,
    /// Nonces of rights requests that can no longer be replayed.
    pub nonces: usize,
}

/// What an erased device's later batches are recognised by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionKind {
    /// A device key hash (`device` of a batch).
    Key,
    /// The SHA-256 of a pid.
    Pid,
}

impl SuppressionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Pid => "pid",
        }
    }
}

/// A pid filed under a device key, in the shape the test API returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRegistration {
    pub key_hash: String,
    pub pid: String,
    pub purpose: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// A suppression entry, in the shape the test API returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// `key` or `pid`.
    pub kind: String,
    /// The key hash, or the SHA-256 of the pid.
    pub hash: String,
    /// When it was suppressed, ms since the epoch.
    pub at: i64,
}

/// An event as stored, in the shape the test API returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    pub id: String,
    pub site_id: String,
    pub name: String,
    pub purpose: String,
    pub ts: i64,
    pub props: Value,
    /// Absent from the JSON when the event carried none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    pub received_at: i64,
}

/// A consent receipt as stored, in the shape the test API returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredReceipt {
    pub hash: String,
    pub site_id: String,
    pub granted: Vec<String>,
    pub first_seen: i64,
    pub last_seen: i64,
}

pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` — `:memory:` for a
    /// throw-away in-memory database — and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        // `Connection::open` treats ":memory:" as an in-memory database.
        let conn = Connection::open(path)?;
        Self::from_connection(conn)
    }

    fn from_connection(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL for file databases; an in-memory database answers "memory".
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.set_prepared_statement_cache_capacity(16);
        migrate(&mut conn)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Stores the valid events of a batch in one transaction, together
    /// with its consent receipt (once per distinct site, hash and granted
    /// list; later sightings move `last_seen`). Each event id is stored
    /// once; a repeat counts as a duplicate. A batch without valid events
    /// touches nothing.
    ///
    /// Erased devices stay erased: a batch whose `device` key was erased
    /// stores nothing at all, and an event whose pid was erased is not
    /// stored; both count as `suppressed`. With a `device`, the batch's pids
    /// are filed under that key (see [`file_pids`]: the first key to send a
    /// pid keeps it, and only a pid no earlier event carries can be filed)
    /// and its receipt is recorded as seen with the key. Each event is
    /// stored with the key it belongs to (see [`file_pids`]), which is what
    /// a rights request of that key covers.
    pub fn insert_batch(&self, batch: &Batch, received_at: i64) -> Result<InsertOutcome, StoreError> {
        if batch.events.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let site = batch.site_id.as_str();
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        if let Some(key) = &batch.device {
            if is_suppressed(&tx, site, SuppressionKind::Key, key)? {
                return Ok(InsertOutcome { suppressed: batch.events.len(), ..InsertOutcome::default() });
            }
        }
        let mut erased_pids = BTreeSet::new();
        for pid in batch.events.iter().filter_map(|e| e.pid.as_deref()).collect::<BTreeSet<_>>() {
            if is_suppressed(&tx, site, SuppressionKind::Pid, &sha256_hex(pid.as_bytes()))? {
                erased_pids.insert(pid);
            }
        }
        let events: Vec<&Event> =
            batch.events.iter().filter(|e| e.pid.as_deref().is_none_or(|pid| !erased_pids.contains(pid))).collect();
        let suppressed = batch.events.len() - events.len();
        if events.is_empty() {
            return Ok(InsertOutcome { suppressed, ..InsertOutcome::default() });
        }

        let granted = serde_json::to_string(&batch.consent.granted)?;
        tx.prepare_cached(
            "INSERT INTO receipts (site_id, hash, granted, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (site_id, hash, granted) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
        )?
        .execute(params![site, batch.consent.receipt_hash, granted, received_at])?;
        if let Some(key) = &batch.device {
            register_device(&tx, site, key, (&batch.consent.receipt_hash, &granted), received_at)?;
        }
        // Before the batch's own events are stored: whether a pid can be filed depends on
        // the events that were already there.
        let owners = file_pids(&tx, site, batch.device.as_deref(), &events, received_at)?;
        let mut accepted = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (id, site_id, name, purpose, ts, props, pid, received_at, key_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for event in &events {
                let owner = event.pid.as_deref().and_then(|pid| owners.get(&(event.purpose.as_str(), pid))?.as_deref());
                accepted += insert.execute(params![
                    event.id,
                    site,
                    event.name,
                    event.purpose,
                    event.ts,
                    serde_json::to_string(&event.props)?,
                    event.pid,
                    received_at,
                    owner
                ])?;
            }
        }
        tx.commit()?;
        Ok(InsertOutcome { accepted, duplicates: events.len() - accepted, suppressed })
    }

    /// All stored events, in the order they were received.
    pub fn events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT id, site_id, name, purpose, ts, props, pid, received_at
             FROM events ORDER BY rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                StoredEvent {
                    id: r.get(0)?,
                    site_id: r.get(1)?,
                    name: r.get(2)?,
                    purpose: r.get(3)?,
                    ts: r.get(4)?,
                    props: Value::Null,
                    pid: r.get(6)?,
                    received_at: r.get(7)?,
                },
                r.get::<_, String>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (mut event, props) = row?;
            event.props = serde_json::from_str(&props)?;
            Ok(event)
        })
        .collect()
    }

    /// Number of stored events.
    pub fn count_events(&self) -> Result<u64, StoreError> {
        Ok(self.conn()?.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?)
    }

    /// All stored consent receipts, in the order they were first seen.
    pub fn receipts(&self) -> Result<Vec<StoredReceipt>, StoreError> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT hash, site_id, granted, first_seen, last_seen FROM receipts ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.map(|row| {
            let (hash, site_id, granted, first_seen, last_seen) = row?;
            Ok(StoredReceipt { hash, site_id, granted: serde_json::from_str(&granted)?, first_seen, last_seen })
        })
        .collect()
    }

    /// Every pid filed under a device key, in the order first filed.
    pub fn devices(&self) -> Result<Vec<DeviceRegistration>, StoreError> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT key_hash, pid, purpose, first_seen, last_seen FROM device_pids ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| {
            Ok(DeviceRegistration {
                key_hash: r.get(0)?,
                pid: r.get(1)?,
                purpose: r.get(2)?,
                first_seen: r.get(3)?,
                last_seen: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every suppression entry, in the order first suppressed.
    pub fn suppressions(&self) -> Result<Vec<Suppression>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT kind, hash, at FROM suppressions ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| Ok(Suppression { kind: r.get(0)?, hash: r.get(1)?, at: r.get(2)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes everything: events, receipts, devices, suppression entries,
    /// erasure records and the nonces of answered rights requests.
    pub fn clear(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM events; DELETE FROM receipts; DELETE FROM devices; DELETE FROM device_pids;
             DELETE FROM receipt_sightings; DELETE FROM suppressions; DELETE FROM erasures;
             DELETE FROM rights_nonces;",
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Checkpoints the write-ahead log into the database file and closes
    /// the connection, so that nothing is left in the `-wal` file.
    pub fn close(self) -> Result<(), StoreError> {
        let conn = self.conn.into_inner().map_err(|_| StoreError::Poisoned)?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        conn.close().map_err(|(_, e)| StoreError::Sqlite(e))
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let conn = self.conn()?;
        Ok(user_version(&conn)?)
    }
}

/// Whether `hash` of `kind` was erased on `site`.
fn is_suppressed(tx: &Transaction<'_>, site: &str, kind: SuppressionKind, hash: &str) -> rusqlite::Result<bool> {
    tx.prepare_cached("SELECT 1 FROM suppressions WHERE site_id = ?1 AND kind = ?2 AND hash = ?3")?.exists(params![
        site,
        kind.as_str(),
        hash
    ])
}

/// Records that `key` sent a batch at `seen`, with its consent receipt.
fn register_device(
    tx: &Transaction<'_>,
    site: &str,
    key: &str,
    (receipt_hash, granted): (&str, &str),
    seen: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO devices (site_id, key_hash, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (site_id, key_hash) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
    )?
    .execute(params![site, key, seen])?;
    tx.prepare_cached(
        "INSERT INTO receipt_sightings (site_id, key_hash, hash, granted, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (site_id, key_hash, hash, granted) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
    )?
    .execute(params![site, key, receipt_hash, granted, seen])?;
    Ok(())
}

/// Files the batch's pids under its `key` and decides, for each distinct
/// (`purpose`, `pid`) of its events, the key those events belong to. Must
/// run before the batch's events are stored.
///
/// - A pid filed under a key belongs to that key, whatever key (if any) the
///   batch carries: the first key to send a pid keeps it.
/// - An unfiled pid is filed under the batch's key only if no stored event
///   carries it (on this site, any purpose) other than the key's own: an
///   event stored before any key sent its pid (an older SDK, another client)
///   proves nothing about who sent it, and whoever saw the pid could claim
///   it, its past events and the suppression of its future ones.
/// - Otherwise the events belong to the key the batch carried, or to none.
///
/// So an event belongs to key K only if it arrived in a batch carrying K or
/// its pid was filed under K when it arrived.
fn file_pids<'e>(
    tx: &Transaction<'_>,
    site: &str,
    key: Option<&str>,
    events: &[&'e Event],
    seen: i64,
) -> rusqlite::Result<BTreeMap<(&'e str, &'e str), Option<String>>> {
    let mut owners = BTreeMap::new();
    for event in events {
        let Some(pid) = event.pid.as_deref() else { continue };
        let purpose = event.purpose.as_str();
        if owners.contains_key(&(purpose, pid)) {
            continue;
        }
        let filed: Option<String> = tx
            .prepare_cached("SELECT key_hash FROM device_pids WHERE site_id = ?1 AND purpose = ?2 AND pid = ?3")?
            .query_row(params![site, purpose, pid], |r| r.get(0))
            .optional()?;
        let owner = match (filed, key) {
            (Some(filed), Some(key)) if filed == key => {
                tx.prepare_cached(
                    "UPDATE device_pids SET last_seen = max(last_seen, ?4)
                     WHERE site_id = ?1 AND purpose = ?2 AND pid = ?3",
                )?
                .execute(params![site, purpose, pid, seen])?;
                Some(filed)
            }
            (Some(filed), key) => {
                if key.is_some() {
                    tracing::debug!(site_id = site, purpose, "pid already filed under another device key; kept there");
                }
                Some(filed)
            }
            (None, Some(key)) => {
                let carried_by_others = tx
                    .prepare_cached(
                        "SELECT 1 FROM events WHERE site_id = ?1 AND pid = ?2 AND key_hash IS NOT ?3 LIMIT 1",
                    )?
                    .exists(params![site, pid, key])?;
                if carried_by_others {
                    tracing::debug!(site_id = site, purpose, "pid carried by events stored before; not filed");
                } else {
                    tx.prepare_cached(
                        "INSERT INTO device_pids (site_id, purpose, pid, key_hash, first_seen, last_seen)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    )?
                    .execute(params![site, purpose, pid, key, seen])?;
                }
                Some(key.to_owned())
            }
            (None, None) => None,
        };
        owners.insert((purpose, pid), owner);
    }
    Ok(owners)
}

fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies every migration the database has not seen yet, each in its own
/// transaction together with the `user_version` bump.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { found, supported: SCHEMA_VERSION });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{Consent, Event};
    use serde_json::json;

    fn batch(ids: &[&str]) -> Batch {
        Batch {
            site_id: "s".into(),
            sent_at: 1,
            device: None,
            consent: Consent { receipt_hash: "b".repeat(64), granted: vec!["analytics".into()] },
            events: ids
                .iter()
                .enumerate()
                .map(|(index, id)| Event {
                    index,
                    id: (*id).into(),
                    name: "n".into(),
                    purpose: "analytics".into(),
                    ts: 2,
                    props: json!({"k": "two", "n": 1}),
                    pid: (*id == "2").then(|| "c".repeat(32)),
                })
                .collect(),
            rejected: Vec::new(),
        }
    }

    #[test]
    fn file_database_survives_reopen_with_wal_and_schema_version() {
        let dir = std::env::temp_dir().join(format!("attune-collector-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let store = Store::open(&path).unwrap();
            assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
            let mode: String = store.conn().unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
            assert_eq!(mode, "wal");
            store.insert_batch(&batch(&["1", "2"]), 10).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let events = store.events().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].props, json!({"k": "two", "n": 1}));
        assert_eq!((events[0].pid.clone(), events[1].pid.clone()), (None, Some("c".repeat(32))));
        store.close().unwrap();
        assert!(!dir.join("t.sqlite-wal").exists(), "close checkpoints and removes the WAL file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_a_database_from_a_newer_collector() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        match Store::from_connection(conn) {
            Err(StoreError::SchemaTooNew { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 1),
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => panic!("a newer schema must be refused"),
        }
    }

    #[test]
    fn duplicate_ids_within_and_across_batches_are_counted() {
        let store = Store::open(":memory:").unwrap();
        let first = store.insert_batch(&batch(&["1", "2", "1"]), 10).unwrap();
        assert_eq!(first, InsertOutcome { accepted: 2, duplicates: 1, suppressed: 0 });
        let second = store.insert_batch(&batch(&["2", "3"]), 11).unwrap();
        assert_eq!(second, InsertOutcome { accepted: 1, duplicates: 1, suppressed: 0 });
        let ids: Vec<_> = store.events().unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        let receipts = store.receipts().unwrap();
        assert_eq!(receipts.len(), 1, "one receipt per hash");
        assert_eq!((receipts[0].first_seen, receipts[0].last_seen), (10, 11));
        store.clear().unwrap();
        assert!(store.events().unwrap().is_empty());
        assert!(store.receipts().unwrap().is_empty());
    }

    #[test]
    fn one_receipt_per_distinct_site_hash_and_granted_list() {
        let store = Store::open(":memory:").unwrap();
        let mut b = batch(&["1"]);
        store.insert_batch(&b, 10).unwrap();
        b.consent.granted.push("ads".into());
        store.insert_batch(&b, 11).unwrap();
        b.site_id = "other".into();
        store.insert_batch(&b, 12).unwrap();
        store.insert_batch(&b, 9).unwrap();
        let seen: Vec<_> = store
            .receipts()
            .unwrap()
            .into_iter()
            .map(|r| (r.site_id, r.granted.join(","), r.first_seen, r.last_seen))
            .collect();
        assert_eq!(
            seen,
            [
                ("s".into(), "analytics".into(), 10, 10),
                ("s".into(), "analytics,ads".into(), 11, 11),
                ("other".into(), "analytics,ads".into(), 12, 12),
            ]
        );
        b.events.clear();
        assert_eq!(store.insert_batch(&b, 20).unwrap(), InsertOutcome::default());
        assert_eq!(store.receipts().unwrap()[2].last_seen, 12, "a batch with no valid event records nothing");
    }

    #[test]
    fn a_version_1_database_is_migrated_keeping_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.execute_batch(
            "INSERT INTO events VALUES ('e1', 's', 'n', 'analytics', 1, '{}', 5);
             INSERT INTO receipts VALUES ('h1', 's', '[\"analytics\"]', 7);",
        )
        .unwrap();
        tx.commit().unwrap();
        let store = Store::from_connection(conn).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let events = store.events().unwrap();
        assert_eq!((events[0].id.as_str(), events[0].pid.as_deref()), ("e1", None));
        let receipts = store.receipts().unwrap();
        assert_eq!(
            receipts,
            [StoredReceipt {
                hash: "h1".into(),
                site_id: "s".into(),
                granted: vec!["analytics".into()],
                first_seen: 7,
                last_seen: 7
            }]
        );
    }

    #[test]
    fn a_version_2_database_is_migrated_keeping_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (i, sql) in MIGRATIONS[..2].iter().enumerate() {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            tx.pragma_update(None, "user_version", i as u32 + 1).unwrap();
            tx.commit().unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO events VALUES ('e1', 's', 'n', 'analytics', 1, '{{\"a\":1}}', 5, '{pid}');
             INSERT INTO events VALUES ('e2', 's', 'n', 'analytics', 2, '{{}}', 6, NULL);
             INSERT INTO receipts VALUES ('s', 'h1', '[\"analytics\"]', 7, 8);",
            pid = "c".repeat(32)
        ))
        .unwrap();
        let store = Store::from_connection(conn).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let events = store.events().unwrap();
        assert_eq!(events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e1", "e2"]);
        assert_eq!((events[0].pid.clone(), events[0].props.clone()), (Some("c".repeat(32)), json!({"a": 1})));
        assert_eq!((store.receipts().unwrap()[0].first_seen, store.receipts().unwrap()[0].last_seen), (7, 8));
        assert!(store.devices().unwrap().is_empty());
        assert!(store.suppressions().unwrap().is_empty());
        // The new tables work on the migrated database.
        let mut b = batch(&["3"]);
        b.events[0].pid = Some("c".repeat(32));
        b.device = Some(key('a'));
        store.insert_batch(&b, 10).unwrap();
        assert!(store.devices().unwrap().is_empty(), "e1, stored before any key, carries the pid: a cannot file it");
        let export = store.export("s", &key('a'), &nonce(), 0).unwrap();
        assert_eq!(export.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["3"], "e1 is no key's");
        let mut c = batch(&["4"]);
        c.events[0].pid = Some("d".repeat(32));
        c.device = Some(key('a'));
        store.insert_batch(&c, 11).unwrap();
        assert_eq!(store.devices().unwrap()[0].key_hash, key('a'), "a pid no stored event carries is filed");
    }

    #[test]
    fn a_version_3_database_is_migrated_giving_a_key_only_the_events_that_arrived_once_their_pid_was_filed() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (i, sql) in MIGRATIONS[..3].iter().enumerate() {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            tx.pragma_update(None, "user_version", i as u32 + 1).unwrap();
            tx.commit().unwrap();
        }
        let (p, a) = ("c".repeat(32), key('a'));
        // e1 was stored before a claimed its pid at 10 (the flaw migration 4 closes); e2 came with the
        // claim, e3 later without `device`; e4 has another purpose, never filed.
        conn.execute_batch(&format!(
            "INSERT INTO events VALUES ('e1', 's', 'n', 'analytics', 1, '{{}}', 5, '{p}');
             INSERT INTO events VALUES ('e2', 's', 'n', 'analytics', 2, '{{}}', 10, '{p}');
             INSERT INTO events VALUES ('e3', 's', 'n', 'analytics', 3, '{{}}', 20, '{p}');
             INSERT INTO events VALUES ('e4', 's', 'n', 'marketing', 3, '{{}}', 20, '{p}');
             INSERT INTO receipts VALUES ('s', 'h1', '[\"analytics\"]', 3, 30);
             INSERT INTO devices VALUES ('s', '{a}', 10, 20);
             INSERT INTO device_pids VALUES ('s', 'analytics', '{p}', '{a}', 10, 20);
             INSERT INTO receipt_links VALUES ('s', '{a}', 'h1', '[\"analytics\"]');"
        ))
        .unwrap();
        let store = Store::from_connection(conn).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let export = store.export("s", &a, &nonce(), 0).unwrap();
        assert_eq!(export.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e2", "e3"]);
        // The receipt as seen with a: no earlier than a's first sighting, no later than its last.
        assert_eq!(
            export.receipts,
            [ExportedReceipt { hash: "h1".into(), granted: vec!["analytics".into()], first_seen: 10, last_seen: 20 }]
        );
        let counts = store.erase("s", &a, &nonce(), 1, 40, &"0".repeat(32)).unwrap();
        assert_eq!((counts.events, counts.receipts, counts.pseudonymous_ids), (2, 1, 1));
        assert_eq!(ids(&store), ["e1", "e4"]);
    }

    fn key(c: char) -> String {
        c.to_string().repeat(64)
    }

    /// A nonce not used before.
    fn nonce() -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        format!("{:032x}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }

    /// An event of `purpose` with `pid`, captured at `ts`.
    fn event(id: &str, purpose: &str, ts: i64, pid: Option<&str>) -> Event {
        Event {
            index: 0,
            id: id.into(),
            name: "n".into(),
            purpose: purpose.into(),
            ts,
            props: json!({"p": id}),
            pid: pid.map(str::to_owned),
        }
    }

    fn batch_of(device: Option<&str>, receipt: char, events: Vec<Event>) -> Batch {
        Batch {
            site_id: "s".into(),
            sent_at: 1,
            device: device.map(str::to_owned),
            consent: Consent {
                receipt_hash: receipt.to_string().repeat(64),
                granted: vec!["analytics".into(), "marketing".into()],
            },
            events,
            rejected: Vec::new(),
        }
    }

    fn ids(store: &Store) -> Vec<String> {
        store.events().unwrap().into_iter().map(|e| e.id).collect()
    }

    #[test]
    fn the_first_key_to_send_a_pid_keeps_it() {
        let store = Store::open(":memory:").unwrap();
        let (p1, p2) = ("1".repeat(32), "2".repeat(32));
        let (a, b) = (key('a'), key('b'));
        store.insert_batch(&batch_of(Some(&a), 'r', vec![event("e1", "analytics", 5, Some(&p1))]), 10).unwrap();
        // Another key sends the same pid (and one of its own): it files only its own.
        let claim = vec![event("e2", "analytics", 6, Some(&p1)), event("e3", "marketing", 6, Some(&p2))];
        store.insert_batch(&batch_of(Some(&b), 's', claim), 20).unwrap();
        store.insert_batch(&batch_of(Some(&a), 'r', vec![event("e4", "analytics", 7, Some(&p1))]), 30).unwrap();
        let devices: Vec<_> = store
            .devices()
            .unwrap()
            .into_iter()
            .map(|d| (d.key_hash, d.pid, d.purpose, d.first_seen, d.last_seen))
            .collect();
        assert_eq!(
            devices,
            [(a.clone(), p1.clone(), "analytics".into(), 10, 30), (b.clone(), p2.clone(), "marketing".into(), 20, 20)]
        );
        let export_b = store.export("s", &b, &nonce(), 0).unwrap();
        assert_eq!(export_b.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e3"]);
        assert_eq!(export_b.device.map(|d| (d.first_seen, d.last_seen)), Some((20, 20)));
        let export_a = store.export("s", &a, &nonce(), 0).unwrap();
        assert_eq!(export_a.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e1", "e2", "e4"]);
        assert_eq!(export_a.receipts.iter().map(|r| r.hash.clone()).collect::<Vec<_>>(), ["r".repeat(64)]);
        assert_eq!(store.export("other-site", &a, &nonce(), 0).unwrap().device, None, "keys are per site");

        let counts = store.erase("s", &b, &nonce(), 1, 40, &"0".repeat(32)).unwrap();
        assert_eq!(
            counts,
            ErasureCounts { events: 1, receipts: 1, pseudonymous_ids: 1, suppressed_pids: 1 },
            "only what b filed itself"
        );
        assert_eq!(ids(&store), ["e1", "e2", "e4"]);
    }

    #[test]
    fn receipts_are_exported_as_seen_with_the_key_and_erased_from_every_key_that_named_them() {
        let store = Store::open(":memory:").unwrap();
        let (a, b) = (key('a'), key('b'));
        let e = |id: &str, pid: char| vec![event(id, "analytics", 5, Some(&pid.to_string().repeat(32)))];
        store.insert_batch(&batch_of(Some(&a), 'r', e("e1", '1')), 10).unwrap();
        // b names a's receipt (a receipt hash is the head of one device's consent record: b spoofs it).
        store.insert_batch(&batch_of(Some(&b), 'r', e("e2", '2')), 20).unwrap();
        store.insert_batch(&batch_of(Some(&a), 'r', e("e3", '1')), 30).unwrap();
        store.insert_batch(&batch_of(Some(&b), 'q', e("e4", '2')), 40).unwrap();
        let seen = |key: &str| -> Vec<(String, i64, i64)> {
            let export = store.export("s", key, &nonce(), 0).unwrap();
            export.receipts.into_iter().map(|r| (r.hash[..1].to_owned(), r.first_seen, r.last_seen)).collect()
        };
        assert_eq!(seen(&a), [("r".into(), 10, 30)]);
        assert_eq!(seen(&b), [("r".into(), 20, 20), ("q".into(), 40, 40)], "b's own sightings only");

        let counts = store.erase("s", &a, &nonce(), 1, 50, &"0".repeat(32)).unwrap();
        assert_eq!((counts.events, counts.receipts, counts.pseudonymous_ids), (2, 1, 1));
        let hashes: Vec<_> = store.receipts().unwrap().into_iter().map(|r| r.hash[..1].to_owned()).collect();
        assert_eq!(hashes, ["q"]);
        assert_eq!(seen(&b), [("q".into(), 40, 40)], "b's link to a's receipt went with it");
    }

    #[test]
    fn a_key_files_a_pid_once_no_stored_event_of_anyone_else_carries_it() {
        use crate::retention::{Retention, DAY_MS};
        let store = Store::open(":memory:").unwrap();
        let t0 = 1_000 * DAY_MS;
        let (a, p) = (key('a'), "1".repeat(32));
        // Sent without `device` (an older SDK): no key can prove it.
        store.insert_batch(&batch_of(None, 'r', vec![event("e1", "analytics", t0, Some(&p))]), t0).unwrap();
        store
            .insert_batch(&batch_of(Some(&a), 'r', vec![event("e2", "analytics", t0 + DAY_MS, Some(&p))]), t0 + DAY_MS)
            .unwrap();
        assert!(store.devices().unwrap().is_empty());
        let export = |key: &str| -> Vec<String> {
            store.export("s", key, &nonce(), 0).unwrap().events.into_iter().map(|e| e.id).collect()
        };
        assert_eq!(export(&a), ["e2"], "what arrived with the key is its own");
        // e1 expires; what is left carrying the pid is a's own: the next batch files it.
        store.purge_expired(&Retention::new(2), t0 + 2 * DAY_MS).unwrap();
        assert_eq!(ids(&store), ["e2"]);
        store
            .insert_batch(
                &batch_of(Some(&a), 'r', vec![event("e3", "analytics", t0 + 2 * DAY_MS, Some(&p))]),
                t0 + 2 * DAY_MS,
            )
            .unwrap();
        assert_eq!(store.devices().unwrap().into_iter().map(|d| d.key_hash).collect::<Vec<_>>(), [a.as_str()]);
        // From then on the pid is a's, with or without `device`; another key gets nothing of it.
        store
            .insert_batch(
                &batch_of(None, 'q', vec![event("e4", "analytics", t0 + 2 * DAY_MS, Some(&p))]),
                t0 + 2 * DAY_MS,
            )
            .unwrap();
        store
            .insert_batch(
                &batch_of(Some(&key('b')), 'q', vec![event("e5", "analytics", t0 + 2 * DAY_MS, Some(&p))]),
                t0 + 2 * DAY_MS,
            )
            .unwrap();
        assert_eq!(export(&a), ["e2", "e3", "e4", "e5"]);
        assert!(export(&key('b')).is_empty());
    }

    #[test]
    fn nothing_an_erased_device_sends_is_stored_again() {
        let store = Store::open(":memory:").unwrap();
        let a = key('a');
        let p1 = "1".repeat(32);
        let first =
            batch_of(Some(&a), 'r', vec![event("e1", "analytics", 5, Some(&p1)), event("e2", "analytics", 5, None)]);
        store.insert_batch(&first, 10).unwrap();
        let counts = store.erase("s", &a, &nonce(), 9, 20, &"0".repeat(32)).unwrap();
        assert_eq!((counts.events, counts.receipts, counts.pseudonymous_ids, counts.suppressed_pids), (1, 1, 1, 1));
        assert_eq!(ids(&store), ["e2"], "an event without a pid cannot be told apart from anyone else's");
        let suppressed: Vec<_> = store.suppressions().unwrap().into_iter().map(|s| (s.kind, s.hash, s.at)).collect();
        assert_eq!(
            suppressed,
            [("key".into(), a.clone(), 20), ("pid".into(), crate::digest::sha256_hex(p1.as_bytes()), 20)]
        );

        // The same batch again: its key is suppressed, nothing at all is stored.
        assert_eq!(store.insert_batch(&first, 30).unwrap(), InsertOutcome { suppressed: 2, ..Default::default() });
        // The old pid without the key: that event is suppressed, the others are stored.
        let mixed =
            batch_of(None, 'q', vec![event("e3", "analytics", 5, Some(&p1)), event("e4", "analytics", 5, None)]);
        assert_eq!(
            store.insert_batch(&mixed, 31).unwrap(),
            InsertOutcome { accepted: 1, duplicates: 0, suppressed: 1 }
        );
        // Only the pid: nothing stored, not even the receipt.
        let only = batch_of(None, 't', vec![event("e5", "analytics", 5, Some(&p1))]);
        assert_eq!(store.insert_batch(&only, 32).unwrap(), InsertOutcome { suppressed: 1, ..Default::default() });
        assert_eq!(ids(&store), ["e2", "e4"]);
        assert_eq!(store.receipts().unwrap().iter().map(|r| r.hash.clone()).collect::<Vec<_>>(), ["q".repeat(64)]);
        assert!(store.devices().unwrap().is_empty());
        assert_eq!(
            store.export("s", &a, &nonce(), 0).unwrap(),
            DeviceExport { device: None, pseudonymous_ids: vec![], events: vec![], receipts: vec![] }
        );

        // Erasing again finds nothing and refreshes the suppression.
        let again = store.erase("s", &a, &nonce(), 9, 50, &"1".repeat(32)).unwrap();
        assert_eq!(again, ErasureCounts::default());
        assert_eq!(store.suppressions().unwrap()[0].at, 50);
        assert_eq!(erasures(&store), 2);
    }

    #[test]
    fn the_retention_job_deletes_exactly_what_has_expired() {
        use crate::retention::{Retention, DAY_MS};
        let retention = Retention {
            default_days: 5,
            purposes: [("analytics".to_owned(), 10), ("marketing".to_owned(), 2)].into_iter().collect(),
        };
        let store = Store::open(":memory:").unwrap();
        let t0 = 1_000 * DAY_MS;
        let a = key('a');
        let pid = "1".repeat(32);
        // Received at t0. Expiry = min(ts, received_at) + retention.
        store
            .insert_batch(
                &batch_of(
                    Some(&a),
                    'r',
                    vec![
                        event("an-old", "analytics", t0 - DAY_MS, Some(&pid)), // expires t0 + 9 d
                        event("an", "analytics", t0, None),                    // expires t0 + 10 d
                        event("an-future", "analytics", t0 + 50 * DAY_MS, None), // clock ahead: t0 + 10 d
                        event("mk", "marketing", t0, None),                    // expires t0 + 2 d
                        event("other", "other", t0 - 1, None),                 // expires t0 + 5 d - 1 ms
                    ],
                ),
                t0,
            )
            .unwrap();
        let run = |now: i64| store.purge_expired(&retention, now).unwrap();
        assert_eq!(run(t0 + 2 * DAY_MS - 1).events, 0);
        assert_eq!(run(t0 + 2 * DAY_MS).events, 1);
        assert_eq!(ids(&store), ["an-old", "an", "an-future", "other"]);
        assert_eq!(run(t0 + 5 * DAY_MS - 2).events, 0);
        assert_eq!(run(t0 + 5 * DAY_MS - 1).events, 1);
        assert_eq!(run(t0 + 9 * DAY_MS - 1).events, 0);
        let counts = run(t0 + 9 * DAY_MS);
        assert_eq!((counts.events, counts.pseudonymous_ids), (1, 0), "the pid is still seen recently");
        assert_eq!(ids(&store), ["an", "an-future"]);
        assert_eq!(
            run(t0 + 10 * DAY_MS),
            PurgeCounts { events: 2, receipts: 1, pseudonymous_ids: 1, devices: 1, ..PurgeCounts::default() }
        );
        assert!(ids(&store).is_empty());
        assert!(store.receipts().unwrap().is_empty() && store.devices().unwrap().is_empty());
        assert_eq!(store.export("s", &a, &nonce(), 0).unwrap().device, None);
    }

    #[test]
    fn registrations_and_suppressions_last_the_longest_retention() {
        use crate::retention::{Retention, DAY_MS};
        let retention = Retention::new(3);
        let store = Store::open(":memory:").unwrap();
        let t0 = 1_000 * DAY_MS;
        let (a, b) = (key('a'), key('b'));
        let (p1, p2) = ("1".repeat(32), "2".repeat(32));
        store.insert_batch(&batch_of(Some(&a), 'r', vec![event("e1", "x", t0, Some(&p1))]), t0).unwrap();
        store.insert_batch(&batch_of(Some(&b), 's', vec![event("e2", "x", t0, Some(&p2))]), t0).unwrap();
        store.erase("s", &b, &nonce(), t0, t0 + DAY_MS, &"0".repeat(32)).unwrap();
        // A later event carries a's pid without naming the key.
        store
            .insert_batch(&batch_of(None, 'q', vec![event("e3", "x", t0 + 2 * DAY_MS, Some(&p1))]), t0 + 2 * DAY_MS)
            .unwrap();

        // a's registration is old, but a stored event still carries its pid: kept, and the key with it.
        let counts = store.purge_expired(&retention, t0 + 3 * DAY_MS).unwrap();
        assert_eq!(counts, PurgeCounts { events: 1, receipts: 1, nonces: 1, ..PurgeCounts::default() });
        assert_eq!(store.export("s", &a, &nonce(), t0 + 4 * DAY_MS).unwrap().events.len(), 1);
        // b's erasure record ends once the longest retention has passed since the erasure ...
        assert_eq!(store.purge_expired(&retention, t0 + 4 * DAY_MS - 1).unwrap(), PurgeCounts::default());
        assert_eq!(erasures(&store), 1);
        let counts = store.purge_expired(&retention, t0 + 4 * DAY_MS).unwrap();
        assert_eq!(erasures(&store), 0);
        assert_eq!((counts.events, counts.suppressions), (0, 0));
        // ... its suppression entries one day later (a device clock may run up to a day ahead).
        let counts = store.purge_expired(&retention, t0 + 5 * DAY_MS - 1).unwrap();
        assert_eq!((counts.events, counts.suppressions), (0, 0));
        let counts = store.purge_expired(&retention, t0 + 5 * DAY_MS).unwrap();
        assert_eq!(
            (counts.events, counts.receipts, counts.pseudonymous_ids, counts.devices, counts.suppressions),
            (1, 1, 1, 1, 2)
        );
        assert!(store.suppressions().unwrap().is_empty());
        assert!(store.devices().unwrap().is_empty());
    }

    #[test]
    fn a_nonce_is_spent_once_per_key_and_a_refused_request_changes_nothing() {
        let store = Store::open(":memory:").unwrap();
        let (a, b) = (key('a'), key('b'));
        let p = "1".repeat(32);
        store.insert_batch(&batch_of(Some(&a), 'r', vec![event("e1", "analytics", 5, Some(&p))]), 10).unwrap();
        let n = nonce();
        store.export("s", &a, &n, 100).unwrap();
        assert!(matches!(store.export("s", &a, &n, 100), Err(StoreError::NonceUsed)));
        assert!(matches!(store.erase("s", &a, &n, 100, 200, &"0".repeat(32)), Err(StoreError::NonceUsed)));
        assert_eq!(ids(&store), ["e1"], "the refused erasure erased nothing");
        assert!(store.suppressions().unwrap().is_empty());
        assert_eq!(erasures(&store), 0);
        // Another key, or another site, may happen to use the same nonce.
        store.export("s", &b, &n, 100).unwrap();
        store.export("other", &a, &n, 100).unwrap();

        use crate::retention::Retention;
        let keep = crate::proof::NONCE_KEPT_MS;
        let purged = |now: i64| store.purge_expired(&Retention::new(30), now).unwrap().nonces;
        assert_eq!(purged(100 + keep - 1), 0);
        assert_eq!(purged(100 + keep), 3);
    }

    fn erasures(store: &Store) -> i64 {
        store.conn().unwrap().query_row("SELECT count(*) FROM erasures", [], |r| r.get(0)).unwrap()
    }
}
