//! `GET /v1/pull?cursor=&limit=`: the tenant's changes after a cursor, one page at a time.
//! `POST /v1/pull`: the changes of several spaces, each after its own cursor, in one answer.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrysync::protocol::{
    check_space, decode_cursor, encode_cursor, limits, PullResponse, SpacePage, SpacesPullRequest, SpacesPullResponse,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::Error;
use super::extractor::JsonBody;
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
    let after = after(cursor)?;
    let limits = PullLimits { count: limit, bytes: state.config.limits.max_pull_bytes };
    let page = state.store.pull(tenant, after, limits).await?.ok_or(Error::InvalidCursor)?;
    Ok(PullResponse {
        changes: page.changes,
        cursor: encode_cursor(page.last_seq),
        has_more: page.has_more,
        server_time: Some((state.clock)()),
    })
}

pub async fn pull_spaces(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<SpacesPullRequest>,
) -> Result<Response, Error> {
    let slot = state.slots.acquire(&caller.tenant)?;
    let answer = spaces(&state, caller.tenant, request).await?;
    Ok(slot.hold_until_sent(Json(answer).into_response()))
}

/// The cursor as a change number: absent or empty is the start.
fn after(cursor: Option<&str>) -> Result<u64, Error> {
    match cursor {
        None | Some("") => Ok(0),
        Some(cursor) => decode_cursor(cursor).ok_or(Error::InvalidCursor),
    }
}

/// The pages of a pull by space for `tenant`: the checks (number of spaces, space ids, each space
/// at most once, the limit, the cursors), then the store, with `limit` and `--max-pull-bytes`
/// bounding the whole answer. Nothing is read before every check has passed.
pub async fn spaces(
    state: &AppState,
    tenant: String,
    request: SpacesPullRequest,
) -> Result<SpacesPullResponse<Box<RawValue>>, Error> {
    let got = request.spaces.len();
    if got > limits::MAX_PULL_SPACES {
        return Err(Error::TooManySpaces { max: limits::MAX_PULL_SPACES, got });
    }
    let limit = match request.limit {
        None => limits::DEFAULT_PULL_LIMIT,
        Some(0) => return Err(Error::InvalidLimit("0".into())),
        Some(n) => n.min(u64::from(limits::MAX_PULL_LIMIT)) as u32,
    };
    let mut wanted = Vec::with_capacity(got);
    let mut asked = std::collections::HashSet::with_capacity(got);
    for (i, s) in request.spaces.iter().enumerate() {
        if let Some(space) = &s.space {
            check_space(space).map_err(|r| Error::InvalidSpace(format!("spaces[{i}]: {}", r.message)))?;
        }
        if !asked.insert(s.space.as_deref()) {
            return Err(Error::InvalidRequest(format!("spaces[{i}] asks for a space an earlier entry asks for")));
        }
        wanted.push((s.space.clone().unwrap_or_default(), after(s.cursor.as_deref())?));
    }
    let limits = PullLimits { count: limit, bytes: state.config.limits.max_pull_bytes };
    let pages = if wanted.is_empty() {
        Vec::new()
    } else {
        state.store.pull_spaces(tenant, wanted, limits).await?.ok_or(Error::InvalidCursor)?
    };
    Ok(SpacesPullResponse {
        spaces: request
            .spaces
            .into_iter()
            .zip(pages)
            .map(|(s, page)| SpacePage {
                space: s.space,
                changes: page.changes,
                left: page.left,
                cursor: encode_cursor(page.last_seq),
                has_more: page.has_more,
            })
            .collect(),
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
