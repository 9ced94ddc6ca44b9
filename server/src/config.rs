//! Command-line options (most also read from a `FERRYSYNC_*` environment variable), and the
//! checks that refuse a configuration the server should not start with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};
use ferrysync::protocol::limits;

use crate::auth::dev_tokens::{parse_tokens, Tokens};
use crate::store::sqlite::Location;

/// Reference sync server for ferrysync: push/pull over HTTP, data in SQLite or PostgreSQL.
#[derive(Debug, Clone, Parser)]
#[command(name = "ferrysync-server", version)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the address is printed at start).
    #[arg(long, env = "FERRYSYNC_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// SQLite database file, created if missing. Several servers may share one file.
    #[arg(long, env = "FERRYSYNC_DB", value_name = "PATH", conflicts_with_all = ["memory", "database"])]
    pub db: Option<PathBuf>,

    /// PostgreSQL connection URL (postgres://user:password@host:port/dbname); any number of
    /// servers may share one database.
    #[arg(long, env = "FERRYSYNC_DATABASE", value_name = "URL", conflicts_with = "memory")]
    pub database: Option<String>,

    /// Keep the data in memory, lost at exit (the default when neither --db nor --database is
    /// given).
    #[arg(long)]
    pub memory: bool,

    /// How SQLite syncs its WAL to disk. full (the default): an applied answer survives a power
    /// loss. normal: faster, but the last commits before a power loss (not a crash) may be lost.
    #[arg(long, env = "FERRYSYNC_SQLITE_SYNCHRONOUS", value_enum, default_value_t = Synchronous::Full)]
    pub sqlite_synchronous: Synchronous,

    /// Also serve the files of this directory at / (the built demo): index.html for
    /// directories, .wasm as application/wasm.
    #[arg(long = "static", env = "FERRYSYNC_STATIC", value_name = "DIR")]
    pub static_dir: Option<PathBuf>,

    /// Directory of the blobs' bytes (files in records), created if missing. Default: beside
    /// the SQLite file, a directory named after it with `-blobs` added; in memory with --memory;
    /// required with --database (every server over one database must share it).
    #[arg(long, env = "FERRYSYNC_BLOB_DIR", value_name = "DIR", conflicts_with = "blob_store")]
    pub blob_dir: Option<PathBuf>,

    /// Keep the blobs' bytes in S3 or an S3-compatible service instead of a directory:
    /// s3://BUCKET or s3://BUCKET/PREFIX. Credentials and settings come from the standard AWS_*
    /// environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
    /// AWS_REGION...).
    #[arg(long, env = "FERRYSYNC_BLOB_STORE", value_name = "URL")]
    pub blob_store: Option<String>,

    /// With --blob-store: the URL of an S3-compatible service instead of AWS (http:// allowed).
    #[arg(long, env = "FERRYSYNC_S3_ENDPOINT", value_name = "URL", requires = "blob_store")]
    pub s3_endpoint: Option<String>,

    /// With --blob-store: the bucket's region (else AWS_REGION or AWS_DEFAULT_REGION, else
    /// us-east-1).
    #[arg(long, env = "FERRYSYNC_S3_REGION", value_name = "REGION", requires = "blob_store")]
    pub s3_region: Option<String>,

    #[command(flatten)]
    pub auth: AuthOptions,

    #[command(flatten)]
    pub limits: Limits,

    /// Turn fault injection on (--latency-ms, --throttle-rate, --fail-rate, --drop-rate). Without
    /// it those options are refused, and their environment variables too.
    #[arg(long)]
    pub enable_faults: bool,

    #[command(flatten)]
    pub faults: Faults,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Synchronous {
    Full,
    Normal,
}

/// How callers are authenticated. At least one of the JWT options or --dev-tokens is required.
#[derive(Debug, Clone, Args)]
pub struct AuthOptions {
    /// File holding the shared secret of HS256 tokens (its bytes, a trailing newline removed).
    #[arg(long, env = "FERRYSYNC_JWT_SECRET_FILE", value_name = "PATH")]
    pub jwt_secret_file: Option<PathBuf>,

    /// JWKS file (a JSON Web Key Set) with the public keys of RS256 and ES256 tokens. It is read
    /// again when it changes, at most once a second.
    #[arg(long, env = "FERRYSYNC_JWKS_FILE", value_name = "PATH")]
    pub jwks_file: Option<PathBuf>,

    /// The claim that names the tenant: a top-level claim name, or a JSON pointer such as
    /// /app/tenant for a nested one.
    #[arg(long, env = "FERRYSYNC_JWT_TENANT_CLAIM", default_value = "tenant")]
    pub jwt_tenant_claim: String,

