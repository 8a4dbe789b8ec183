//! The ring buffer readers for tokio (feature `tokio`): readiness from tokio's reactor, then the
//! same non-blocking consumption as the blocking types.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::{CallbackResult, RingBuf, RingBuffer};
use crate::error::{Error, Result};

/// Waits on an [`AsyncFd`](tokio::io::unix::AsyncFd) until `attempt` makes progress.
///
/// `attempt` must not block: it returns `Ok(Some(_))` when it got something, `Ok(None)` when there
/// was nothing to do. Readiness is cleared only after an attempt found nothing, and tokio ignores
/// that clear if a newer wakeup arrived in between, so no kernel wakeup is lost. The only await
/// point is the readiness wait, before anything is consumed: dropping the future loses nothing.
pub(crate) async fn until_ready<T>(
    afd: &tokio::io::unix::AsyncFd<OwnedFd>,
    mut attempt: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    loop {
        if let Some(v) = attempt()? {
            return Ok(v);
        }
        let mut guard = afd
            .readable()
            .await
            .map_err(|e| Error::io("wait for event stream readiness", e))?;
        if let Some(v) = attempt()? {
            return Ok(v);
        }
        guard.clear_ready();
    }
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
