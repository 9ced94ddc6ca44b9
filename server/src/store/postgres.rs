//! The PostgreSQL store, for deployments where several server processes share one database.
//!
//! The change sequence must become visible in the order it is handed out, or a puller whose
//! cursor passed number 12 while 11 was still uncommitted would miss 11 forever. So a push
//! takes its tenant's counter row `FOR UPDATE` before anything else: a tenant's writers run one
//! after another (each process also queues its own writers of a tenant before taking a
//! connection), and a number is handed out only once every smaller one is committed. Pulls read
//! one snapshot (`REPEATABLE READ`) on a separate pool of connections, so they never wait for a
//! writer; health checks use that pool too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
use ferrysync::protocol::{LeftRecord, Mutation, MutationResult, ServerRecord};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio_postgres::{IsolationLevel, NoTls};

use super::answers::{self, Stored};
use super::blobs::{Appended, BlobState, Chunk, Collected, DeleteObjects, Started, COLLECT_BATCH};
use super::{
    blob_missing, now_ms, plan, record_bytes, AnswerBudget, BoxFuture, MutationLimits, PullLimits, PullPage,
    SpaceEntry, SpacePage, SpacesBudget, Store, StoreError, StoredRecord, Write,
};

/// Connections of each pool (writers, readers) of one server process.
const POOL_SIZE: usize = 8;
/// How long a request waits for a free connection before answering 503.
const POOL_WAIT: Duration = Duration::from_secs(5);
const PRUNE_BATCH: i64 = 1000;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS records (
    tenant     TEXT    NOT NULL,
    collection TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    deleted    BOOLEAN NOT NULL,
    data       TEXT,
    seq        BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    forced     BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (tenant, collection, id)
);
-- A database made before force pushes were recorded gets the column.
ALTER TABLE records ADD COLUMN IF NOT EXISTS forced BOOLEAN NOT NULL DEFAULT false;
-- A database made before spaces: every record belongs to no space ('').
ALTER TABLE records ADD COLUMN IF NOT EXISTS space TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX IF NOT EXISTS records_by_seq ON records (tenant, seq);
CREATE INDEX IF NOT EXISTS records_by_space ON records (tenant, space, seq);
CREATE TABLE IF NOT EXISTS departures (
    tenant     TEXT   NOT NULL,
    space      TEXT   NOT NULL,
    collection TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (tenant, space, collection, id)
);
CREATE INDEX IF NOT EXISTS departures_by_space ON departures (tenant, space, seq);
CREATE TABLE IF NOT EXISTS mutations (
    tenant      TEXT   NOT NULL,
    mutation_id TEXT   NOT NULL,
    result      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant, mutation_id)
);
CREATE INDEX IF NOT EXISTS mutations_by_age ON mutations (created_at);
CREATE TABLE IF NOT EXISTS tenants (
    tenant   TEXT   PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
    tenant   TEXT   NOT NULL,
    hash     TEXT   NOT NULL,
    size     BIGINT NOT NULL,
    last_ref BIGINT NOT NULL,
    PRIMARY KEY (tenant, hash)
);
CREATE INDEX IF NOT EXISTS blobs_by_age ON blobs (last_ref);
CREATE TABLE IF NOT EXISTS uploads (
    tenant     TEXT   NOT NULL,
    hash       TEXT   NOT NULL,
    size       BIGINT NOT NULL,
    received   BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, hash)
);
CREATE INDEX IF NOT EXISTS uploads_by_age ON uploads (updated_at);
CREATE TABLE IF NOT EXISTS upload_chunks (
    tenant TEXT   NOT NULL,
    hash   TEXT   NOT NULL,
    at     BIGINT NOT NULL,
    len    BIGINT NOT NULL,
    key    TEXT   NOT NULL,
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

/// A page: at most `$3` records after `$2`, and of those only the ones whose running size stays
/// within `$4` (the first one always); `total` tells whether more follow.
const PULL_SQL: &str = r#"
SELECT collection, id, version, deleted, data, updated_at, seq, total, forced FROM (
    SELECT r.*,
           row_number() OVER w AS n,
           sum(octet_length(collection) + octet_length(id) + coalesce(octet_length(data), 0) + 100) OVER w AS upto,
           count(*) OVER () AS total
    FROM (SELECT * FROM records WHERE tenant = $1 AND seq > $2::int8 ORDER BY seq LIMIT $3::int8 + 1) r
    WINDOW w AS (ORDER BY seq)
) p
WHERE n <= $3::int8 AND (n = 1 OR upto <= $4::int8)
ORDER BY seq
"#;

/// One space's entries after `$3`: its records and departures merged in change order (each side
/// read from its index, `records_by_space` and `departures_by_space`, at most `$4 + 1` rows). An
/// entry `fits` when it is among the first `$4` and the running size stays within `$5` (the first
/// one too when `$6`: the answer is still empty); the rows are the fitting ones and the first one
/// after them, which only says that more follow (its data is not sent), and `total` tells it when
/// no row is left over. `kind` is 0 for a record, 1 for a departure.
pub const SPACE_SQL: &str = r#"
SELECT kind, collection, id, version, deleted, CASE WHEN fits THEN data END, updated_at, seq, forced, total, fits
FROM (
    SELECT u.*,
           row_number() OVER w AS n,
           sum(size) OVER w AS upto,
           count(*) OVER () AS total,
           (row_number() OVER w <= $4::int8 AND ((row_number() OVER w = 1 AND $6::bool) OR sum(size) OVER w <= $5::int8)) AS fits
    FROM (
        (SELECT 0 AS kind, collection, id, version, deleted, data, updated_at, seq, forced,
                octet_length(collection) + octet_length(id) + coalesce(octet_length(data), 0) + 100 AS size
         FROM records WHERE tenant = $1 AND space = $2 AND seq > $3::int8 ORDER BY seq LIMIT $4::int8 + 1)
        UNION ALL
        (SELECT 1, collection, id, version, false, NULL, 0, seq, false,
                octet_length(collection) + octet_length(id) + 100
         FROM departures WHERE tenant = $1 AND space = $2 AND seq > $3::int8 ORDER BY seq LIMIT $4::int8 + 1)
    ) u
    WINDOW w AS (ORDER BY seq)
) p
WHERE fits OR n = 1 OR upto - size <= $5::int8 OR (n = 2 AND $6::bool)
ORDER BY seq
"#;

/// The PostgreSQL implementation of [`Store`].
pub struct PostgresStore {
    writers: Pool,
    readers: Pool,
    /// One queue per tenant with a push in progress in this process.
    tenant_queues: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    match e.code().map(|c| c.code()) {
        // Serialization failure, deadlock, too many connections, shutting down: retry later.
        Some("40001" | "40P01" | "53300" | "57P01" | "57P03") => StoreError::Busy,
        _ if e.is_closed() => StoreError::Busy,
        _ => StoreError::Other(format!("postgres: {e}")),
    }
}

fn pool_err(e: PoolError) -> StoreError {
    match e {
        PoolError::Timeout(_) => StoreError::Busy,
        PoolError::Backend(e) => match pg_err(e) {
            StoreError::Other(_) => StoreError::Busy,
            other => other,
        },
        other => StoreError::Other(format!("postgres pool: {other}")),
    }
}

fn corrupt(what: &str, e: serde_json::Error) -> StoreError {
    StoreError::Other(format!("postgres: stored {what} is not valid: {e}"))
}

fn pool(config: &tokio_postgres::Config) -> Result<Pool, StoreError> {
    let manager =
        Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_WAIT))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Other(format!("postgres pool: {e}")))
}

