//! The perf buffer for tokio (feature `tokio`): [`AsyncPerfBuffer`] (callbacks, awaited polls) and
//! [`PerfEventStream`] (a [`Stream`](futures_core::Stream) of owned events).

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{PerfBuffer, PerfRecord};
use crate::error::Result;
use crate::ringbuf::{async_fd, poll_until_ready, until_ready};

/// A [`PerfBuffer`] for async code (feature `tokio`): waits on its epoll fd with tokio's reactor.
pub struct AsyncPerfBuffer<'cb> {
    pb: PerfBuffer<'cb>,
    afd: tokio::io::unix::AsyncFd<OwnedFd>,
}

impl std::fmt::Debug for AsyncPerfBuffer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncPerfBuffer")
            .field("pb", &self.pb)
            .finish()
    }
}

impl<'cb> AsyncPerfBuffer<'cb> {
    /// Wraps `pb`; must be called inside a tokio runtime.
    pub fn new(pb: PerfBuffer<'cb>) -> Result<AsyncPerfBuffer<'cb>> {
        let afd = async_fd(pb.epoll_fd())?;
        Ok(AsyncPerfBuffer { pb, afd })
    }

    /// Waits for a wakeup, then consumes every CPU's ring through the callbacks. Returns the
    /// number of samples (at least one). Cancellation-safe.
    pub async fn poll(&mut self) -> Result<usize> {
        let pb = &mut self.pb;
        until_ready(&self.afd, || {
            let n = pb.consume()?;
            Ok((n > 0).then_some(n))
        })
        .await
    }

    /// The wrapped perf buffer, for non-blocking use.
    pub fn get_mut(&mut self) -> &mut PerfBuffer<'cb> {
        &mut self.pb
    }

    /// Turns this into a stream of owned events (see [`PerfEventStream`]).
    pub fn into_stream(self) -> PerfEventStream<'cb> {
        PerfEventStream {
            pb: self.pb,
            afd: self.afd,
            queue: VecDeque::new(),
        }
    }
}

/// One item of a [`PerfEventStream`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PerfEvent {
    /// A sample the program emitted on `cpu` (its raw bytes, kernel padding included).
    Sample {
        /// The CPU whose ring carried the sample.
        cpu: i32,
        /// The sample's bytes.
        data: Vec<u8>,
    },
    /// The kernel dropped `count` samples on `cpu` because its ring was full.
    Lost {
        /// The CPU whose ring overflowed.
        cpu: i32,
        /// How many samples were dropped.
        count: u64,
    },
}

/// How many samples per ring one refill of a [`PerfEventStream`] copies out.
const REFILL_SAMPLES: usize = 256;

/// A [`Stream`](futures_core::Stream) of [`PerfEvent`]s (feature `tokio`), never ending.
///
/// The stream reads the rings itself: the callbacks set on the [`PerfBufferBuilder`]
/// (if any) are not called. Records are copied out a batch at a time (up to 256 samples per CPU)
/// into a queue the stream owns, and the rings' tails move past them at once; an item leaves the
/// queue only when `poll_next` returns it, so dropping a pending `next()` loses nothing.
///
/// [`PerfBufferBuilder`]: super::PerfBufferBuilder
pub struct PerfEventStream<'cb> {
    pb: PerfBuffer<'cb>,
    afd: tokio::io::unix::AsyncFd<OwnedFd>,
    queue: VecDeque<PerfEvent>,
}

impl std::fmt::Debug for PerfEventStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfEventStream")
            .field("pb", &self.pb)
            .field("queued", &self.queue.len())
            .finish()
    }
}

impl<'cb> PerfEventStream<'cb> {
    /// A stream over `pb`; must be called inside a tokio runtime.
    pub fn new(pb: PerfBuffer<'cb>) -> Result<PerfEventStream<'cb>> {
        Ok(AsyncPerfBuffer::new(pb)?.into_stream())
    }

    /// The wrapped perf buffer (for its fds and CPUs).
    pub fn get_ref(&self) -> &PerfBuffer<'cb> {
        &self.pb
    }
}

impl futures_core::Stream for PerfEventStream<'_> {
    type Item = Result<PerfEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<PerfEvent>>> {
        let this = self.get_mut();
        let (pb, queue) = (&mut this.pb, &mut this.queue);
        poll_until_ready(&this.afd, cx, || {
            if queue.is_empty() {
                pb.consume_records(REFILL_SAMPLES, |cpu, rec| match rec {
                    PerfRecord::Sample(s) => queue.push_back(PerfEvent::Sample {
                        cpu,
                        data: s.to_vec(),
                    }),
                    PerfRecord::Lost(count) => queue.push_back(PerfEvent::Lost { cpu, count }),
                    PerfRecord::Other(ty) => {
                        log::debug!("perf buffer: cpu #{cpu}: skipping record of type {ty}")
                    }
                })?;
            }
            Ok(queue.pop_front())
        })
        .map(Some)
    }
}
