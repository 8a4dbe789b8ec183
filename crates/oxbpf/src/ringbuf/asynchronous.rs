//! The ring buffer readers for tokio (feature `tokio`): readiness from tokio's reactor, then the
//! same non-blocking consumption as the blocking types.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{CallbackResult, RingBuf, RingBuffer};
use crate::error::{Error, Result};

/// One poll of "consume something, or wait for readiness" on an
/// [`AsyncFd`](tokio::io::unix::AsyncFd): the building block of the async methods and of the
/// [`Stream`](futures_core::Stream) impls.
///
/// `attempt` must not block: it returns `Ok(Some(_))` when it got something, `Ok(None)` when there
/// was nothing to do. Readiness is cleared only after an attempt found nothing, and tokio ignores
/// that clear if a newer wakeup arrived in between, so no kernel wakeup is lost. `Pending` is
/// returned only after an attempt found nothing and the waker was registered, so a future or
/// stream built on this consumes nothing it does not return: dropping it loses nothing.
pub(crate) fn poll_until_ready<T>(
    afd: &tokio::io::unix::AsyncFd<OwnedFd>,
    cx: &mut Context<'_>,
    mut attempt: impl FnMut() -> Result<Option<T>>,
) -> Poll<Result<T>> {
    loop {
        match attempt() {
            Ok(Some(v)) => return Poll::Ready(Ok(v)),
            Ok(None) => {}
            Err(e) => return Poll::Ready(Err(e)),
        }
        let mut guard = match afd.poll_read_ready(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(g)) => g,
            Poll::Ready(Err(e)) => {
                return Poll::Ready(Err(Error::io("wait for event stream readiness", e)))
            }
        };
        match attempt() {
            Ok(Some(v)) => return Poll::Ready(Ok(v)),
            Ok(None) => {}
            Err(e) => return Poll::Ready(Err(e)),
        }
        guard.clear_ready();
    }
}

/// [`poll_until_ready`] as a future: waits until `attempt` makes progress. Cancellation-safe (the
/// only await point comes before anything is consumed).
pub(crate) async fn until_ready<T>(
    afd: &tokio::io::unix::AsyncFd<OwnedFd>,
    mut attempt: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    std::future::poll_fn(|cx| poll_until_ready(afd, cx, &mut attempt)).await
}

/// Registers a duplicate of `fd` with the current tokio reactor.
pub(crate) fn async_fd(fd: BorrowedFd<'_>) -> Result<tokio::io::unix::AsyncFd<OwnedFd>> {
    let fd = fd
        .try_clone_to_owned()
        .map_err(|e| Error::io("dup event stream fd", e))?;
    // SAFETY: the `AsyncFd` owns `fd` (an `OwnedFd`), so the descriptor stays open and names the
    // same file until the `AsyncFd` is dropped, and `as_raw_fd` always returns it.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .map_err(|e| Error::io("register event stream with tokio", e.into()))
}

/// A [`RingBuf`] for async code (feature `tokio`): waits on the map fd with tokio's reactor.
///
/// Also a [`Stream`](futures_core::Stream) of owned samples (`Result<Vec<u8>>`, never ending):
/// a sample is copied out and consumed only when `poll_next` returns it, so dropping a pending
/// `next()` (a `select!` branch that lost, a timeout) loses nothing.
#[derive(Debug)]
pub struct AsyncRingBuf {
    ring: RingBuf,
    afd: tokio::io::unix::AsyncFd<OwnedFd>,
}

impl AsyncRingBuf {
    /// Wraps `ring`; must be called inside a tokio runtime.
    pub fn new(ring: RingBuf) -> Result<AsyncRingBuf> {
        let afd = async_fd(ring.as_fd())?;
        Ok(AsyncRingBuf { ring, afd })
    }

    /// The next sample, copied out; waits until one is committed. Cancellation-safe.
    pub async fn next(&mut self) -> Result<Vec<u8>> {
        let ring = &mut self.ring;
        until_ready(&self.afd, || ring.next_owned()).await
    }

    /// Waits until at least one sample is committed, then hands every committed sample to `f`
    /// (as [`RingBuf::consume`]). Returns the number of samples. Cancellation-safe.
    pub async fn consume<F, R>(&mut self, mut f: F) -> Result<usize>
    where
        F: FnMut(&[u8]) -> R,
        R: CallbackResult,
    {
        let ring = &mut self.ring;
        until_ready(&self.afd, || {
            let n = ring.consume(&mut f)?;
            Ok((n > 0).then_some(n))
        })
        .await
    }

    /// The wrapped reader, for non-blocking use.
    pub fn get_mut(&mut self) -> &mut RingBuf {
        &mut self.ring
    }
}

impl futures_core::Stream for AsyncRingBuf {
    type Item = Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Vec<u8>>>> {
        let this = self.get_mut();
        let ring = &mut this.ring;
        poll_until_ready(&this.afd, cx, || ring.next_owned()).map(Some)
    }
}

/// A [`RingBuffer`] for async code (feature `tokio`): waits on its epoll fd with tokio's reactor.
pub struct AsyncRingBuffer<'cb> {
    rb: RingBuffer<'cb>,
    afd: tokio::io::unix::AsyncFd<OwnedFd>,
}

impl std::fmt::Debug for AsyncRingBuffer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRingBuffer")
            .field("rb", &self.rb)
            .finish()
    }
}

impl<'cb> AsyncRingBuffer<'cb> {
    /// Wraps `rb`; must be called inside a tokio runtime.
    pub fn new(rb: RingBuffer<'cb>) -> Result<AsyncRingBuffer<'cb>> {
        let afd = async_fd(rb.epoll_fd())?;
        Ok(AsyncRingBuffer { rb, afd })
    }

    /// Waits until some ring has data, then consumes every ring through the callbacks. Returns the
    /// number of samples (at least one). Cancellation-safe.
    pub async fn poll(&mut self) -> Result<usize> {
        let rb = &mut self.rb;
        until_ready(&self.afd, || {
            let n = rb.consume()?;
            Ok((n > 0).then_some(n))
        })
        .await
    }

    /// The wrapped ring buffer, for non-blocking use.
    pub fn get_mut(&mut self) -> &mut RingBuffer<'cb> {
        &mut self.rb
    }
}