impl PostgresStore {
    /// Connects and creates the tables if needed (under an advisory lock, so that servers
    /// starting together do not race on it).
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Other(format!("the --database URL is not valid: {e}")))?;
        let store = PostgresStore { writers: pool(&config)?, readers: pool(&config)?, tenant_queues: Mutex::default() };
        let mut conn = store.writers.get().await.map_err(|e| match e {
            PoolError::Backend(e) => StoreError::Other(format!("postgres: {e}")),
            other => pool_err(other),
        })?;
        let tx = conn.transaction().await.map_err(pg_err)?;
        tx.execute("SELECT pg_advisory_xact_lock(7301960)", &[]).await.map_err(pg_err)?;
        tx.batch_execute(SCHEMA).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(store)
    }

    fn queue(&self, tenant: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut queues = self.tenant_queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.entry(tenant.to_string()).or_default().clone()
    }

    fn forget_queue(&self, tenant: &str) {
        let mut queues = self.tenant_queues.lock().unwrap_or_else(|e| e.into_inner());
        if queues.get(tenant).is_some_and(|q| Arc::strong_count(q) == 1) {
            queues.remove(tenant);
        }
    }

    async fn push_batch(
        &self,
        tenant: &str,
        mutations: &[Mutation<Value>],
        limits: MutationLimits,
    ) -> Result<Vec<MutationResult<Value>>, StoreError> {
        let queue = self.queue(tenant);
        let result = {
            let _turn = queue.lock().await;
            let mut conn = self.writers.get().await.map_err(pool_err)?;
            push_tx(&mut conn, tenant, mutations, limits).await
        };
        drop(queue);
        self.forget_queue(tenant);
        result
    }
}

