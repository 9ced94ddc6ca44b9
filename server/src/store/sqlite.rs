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

use ferrysync::protocol::{LeftRecord, Mutation, MutationResult, ServerRecord};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::blobs::{Appended, BlobState, Chunk, Collected, DeleteObjects, Started, COLLECT_BATCH};
use super::{
    answers, blob_missing, now_ms, plan, record_bytes, AnswerBudget, BoxFuture, MutationLimits, PullLimits, PullPage,
    SpaceEntry, SpacePage, SpacesBudget, Store, StoreError, StoredRecord,
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
    space      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, collection, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS records_by_seq ON records (tenant, seq);
CREATE TABLE IF NOT EXISTS departures (
    tenant     TEXT    NOT NULL,
    space      TEXT    NOT NULL,
    collection TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (tenant, space, collection, id)
);
CREATE INDEX IF NOT EXISTS departures_by_space ON departures (tenant, space, seq);
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
CREATE TABLE IF NOT EXISTS blobs (
    tenant   TEXT    NOT NULL,
    hash     TEXT    NOT NULL,
    size     INTEGER NOT NULL,
    last_ref INTEGER NOT NULL,
    PRIMARY KEY (tenant, hash)
);
CREATE INDEX IF NOT EXISTS blobs_by_age ON blobs (last_ref);
CREATE TABLE IF NOT EXISTS uploads (
    tenant     TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, hash)
);
CREATE INDEX IF NOT EXISTS uploads_by_age ON uploads (updated_at);
CREATE TABLE IF NOT EXISTS upload_chunks (
    tenant TEXT    NOT NULL,
    hash   TEXT    NOT NULL,
    at     INTEGER NOT NULL,
    len    INTEGER NOT NULL,
    key    TEXT    NOT NULL,
    PRIMARY KEY (tenant, hash, at)
);
CREATE INDEX IF NOT EXISTS upload_chunks_by_key ON upload_chunks (key);
CREATE TABLE IF NOT EXISTS blob_refs (
    tenant     TEXT NOT NULL,
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (tenant, collection, id, hash)
);
CREATE INDEX IF NOT EXISTS blob_refs_by_hash ON blob_refs (tenant, hash);
"#;

/// Made after the migrations of [`SqliteStore::open_with`], since older databases get their
/// column there. A pull of one space reads only its entries of this index.
const SPACE_INDEX: &str = "CREATE INDEX IF NOT EXISTS records_by_space ON records (tenant, space, seq);";

/// A pull of one space's records: a range of `records_by_space`, in change order.
pub const SPACE_RECORDS_SQL: &str =
    "SELECT collection, id, version, deleted, data, updated_at, seq, forced FROM records
     WHERE tenant = ?1 AND space = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4";
/// A pull of the records that left one space: a range of `departures_by_space`.
pub const SPACE_DEPARTURES_SQL: &str = "SELECT collection, id, version, seq FROM departures
     WHERE tenant = ?1 AND space = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4";

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
                // A database made before spaces: every record belongs to no space.
                let has_space: bool = tx.query_row(
                    "SELECT count(*) > 0 FROM pragma_table_info('records') WHERE name = 'space'",
                    [],
                    |r| r.get(0),
                )?;
                if !has_space {
                    tx.execute_batch("ALTER TABLE records ADD COLUMN space TEXT NOT NULL DEFAULT ''")?;
                }
                tx.execute_batch(SPACE_INDEX)?;
                Ok(tx.commit()?)
            })
            .await?;
        Ok(store)
    }
}

