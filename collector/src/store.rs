//! SQLite storage for events and consent receipts.
//!
//! One connection behind a mutex, in WAL mode with `synchronous = NORMAL`
//! (a commit survives a crash of the process; only an OS crash or power
//! loss can undo the last commits), and cached prepared statements. Every
//! method blocks: call them from `tokio::task::spawn_blocking`, never
//! directly on the async executor.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::Value;

use crate::validate::Batch;

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
}

/// Counts for one stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InsertOutcome {
    /// Events that were new and are now stored.
    pub accepted: usize,
    /// Events whose id was already stored (not stored again).
    pub duplicates: usize,
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
    pub fn insert_batch(&self, batch: &Batch, received_at: i64) -> Result<InsertOutcome, StoreError> {
        if batch.events.is_empty() {
            return Ok(InsertOutcome { accepted: 0, duplicates: 0 });
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.prepare_cached(
            "INSERT INTO receipts (site_id, hash, granted, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (site_id, hash, granted) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
        )?
        .execute(params![
            batch.site_id,
            batch.consent.receipt_hash,
            serde_json::to_string(&batch.consent.granted)?,
            received_at
        ])?;
        let mut accepted = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (id, site_id, name, purpose, ts, props, pid, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for event in &batch.events {
                accepted += insert.execute(params![
                    event.id,
                    batch.site_id,
                    event.name,
                    event.purpose,
                    event.ts,
                    serde_json::to_string(&event.props)?,
                    event.pid,
                    received_at
                ])?;
            }
        }
        tx.commit()?;
        Ok(InsertOutcome { accepted, duplicates: batch.events.len() - accepted })
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

    /// Deletes every event and receipt.
    pub fn clear(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM events", [])?;
        tx.execute("DELETE FROM receipts", [])?;
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
            consent: Consent { receipt_hash: "b".repeat(64), granted: vec!["analytics".into()] },
            events: ids
                .iter()
                .map(|id| Event {
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
        assert_eq!(first, InsertOutcome { accepted: 2, duplicates: 1 });
        let second = store.insert_batch(&batch(&["2", "3"]), 11).unwrap();
        assert_eq!(second, InsertOutcome { accepted: 1, duplicates: 1 });
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
        assert_eq!(store.insert_batch(&b, 20).unwrap(), InsertOutcome { accepted: 0, duplicates: 0 });
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
        assert_eq!(store.schema_version().unwrap(), 2);
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
}