type RecordKey = (String, String);
/// A record as the batch sees it (`None`: never held), and what it counts toward the answer.
type Seen = HashMap<RecordKey, Option<(StoredRecord, usize)>>;

async fn fetch_records(
    tx: &tokio_postgres::Transaction<'_>,
    tenant: &str,
    keys: &[RecordKey],
    seen: &mut Seen,
) -> Result<(), StoreError> {
    let wanted: Vec<&RecordKey> = keys.iter().filter(|k| !seen.contains_key(*k)).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let collections: Vec<&str> = wanted.iter().map(|k| k.0.as_str()).collect();
    let ids: Vec<&str> = wanted.iter().map(|k| k.1.as_str()).collect();
    let rows = tx
        .query(
            "SELECT r.collection, r.id, r.version, r.deleted, r.data, r.updated_at, r.space FROM records r
             JOIN unnest($2::text[], $3::text[]) AS k(collection, id) USING (collection, id)
             WHERE r.tenant = $1",
            &[&tenant, &collections, &ids],
        )
        .await
        .map_err(pg_err)?;
    for k in wanted {
        seen.insert(k.clone(), None);
    }
    for row in rows {
        let (collection, id): (String, String) = (row.get(0), row.get(1));
        let data: Option<String> = row.get(4);
        let bytes = record_bytes(&collection, &id, data.as_deref());
        let data = data.map(|t| serde_json::from_str(&t)).transpose().map_err(|e| corrupt("data", e))?;
        let (version, updated_at): (i64, i64) = (row.get(2), row.get(5));
        let stored = StoredRecord {
            version: version as u64,
            deleted: row.get(3),
            updated_at: updated_at as u64,
            data,
            space: row.get(6),
        };
        seen.insert((collection, id), Some((stored, bytes)));
    }
    Ok(())
}