    /// The claim that names the user (logged with each request).
    #[arg(long, env = "FERRYSYNC_JWT_USER_CLAIM", default_value = "sub")]
    pub jwt_user_claim: String,

    /// Required `iss` of tokens, when set.
    #[arg(long, env = "FERRYSYNC_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` of tokens (one of theirs), when set.
    #[arg(long, env = "FERRYSYNC_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[arg(long, env = "FERRYSYNC_JWT_LEEWAY_SECS", default_value_t = 30)]
    pub jwt_leeway_secs: u64,

    /// For development only: static bearer tokens and their tenants, as token=tenant pairs
    /// separated by commas. Logged as a warning at start.
    #[arg(long, env = "FERRYSYNC_DEV_TOKENS", value_name = "TOKEN=TENANT,...", value_parser = parse_tokens)]
    pub dev_tokens: Option<Tokens>,
}

/// Limits on requests, connections and stored data.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Largest request body, in bytes (larger: 413 payload_too_large).
    #[arg(long, env = "FERRYSYNC_MAX_BODY_BYTES", default_value_t = limits::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Most mutations in one push (more: 413 batch_too_large).
    #[arg(long, env = "FERRYSYNC_MAX_BATCH", default_value_t = limits::DEFAULT_MAX_BATCH)]
    pub max_batch: usize,

    /// Largest data of one record, as compact JSON, in bytes (larger: that mutation is rejected
    /// with data_too_large).
    #[arg(long, env = "FERRYSYNC_MAX_RECORD_BYTES", default_value_t = limits::DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: usize,

    /// Largest record data in one push answer (the records of its conflicts), in bytes; over
    /// it the push changes nothing and is answered 413 answer_too_large (split the batch).
    #[arg(long, env = "FERRYSYNC_MAX_ANSWER_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_answer_bytes: usize,

    /// Largest record data in one pull page, in bytes: a page ends before the record that would
    /// take it over (a page always has at least one record), with hasMore true.
    #[arg(long, env = "FERRYSYNC_MAX_PULL_BYTES", default_value_t = 1024 * 1024)]
    pub max_pull_bytes: usize,

    /// Most push and pull requests handled at once, from the end of the body until the answer is
    /// sent; past it: 429 with Retry-After.
    #[arg(long, env = "FERRYSYNC_MAX_IN_FLIGHT", default_value_t = 64)]
    pub max_in_flight: usize,

    /// Most push and pull requests of one tenant handled at once; past it: 429 with Retry-After.
    #[arg(long, env = "FERRYSYNC_MAX_IN_FLIGHT_PER_TENANT", default_value_t = 16)]
    pub max_in_flight_per_tenant: usize,

    /// Most open connections; more wait in the listen queue until one closes.
    #[arg(long, env = "FERRYSYNC_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Longest request target (path and query), in bytes (longer: 414 uri_too_long).
    #[arg(long, env = "FERRYSYNC_MAX_URI_BYTES", default_value_t = 8 * 1024)]
    pub max_uri_bytes: usize,

    /// Largest request head (request line and headers), in bytes, at least 8192 (larger, or
    /// more than 100 headers: 431 headers_too_large).
    #[arg(long, env = "FERRYSYNC_MAX_HEADER_BYTES", default_value_t = 32 * 1024, value_parser = parse_header_bytes)]
    pub max_header_bytes: usize,

    /// Time to send a request's head, counted from the connection's start or the end of the
    /// previous answer. A started head that takes longer: 408 request_timeout; an idle
    /// connection is closed (so this is also the keep-alive timeout).
    #[arg(long, env = "FERRYSYNC_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// Time to send a request's body, counted from the end of its head (longer: 408
    /// request_timeout).
    #[arg(long, env = "FERRYSYNC_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Time an answer may wait for the client to read it: a connection whose answer makes no
    /// progress for this long is closed.
    #[arg(long, env = "FERRYSYNC_SEND_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub send_timeout: Duration,

    /// Largest blob, in bytes (larger: 413 blob_too_large; a reference to one: rejected).
    #[arg(long, env = "FERRYSYNC_MAX_BLOB_BYTES", default_value_t = limits::DEFAULT_MAX_BLOB_BYTES)]
    pub max_blob_bytes: u64,

    /// Largest chunk of a blob upload (one PATCH body), in bytes (larger: 413 payload_too_large).
    #[arg(long, env = "FERRYSYNC_MAX_CHUNK_BYTES", default_value_t = limits::DEFAULT_MAX_CHUNK_BYTES)]
    pub max_chunk_bytes: usize,

    /// Bytes of blobs one tenant may hold, complete and being uploaded (more: 413
    /// quota_exceeded when an upload starts).
    #[arg(long, env = "FERRYSYNC_BLOB_QUOTA_BYTES", default_value_t = limits::DEFAULT_BLOB_QUOTA_BYTES)]
    pub blob_quota_bytes: u64,

    /// How long a blob no record refers to, and an upload that received nothing, are kept
    /// before they are deleted, in seconds.
    #[arg(long, env = "FERRYSYNC_BLOB_GRACE_SECS", default_value_t = limits::DEFAULT_BLOB_GRACE_SECS)]
    pub blob_grace_secs: u64,

    /// How long the answer to each mutation id is kept for replays (0: forever). A mutation
    /// replayed after that is judged again as a new one.
    #[arg(long, env = "FERRYSYNC_ANSWER_RETENTION", default_value = "30d", value_parser = parse_duration)]
    pub answer_retention: Duration,
}

