//! JWT bearer tokens: HS256 with a shared secret, RS256 and ES256 with the keys of a JWKS file.
//! `exp` is required and honoured, `nbf` too when present, with a small leeway; the tenant and
//! the user come from configurable claims.

use std::collections::HashSet;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::jwks::Jwks;
use super::{AuthError, Caller};
use crate::config::AuthOptions;

/// Longest tenant or user name taken from a claim, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

pub struct Verifier {
    secret: Option<DecodingKey>,
    jwks: Option<Jwks>,
    tenant_claim: String,
    user_claim: String,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: u64,
}

impl Verifier {
    /// `None` when no JWT option is given.
    pub fn from_options(o: &AuthOptions) -> Result<Option<Verifier>, String> {
        if o.jwt_secret_file.is_none() && o.jwks_file.is_none() {
            return Ok(None);
        }
        let secret = match &o.jwt_secret_file {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let secret = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
                let secret = secret.strip_suffix(b"\r").unwrap_or(secret);
                if secret.len() < 32 {
                    return Err(format!("{}: an HS256 secret has at least 32 bytes", path.display()));
                }
                Some(DecodingKey::from_secret(secret))
            }
            None => None,
        };
        let jwks = o.jwks_file.clone().map(Jwks::load).transpose()?;
        Ok(Some(Verifier {
            secret,
            jwks,
            tenant_claim: o.jwt_tenant_claim.clone(),
            user_claim: o.jwt_user_claim.clone(),
            issuer: o.jwt_issuer.clone(),
            audience: o.jwt_audience.clone(),
            leeway: o.jwt_leeway_secs,
        }))
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = self.leeway;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.required_spec_claims = HashSet::from(["exp".to_string()]);
        if let Some(iss) = &self.issuer {
            v.set_issuer(&[iss]);
        }
        match &self.audience {
            Some(aud) => v.set_audience(&[aud]),
            None => v.validate_aud = false,
        }
        v
    }

    /// Checks the signature and the claims, and reads the caller from them.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid("it is not a JWT"))?;
        let keys: Vec<DecodingKey> = match header.alg {
            Algorithm::HS256 => self.secret.iter().cloned().collect(),
            Algorithm::RS256 | Algorithm::ES256 => match &self.jwks {
                Some(jwks) => jwks
                    .keys()
                    .iter()
                    .filter(|k| k.alg == header.alg && (header.kid.is_none() || k.kid == header.kid))
                    .map(|k| k.key.clone())
                    .collect(),
                None => Vec::new(),
            },
            _ => return Err(AuthError::Invalid("its algorithm is not accepted (HS256, RS256 or ES256)")),
        };
        if keys.is_empty() {
            return Err(AuthError::Invalid("no key of this server matches its algorithm and key id"));
        }
        let validation = self.validation(header.alg);
        let mut outcome = AuthError::Invalid("its signature does not match");
        for key in &keys {
            match jsonwebtoken::decode::<Value>(token, key, &validation) {
                Ok(data) => return self.caller(&data.claims),
                Err(e) => match e.kind() {
                    ErrorKind::InvalidSignature => continue,
                    ErrorKind::ExpiredSignature => return Err(AuthError::Expired),
                    ErrorKind::ImmatureSignature => return Err(AuthError::Invalid("it is not valid yet (nbf)")),
                    ErrorKind::InvalidIssuer => return Err(AuthError::Invalid("its issuer is not accepted")),
                    ErrorKind::InvalidAudience => return Err(AuthError::Invalid("its audience is not accepted")),
                    ErrorKind::MissingRequiredClaim(_) => return Err(AuthError::Invalid("it has no exp claim")),
                    _ => {
                        outcome = AuthError::Invalid("it cannot be read");
                    }
                },
            }
        }
        Err(outcome)
    }

    fn caller(&self, claims: &Value) -> Result<Caller, AuthError> {
        let tenant =
            name_claim(claims, &self.tenant_claim).ok_or(AuthError::Invalid("it has no valid tenant claim"))?;
        let user = name_claim(claims, &self.user_claim).ok_or(AuthError::Invalid("it has no valid user claim"))?;
        Ok(Caller { tenant, user: Some(user) })
    }
}

/// A claim that names something: a string of 1 to [`MAX_NAME_BYTES`] bytes without control
/// characters. `claim` is a top-level name, or a JSON pointer (`/a/b`) for a nested claim.
fn name_claim(claims: &Value, claim: &str) -> Option<String> {
    let value = if claim.starts_with('/') { claims.pointer(claim) } else { claims.get(claim) };
    let s = value?.as_str()?;
    (!s.is_empty() && s.len() <= MAX_NAME_BYTES && !s.chars().any(char::is_control)).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn name_claims() {
        let c = json!({ "tenant": "acme", "app": { "org": "o1" }, "n": 5, "e": "", "https://x.test/t": "t" });
        assert_eq!(name_claim(&c, "tenant").as_deref(), Some("acme"));
        assert_eq!(name_claim(&c, "/app/org").as_deref(), Some("o1"));
        assert_eq!(name_claim(&c, "https://x.test/t").as_deref(), Some("t"));
        assert_eq!(name_claim(&c, "n"), None);
        assert_eq!(name_claim(&c, "e"), None);
        assert_eq!(name_claim(&c, "missing"), None);
        assert_eq!(name_claim(&json!({ "t": "x".repeat(300) }), "t"), None);
    }
}