async fn push_tx(
    conn: &mut Object,
    tenant: &str,
    mutations: &[Mutation<Value>],
    limits: MutationLimits,
) -> Result<Vec<MutationResult<Value>>, StoreError> {
    let tx = conn.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start().await.map_err(pg_err)?;
    tx.execute("INSERT INTO tenants (tenant, last_seq) VALUES ($1, 0) ON CONFLICT (tenant) DO NOTHING", &[&tenant])
        .await
        .map_err(pg_err)?;
    // The tenant's writers take turns here; see the module comment.
    let start_seq: i64 = tx
        .query_one("SELECT last_seq FROM tenants WHERE tenant = $1 FOR UPDATE", &[&tenant])
        .await
        .map_err(pg_err)?
        .get(0);

    let keys: Vec<String> = mutations.iter().map(|m| m.mutation_id.hyphenated().to_string()).collect();
    let mut answers: HashMap<String, Stored> = HashMap::new();
    for row in tx
        .query(
            "SELECT mutation_id, result FROM mutations WHERE tenant = $1 AND mutation_id = ANY($2)",
            &[&tenant, &keys],
        )
        .await
        .map_err(pg_err)?
    {
        let text: String = row.get(1);
        answers.insert(row.get(0), answers::decode(&text).map_err(|e| corrupt("answer", e))?);
    }
    let mut record_keys: Vec<RecordKey> = mutations.iter().map(|m| (m.collection.clone(), m.id.clone())).collect();
    record_keys.extend(answers.values().filter_map(Stored::conflict_key).map(|k| (k.collection.clone(), k.id.clone())));
    let mut seen = Seen::new();
    fetch_records(&tx, tenant, &record_keys, &mut seen).await?;

    let mut seq = start_seq as u64;
    let mut budget = AnswerBudget::new(limits.max_answer_bytes);
    // Each record's last write in the batch, with its change number and the blobs it refers to.
    let mut writes: HashMap<RecordKey, (Write, u64, Vec<String>)> = HashMap::new();
    // The space of each written record before the batch (`None`: never held).
    let mut before: HashMap<RecordKey, Option<String>> = HashMap::new();
    let (mut new_keys, mut new_answers) = (Vec::new(), Vec::new());
    let mut results = Vec::with_capacity(mutations.len());
    for (m, key) in mutations.iter().zip(&keys) {
        if let Some(stored) = answers.get(key) {
            let current = stored.conflict_key().and_then(|k| seen[&(k.collection.clone(), k.id.clone())].as_ref());
            if stored.conflict_key().is_some() {
                budget.charge(current.map_or(0, |c| c.1))?;
            }
            results.push(stored.clone().into_result(m.mutation_id, current.map(|c| &c.0)));
            continue;
        }
        let record_key = (m.collection.clone(), m.id.clone());
        let current = seen[&record_key].as_ref();
        let planned = plan(m, current.map(|c| &c.0), limits);
        if let MutationResult::Conflict { .. } = planned.result {
            budget.charge(current.map_or(0, |c| c.1))?;
        }
        if let (MutationResult::Applied { .. }, false) = (&planned.result, planned.blobs.is_empty()) {
            // The row a collection re-checks (under READ COMMITTED, a DELETE that meets this
            // updated row evaluates its condition again): refreshed, the blob is kept.
            let touched: Vec<String> = tx
                .query(
                    "UPDATE blobs SET last_ref = greatest(last_ref, $3) WHERE tenant = $1 AND hash = ANY($2)
                     RETURNING hash",
                    &[&tenant, &planned.blobs, &(limits.now as i64)],
                )
                .await
                .map_err(pg_err)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if let Some(hash) = planned.blobs.iter().find(|h| !touched.contains(h)) {
                // Not stored: the same mutation applies once the blob is uploaded.
                results.push(blob_missing(m.mutation_id, hash));
                continue;
            }
        }
        if let Some(w) = planned.write {
            seq += 1;
            let bytes = record_bytes(&m.collection, &m.id, w.data.as_deref());
            let data = if w.deleted { None } else { m.data.clone() };
            before.entry(record_key.clone()).or_insert_with(|| current.map(|c| c.0.space.clone()));
            let stored = StoredRecord {
                version: w.version,
                deleted: w.deleted,
                updated_at: w.updated_at,
                data,
                space: w.space.clone(),
            };
            seen.insert(record_key.clone(), Some((stored, bytes)));
            // A record written twice in the batch is stored once, in its last state.
            writes.insert(record_key, (w, seq, planned.blobs));
        }
        let text = answers::encode(&planned.result);
        answers.insert(key.clone(), answers::decode(&text).map_err(|e| corrupt("answer", e))?);
        new_keys.push(key.as_str());
        new_answers.push(text);
        results.push(planned.result);
    }

    let now = now_ms() as i64;
    if !writes.is_empty() {
        let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut spaces, mut moved) =
            (Vec::new(), (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()));
        let mut refs = (Vec::new(), Vec::new(), Vec::new());
        for ((collection, id), (w, seq, blobs)) in writes {
            for hash in blobs {
                refs.0.push(collection.clone());
                refs.1.push(id.clone());
                refs.2.push(hash);
            }
            // A record the batch moved out of a space leaves a departure there (the batch's last
            // write of it says where to and at which version); in the space it is now, it has none.
            if let Some(Some(old)) = before.get(&(collection.clone(), id.clone())) {
                if *old != w.space {
                    moved.0.push(old.clone());
                    moved.1.push(w.space.clone());
                    moved.2.push(collection.clone());
                    moved.3.push(id.clone());
                    moved.4.push(w.version as i64);
                    moved.5.push(seq as i64);
                }
            }
            spaces.push(w.space);
            cols.0.push(collection);
            cols.1.push(id);
            cols.2.push(w.version as i64);
            cols.3.push(w.deleted);
            cols.4.push(w.data);
            cols.5.push(seq as i64);
            cols.6.push(w.forced);
            cols.7.push(w.updated_at as i64);
        }
        tx.execute(
            "INSERT INTO records (tenant, collection, id, version, deleted, data, seq, updated_at, forced, space)
             SELECT $1, c, i, v, d, x, s, u, f, sp
             FROM unnest($2::text[], $3::text[], $4::int8[], $5::bool[], $6::text[], $7::int8[], $8::bool[], $9::int8[],
                         $10::text[])
                AS t(c, i, v, d, x, s, f, u, sp)
             ON CONFLICT (tenant, collection, id) DO UPDATE SET
                version = excluded.version, deleted = excluded.deleted, data = excluded.data,
                seq = excluded.seq, updated_at = excluded.updated_at, forced = excluded.forced,
                space = excluded.space",
            &[&tenant, &cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5, &cols.6, &cols.7, &spaces],
        )
        .await
        .map_err(pg_err)?;
        if !moved.0.is_empty() {
            tx.execute(
                "INSERT INTO departures (tenant, space, collection, id, version, seq)
                 SELECT $1, o, c, i, v, s FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[])
                    AS t(o, c, i, v, s)
                 ON CONFLICT (tenant, space, collection, id) DO UPDATE SET
                    version = excluded.version, seq = excluded.seq",
                &[&tenant, &moved.0, &moved.2, &moved.3, &moved.4, &moved.5],
            )
            .await
            .map_err(pg_err)?;
            tx.execute(
                "DELETE FROM departures d USING unnest($2::text[], $3::text[], $4::text[]) AS t(sp, c, i)
                 WHERE d.tenant = $1 AND d.space = t.sp AND d.collection = t.c AND d.id = t.i",
                &[&tenant, &moved.1, &moved.2, &moved.3],
            )
            .await
            .map_err(pg_err)?;
        }
        // Each written record's blob references are replaced by its last write's.
        tx.execute(
            "DELETE FROM blob_refs b USING unnest($2::text[], $3::text[]) AS t(c, i)
             WHERE b.tenant = $1 AND b.collection = t.c AND b.id = t.i",
            &[&tenant, &cols.0, &cols.1],
        )
        .await
        .map_err(pg_err)?;
        if !refs.0.is_empty() {
            tx.execute(
                "INSERT INTO blob_refs (tenant, collection, id, hash)
                 SELECT $1, c, i, h FROM unnest($2::text[], $3::text[], $4::text[]) AS t(c, i, h)
                 ON CONFLICT DO NOTHING",
                &[&tenant, &refs.0, &refs.1, &refs.2],
            )
            .await
            .map_err(pg_err)?;
        }
        tx.execute("UPDATE tenants SET last_seq = $2 WHERE tenant = $1", &[&tenant, &(seq as i64)])
            .await
            .map_err(pg_err)?;
    }
    if !new_keys.is_empty() {
        tx.execute(
            "INSERT INTO mutations (tenant, mutation_id, result, created_at)
             SELECT $1, k, r, $4 FROM unnest($2::text[], $3::text[]) AS t(k, r)",
            &[&tenant, &new_keys, &new_answers, &now],
        )
        .await
        .map_err(pg_err)?;
    }
    tx.commit().await.map_err(pg_err)?;
    Ok(results)
}

