//! Who is calling: a bearer token becomes a [`Caller`] (tenant and user), from a verified JWT
//! ([`jwt`]) or, in development only, from a static token ([`dev_tokens`]).

pub mod dev_tokens;
pub mod jwks;
pub mod jwt;

use crate::config::AuthOptions;
use dev_tokens::Tokens;
use jwt::Verifier;

/// The authenticated caller. Every store call is scoped to its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    /// The user claim of a JWT; `None` for a development token.
    pub user: Option<String>,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The token was valid but its `exp` has passed (beyond the leeway).
    Expired,
    /// Any other refusal, with a fixed reason (never the token's content).
    Invalid(&'static str),
}

pub struct Authenticator {
    dev: Option<Tokens>,
    jwt: Option<Verifier>,
}

impl Authenticator {
    /// Reads the secret and JWKS files the options name.
    pub fn from_options(o: &AuthOptions) -> Result<Authenticator, String> {
        Ok(Authenticator { dev: o.dev_tokens.clone(), jwt: Verifier::from_options(o)? })
    }

    /// Only the development tokens of the options, reading no file: for callers that never
    /// authenticate over HTTP (the simulation).
    pub fn dev_only(o: &AuthOptions) -> Authenticator {
        Authenticator { dev: o.dev_tokens.clone(), jwt: None }
    }

    pub fn authenticate(&self, token: &str) -> Result<Caller, AuthError> {
        if let Some(tenant) = self.dev.as_ref().and_then(|d| d.tenant(token)) {
            return Ok(Caller { tenant: tenant.to_string(), user: None });
        }
        match &self.jwt {
            Some(verifier) => verifier.verify(token),
            None => Err(AuthError::Invalid("it is not one of the development tokens")),
        }
    }
}
