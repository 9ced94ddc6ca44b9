//! `GET /v1/pull?cursor=&limit=`: the tenant's changes after a cursor, one page at a time.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrysync::protocol::{decode_cursor, encode_cursor, limits, PullResponse};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::Error;
use super::AppState;
use crate::auth::Caller;
use crate::store::PullLimits;

#[derive(Debug, Deserialize)]
pub struct PullParams {
    cursor: Option<String>,
    limit: Option<String>,
}

/// A positive integer; above the maximum it is lowered to the maximum.
fn parse_limit(limit: Option<&str>) -> Result<u32, Error> {
    let Some(text) = limit else {
        return Ok(limits::DEFAULT_PULL_LIMIT);
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidLimit(format!("{text:?}")));
    }
    match text.parse::<u64>() {
        Ok(0) => Err(Error::InvalidLimit("0".into())),
        Ok(n) => Ok(n.min(u64::from(limits::MAX_PULL_LIMIT)) as u32),
        // All digits but too large for u64: still a positive integer.
        Err(_) => Ok(limits::MAX_PULL_LIMIT),
    }
}

pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<PullParams>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(params) = params.map_err(|e| Error::InvalidRequest(e.body_text()))?;
    let slot = state.slots.acquire(&caller.tenant)?;
    let answer = page(&state, caller.tenant, params.cursor.as_deref(), params.limit.as_deref()).await?;
    Ok(slot.hold_until_sent(Json(answer).into_response()))
}

/// One page for `tenant` after `cursor` (the query parameters as given), bounded by count and by
/// `--max-pull-bytes`. The deterministic simulation (`sim/`) calls this too, without HTTP.
pub async fn page(
    state: &AppState,
    tenant: String,
    cursor: Option<&str>,
    limit: Option<&str>,
) -> Result<PullResponse<Box<RawValue>>, Error> {
    let limit = parse_limit(limit)?;
    let after = match cursor {
        None | Some("") => 0,
        Some(cursor) => decode_cursor(cursor).ok_or(Error::InvalidCursor)?,
    };
    let limits = PullLimits { count: limit, bytes: state.config.limits.max_pull_bytes };
    let page = state.store.pull(tenant, after, limits).await?.ok_or(Error::InvalidCursor)?;
    Ok(PullResponse {
        changes: page.changes,
        cursor: encode_cursor(page.last_seq),
        has_more: page.has_more,
        server_time: Some((state.clock)()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None).unwrap(), limits::DEFAULT_PULL_LIMIT);
        assert_eq!(parse_limit(Some("7")).unwrap(), 7);
        assert_eq!(parse_limit(Some("5000")).unwrap(), limits::MAX_PULL_LIMIT);
        assert_eq!(parse_limit(Some("99999999999999999999999")).unwrap(), limits::MAX_PULL_LIMIT);
        for bad in ["", "0", "-1", "1.5", "ten", "+3"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }
}