async fn pull_tx(
    conn: &mut Object,
    tenant: &str,
    after: u64,
    limits: PullLimits,
) -> Result<Option<PullPage>, StoreError> {
    let tx = conn
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg_err)?;
    let last: i64 = tx
        .query_opt("SELECT last_seq FROM tenants WHERE tenant = $1", &[&tenant])
        .await
        .map_err(pg_err)?
        .map_or(0, |r| r.get(0));
    if after > last as u64 {
        return Ok(None);
    }
    let rows = tx
        .query(PULL_SQL, &[&tenant, &(after as i64), &i64::from(limits.count), &(limits.bytes as i64)])
        .await
        .map_err(pg_err)?;
    tx.commit().await.map_err(pg_err)?;
    let total = rows.first().map_or(0, |r| r.get::<_, i64>(7));
    let has_more = total as usize > rows.len();
    let mut last_seq = after;
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        let data: Option<String> = row.get(4);
        let version: i64 = row.get(2);
        let updated_at: i64 = row.get(5);
        let seq: i64 = row.get(6);
        changes.push(ServerRecord {
            collection: row.get(0),
            id: row.get(1),
            version: version as u64,
            deleted: row.get(3),
            data: data.map(RawValue::from_string).transpose().map_err(|e| corrupt("data", e))?,
            updated_at: Some(updated_at as u64),
            forced: row.get(8),
        });
        last_seq = seq as u64;
    }
    Ok(Some(PullPage { changes, last_seq, has_more }))
}

