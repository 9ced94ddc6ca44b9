//! Static development tokens (`--dev-tokens token=tenant,...`): a map from token to tenant.

use std::collections::HashMap;
use std::fmt;

/// Token → tenant. Its `Debug` shows the tenants only.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens(HashMap<String, String>);

impl Tokens {
    pub fn tenant(&self, token: &str) -> Option<&str> {
        self.0.get(token).map(String::as_str)
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
        let (token, tenant) = pair.split_once('=').ok_or("a pair is not token=tenant")?;
        let (token, tenant) = (token.trim(), tenant.trim());
        if token.is_empty() || tenant.is_empty() {
            return Err("token and tenant must not be empty".into());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs() {
        let t = parse_tokens("a=alpha, b=beta,").unwrap();
        assert_eq!(t.tenant("a"), Some("alpha"));
        assert_eq!(t.tenant("b"), Some("beta"));
        assert_eq!(t.tenant("c"), None);
        for bad in ["", "nope", "a=x,a=y", "=x", "a b=x"] {
            let e = parse_tokens(bad).unwrap_err();
            assert!(!e.contains("nope"), "the error does not echo tokens: {e}");
        }
    }
}
