//! The SQLite store: WAL journal, one write transaction (`BEGIN IMMEDIATE`) per push, a busy
//! timeout so that several connections or processes over one file take turns.
//!
//! Writes go through one writer connection, queued in the async runtime; pulls and health
//! checks use separate reader connections, which in WAL mode never wait for a writer, even one
//! that waits on another process's lock. `synchronous=FULL` by default: a commit is on disk
//! before its answer is sent.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrysync::protocol::{Mutation, MutationResult, ServerRecord};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::{
    answers, now_ms, plan, record_bytes, AnswerBudget, BoxFuture, MutationLimits, PullLimits, PullPage, Store,
    StoreError, StoredRecord,
};
use crate::config::Synchronous;

/// How long a connection waits for another writer before giving up with [`StoreError::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Reader connections one server opens to a database file.
const READERS: usize = 4;
/// Answers deleted per pruning transaction, so writers never wait long behind it.
const PRUNE_BATCH: usize = 1000;

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
    forced     INTEGER NOT NULL DEFAULT 0,
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
CREATE INDEX IF NOT EXISTS mutations_by_age ON mutations (created_at);
CREATE TABLE IF NOT EXISTS tenants (
    tenant   TEXT    PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
"#;

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    /// One private in-memory database, lost when the store is dropped. It has one connection,
    /// so reads take turns with writes (for development and tests).
    Memory,
}

struct Pool {
    location: Location,
    synchronous: Synchronous,
    idle: Mutex<Vec<Connection>>,
    /// Bounds the open connections.
    permits: Semaphore,
}

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Pool>,
    /// The same pool as `writer` for an in-memory database (its one connection is the database).
    readers: Arc<Pool>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => StoreError::Busy,
            _ => StoreError::Other(format!("sqlite: {e}")),
        }
    }
}

fn corrupt(column: usize, e: serde_json::Error) -> StoreError {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e)).into()
}

fn open_connection(location: &Location, synchronous: Synchronous) -> rusqlite::Result<Connection> {
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
        conn.execute_batch(match synchronous {
            Synchronous::Full => "PRAGMA synchronous = FULL;",
            Synchronous::Normal => "PRAGMA synchronous = NORMAL;",
        })?;
    }
    Ok(conn)
}

impl Pool {
    fn new(location: Location, synchronous: Synchronous, max: usize) -> Arc<Pool> {
        Arc::new(Pool { location, synchronous, idle: Mutex::new(Vec::new()), permits: Semaphore::new(max) })
    }

    /// Runs `f` on one of the pool's connections, on the blocking thread pool.
    async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|e| StoreError::Other(e.to_string()))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let idle = pool.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut conn = match idle {
                Some(conn) => conn,
                None => open_connection(&pool.location, pool.synchronous)?,
            };
            let out = f(&mut conn);
            pool.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
            out
        })
        .await
        .map_err(|e| StoreError::Other(format!("storage task failed: {e}")))?
    }
}

impl SqliteStore {
    /// Opens (and creates if needed) the database and its tables, durable (`synchronous=FULL`).
    pub async fn open(location: Location) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(location, Synchronous::Full).await
    }

    /// Like [`SqliteStore::open`], with the given `synchronous` setting.
    pub async fn open_with(location: Location, synchronous: Synchronous) -> Result<SqliteStore, StoreError> {
        let store = match location {
            Location::File(_) => SqliteStore {
                writer: Pool::new(location.clone(), synchronous, 1),
                readers: Pool::new(location, synchronous, READERS),
            },
            Location::Memory => {
                let pool = Pool::new(location, synchronous, 1);
                SqliteStore { writer: pool.clone(), readers: pool }
            }
        };
        store
            .writer
            .run(|conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute_batch(SCHEMA)?;
                // A database made before force pushes were recorded gets the column.
                let has_forced: bool = tx.query_row(
                    "SELECT count(*) > 0 FROM pragma_table_info('records') WHERE name = 'forced'",
                    [],
                    |r| r.get(0),
                )?;
                if !has_forced {
                    tx.execute_batch("ALTER TABLE records ADD COLUMN forced INTEGER NOT NULL DEFAULT 0")?;
                }
                Ok(tx.commit()?)
            })
            .await?;
        Ok(store)
    }
}

/// A record's row, its data parsed, and what it counts toward an answer.
fn stored_record(
    (version, deleted, data, updated_at): (u64, bool, Option<String>, u64),
    collection: &str,
    id: &str,
) -> Result<(StoredRecord, usize), StoreError> {
    let bytes = record_bytes(collection, id, data.as_deref());
    let data = data.map(|text| serde_json::from_str(&text)).transpose().map_err(|e| corrupt(2, e))?;
    Ok((StoredRecord { version, deleted, updated_at, data }, bytes))
}