/// The pages of a pull by space, in one snapshot ([`SpacesBudget`] shares the bounds).
async fn pull_spaces_tx(
    conn: &mut Object,
    tenant: &str,
    spaces: &[(String, u64)],
    limits: PullLimits,
) -> Result<Option<Vec<SpacePage>>, StoreError> {
    let tx = conn
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg_err)?;
    let last: i64 = tx
        .query_opt("SELECT last_seq FROM tenants WHERE tenant = $1", &[&tenant])
        .await
        .map_err(pg_err)?
        .map_or(0, |r| r.get(0));
    if spaces.iter().any(|(_, after)| *after > last as u64) {
        return Ok(None);
    }
    let stmt = tx.prepare_cached(SPACE_SQL).await.map_err(pg_err)?;
    let mut budget = SpacesBudget::new(limits, spaces.len());
    let mut pages: Vec<SpacePage> =
        spaces.iter().map(|(_, after)| SpacePage { last_seq: *after, ..SpacePage::default() }).collect();
    for pass in 0..2 {
        for ((space, _), page) in spaces.iter().zip(pages.iter_mut()) {
            let cap = match pass {
                0 => budget.first_pass(),
                _ => match budget.second_pass(page) {
                    Some(cap) => cap,
                    None => continue,
                },
            };
            let (bytes_left, empty) = budget.bytes_left();
            let rows = tx
                .query(&stmt, &[&tenant, space, &(page.last_seq as i64), &i64::from(cap), &(bytes_left as i64), &empty])
                .await
                .map_err(pg_err)?;
            let total = rows.first().map_or(0, |r| r.get::<_, i64>(9));
            let mut taken = 0;
            let mut more = total as usize > rows.len();
            for row in rows.iter() {
                if !row.get::<_, bool>(10) {
                    // Over the count or the byte bound; only the bytes concern the other spaces.
                    more = true;
                    if taken < cap {
                        budget.mark_full();
                    }
                    break;
                }
                let (kind, version, seq): (i32, i64, i64) = (row.get(0), row.get(3), row.get(7));
                let entry = if kind == 0 {
                    let data: Option<String> = row.get(5);
                    let updated_at: i64 = row.get(6);
                    SpaceEntry::Record(ServerRecord {
                        collection: row.get(1),
                        id: row.get(2),
                        version: version as u64,
                        deleted: row.get(4),
                        data: data.map(RawValue::from_string).transpose().map_err(|e| corrupt("data", e))?,
                        updated_at: Some(updated_at as u64),
                        forced: row.get(8),
                    })
                } else {
                    SpaceEntry::Left(LeftRecord { collection: row.get(1), id: row.get(2), version: version as u64 })
                };
                if !budget.offer(page, &mut taken, cap, seq as u64, entry) {
                    more = true;
                    break;
                }
            }
            page.has_more = more;
        }
    }
    tx.commit().await.map_err(pg_err)?;
    Ok(Some(pages))
}

async fn blob_state_in(
    client: &impl deadpool_postgres::GenericClient,
    tenant: &str,
    hash: &str,
) -> Result<BlobState, StoreError> {
    let row = client
        .query_opt(
            "SELECT b.size, NULL::int8 FROM blobs b WHERE b.tenant = $1 AND b.hash = $2
             UNION ALL SELECT u.size, u.received FROM uploads u WHERE u.tenant = $1 AND u.hash = $2
             LIMIT 1",
            &[&tenant, &hash],
        )
        .await
        .map_err(pg_err)?;
    Ok(match row {
        None => BlobState::Absent,
        Some(r) => {
            let size = r.get::<_, i64>(0) as u64;
            match r.get::<_, Option<i64>>(1) {
                None => BlobState::Complete { size },
                Some(received) => BlobState::Uploading { size, received: received as u64 },
            }
        }
    })
}

fn chunk_rows(rows: &[tokio_postgres::Row]) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = rows
        .iter()
        .map(|r| Chunk { offset: r.get::<_, i64>(0) as u64, len: r.get::<_, i64>(1) as u64, key: r.get(2) })
        .collect();
    chunks.sort_by_key(|c| c.offset);
    chunks
}