/// Fault injection, for testing clients against an unreliable server; only with
/// --enable-faults. They apply to /v1/push, /v1/pull, /v1/blobs/… and /v1/health, never to CORS preflights,
/// the OpenAPI document or static files.
#[derive(Debug, Clone, Default, Args)]
pub struct Faults {
    /// Added delay before every request, in milliseconds.
    #[arg(long, env = "FERRYSYNC_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Share of requests answered 429 rate_limited with Retry-After, before anything is done
    /// (0.0 to 1.0).
    #[arg(long, env = "FERRYSYNC_THROTTLE_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub throttle_rate: f64,

    /// Seconds in the Retry-After header of injected 429s.
    #[arg(long, env = "FERRYSYNC_RETRY_AFTER_SECS", default_value_t = 1)]
    pub retry_after_secs: u64,

    /// Share of requests answered 500 internal, before anything is done (0.0 to 1.0).
    #[arg(long, env = "FERRYSYNC_FAIL_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fail_rate: f64,

    /// Share of requests whose connection is closed without an answer, after the request was
    /// carried out (a push is applied, its answer lost): the case idempotent retries exist for
    /// (0.0 to 1.0).
    #[arg(long, env = "FERRYSYNC_DROP_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub drop_rate: f64,
}

impl Faults {
    pub fn any(&self) -> bool {
        self.latency_ms > 0 || self.throttle_rate > 0.0 || self.fail_rate > 0.0 || self.drop_rate > 0.0
    }
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(Location),
    Postgres(String),
}

impl Config {
    pub fn database(&self) -> Database {
        match (&self.database, &self.db) {
            (Some(url), _) => Database::Postgres(url.clone()),
            (None, Some(path)) => Database::Sqlite(Location::File(path.clone())),
            (None, None) => Database::Sqlite(Location::Memory),
        }
    }

    /// The directory of the blobs' bytes: `--blob-dir`, else beside the SQLite file; `None` with
    /// `--blob-store` or in memory. With PostgreSQL there is no default ([`Config::check`]
    /// refuses it).
    pub fn blob_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.blob_dir {
            return Some(dir.clone());
        }
        if self.blob_store.is_some() {
            return None;
        }
        match self.database() {
            Database::Sqlite(Location::File(path)) => {
                let mut name = path.file_name().unwrap_or_default().to_os_string();
                name.push("-blobs");
                Some(path.with_file_name(name))
            }
            _ => None,
        }
    }

    /// Refuses what the server must not run with: no way to authenticate, fault options without
    /// --enable-faults, limits that contradict each other.
    pub fn check(&self) -> Result<(), String> {
        let auth = &self.auth;
        if auth.jwt_secret_file.is_none() && auth.jwks_file.is_none() && auth.dev_tokens.is_none() {
            return Err("no authentication is configured: give --jwt-secret-file (HS256) or --jwks-file \
                        (RS256/ES256) for real tokens, or --dev-tokens TOKEN=TENANT,... for development"
                .into());
        }
        if self.faults.any() && !self.enable_faults {
            return Err("fault injection options (--latency-ms, --throttle-rate, --fail-rate, --drop-rate or \
                        their FERRYSYNC_* variables) are set, but --enable-faults is not given"
                .into());
        }
        let limits = &self.limits;
        if limits.max_answer_bytes < limits.max_record_bytes + 1024 {
            return Err(format!(
                "--max-answer-bytes ({}) must exceed --max-record-bytes ({}) by at least 1024, or a single \
                 conflict could never be answered",
                limits.max_answer_bytes, limits.max_record_bytes
            ));
        }
        if self.database.is_some() && self.blob_dir.is_none() && self.blob_store.is_none() {
            return Err("--database needs --blob-dir (a directory every server over that database shares) \
                        or --blob-store (an S3 bucket) for the blobs' bytes"
                .into());
        }
        if limits.max_chunk_bytes == 0 || limits.blob_grace_secs == 0 {
            return Err("--max-chunk-bytes and --blob-grace-secs must be positive".into());
        }
        if limits.max_in_flight == 0 || limits.max_in_flight_per_tenant == 0 || limits.max_connections == 0 {
            return Err("--max-in-flight, --max-in-flight-per-tenant and --max-connections must be positive".into());
        }
        Ok(())
    }
}

