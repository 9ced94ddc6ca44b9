//! In-flight limits: at most `--max-in-flight` push and pull requests at once, and at most
//! `--max-in-flight-per-tenant` of one tenant, so one tenant cannot take every slot. A slot is
//! taken once the caller is known and its body is read (a slow body holds no slot), and is
//! held until the answer's last chunk has been handed to the connection, so an answer that the
//! client does not read keeps counting until `--send-timeout` closes it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::response::Response;
use hyper::body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::Error;

/// Answers are handed to the connection in chunks of at most this many bytes, so that a slot
/// is released only when little of its answer is still unsent.
const CHUNK_BYTES: usize = 64 * 1024;

pub struct Slots {
    total: Arc<Semaphore>,
    per_tenant: Arc<Mutex<HashMap<String, usize>>>,
    max_per_tenant: usize,
}

/// One request's share of the limits, released when dropped.
pub struct Slot {
    _total: OwnedSemaphorePermit,
    tenant: String,
    per_tenant: Arc<Mutex<HashMap<String, usize>>>,
}

impl Slots {
    pub fn new(max_total: usize, max_per_tenant: usize) -> Slots {
        Slots {
            total: Arc::new(Semaphore::new(max_total.max(1))),
            per_tenant: Arc::new(Mutex::new(HashMap::new())),
            max_per_tenant: max_per_tenant.max(1),
        }
    }

    /// A slot for `tenant`, or 429 at once when none is free.
    pub fn acquire(&self, tenant: &str) -> Result<Slot, Error> {
        let shed = Error::RateLimited { retry_after_secs: 1 };
        let total = self.total.clone().try_acquire_owned().map_err(|_| shed)?;
        let mut map = self.per_tenant.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(tenant.to_string()).or_insert(0);
        if *n >= self.max_per_tenant {
            return Err(Error::RateLimited { retry_after_secs: 1 });
        }
        *n += 1;
        Ok(Slot { _total: total, tenant: tenant.to_string(), per_tenant: self.per_tenant.clone() })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.per_tenant.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.tenant);
            }
        }
    }
}

impl Slot {
    /// The response, its body now holding this slot until it is sent.
    pub fn hold_until_sent(self, response: Response) -> Response {
        response.map(|inner| Body::new(SlotBody { inner, pending: Bytes::new(), slot: Some(self) }))
    }
}

struct SlotBody {
    inner: Body,
    /// The rest of a frame larger than a chunk.
    pending: Bytes,
    slot: Option<Slot>,
}

impl hyper::body::Body for SlotBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.pending.is_empty() {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => this.pending = data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                Poll::Ready(None) => {
                    this.slot = None;
                    return Poll::Ready(None);
                }
                other => return other,
            }
        }
        let take = this.pending.len().min(CHUNK_BYTES);
        let chunk = this.pending.split_to(take);
        if this.pending.is_empty() && this.inner.is_end_stream() {
            this.slot = None;
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.inner.size_hint();
        let pending = self.pending.len() as u64;
        hint.set_lower(hint.lower() + pending);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + pending);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use hyper::body::Body as _;

    #[test]
    fn per_tenant_and_total() {
        let slots = Slots::new(3, 2);
        let a1 = slots.acquire("a").unwrap();
        let _a2 = slots.acquire("a").unwrap();
        assert!(slots.acquire("a").is_err(), "a third of one tenant is shed");
        let _b1 = slots.acquire("b").unwrap();
        assert!(slots.acquire("c").is_err(), "the total is reached");
        drop(a1);
        assert!(slots.acquire("a").is_ok());
    }

    #[tokio::test]
    async fn the_slot_is_held_until_the_body_is_read() {
        let slots = Slots::new(1, 1);
        let body = vec![b'x'; CHUNK_BYTES * 2 + 10];
        let response = slots.acquire("a").unwrap().hold_until_sent(Response::new(Body::from(body)));
        assert_eq!(response.body().size_hint().exact(), Some((CHUNK_BYTES * 2 + 10) as u64));
        let mut body = response.into_body();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first.len(), CHUNK_BYTES);
        assert!(slots.acquire("b").is_err(), "still sending");
        let mut rest = first.len();
        while let Some(frame) = body.frame().await {
            rest += frame.unwrap().into_data().unwrap().len();
        }
        assert_eq!(rest, CHUNK_BYTES * 2 + 10);
        assert!(slots.acquire("b").is_ok(), "sent: the slot is free");
    }
}
