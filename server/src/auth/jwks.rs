//! The public keys of RS256 and ES256 tokens, from a JWKS file that is read again when it
//! changes (checked at most once a second), so keys can be rotated without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// How often the file's modification time is looked at, at most.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// One usable verification key.
#[derive(Clone)]
pub struct Key {
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// The keys of a JWKS file, kept fresh.
pub struct Jwks {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    keys: Arc<Vec<Key>>,
    /// Modification time and length of the file as last read.
    stamp: Option<(SystemTime, u64)>,
    checked: Instant,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reads the file's usable keys: RSA keys for RS256, P-256 keys for ES256 (an `alg` on the key,
/// when present, must be one of those); other keys are skipped, with a warning.
pub fn read_keys(path: &Path) -> Result<Vec<Key>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text).map_err(|e| format!("{} is not a JWKS: {e}", path.display()))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let kid = jwk.common.key_id.clone();
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let alg = match (&jwk.algorithm, &jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                if p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => {
                tracing::warn!(?kid, "JWKS key skipped: only RSA keys for RS256 and P-256 keys for ES256 are used");
                continue;
            }
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => keys.push(Key { kid, alg, key }),
            Err(e) => tracing::warn!(?kid, error = %e, "JWKS key skipped: it cannot be read"),
        }
    }
    if keys.is_empty() {
        return Err(format!("{} has no usable RS256 or ES256 key", path.display()));
    }
    Ok(keys)
}

impl Jwks {
    /// Reads the file once; it must hold at least one usable key.
    pub fn load(path: PathBuf) -> Result<Jwks, String> {
        let stamp = stamp(&path);
        let keys = read_keys(&path)?;
        let state = State { keys: Arc::new(keys), stamp, checked: Instant::now() };
        Ok(Jwks { path, state: Mutex::new(state) })
    }

    /// The current keys. When the last look at the file is over a second old and the file has
    /// changed since it was read, it is read again; a file that cannot be read (or is being
    /// rewritten) leaves the keys as they were, with an error in the log.
    pub fn keys(&self) -> Arc<Vec<Key>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.checked.elapsed() >= CHECK_EVERY {
            state.checked = Instant::now();
            let now = stamp(&self.path);
            if now != state.stamp {
                match read_keys(&self.path) {
                    Ok(keys) => {
                        tracing::info!(keys = keys.len(), path = %self.path.display(), "JWKS reloaded");
                        state.keys = Arc::new(keys);
                        state.stamp = now;
                    }
                    Err(e) => tracing::error!(error = %e, "JWKS not reloaded; the previous keys stay in use"),
                }
            }
        }
        state.keys.clone()
    }
}