impl PostgresStore {
    async fn blob_start_tx(
        &self,
        tenant: &str,
        hash: &str,
        size: u64,
        quota: u64,
        now: u64,
    ) -> Result<Started, StoreError> {
        let mut conn = self.writers.get().await.map_err(pool_err)?;
        let tx = conn.transaction().await.map_err(pg_err)?;
        // The tenant's row orders its upload starts, so two cannot both fit the last of the quota.
        tx.execute("INSERT INTO tenants (tenant, last_seq) VALUES ($1, 0) ON CONFLICT (tenant) DO NOTHING", &[&tenant])
            .await
            .map_err(pg_err)?;
        tx.execute("SELECT 1 FROM tenants WHERE tenant = $1 FOR UPDATE", &[&tenant]).await.map_err(pg_err)?;
        let state = blob_state_in(&tx, tenant, hash).await?;
        if state != BlobState::Absent {
            return Ok(Started::State(state));
        }
        let used: i64 = tx
            .query_one(
                "SELECT ((SELECT coalesce(sum(size), 0) FROM blobs WHERE tenant = $1)
                       + (SELECT coalesce(sum(size), 0) FROM uploads WHERE tenant = $1))::int8",
                &[&tenant],
            )
            .await
            .map_err(pg_err)?
            .get(0);
        if (used as u64).saturating_add(size) > quota {
            return Ok(Started::QuotaExceeded { used: used as u64 });
        }
        tx.execute(
            "INSERT INTO uploads (tenant, hash, size, received, started_at, updated_at) VALUES ($1, $2, $3, 0, $4, $4)",
            &[&tenant, &hash, &(size as i64), &(now as i64)],
        )
        .await
        .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(Started::State(BlobState::Uploading { size, received: 0 }))
    }

    async fn blob_append_tx(&self, tenant: &str, hash: &str, chunk: &Chunk, now: u64) -> Result<Appended, StoreError> {
        let mut conn = self.writers.get().await.map_err(pool_err)?;
        let tx = conn.transaction().await.map_err(pg_err)?;
        // Of two chunks at one offset, the second waits for the first's row lock, then finds the
        // offset moved on (READ COMMITTED evaluates the condition again on the new row).
        let advanced = tx
            .execute(
                "UPDATE uploads SET received = received + $4, updated_at = $5
                 WHERE tenant = $1 AND hash = $2 AND received = $3 AND received + $4 <= size",
                &[&tenant, &hash, &(chunk.offset as i64), &(chunk.len as i64), &(now as i64)],
            )
            .await
            .map_err(pg_err)?;
        if advanced == 0 {
            return Ok(Appended::Lost(blob_state_in(&tx, tenant, hash).await?));
        }
        tx.execute(
            "INSERT INTO upload_chunks (tenant, hash, at, len, key) VALUES ($1, $2, $3, $4, $5)",
            &[&tenant, &hash, &(chunk.offset as i64), &(chunk.len as i64), &chunk.key],
        )
        .await
        .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(Appended::Received(chunk.offset + chunk.len))
    }

    /// Forgets an upload (only a fully received one when `finish`, which also makes it a
    /// complete blob); returns its chunks.
    async fn blob_end_tx(&self, tenant: &str, hash: &str, finish: Option<u64>) -> Result<Vec<Chunk>, StoreError> {
        let mut conn = self.writers.get().await.map_err(pool_err)?;
        let tx = conn.transaction().await.map_err(pg_err)?;
        let Some(row) = tx
            .query_opt(
                "DELETE FROM uploads WHERE tenant = $1 AND hash = $2 AND (NOT $3 OR received = size) RETURNING size",
                &[&tenant, &hash, &finish.is_some()],
            )
            .await
            .map_err(pg_err)?
        else {
            return Ok(Vec::new());
        };
        let size: i64 = row.get(0);
        let rows = tx
            .query(
                "DELETE FROM upload_chunks WHERE tenant = $1 AND hash = $2 RETURNING at, len, key",
                &[&tenant, &hash],
            )
            .await
            .map_err(pg_err)?;
        if let Some(now) = finish {
            tx.execute(
                "INSERT INTO blobs (tenant, hash, size, last_ref) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&tenant, &hash, &size, &(now as i64)],
            )
            .await
            .map_err(pg_err)?;
        }
        tx.commit().await.map_err(pg_err)?;
        Ok(chunk_rows(&rows))
    }

    /// One batch of a collection: the rows' deletion stays uncommitted (their locks held) while
    /// `delete` removes their objects.
    async fn collect_tx(&self, before_ms: u64, delete: &DeleteObjects) -> Result<Collected, StoreError> {
        let mut conn = self.writers.get().await.map_err(pool_err)?;
        let tx = conn.transaction().await.map_err(pg_err)?;
        let blobs = tx
            .query(
                "DELETE FROM blobs WHERE ctid IN (
                     SELECT ctid FROM blobs b WHERE last_ref < $1
                       AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.tenant = b.tenant AND r.hash = b.hash)
                     LIMIT $2)
                   AND last_ref < $1
                 RETURNING tenant, hash",
                &[&(before_ms as i64), &(COLLECT_BATCH as i64)],
            )
            .await
            .map_err(pg_err)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect::<Vec<(String, String)>>();
        let uploads = tx
            .query(
                "DELETE FROM uploads WHERE ctid IN (SELECT ctid FROM uploads WHERE updated_at < $1 LIMIT $2)
                   AND updated_at < $1
                 RETURNING tenant, hash",
                &[&(before_ms as i64), &(COLLECT_BATCH as i64)],
            )
            .await
            .map_err(pg_err)?;
        let mut chunks = Vec::new();
        for row in &uploads {
            let (tenant, hash): (String, String) = (row.get(0), row.get(1));
            let rows = tx
                .query(
                    "DELETE FROM upload_chunks WHERE tenant = $1 AND hash = $2 RETURNING at, len, key",
                    &[&tenant, &hash],
                )
                .await
                .map_err(pg_err)?;
            chunks.extend(chunk_rows(&rows).into_iter().map(|c| c.key));
        }
        let collected = Collected { blobs, chunks, uploads: uploads.len() as u64, orphans: 0 };
        if collected.blobs.is_empty() && collected.uploads == 0 {
            return Ok(collected);
        }
        delete(collected.clone()).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(collected)
    }
}

