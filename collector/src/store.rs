//! SQLite storage for events and consent receipts.
//!
//! One connection behind a mutex. Every method blocks: call them from
//! `tokio::task::spawn_blocking`, never directly on the async executor.

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
        migrate(&mut conn)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Stores a validated batch in one transaction: its consent receipt
    /// (once per hash) and each event whose id is not stored yet.
    pub fn insert_batch(&self, batch: &Batch, received_at: i64) -> Result<InsertOutcome, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO receipts (hash, site_id, granted, first_seen)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                batch.consent.receipt_hash,
                batch.site_id,
                serde_json::to_string(&batch.consent.granted)?,
                received_at
            ],
        )?;
        let mut accepted = 0;
        {
            let mut insert = tx.prepare(
                "INSERT OR IGNORE INTO events (id, site_id, name, purpose, ts, props, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for event in &batch.events {
                accepted += insert.execute(params![
                    event.id,
                    batch.site_id,
                    event.name,
                    event.purpose,
                    event.ts,
                    serde_json::to_string(&event.props)?,
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
            "SELECT id, site_id, name, purpose, ts, props, received_at
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
                    received_at: r.get(6)?,
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

    /// All stored consent receipts, in the order they were first seen.
    pub fn receipts(&self) -> Result<Vec<StoredReceipt>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT hash, site_id, granted, first_seen FROM receipts ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
        })?;
        rows.map(|row| {
            let (hash, site_id, granted, first_seen) = row?;
            Ok(StoredReceipt { hash, site_id, granted: serde_json::from_str(&granted)?, first_seen })
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
                    props: json!({"k": [1, "two"]}),
                })
                .collect(),
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
        assert_eq!(events[0].props, json!({"k": [1, "two"]}));
        drop(store);
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
        assert_eq!(receipts[0].first_seen, 10);
        store.clear().unwrap();
        assert!(store.events().unwrap().is_empty());
        assert!(store.receipts().unwrap().is_empty());
    }
}
