//! The SQLite store: WAL journal, one write transaction (`BEGIN IMMEDIATE`) per push, a busy
//! timeout so that several connections or processes over one file take turns.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrysync::protocol::{Mutation, MutationResult, ServerRecord};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::{now_ms, plan, BoxFuture, MutationLimits, PullPage, Store, StoreError, StoredRecord};

/// How long a connection waits for another writer before giving up with [`StoreError::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Most connections one server opens to a database file.
const MAX_FILE_CONNECTIONS: usize = 4;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS records (
    tenant     TEXT    NOT NULL,
    collection TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    deleted    INTEGER NOT NULL,
    data       TEXT,
    seq        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, collection, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS records_by_seq ON records (tenant, seq);
CREATE TABLE IF NOT EXISTS mutations (
    tenant      TEXT    NOT NULL,
    mutation_id TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, mutation_id)
);
CREATE TABLE IF NOT EXISTS tenants (
    tenant   TEXT    PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
"#;

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    /// One private in-memory database, lost when the store is dropped.
    Memory,
}

struct Pool {
    location: Location,
    idle: Mutex<Vec<Connection>>,
    /// Bounds the open connections (1 for memory: the one connection is the database).
    permits: Semaphore,
}

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pool: Arc<Pool>,
}

fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => StoreError::Busy,
        _ => StoreError::Other(format!("sqlite: {e}")),
    }
}

fn open_connection(location: &Location) -> rusqlite::Result<Connection> {
    let conn = match location {
        Location::File(path) => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?,
        Location::Memory => Connection::open_in_memory()?,
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if let Location::File(_) = location {
        // WAL: readers never block the writer; every process over the file agrees on it.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "SQLite did not switch to WAL");
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
    }
    Ok(conn)
}

impl SqliteStore {
    /// Opens (and creates if needed) the database and its tables.
    pub async fn open(location: Location) -> Result<SqliteStore, StoreError> {
        let max = match location {
            Location::File(_) => MAX_FILE_CONNECTIONS,
            Location::Memory => 1,
        };
        let pool = Arc::new(Pool { location, idle: Mutex::new(Vec::new()), permits: Semaphore::new(max) });
        let store = SqliteStore { pool };
        store
            .with_conn(|conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute_batch(SCHEMA)?;
                tx.commit()
            })
            .await?;
        Ok(store)
    }

    /// Runs `f` on a pooled connection, on the blocking thread pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _permit = self.pool.permits.acquire().await.map_err(|e| StoreError::Other(e.to_string()))?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let idle = pool.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut conn = match idle {
                Some(conn) => conn,
                None => open_connection(&pool.location).map_err(map_err)?,
            };
            let out = f(&mut conn).map_err(map_err);
            pool.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
            out
        })
        .await
        .map_err(|e| StoreError::Other(format!("storage task failed: {e}")))?
    }
}