/// A record's row, its data parsed, and what it counts toward an answer.
fn stored_record(
    (version, deleted, data, updated_at, space): (u64, bool, Option<String>, u64, String),
    collection: &str,
    id: &str,
) -> Result<(StoredRecord, usize), StoreError> {
    let bytes = record_bytes(collection, id, data.as_deref());
    let data = data.map(|text| serde_json::from_str(&text)).transpose().map_err(|e| corrupt(2, e))?;
    Ok((StoredRecord { version, deleted, updated_at, data, space }, bytes))
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
            "SELECT version, deleted, data, updated_at, space FROM records
             WHERE tenant = ?1 AND collection = ?2 AND id = ?3",
        )?;
        let mut write_record = tx.prepare_cached(
            "INSERT INTO records (tenant, collection, id, version, deleted, data, seq, updated_at, forced, space)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (tenant, collection, id) DO UPDATE SET
                version = excluded.version, deleted = excluded.deleted, data = excluded.data,
                seq = excluded.seq, updated_at = excluded.updated_at, forced = excluded.forced,
                space = excluded.space",
        )?;
        // A record moved out of a space leaves a departure there; moved (back) in, it has none.
        let mut depart = tx.prepare_cached(
            "INSERT INTO departures (tenant, space, collection, id, version, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (tenant, space, collection, id) DO UPDATE SET
                version = excluded.version, seq = excluded.seq",
        )?;
        let mut arrive = tx.prepare_cached(
            "DELETE FROM departures WHERE tenant = ?1 AND space = ?2 AND collection = ?3 AND id = ?4",
        )?;
        let mut save_answer = tx.prepare_cached(
            "INSERT INTO mutations (tenant, mutation_id, result, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        // The row a collection re-checks: refreshed, the blob is kept (see `collect_blobs`).
        let mut touch_blob =
            tx.prepare_cached("UPDATE blobs SET last_ref = max(last_ref, ?3) WHERE tenant = ?1 AND hash = ?2")?;
        let mut clear_refs =
            tx.prepare_cached("DELETE FROM blob_refs WHERE tenant = ?1 AND collection = ?2 AND id = ?3")?;
        let mut add_ref = tx
            .prepare_cached("INSERT OR IGNORE INTO blob_refs (tenant, collection, id, hash) VALUES (?1, ?2, ?3, ?4)")?;
        let mut record = |collection: &str, id: &str| -> Result<Option<(StoredRecord, usize)>, StoreError> {
            find_record
                .query_row(params![tenant, collection, id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
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
            if let MutationResult::Applied { .. } = planned.result {
                let mut missing = None;
                for hash in &planned.blobs {
                    if touch_blob.execute(params![tenant, hash, limits.now])? == 0 {
                        missing = Some(hash);
                        break;
                    }
                }
                if let Some(hash) = missing {
                    // Not stored: the same mutation applies once the blob is uploaded.
                    results.push(blob_missing(m.mutation_id, hash));
                    continue;
                }
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
                    w.forced,
                    w.space
                ])?;
                if let Some(old) = w.leaves(current.as_ref().map(|c| &c.0)) {
                    depart.execute(params![tenant, old, m.collection, m.id, w.version, seq])?;
                    arrive.execute(params![tenant, w.space, m.collection, m.id])?;
                }
                clear_refs.execute(params![tenant, m.collection, m.id])?;
                for hash in &planned.blobs {
                    add_ref.execute(params![tenant, m.collection, m.id, hash])?;
                }
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

/// The pages of a pull by space, in one read transaction ([`SpacesBudget`] shares the bounds).
fn pull_spaces_tx(
    conn: &mut Connection,
    tenant: &str,
    spaces: &[(String, u64)],
    limits: PullLimits,
) -> Result<Option<Vec<SpacePage>>, StoreError> {
    let tx = conn.transaction()?;
    let last: u64 =
        tx.query_row("SELECT last_seq FROM tenants WHERE tenant = ?1", [tenant], |r| r.get(0)).optional()?.unwrap_or(0);
    if spaces.iter().any(|(_, after)| *after > last) {
        return Ok(None);
    }
    let mut budget = SpacesBudget::new(limits, spaces.len());
    let mut pages: Vec<SpacePage> =
        spaces.iter().map(|(_, after)| SpacePage { last_seq: *after, ..SpacePage::default() }).collect();
    for ((space, _), page) in spaces.iter().zip(pages.iter_mut()) {
        let cap = budget.first_pass();
        read_space(&tx, tenant, space, cap, &mut budget, page)?;
    }
    for ((space, _), page) in spaces.iter().zip(pages.iter_mut()) {
        if let Some(cap) = budget.second_pass(page) {
            read_space(&tx, tenant, space, cap, &mut budget, page)?;
        }
    }
    tx.commit()?;
    Ok(Some(pages))
}

/// Up to `cap` more entries of one space after `page.last_seq`: its records and its departures,
/// merged in change order (a change number is one write: it is a record's or a departure's in a
/// space, never both). Records are read one row at a time, so a page never holds more data than
/// the budget lets in.
fn read_space(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    space: &str,
    cap: u32,
    budget: &mut SpacesBudget,
    page: &mut SpacePage,
) -> Result<(), StoreError> {
    let after = page.last_seq;
    let fetch = u64::from(cap) + 1;
    let mut left = tx.prepare_cached(SPACE_DEPARTURES_SQL)?;
    let departures = left
        .query_map(params![tenant, space, after, fetch], |r| {
            Ok((LeftRecord { collection: r.get(0)?, id: r.get(1)?, version: r.get(2)? }, r.get::<_, u64>(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut departures = departures.into_iter().peekable();
    let mut stmt = tx.prepare_cached(SPACE_RECORDS_SQL)?;
    let mut rows = stmt.query(params![tenant, space, after, fetch])?;
    let mut taken = 0;
    page.has_more = 'read: loop {
        let record = match rows.next()? {
            Some(r) => {
                let data: Option<String> = r.get(4)?;
                let record = ServerRecord {
                    collection: r.get(0)?,
                    id: r.get(1)?,
                    version: r.get(2)?,
                    deleted: r.get(3)?,
                    data: data.map(RawValue::from_string).transpose().map_err(|e| corrupt(4, e))?,
                    updated_at: Some(r.get(5)?),
                    forced: r.get(7)?,
                };
                Some((record, r.get::<_, u64>(6)?))
            }
            None => None,
        };
        while let Some((_, seq)) = departures.peek() {
            if record.as_ref().is_some_and(|(_, at)| at < seq) {
                break;
            }
            let (l, seq) = departures.next().expect("peeked");
            if !budget.offer(page, &mut taken, cap, seq, SpaceEntry::Left(l)) {
                break 'read true;
            }
        }
        match record {
            Some((r, seq)) => {
                if !budget.offer(page, &mut taken, cap, seq, SpaceEntry::Record(r)) {
                    break 'read true;
                }
            }
            None => break 'read false,
        }
    };
    Ok(())
}

fn blob_state_in(conn: &Connection, tenant: &str, hash: &str) -> Result<BlobState, StoreError> {
    let complete: Option<u64> = conn
        .prepare_cached("SELECT size FROM blobs WHERE tenant = ?1 AND hash = ?2")?
        .query_row(params![tenant, hash], |r| r.get(0))
        .optional()?;
    if let Some(size) = complete {
        return Ok(BlobState::Complete { size });
    }
    let upload: Option<(u64, u64)> = conn
        .prepare_cached("SELECT size, received FROM uploads WHERE tenant = ?1 AND hash = ?2")?
        .query_row(params![tenant, hash], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(upload.map_or(BlobState::Absent, |(size, received)| BlobState::Uploading { size, received }))
}

fn chunks_in(conn: &Connection, tenant: &str, hash: &str) -> Result<Vec<Chunk>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT at, len, key FROM upload_chunks WHERE tenant = ?1 AND hash = ?2 ORDER BY at")?;
    let rows =
        stmt.query_map(params![tenant, hash], |r| Ok(Chunk { offset: r.get(0)?, len: r.get(1)?, key: r.get(2)? }))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn blob_start_tx(
    conn: &mut Connection,
    tenant: &str,
    hash: &str,
    size: u64,
    quota: u64,
    now: u64,
) -> Result<Started, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let state = blob_state_in(&tx, tenant, hash)?;
    if state != BlobState::Absent {
        return Ok(Started::State(state));
    }
    let used: u64 = tx.query_row(
        "SELECT (SELECT coalesce(sum(size), 0) FROM blobs WHERE tenant = ?1)
              + (SELECT coalesce(sum(size), 0) FROM uploads WHERE tenant = ?1)",
        [tenant],
        |r| r.get(0),
    )?;
    if used.saturating_add(size) > quota {
        return Ok(Started::QuotaExceeded { used });
    }
    tx.execute(
        "INSERT INTO uploads (tenant, hash, size, received, started_at, updated_at) VALUES (?1, ?2, ?3, 0, ?4, ?4)",
        params![tenant, hash, size, now],
    )?;
    tx.commit()?;
    Ok(Started::State(BlobState::Uploading { size, received: 0 }))
}

fn blob_append_tx(
    conn: &mut Connection,
    tenant: &str,
    hash: &str,
    chunk: &Chunk,
    now: u64,
) -> Result<Appended, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let advanced = tx.execute(
        "UPDATE uploads SET received = received + ?4, updated_at = ?5
         WHERE tenant = ?1 AND hash = ?2 AND received = ?3 AND received + ?4 <= size",
        params![tenant, hash, chunk.offset, chunk.len, now],
    )?;
    if advanced == 0 {
        return Ok(Appended::Lost(blob_state_in(&tx, tenant, hash)?));
    }
    tx.execute(
        "INSERT INTO upload_chunks (tenant, hash, at, len, key) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![tenant, hash, chunk.offset, chunk.len, chunk.key],
    )?;
    tx.commit()?;
    Ok(Appended::Received(chunk.offset + chunk.len))
}

/// Forgets an upload (only a fully received one when `finish`, which also makes it a complete
/// blob); returns its chunks.
fn blob_end_tx(conn: &mut Connection, tenant: &str, hash: &str, finish: Option<u64>) -> Result<Vec<Chunk>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let size: Option<u64> = tx
        .query_row(
            "DELETE FROM uploads WHERE tenant = ?1 AND hash = ?2 AND (?3 = 0 OR received = size) RETURNING size",
            params![tenant, hash, finish.is_some()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(size) = size else {
        return Ok(Vec::new());
    };
    let chunks = chunks_in(&tx, tenant, hash)?;
    tx.execute("DELETE FROM upload_chunks WHERE tenant = ?1 AND hash = ?2", params![tenant, hash])?;
    if let Some(now) = finish {
        tx.execute(
            "INSERT OR IGNORE INTO blobs (tenant, hash, size, last_ref) VALUES (?1, ?2, ?3, ?4)",
            params![tenant, hash, size, now],
        )?;
    }
    tx.commit()?;
    Ok(chunks)
}

/// One batch of a collection: the rows go in a write transaction that stays open while `delete`
/// removes their objects (on this blocking thread), then commits.
fn collect_tx(
    conn: &mut Connection,
    before_ms: u64,
    delete: &DeleteObjects,
    runtime: &tokio::runtime::Handle,
) -> Result<Collected, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let blobs = tx
        .prepare(
            "DELETE FROM blobs WHERE rowid IN (
                 SELECT rowid FROM blobs b WHERE last_ref < ?1
                   AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.tenant = b.tenant AND r.hash = b.hash)
                 LIMIT ?2)
             RETURNING tenant, hash",
        )?
        .query_map(params![before_ms, COLLECT_BATCH], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, String)>, _>>()?;
    let uploads = tx
        .prepare(
            "DELETE FROM uploads WHERE rowid IN (SELECT rowid FROM uploads WHERE updated_at < ?1 LIMIT ?2)
             RETURNING tenant, hash",
        )?
        .query_map(params![before_ms, COLLECT_BATCH], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, String)>, _>>()?;
    let mut chunks = Vec::new();
    for (tenant, hash) in &uploads {
        chunks.extend(chunks_in(&tx, tenant, hash)?.into_iter().map(|c| c.key));
        tx.execute("DELETE FROM upload_chunks WHERE tenant = ?1 AND hash = ?2", params![tenant, hash])?;
    }
    let collected = Collected { blobs, chunks, uploads: uploads.len() as u64, orphans: 0 };
    if collected.blobs.is_empty() && collected.uploads == 0 {
        return Ok(collected);
    }
    runtime.block_on(delete(collected.clone()))?;
    tx.commit()?;
    Ok(collected)
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

    fn pull_spaces(
        &self,
        tenant: String,
        spaces: Vec<(String, u64)>,
        limits: PullLimits,
    ) -> BoxFuture<'_, Result<Option<Vec<SpacePage>>, StoreError>> {
        Box::pin(self.readers.run(move |conn| pull_spaces_tx(conn, &tenant, &spaces, limits)))
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

    fn blob_state(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<BlobState, StoreError>> {
        Box::pin(self.readers.run(move |conn| blob_state_in(conn, &tenant, &hash)))
    }

    fn blob_start(
        &self,
        tenant: String,
        hash: String,
        size: u64,
        quota: u64,
        now: u64,
    ) -> BoxFuture<'_, Result<Started, StoreError>> {
        Box::pin(self.writer.run(move |conn| blob_start_tx(conn, &tenant, &hash, size, quota, now)))
    }

    fn blob_append(
        &self,
        tenant: String,
        hash: String,
        chunk: Chunk,
        now: u64,
    ) -> BoxFuture<'_, Result<Appended, StoreError>> {
        Box::pin(self.writer.run(move |conn| blob_append_tx(conn, &tenant, &hash, &chunk, now)))
    }

    fn blob_chunks(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>> {
        Box::pin(self.readers.run(move |conn| chunks_in(conn, &tenant, &hash)))
    }

    fn blob_finish(&self, tenant: String, hash: String, now: u64) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>> {
        Box::pin(self.writer.run(move |conn| blob_end_tx(conn, &tenant, &hash, Some(now))))
    }

    fn blob_drop_upload(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>> {
        Box::pin(self.writer.run(move |conn| blob_end_tx(conn, &tenant, &hash, None)))
    }

    fn collect_blobs(&self, before_ms: u64, delete: DeleteObjects) -> BoxFuture<'_, Result<Collected, StoreError>> {
        Box::pin(async move {
            let mut total = Collected::default();
            loop {
                let (delete, runtime) = (delete.clone(), tokio::runtime::Handle::current());
                let batch = self.writer.run(move |conn| collect_tx(conn, before_ms, &delete, &runtime)).await?;
                let more = batch.blobs.len() as u64 == COLLECT_BATCH || batch.uploads == COLLECT_BATCH;
                total.blobs.extend(batch.blobs);
                total.chunks.extend(batch.chunks);
                total.uploads += batch.uploads;
                if !more {
                    return Ok(total);
                }
            }
        })
    }

    fn known_chunks(&self, keys: Vec<String>) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(self.readers.run(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT count(*) > 0 FROM upload_chunks WHERE key = ?1")?;
            let mut known = Vec::new();
            for key in keys {
                if stmt.query_row([&key], |r| r.get::<_, bool>(0))? {
                    known.push(key);
                }
            }
            Ok(known)
        }))
    }
}