/// `500ms`, `10s`, `5m`, `2h`, `30d`, or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a duration such as 500ms, 10s, 5m, 2h or 30d"))?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit is one of ms, s, m, h, d")),
    };
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(|| format!("{s:?} is too long"))
}

fn parse_header_bytes(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 8192 => Ok(n),
        _ => Err("a whole number of bytes, at least 8192".into()),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err("a rate is between 0.0 and 1.0".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::try_parse_from(["ferrysync-server"]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8787");
        assert!(matches!(c.database(), Database::Sqlite(Location::Memory)));
        assert!(!c.faults.any());
        assert_eq!(c.limits.max_batch, limits::DEFAULT_MAX_BATCH);
        assert_eq!(c.sqlite_synchronous, Synchronous::Full);
        assert_eq!(c.limits.answer_retention, Duration::from_secs(30 * 86_400));
        // No authentication at all is refused, with a message that says what to give.
        let e = c.check().unwrap_err();
        assert!(e.contains("--jwt-secret-file") && e.contains("--dev-tokens"), "{e}");
    }

    #[test]
    fn options() {
        let c = Config::try_parse_from([
            "ferrysync-server",
            "--db",
            "/tmp/x.db",
            "--dev-tokens",
            "a=alpha, b=beta",
            "--enable-faults",
            "--drop-rate",
            "0.5",
            "--latency-ms",
            "20",
            "--header-timeout",
            "500ms",
        ])
        .unwrap();
        c.check().unwrap();
        assert!(matches!(c.database(), Database::Sqlite(Location::File(_))));
        let tokens = c.auth.dev_tokens.as_ref().unwrap();
        assert_eq!(tokens.tenant("a"), Some("alpha"));
        assert!(!format!("{tokens:?}").contains("a="));
        assert_eq!(c.faults.drop_rate, 0.5);
        assert_eq!(c.limits.header_timeout, Duration::from_millis(500));
        let pg = Config::try_parse_from(["x", "--database", "postgres://u@h/db"]).unwrap();
        assert!(matches!(pg.database(), Database::Postgres(_)));
        assert!(Config::try_parse_from(["x", "--db", "f", "--memory"]).is_err());
        assert!(Config::try_parse_from(["x", "--db", "f", "--database", "postgres://h/d"]).is_err());
        assert!(Config::try_parse_from(["x", "--fail-rate", "1.5"]).is_err());
        assert!(Config::try_parse_from(["x", "--dev-tokens", "nope"]).is_err());
        assert!(Config::try_parse_from(["x", "--max-header-bytes", "100"]).is_err());
        // Blobs: beside the SQLite file by default, named after it; with PostgreSQL a directory or
        // a bucket must be given.
        assert_eq!(c.blob_dir(), Some(PathBuf::from("/tmp/x.db-blobs")));
        let pg = Config::try_parse_from(["x", "--database", "postgres://u@h/db", "--dev-tokens", "a=b"]).unwrap();
        assert!(pg.check().unwrap_err().contains("--blob-dir"));
        let s3 = ["x", "--database", "postgres://u@h/db", "--dev-tokens", "a=b", "--blob-store", "s3://b"];
        let s3 = Config::try_parse_from(s3).unwrap();
        s3.check().unwrap();
        assert_eq!(s3.blob_dir(), None);
        assert!(Config::try_parse_from(["x", "--blob-dir", "d", "--blob-store", "s3://b"]).is_err());
        assert!(Config::try_parse_from(["x", "--s3-endpoint", "http://h"]).is_err());
        // The old --tokens flag is gone: static tokens only come through the explicit dev flag.
        assert!(Config::try_parse_from(["x", "--tokens", "a=b"]).is_err());
    }

    #[test]
    fn faults_need_the_explicit_flag() {
        let c = Config::try_parse_from(["x", "--dev-tokens", "a=b", "--fail-rate", "1"]).unwrap();
        assert!(c.check().unwrap_err().contains("--enable-faults"));
        let small = Config::try_parse_from(["x", "--dev-tokens", "a=b", "--max-answer-bytes", "1000"]).unwrap();
        assert!(small.check().unwrap_err().contains("--max-answer-bytes"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert_eq!(parse_duration("3m").unwrap(), Duration::from_secs(180));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "s", "1w", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