impl Store for PostgresStore {
    fn push(
        &self,
        tenant: String,
        mutations: Vec<Mutation<Value>>,
        limits: MutationLimits,
    ) -> BoxFuture<'_, Result<Vec<MutationResult<Value>>, StoreError>> {
        Box::pin(async move { self.push_batch(&tenant, &mutations, limits).await })
    }

    fn pull(
        &self,
        tenant: String,
        after: u64,
        limits: PullLimits,
    ) -> BoxFuture<'_, Result<Option<PullPage>, StoreError>> {
        Box::pin(async move {
            let mut conn = self.readers.get().await.map_err(pool_err)?;
            pull_tx(&mut conn, &tenant, after, limits).await
        })
    }

    fn pull_spaces(
        &self,
        tenant: String,
        spaces: Vec<(String, u64)>,
        limits: PullLimits,
    ) -> BoxFuture<'_, Result<Option<Vec<SpacePage>>, StoreError>> {
        Box::pin(async move {
            let mut conn = self.readers.get().await.map_err(pool_err)?;
            pull_spaces_tx(&mut conn, &tenant, &spaces, limits).await
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let conn = self.readers.get().await.map_err(pool_err)?;
            conn.execute("SELECT 1", &[]).await.map_err(pg_err)?;
            Ok(())
        })
    }

    fn prune(&self, before_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let conn = self.writers.get().await.map_err(pool_err)?;
            let mut total = 0;
            loop {
                let n = conn
                    .execute(
                        "DELETE FROM mutations WHERE ctid IN
                           (SELECT ctid FROM mutations WHERE created_at < $1::int8 LIMIT $2::int8)",
                        &[&(before_ms as i64), &PRUNE_BATCH],
                    )
                    .await
                    .map_err(pg_err)?;
                total += n;
                if (n as i64) < PRUNE_BATCH {
                    return Ok(total);
                }
            }
        })
    }

    fn blob_state(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<BlobState, StoreError>> {
        Box::pin(async move {
            let conn = self.readers.get().await.map_err(pool_err)?;
            blob_state_in(&conn, &tenant, &hash).await
        })
    }

    fn blob_start(
        &self,
        tenant: String,
        hash: String,
        size: u64,
        quota: u64,
        now: u64,
    ) -> BoxFuture<'_, Result<Started, StoreError>> {
        Box::pin(async move { self.blob_start_tx(&tenant, &hash, size, quota, now).await })
    }

    fn blob_append(
        &self,
        tenant: String,
        hash: String,
        chunk: Chunk,
        now: u64,
    ) -> BoxFuture<'_, Result<Appended, StoreError>> {
        Box::pin(async move { self.blob_append_tx(&tenant, &hash, &chunk, now).await })
    }

    fn blob_chunks(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>> {
        Box::pin(async move {
            let conn = self.readers.get().await.map_err(pool_err)?;
            let rows = conn
                .query("SELECT at, len, key FROM upload_chunks WHERE tenant = $1 AND hash = $2", &[&tenant, &hash])
                .await
                .map_err(pg_err)?;
            Ok(chunk_rows(&rows))
        })
    }

    fn blob_finish(&self, tenant: String, hash: String, now: u64) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>> {
        Box::pin(async move { self.blob_end_tx(&tenant, &hash, Some(now)).await })
    }

    fn blob_drop_upload(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>> {
        Box::pin(async move { self.blob_end_tx(&tenant, &hash, None).await })
    }

    fn collect_blobs(&self, before_ms: u64, delete: DeleteObjects) -> BoxFuture<'_, Result<Collected, StoreError>> {
        Box::pin(async move {
            let mut total = Collected::default();
            loop {
                let batch = self.collect_tx(before_ms, &delete).await?;
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
        Box::pin(async move {
            let conn = self.readers.get().await.map_err(pool_err)?;
            let rows =
                conn.query("SELECT key FROM upload_chunks WHERE key = ANY($1)", &[&keys]).await.map_err(pg_err)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }
}
