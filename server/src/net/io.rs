//! The socket as hyper sees it. It closes a connection whose answer the client stops reading
//! (`--send-timeout`), remembers whether a request had started when hyper's header timeout
//! fires, and gives hyper's own bare error answers (400, 414, 431 for a head it cannot read) the
//! JSON error body every answer has.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use super::canned;

/// What the connection loop reads after hyper is done.
#[derive(Default)]
pub struct Watch {
    /// Bytes were read since the last answer was written: a request head has started.
    pub started: AtomicBool,
}

pub struct GuardedIo {
    stream: Arc<TcpStream>,
    watch: Arc<Watch>,
    send_timeout: Duration,
    stall: Option<Pin<Box<Sleep>>>,
    /// The JSON answer replacing one of hyper's bare ones, still to be written.
    pending: Vec<u8>,
}

impl GuardedIo {
    pub fn new(stream: Arc<TcpStream>, watch: Arc<Watch>, send_timeout: Duration) -> GuardedIo {
        GuardedIo { stream, watch, send_timeout, stall: None, pending: Vec::new() }
    }

    /// Pending on a full socket: fails once the socket has been full for `send_timeout`.
    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stream.poll_write_ready(cx) {
            Poll::Ready(r) => {
                self.stall = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timeout = self.send_timeout;
                let stall = self.stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match stall.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        tracing::debug!("closing a connection whose answer is not read");
                        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client does not read")))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn poll_drain_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            ready!(self.poll_writable(cx))?;
            match self.stream.try_write(&self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.stream.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match this.stream.try_read(unfilled) {
                Ok(n) => {
                    if n > 0 {
                        this.watch.started.store(true, Ordering::Relaxed);
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain_pending(cx))?;
        this.watch.started.store(false, Ordering::Relaxed);
        if let Some(replacement) = canned::replace_bare_error(buf) {
            this.pending = replacement;
            ready!(this.poll_drain_pending(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        loop {
            ready!(this.poll_writable(cx))?;
            match this.stream.try_write(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // A bare error answer is a head alone, written as one slice: leave it to poll_write.
        if bufs.len() == 1 {
            return Pin::new(this).poll_write(cx, &bufs[0]);
        }
        ready!(this.poll_drain_pending(cx))?;
        this.watch.started.store(false, Ordering::Relaxed);
        loop {
            ready!(this.poll_writable(cx))?;
            match this.stream.try_write_vectored(bufs) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_drain_pending(cx)
    }

    /// Only flushes: the socket closes when the connection loop drops its last handle.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_drain_pending(cx)
    }
}