fn push_tx(
    conn: &mut Connection,
    tenant: &str,
    mutations: &[Mutation<Value>],
    limits: MutationLimits,
) -> Result<Vec<MutationResult<Value>>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let start_seq: u64 =
        tx.query_row("SELECT last_seq FROM tenants WHERE tenant = ?1", [tenant], |r| r.get(0)).optional()?.unwrap_or(0);
    let mut seq = start_seq;
    let now = now_ms();
    let mut budget = AnswerBudget::new(limits.max_answer_bytes);
    let mut results = Vec::with_capacity(mutations.len());
    {
        let mut find_answer =
            tx.prepare_cached("SELECT result FROM mutations WHERE tenant = ?1 AND mutation_id = ?2")?;
        let mut find_record = tx.prepare_cached(
            "SELECT version, deleted, data, updated_at FROM records WHERE tenant = ?1 AND collection = ?2 AND id = ?3",
        )?;
        let mut write_record = tx.prepare_cached(
            "INSERT INTO records (tenant, collection, id, version, deleted, data, seq, updated_at, forced)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (tenant, collection, id) DO UPDATE SET
                version = excluded.version, deleted = excluded.deleted, data = excluded.data,
                seq = excluded.seq, updated_at = excluded.updated_at, forced = excluded.forced",
        )?;
        let mut save_answer = tx.prepare_cached(
            "INSERT INTO mutations (tenant, mutation_id, result, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut record = |collection: &str, id: &str| -> Result<Option<(StoredRecord, usize)>, StoreError> {
            find_record
                .query_row(params![tenant, collection, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?
                .map(|row| stored_record(row, collection, id))
                .transpose()
        };

        for m in mutations {
            let key = m.mutation_id.hyphenated().to_string();
            let stored: Option<String> = find_answer.query_row(params![tenant, key], |r| r.get(0)).optional()?;
            if let Some(text) = stored {
                let stored = answers::decode(&text).map_err(|e| corrupt(0, e))?;
                let current = match stored.conflict_key() {
                    Some(k) => record(&k.collection, &k.id)?,
                    None => None,
                };
                if stored.conflict_key().is_some() {
                    budget.charge(current.as_ref().map_or(0, |c| c.1))?;
                }
                results.push(stored.into_result(m.mutation_id, current.as_ref().map(|c| &c.0)));
                continue;
            }
            let current = record(&m.collection, &m.id)?;
            let planned = plan(m, current.as_ref().map(|c| &c.0), limits);
            if let MutationResult::Conflict { .. } = planned.result {
                budget.charge(current.as_ref().map_or(0, |c| c.1))?;
            }
            if let Some(w) = &planned.write {
                seq += 1;
                write_record.execute(params![
                    tenant,
                    m.collection,
                    m.id,
                    w.version,
                    w.deleted,
                    w.data,
                    seq,
                    w.updated_at,
                    w.forced
                ])?;
            }
            save_answer.execute(params![tenant, key, answers::encode(&planned.result), now])?;
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

fn pull_tx(
    conn: &mut Connection,
    tenant: &str,
    after: u64,
    limits: PullLimits,
) -> Result<Option<PullPage>, StoreError> {
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
    let mut bytes = 0;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT collection, id, version, deleted, data, updated_at, seq, forced FROM records
             WHERE tenant = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let mut rows = stmt.query(params![tenant, after, u64::from(limits.count) + 1])?;
        while let Some(r) = rows.next()? {
            let (collection, id): (String, String) = (r.get(0)?, r.get(1)?);
            let data: Option<String> = r.get(4)?;
            let size = record_bytes(&collection, &id, data.as_deref());
            if changes.len() == limits.count as usize || (!changes.is_empty() && bytes + size > limits.bytes) {
                has_more = true;
                break;
            }
            bytes += size;
            let data = data.map(RawValue::from_string).transpose().map_err(|e| corrupt(4, e))?;
            changes.push(ServerRecord {
                collection,
                id,
                version: r.get(2)?,
                deleted: r.get(3)?,
                data,
                updated_at: Some(r.get(5)?),
                forced: r.get(7)?,
            });
            last_seq = r.get(6)?;
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
        Box::pin(self.writer.run(move |conn| push_tx(conn, &tenant, &mutations, limits)))
    }

    fn pull(
        &self,
        tenant: String,
        after: u64,
        limits: PullLimits,
    ) -> BoxFuture<'_, Result<Option<PullPage>, StoreError>> {
        Box::pin(self.readers.run(move |conn| pull_tx(conn, &tenant, after, limits)))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.readers.run(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)))
    }

    fn prune(&self, before_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut total = 0;
            loop {
                let n = self
                    .writer
                    .run(move |conn| {
                        Ok(conn.execute(
                            "DELETE FROM mutations WHERE rowid IN
                               (SELECT rowid FROM mutations WHERE created_at < ?1 LIMIT ?2)",
                            params![before_ms, PRUNE_BATCH],
                        )?)
                    })
                    .await?;
                total += n as u64;
                if n < PRUNE_BATCH {
                    return Ok(total);
                }
            }
        })
    }
}