fn to_sql_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn push_tx(
    conn: &mut Connection,
    tenant: &str,
    mutations: &[Mutation<Value>],
    limits: MutationLimits,
) -> rusqlite::Result<Vec<MutationResult<Value>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let start_seq: u64 =
        tx.query_row("SELECT last_seq FROM tenants WHERE tenant = ?1", [tenant], |r| r.get(0)).optional()?.unwrap_or(0);
    let mut seq = start_seq;
    let now = now_ms();
    let mut results = Vec::with_capacity(mutations.len());
    {
        let mut find_answer =
            tx.prepare_cached("SELECT result FROM mutations WHERE tenant = ?1 AND mutation_id = ?2")?;
        let mut find_record = tx.prepare_cached(
            "SELECT version, deleted, data FROM records WHERE tenant = ?1 AND collection = ?2 AND id = ?3",
        )?;
        let mut write_record = tx.prepare_cached(
            "INSERT INTO records (tenant, collection, id, version, deleted, data, seq, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (tenant, collection, id) DO UPDATE SET
                version = excluded.version, deleted = excluded.deleted, data = excluded.data,
                seq = excluded.seq, updated_at = excluded.updated_at",
        )?;
        let mut save_answer = tx.prepare_cached(
            "INSERT INTO mutations (tenant, mutation_id, result, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;

        for m in mutations {
            let key = m.mutation_id.hyphenated().to_string();
            let stored: Option<String> = find_answer.query_row(params![tenant, key], |r| r.get(0)).optional()?;
            if let Some(text) = stored {
                results.push(serde_json::from_str(&text).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
                })?);
                continue;
            }
            let current = find_record
                .query_row(params![tenant, m.collection, m.id], |r| {
                    let data: Option<String> = r.get(2)?;
                    Ok((r.get::<_, u64>(0)?, r.get::<_, bool>(1)?, data))
                })
                .optional()?
                .map(|(version, deleted, data)| -> rusqlite::Result<StoredRecord> {
                    let data = match data {
                        Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
                        })?),
                        None => None,
                    };
                    Ok(StoredRecord { version, deleted, data })
                })
                .transpose()?;
            let planned = plan(m, current.as_ref(), limits);
            if let Some(w) = &planned.write {
                seq += 1;
                write_record.execute(params![tenant, m.collection, m.id, w.version, w.deleted, w.data, seq, now])?;
            }
            let answer = serde_json::to_string(&planned.result).map_err(to_sql_err)?;
            save_answer.execute(params![tenant, key, answer, now])?;
            results.push(planned.result);
        }
    }
    if seq != start_seq {
        tx.execute(
            "INSERT INTO tenants (tenant, last_seq) VALUES (?1, ?2)
             ON CONFLICT (tenant) DO UPDATE SET last_seq = excluded.last_seq",
            params![tenant, seq],
        )?;
    }
    tx.commit()?;
    Ok(results)
}

fn pull_tx(conn: &mut Connection, tenant: &str, after: u64, limit: u32) -> rusqlite::Result<Option<PullPage>> {
    // One read transaction: the sequence check and the page see the same snapshot.
    let tx = conn.transaction()?;
    let last: u64 =
        tx.query_row("SELECT last_seq FROM tenants WHERE tenant = ?1", [tenant], |r| r.get(0)).optional()?.unwrap_or(0);
    if after > last {
        return Ok(None);
    }
    let mut changes = Vec::new();
    let mut last_seq = after;
    let mut has_more = false;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT collection, id, version, deleted, data, updated_at, seq FROM records
             WHERE tenant = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![tenant, after, u64::from(limit) + 1], |r| {
            let data: Option<String> = r.get(4)?;
            let data = match data {
                Some(text) => Some(RawValue::from_string(text).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
                })?),
                None => None,
            };
            let record = ServerRecord {
                collection: r.get(0)?,
                id: r.get(1)?,
                version: r.get(2)?,
                deleted: r.get(3)?,
                data,
                updated_at: Some(r.get(5)?),
            };
            Ok((record, r.get::<_, u64>(6)?))
        })?;
        for row in rows {
            let (record, seq) = row?;
            if changes.len() == limit as usize {
                has_more = true;
                break;
            }
            changes.push(record);
            last_seq = seq;
        }
    }
    tx.commit()?;
    Ok(Some(PullPage { changes, last_seq, has_more }))
}

impl Store for SqliteStore {
    fn push(
        &self,
        tenant: String,
        mutations: Vec<Mutation<Value>>,
        limits: MutationLimits,
    ) -> BoxFuture<'_, Result<Vec<MutationResult<Value>>, StoreError>> {
        Box::pin(self.with_conn(move |conn| push_tx(conn, &tenant, &mutations, limits)))
    }

    fn pull(&self, tenant: String, after: u64, limit: u32) -> BoxFuture<'_, Result<Option<PullPage>, StoreError>> {
        Box::pin(self.with_conn(move |conn| pull_tx(conn, &tenant, after, limit)))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.with_conn(|conn| conn.query_row("SELECT 1", [], |_| Ok(()))))
    }
}
