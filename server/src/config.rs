//! Command-line options (each also read from a `FERRYSYNC_*` environment variable).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser};
use ferrysync::protocol::limits;

use crate::store::sqlite::Location;

/// The token accepted when `--tokens` is not given: for local development only.
pub const DEV_TOKEN: &str = "dev-token";
/// The tenant of [`DEV_TOKEN`].
pub const DEV_TENANT: &str = "dev";

/// Reference sync server for ferrysync: push/pull over HTTP, data in SQLite.
#[derive(Debug, Clone, Parser)]
#[command(name = "ferrysync-server", version)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the address is printed at start).
    #[arg(long, env = "FERRYSYNC_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// SQLite database file, created if missing. Several servers may share one file.
    #[arg(long, env = "FERRYSYNC_DB", value_name = "PATH", conflicts_with = "memory")]
    pub db: Option<PathBuf>,

    /// Keep the data in memory, lost at exit (the default when --db is not given).
    #[arg(long)]
    pub memory: bool,

    /// Also serve the files of this directory at / (the built demo): index.html for
    /// directories, .wasm as application/wasm.
    #[arg(long = "static", env = "FERRYSYNC_STATIC", value_name = "DIR")]
    pub static_dir: Option<PathBuf>,

    /// Bearer tokens and their tenants, as token=tenant pairs separated by commas.
    #[arg(long, env = "FERRYSYNC_TOKENS", value_name = "TOKEN=TENANT,...",
          default_value = "dev-token=dev", value_parser = parse_tokens)]
    pub tokens: Tokens,

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

    /// Most push and pull requests handled at once; past it the server sheds load with 429 and
    /// Retry-After.
    #[arg(long, env = "FERRYSYNC_MAX_IN_FLIGHT", default_value_t = 64)]
    pub max_in_flight: usize,

    #[command(flatten)]
    pub faults: Faults,
}

/// Fault injection, for testing clients against an unreliable server. All off by default. They
/// apply to /v1/push, /v1/pull and /v1/health, never to CORS preflights, the OpenAPI document or
/// static files.
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

impl Config {
    pub fn location(&self) -> Location {
        match &self.db {
            Some(path) if !self.memory => Location::File(path.clone()),
            _ => Location::Memory,
        }
    }
}

/// Token → tenant. Its `Debug` shows the tenants only.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens(HashMap<String, String>);

impl Tokens {
    pub fn tenant(&self, token: &str) -> Option<&str> {
        self.0.get(token).map(String::as_str)
    }

    /// True when only the development token is configured.
    pub fn is_dev_default(&self) -> bool {
        self.0.len() == 1 && self.tenant(DEV_TOKEN) == Some(DEV_TENANT)
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut tenants: Vec<&str> = self.0.values().map(String::as_str).collect();
        tenants.sort_unstable();
        write!(f, "Tokens({} tokens for tenants {:?})", self.0.len(), tenants)
    }
}

/// Parses `token=tenant,token=tenant`.
pub fn parse_tokens(s: &str) -> Result<Tokens, String> {
    let mut map = HashMap::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (token, tenant) = pair.split_once('=').ok_or_else(|| format!("{pair:?} is not token=tenant"))?;
        let (token, tenant) = (token.trim(), tenant.trim());
        if token.is_empty() || tenant.is_empty() {
            return Err(format!("{pair:?}: token and tenant must not be empty"));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("a token has no spaces or control characters".into());
        }
        if map.insert(token.to_string(), tenant.to_string()).is_some() {
            return Err("a token is listed twice".into());
        }
    }
    if map.is_empty() {
        return Err("no token=tenant pair".into());
    }
    Ok(Tokens(map))
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
        assert!(c.tokens.is_dev_default());
        assert!(matches!(c.location(), Location::Memory));
        assert!(!c.faults.any());
        assert_eq!(c.max_batch, limits::DEFAULT_MAX_BATCH);
    }

    #[test]
    fn options() {
        let c = Config::try_parse_from([
            "ferrysync-server",
            "--db",
            "/tmp/x.db",
            "--tokens",
            "a=alpha, b=beta",
            "--drop-rate",
            "0.5",
            "--latency-ms",
            "20",
        ])
        .unwrap();
        assert!(matches!(c.location(), Location::File(_)));
        assert_eq!(c.tokens.tenant("a"), Some("alpha"));
        assert_eq!(c.tokens.tenant("b"), Some("beta"));
        assert_eq!(c.tokens.tenant("c"), None);
        assert!(!format!("{:?}", c.tokens).contains("a="));
        assert_eq!(c.faults.drop_rate, 0.5);
        assert!(Config::try_parse_from(["x", "--db", "f", "--memory"]).is_err());
        assert!(Config::try_parse_from(["x", "--fail-rate", "1.5"]).is_err());
        assert!(Config::try_parse_from(["x", "--tokens", "nope"]).is_err());
        assert!(Config::try_parse_from(["x", "--tokens", "a=x,a=y"]).is_err());
    }
}
