//! `BPF_MAP_TYPE_RINGBUF` consumers: [`RingBuf`] reads one map sample by sample, [`RingBuffer`]
//! watches several maps behind one epoll and hands each sample to that map's closure (libbpf's
//! `ring_buffer__*`).
//!
//! # The shared-memory protocol
//!
//! A ring buffer map of `size` bytes (a power of two) is mapped in three parts: the consumer page
//! (`consumer_pos`, written by user space), the producer page (`producer_pos`, written by the
//! kernel) and the data area, mapped twice back to back so that a record that wraps around the end
//! reads as one contiguous slice. Each record starts with an 8-byte header: a `u32` length whose
//! top bit (`BUSY`) says the producer has reserved but not yet committed it and whose next bit
//! (`DISCARD`) says it was thrown away, then a `u32` the kernel uses for itself. Records are
//! padded to 8 bytes.
//!
//! The kernel wakes the consumer only when a record commits at exactly the published
//! `consumer_pos` (the consumer had caught up). So before going to sleep the consumer must store its
//! position and only then re-read the producer side, with a full (SeqCst) barrier between the two:
//! otherwise the store can be reordered after the load, the producer sees a stale position, skips
//! the wakeup, and the consumer sleeps on data.
//!
//! Unlike libbpf, which publishes `consumer_pos` after every record, this reader publishes once
//! per batch (or every [`PUBLISH_EVERY`] bytes), with the SeqCst store + re-read whenever it
//! catches up or stops at a busy record. Samples are handed out as `&[u8]` that live only until
//! the reader advances past them, because after that the producer may overwrite the bytes.
//!
//! # Minimum kernel version
//!
//! 5.8 (`BPF_MAP_TYPE_RINGBUF`).

#![allow(unsafe_code)]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use crate::error::{Error, Result, ResultExt};
use crate::stream::{far_behind, opaque, prefetch, stream_map_info};
use crate::sys::epoll::{Epoll, Interest};
use crate::sys::mmap::{page_size, Mmap};

pub use crate::stream::{CallbackResult, PUBLISH_EVERY};

/// Header bit: the record is reserved but not committed yet.
pub(crate) const BUSY_BIT: u32 = 1 << 31;
/// Header bit: the record was discarded; skip it.
pub(crate) const DISCARD_BIT: u32 = 1 << 30;
/// Size of a record header.
pub(crate) const HDR_SIZE: usize = 8;

/// `BPF_MAP_TYPE_RINGBUF`.
pub(crate) const MAP_TYPE_RINGBUF: u32 = 27;
/// `BPF_MAP_TYPE_USER_RINGBUF`.
pub(crate) const MAP_TYPE_USER_RINGBUF: u32 = 31;

/// Record sizes the fast path of [`RingReader::consume_with`] matches: below 2^30, so that no
/// header with BUSY (2^31) or DISCARD (2^30) set can match.
const FAST_MAX: usize = 1 << 30;

/// Records of these sizes get a hint for each of their cache lines after the first when far
/// enough behind the producer (`stream::HINT_LAG`), as the perf buffer reader's do (its
/// `LINE_HINTS`), for the same reason: the reader touches each record's first line only, and for
/// records spanning two to five lines those lines come at an uneven stride the hardware
/// prefetcher follows poorly. Measured in one process against the same reader without hints
/// (bench `streams`, 16 MiB drains, 3-4 runs, both run orders): 136-byte records (128-byte
/// samples) drained 1.12-1.37x faster with hints, 168-byte 1.40-1.56x, 208-byte 1.19-1.27x,
/// 256-byte 1.11-1.16x; 104-byte ones were unchanged within noise and 264-byte ones (four hints)
/// 0.80-1.03x.
const LINE_HINTS: std::ops::RangeInclusive<usize> = 112..=256;

/// Checks that position `at` is at most `size` bytes behind the producer's `prod` (a consumer
/// position written by another process may be ahead of it, or lag it by more than the ring), and
/// that a record of `total` bytes there lies within what the producer reserved.
fn check_fits(at: usize, prod: usize, size: usize, total: usize) -> Result<()> {
    let avail = prod.wrapping_sub(at);
    if avail > size {
        return Err(Error::malformed(format!(
            "ring buffer consumer position {at} is not within the {size} bytes before the \
             producer position {prod}"
        )));
    }
    if total > avail {
        return Err(Error::malformed(format!(
            "ring buffer record at position {at} claims {total} bytes, but only {avail} are reserved"
        )));
    }
    Ok(())
}

/// Bytes a record of `len` (flags cleared) occupies in the ring: header plus data, padded to 8.
#[inline(always)]
pub(crate) fn record_size(len: u32) -> usize {
    let len = (len & !(BUSY_BIT | DISCARD_BIT)) as usize;
    (len + HDR_SIZE + 7) & !7
}

/// The protocol half of a ring buffer consumer: positions and data over raw shared memory, no
/// ownership. [`RingBuf`] pairs it with the mappings that keep the memory alive.
#[derive(Debug)]
pub(crate) struct RingReader {
    consumer_pos: NonNull<AtomicUsize>,
    producer_pos: NonNull<AtomicUsize>,
    data: NonNull<u8>,
    mask: usize,
    /// Our position: the next record to look at.
    cons: usize,
    /// The last position stored to `consumer_pos`.
    published: usize,
    /// The last `producer_pos` read; records before it are reserved (maybe still busy).
    prod: usize,
    publish_every: usize,
}

/// One step of the reader.
enum Step {
    /// A committed sample of `len` bytes at `ptr`; the reader is still positioned on it.
    Sample { ptr: *const u8, len: usize },
    /// Nothing committed to read now (empty, or the next record is still busy).
    Empty,
}

impl RingReader {
    /// A reader over a ring of `size` bytes.
    ///
    /// # Safety
    /// `consumer_pos` and `producer_pos` point to aligned `usize`s, and `data` to `2 * size`
    /// readable bytes laid out as the kernel's double mapping (byte `i + size` aliases byte `i`);
    /// all three stay valid for the reader's lifetime, and only this reader (and no Rust
    /// reference) writes `consumer_pos`. `size` is a power of two.
    pub(crate) unsafe fn new(
        consumer_pos: NonNull<AtomicUsize>,
        producer_pos: NonNull<AtomicUsize>,
        data: NonNull<u8>,
        size: usize,
    ) -> RingReader {
        // SAFETY: the caller guarantees `consumer_pos` is valid for the reader's lifetime.
        let cons = unsafe { consumer_pos.as_ref() }.load(Ordering::Acquire);
        RingReader {
            consumer_pos,
            producer_pos,
            data,
            mask: size - 1,
            cons,
            published: cons,
            prod: cons,
            publish_every: PUBLISH_EVERY.min(size / 4).max(HDR_SIZE),
        }
    }

    #[inline(always)]
    fn consumer(&self) -> &AtomicUsize {
        // SAFETY: valid and aligned for the reader's lifetime (contract of `new`); shared memory
        // is only accessed through the atomic.
        unsafe { self.consumer_pos.as_ref() }
    }

    #[inline(always)]
    fn producer(&self) -> &AtomicUsize {
        // SAFETY: as for `consumer`.
        unsafe { self.producer_pos.as_ref() }
    }

    /// The ring's data size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.mask + 1
    }

    /// Bytes reserved by the producer and not yet consumed (as of the last read positions).
    pub(crate) fn pending_bytes(&self) -> usize {
        self.producer()
            .load(Ordering::Acquire)
            .wrapping_sub(self.cons)
    }

    /// Stores our position for the producer; `SeqCst` when a re-read of the producer side follows.
    #[inline(always)]
    fn publish(&mut self, order: Ordering) {
        self.consumer().store(self.cons, order);
        self.published = self.cons;
    }

    /// Publishes and forgets a batch, without the wakeup handshake: used when stopping early, and
    /// by drop.
    pub(crate) fn flush(&mut self) {
        if self.published != self.cons {
            self.publish(Ordering::Release);
        }
    }

    /// Picks up a position another consumer of the same map published (libbpf re-reads
    /// `consumer_pos` on every call too). Only when we have nothing unpublished ourselves.
    ///
    /// Any process that maps the ring can write `consumer_pos`; one that is not 8-aligned is no
    /// record boundary (and would misalign the header reads), so it is an error.
    #[inline(always)]
    fn resync(&mut self) -> Result<()> {
        if self.published == self.cons {
            let c = self.consumer().load(Ordering::Relaxed);
            if c != self.cons {
                self.cons = c;
                self.published = c;
                self.prod = c;
            }
        }
        if self.cons % 8 != 0 {
            return Err(Error::malformed(format!(
                "ring buffer consumer position {} is not 8-byte aligned",
                self.cons
            )));
        }
        Ok(())
    }

    /// Finds the next committed sample, skipping discarded ones, without advancing past it.
    #[inline(always)]
    fn step(&mut self) -> Result<Step> {
        loop {
            if self.cons == self.prod {
                self.prod = self.producer().load(Ordering::Acquire);
                if self.cons == self.prod {
                    // Caught up: publish with a full barrier, then look again (see module docs).
                    self.publish(Ordering::SeqCst);
                    self.prod = self.producer().load(Ordering::SeqCst);
                    if self.cons == self.prod {
                        return Ok(Step::Empty);
                    }
                }
            }
            let off = self.cons & self.mask;
            // SAFETY: `off < size` and the data area is `2 * size` bytes, so the 8-byte-aligned
            // header (positions advance by multiples of 8) is in bounds; the kernel writes it
            // concurrently, so it is read only through an atomic.
            let hdr = unsafe { &*self.data.as_ptr().add(off).cast::<AtomicU32>() };
            let mut len = hdr.load(Ordering::Acquire);
            if len & BUSY_BIT != 0 {
                // The producer will wake us on commit only if it sees our position at this
                // record: publish it (SeqCst), then re-check the header.
                self.publish(Ordering::SeqCst);
                len = hdr.load(Ordering::SeqCst);
                if len & BUSY_BIT != 0 {
                    return Ok(Step::Empty);
                }
            }
            let total = record_size(len);
            check_fits(self.cons, self.prod, self.size(), total)?;
            if len & DISCARD_BIT != 0 {
                self.advance(total);
                continue;
            }
            let ptr = self.data.as_ptr().wrapping_add(off + HDR_SIZE);
            return Ok(Step::Sample {
                ptr,
                len: (len & !(BUSY_BIT | DISCARD_BIT)) as usize,
            });
        }
    }

    /// Moves past the current record of `total` bytes; publishes when the batch is big enough.
    #[inline(always)]
    fn advance(&mut self, total: usize) {
        self.cons = self.cons.wrapping_add(total);
        if self.cons.wrapping_sub(self.published) >= self.publish_every {
            self.publish(Ordering::Release);
        }
    }

    /// Hands up to `max` samples to `f`; stops early when `f` says so. Returns `(count, stopped)`.
    ///
    /// The same protocol as [`RingReader::step`], written as one loop over locals: the callback is
    /// opaque to the optimiser, so state kept in `self` would be reloaded after every sample.
    ///
    /// Streams are mostly runs of one record size, so the loop has two paths. The fast path takes
    /// a run of records of the previous record's size: one compare of the raw header against the
    /// lengths that round to that size rejects a change of size, a busy record and a discarded
    /// one alike (their flag bits make the header too big to match), and the run's length is
    /// computed up front from the bytes reserved, the next publish point and `max`, so nothing
    /// else is checked per record. The next header's address does not depend on this one's load,
    /// so the CPU overlaps the loads of many records; with few instructions per record, more
    /// records fit in its window. Anything else, one record at a time, goes to the slow path,
    /// which also learns the new size.
    #[inline]
    pub(crate) fn consume_with<F, R>(&mut self, max: usize, mut f: F) -> Result<(usize, bool)>
    where
        F: FnMut(&[u8]) -> R,
        R: CallbackResult,
    {
        self.resync()?;
        // SAFETY: valid for the reader's lifetime (contract of `new`); these references do not
        // borrow `self`, which is only written back after the loop.
        let (consumer, producer) =
            unsafe { (self.consumer_pos.as_ref(), self.producer_pos.as_ref()) };
        let data = self.data.as_ptr();
        let mask = self.mask;
        let every = self.publish_every;
        let (mut cons, mut published, mut prod) = (self.cons, self.published, self.prod);
        let mut n = 0usize;
        let mut stopped = false;
        let mut bad = None;
        // The size of the previous record, or 0 before the first (or after one too big to match
        // with flags set, see `FAST_MAX`).
        let mut guess = 0usize;
        while n < max {
            if cons == prod {
                prod = producer.load(Ordering::Acquire);
                if cons == prod {
                    // Caught up: publish with a full barrier, then look again (module docs).
                    consumer.store(cons, Ordering::SeqCst);
                    published = cons;
                    prod = producer.load(Ordering::SeqCst);
                    if cons == prod {
                        break;
                    }
                }
            }
            // The run may take every reserved byte up to the next publish point (`every` is at
            // most the ring's size, whatever the positions say), and at most `max - n` records.
            let left = prod
                .wrapping_sub(cons)
                .min(every.saturating_sub(cons.wrapping_sub(published)));
            // No run before the first record, while `guess` is 0.
            if let Some(fit) = left.checked_div(guess) {
                let run = fit.min(max - n);
                // A record of `guess` bytes has a header value in `lo..lo + 8` (flags clear).
                // In u64, a header with BUSY or DISCARD set (at least 2^30, `guess` never is)
                // can never land in that window, even when `lo` wraps for `guess == 8`.
                let lo = (guess as u64).wrapping_sub(HDR_SIZE as u64 + 7);
                // Walk the run by pointer: it starts below `size` and spans at most `every <=
                // size` bytes, so it stays inside the `2 * size` double-mapped data area.
                let start = data.wrapping_add(cons & mask);
                let end = start.wrapping_add(run * guess);
                let hint =
                    LINE_HINTS.contains(&guess) && far_behind(prod.wrapping_sub(cons) as u64);
                let mut p = start;
                while p < end {
                    // SAFETY: `p` is 8-aligned and `p + guess <= end` lies inside the data
                    // area (above); the kernel writes headers concurrently, so they are read
                    // only through an atomic.
                    let len = unsafe { &*p.cast::<AtomicU32>() }.load(Ordering::Acquire);
                    if u64::from(len).wrapping_sub(lo) >= 8 {
                        break;
                    }
                    if hint {
                        let mut line = 64;
                        while line < guess {
                            prefetch(p.wrapping_add(line));
                            line += 64;
                        }
                    }
                    // SAFETY: committed (BUSY clear, read with Acquire after the producer's
                    // release) and within the reserved bytes (`p + guess <= end`). The
                    // producer does not reuse these bytes until `consumer_pos` moves past them,
                    // which happens only after `f` returns; the slice cannot escape `f`
                    // (higher-ranked lifetime).
                    let sample =
                        unsafe { std::slice::from_raw_parts(p.add(HDR_SIZE), len as usize) };
                    // Hidden from the optimiser, which could otherwise step by the loaded size
                    // (equal after the compare) and chain every header load to the previous one.
                    p = p.wrapping_add(opaque(guess));
                    if f(sample).should_stop() {
                        stopped = true;
                        break;
                    }
                }
                let took = p as usize - start as usize;
                cons = cons.wrapping_add(took);
                n += took / guess;
                if stopped {
                    break;
                }
                if cons.wrapping_sub(published) >= every {
                    consumer.store(cons, Ordering::Release);
                    published = cons;
                }
                if n >= max {
                    break;
                }
                if cons == prod {
                    continue;
                }
            }
            // Slow path: one record of any kind.
            let off = cons & mask;
            // SAFETY: `off < size`, 8-aligned, inside the `2 * size` data area; the kernel writes
            // headers concurrently, so they are read only through an atomic.
            let hdr = unsafe { &*data.add(off).cast::<AtomicU32>() };
            let mut len = hdr.load(Ordering::Acquire);
            if len & BUSY_BIT != 0 {
                // The producer wakes us on commit only if it sees our position at this record:
                // publish it (SeqCst), then re-check the header.
                consumer.store(cons, Ordering::SeqCst);
                published = cons;
                len = hdr.load(Ordering::SeqCst);
                if len & BUSY_BIT != 0 {
                    break;
                }
            }
            let total = record_size(len);
            if let Err(e) = check_fits(cons, prod, mask + 1, total) {
                bad = Some(e);
                break;
            }
            guess = if total < FAST_MAX { total } else { 0 };
            cons = cons.wrapping_add(total);
            if len & DISCARD_BIT == 0 {
                let len = (len & !(BUSY_BIT | DISCARD_BIT)) as usize;
                // SAFETY: as in the fast path (`total <= prod - cons` was checked above).
                let sample = unsafe { std::slice::from_raw_parts(data.add(off + HDR_SIZE), len) };
                n += 1;
                if f(sample).should_stop() {
                    stopped = true;
                    break;
                }
            }
            if cons.wrapping_sub(published) >= every {
                consumer.store(cons, Ordering::Release);
                published = cons;
            }
        }
        self.cons = cons;
        self.published = published;
        self.prod = prod;
        self.flush();
        if let Some(e) = bad {
            return Err(e);
        }
        Ok((n, stopped))
    }

    /// The next committed sample as a raw `(ptr, len)`; the caller must call
    /// [`RingReader::finish_sample`] with `len` once done reading it.
    fn next_raw(&mut self) -> Result<Option<(*const u8, usize)>> {
        self.resync()?;
        Ok(match self.step()? {
            Step::Empty => None,
            Step::Sample { ptr, len } => Some((ptr, len)),
        })
    }

    /// Moves past the sample last returned by `next_raw`.
    fn finish_sample(&mut self, len: usize) {
        self.advance(record_size(len as u32));
    }
}

impl Drop for RingReader {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Reads one `BPF_MAP_TYPE_RINGBUF` map: [`RingBuf::next`] returns samples one at a time,
/// [`RingBuf::consume`] hands them to a closure. Non-blocking; wait for readiness on
/// [`AsFd`] (the map fd, `EPOLLIN` when data is available) or use [`RingBuffer`].
#[derive(Debug)]
pub struct RingBuf {
    // Field order matters: the reader publishes its position on drop, before the unmap.
    reader: RingReader,
    _consumer_page: Mmap,
    _data: Mmap,
    fd: OwnedFd,
}

// SAFETY: the reader's pointers target the mappings owned alongside it; nothing is tied to a
// thread, and `&mut self` is required for every access that reads or writes the shared memory.
unsafe impl Send for RingBuf {}

impl RingBuf {
    /// Maps the ring buffer map `map` (its fd is duplicated; the map may be dropped afterwards).
    pub fn new(map: impl AsFd) -> Result<RingBuf> {
        let fd = map
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::io("dup ring buffer map fd", e))?;
        let info = stream_map_info(fd.as_fd()).context("ring buffer")?;
        if info.map_type != MAP_TYPE_RINGBUF {
            return Err(Error::invalid(format!(
                "map '{}' is not BPF_MAP_TYPE_RINGBUF (type {})",
                info.name, info.map_type
            )));
        }
        let size = info.max_entries as usize;
        if !size.is_power_of_two() {
            return Err(Error::invalid(format!(
                "ring buffer map '{}' size {size} is not a power of two",
                info.name
            )));
        }
        let page = page_size();
        let consumer_page = Mmap::map(fd.as_fd(), page, 0, true)
            .with_context(|| format!("map '{}': consumer page", info.name))?;
        let data_len = size
            .checked_mul(2)
            .and_then(|d| d.checked_add(page))
            .ok_or_else(|| Error::invalid(format!("ring buffer size {size} is too big")))?;
        let data = Mmap::map(fd.as_fd(), data_len, page as u64, false)
            .with_context(|| format!("map '{}': data pages", info.name))?;
        let cons = NonNull::new(consumer_page.as_ptr().cast::<AtomicUsize>());
        let prod = NonNull::new(data.as_ptr().cast::<AtomicUsize>());
        let base = NonNull::new(data.as_ptr().wrapping_add(page));
        let (Some(cons), Some(prod), Some(base)) = (cons, prod, base) else {
            return Err(Error::invalid("ring buffer mapping at null"));
        };
        // SAFETY: the consumer page starts with `consumer_pos`, the producer page with
        // `producer_pos` (page-aligned, so aligned for usize); the data area follows the producer
        // page and is `2 * size` bytes, double-mapped by the kernel. Both mappings live in `self`
        // next to the reader and are unmapped only after it is dropped (field order).
        let reader = unsafe { RingReader::new(cons, prod, base, size) };
        Ok(RingBuf {
            reader,
            _consumer_page: consumer_page,
            _data: data,
            fd,
        })
    }

    /// The next committed sample, or `None` when none is ready. The sample borrows the ring:
    /// the reader moves past it when it is dropped.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<RingBufSample<'_>>> {
        match self.reader.next_raw()? {
            None => Ok(None),
            Some((ptr, len)) => Ok(Some(RingBufSample {
                ring: self,
                ptr,
                len,
            })),
        }
    }

    /// The next committed sample copied out, or `None` when none is ready.
    pub fn next_owned(&mut self) -> Result<Option<Vec<u8>>> {
        Ok(self.next()?.map(|s| s.to_vec()))
    }

    /// Hands every committed sample to `f` until the ring is empty or `f` returns
    /// `ControlFlow::Break(())`. Returns the number of samples handed out.
    pub fn consume<F, R>(&mut self, f: F) -> Result<usize>
    where
        F: FnMut(&[u8]) -> R,
        R: CallbackResult,
    {
        self.consume_n(usize::MAX, f)
    }

    /// Like [`RingBuf::consume`], but hands out at most `n` samples.
    pub fn consume_n<F, R>(&mut self, n: usize, f: F) -> Result<usize>
    where
        F: FnMut(&[u8]) -> R,
        R: CallbackResult,
    {
        Ok(self.reader.consume_with(n, f)?.0)
    }

    /// Bytes the producer has reserved that this reader has not consumed yet (committed or not).
    pub fn pending_bytes(&self) -> usize {
        self.reader.pending_bytes()
    }

    /// The ring's data size in bytes (the map's `max_entries`).
    pub fn size(&self) -> usize {
        self.reader.size()
    }

    /// The consumer position as published in the ring's shared page: bytes consumed since the map
    /// was created, a counter that wraps (libbpf's `ring__consumer_pos`). `consume` and
    /// `consume_n` publish this reader's position before they return, past a sample on which the
    /// callback asked to stop (as libbpf does); `next` publishes it once the ring is drained and
    /// at least every [`PUBLISH_EVERY`] bytes.
    pub fn consumer_pos(&self) -> usize {
        self.reader.consumer().load(Ordering::Acquire)
    }

    /// The producer position: bytes reserved since the map was created, committed or not, a
    /// counter that wraps (libbpf's `ring__producer_pos`).
    pub fn producer_pos(&self) -> usize {
        self.reader.producer().load(Ordering::Acquire)
    }
}

impl AsFd for RingBuf {
    /// The ring buffer map's fd.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A sample borrowed from a [`RingBuf`]; the reader moves past it on drop.
#[derive(Debug)]
pub struct RingBufSample<'a> {
    ring: &'a mut RingBuf,
    ptr: *const u8,
    len: usize,
}

impl std::ops::Deref for RingBufSample<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the record is committed and inside the data area (see `consume_with`); the
        // reader has not moved past it, because that happens only in `drop` below and the ring is
        // mutably borrowed for as long as this sample lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for RingBufSample<'_> {
    fn drop(&mut self) {
        self.ring.reader.finish_sample(self.len);
    }
}

/// Reads one ring into its callback: `(reader, max samples)` to `(samples, stopped)`. Built by
/// [`RingBufferBuilder::add`] around the user's closure, so the per-record loop is compiled for
/// that closure (inlined, no indirect call per sample); the one indirect call is per batch.
type Callback<'cb> = Box<dyn FnMut(&mut RingReader, usize) -> Result<(usize, bool)> + 'cb>;

/// Builds a [`RingBuffer`]: one closure per ring buffer map.
#[derive(Default)]
pub struct RingBufferBuilder<'cb> {
    rings: Vec<(RingBuf, Callback<'cb>)>,
}

impl std::fmt::Debug for RingBufferBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBufferBuilder")
            .field("rings", &self.rings.len())
            .finish()
    }
}

impl<'cb> RingBufferBuilder<'cb> {
    /// An empty builder.
    pub fn new() -> Self {
        RingBufferBuilder { rings: Vec::new() }
    }

    /// Adds the ring buffer map `map`, whose samples go to `callback`. The callback returns `()`
    /// or [`ControlFlow`](std::ops::ControlFlow); `Break` stops the current `poll`/`consume`
    /// after that sample.
    pub fn add<F, R>(&mut self, map: impl AsFd, mut callback: F) -> Result<&mut Self>
    where
        F: FnMut(&[u8]) -> R + 'cb,
        R: CallbackResult,
    {
        let ring = RingBuf::new(map)?;
        let cb: Callback<'cb> =
            Box::new(move |reader, max| reader.consume_with(max, &mut callback));
        self.rings.push((ring, cb));
        Ok(self)
    }

    /// Creates the epoll instance watching every added map.
    pub fn build(self) -> Result<RingBuffer<'cb>> {
        let mut epoll = Epoll::new()?;
        for (i, (ring, _)) in self.rings.iter().enumerate() {
            epoll.add(ring.as_fd(), i as u64, Interest::Readable)?;
        }
        Ok(RingBuffer {
            rings: self.rings,
            epoll,
        })
    }
}

/// Several ring buffer maps behind one epoll, each with its closure (libbpf's `ring_buffer`).
pub struct RingBuffer<'cb> {
    rings: Vec<(RingBuf, Callback<'cb>)>,
    epoll: Epoll,
}

impl std::fmt::Debug for RingBuffer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBuffer")
            .field("rings", &self.rings.len())
            .finish()
    }
}

impl<'cb> RingBuffer<'cb> {
    /// Shorthand for [`RingBufferBuilder::new`].
    pub fn builder() -> RingBufferBuilder<'cb> {
        RingBufferBuilder::new()
    }

    /// Waits up to `timeout` (`Duration::MAX`: forever) for data in any ring, then consumes the
    /// rings that have some. Returns the number of samples handed to the callbacks (0 on timeout
    /// or when interrupted by a signal).
    pub fn poll(&mut self, timeout: Duration) -> Result<usize> {
        let timeout = (timeout != Duration::MAX).then_some(timeout);
        let rings = &mut self.rings;
        let mut total = 0usize;
        let mut stopped = false;
        self.epoll.wait(timeout, |token| {
            if stopped {
                return Ok(());
            }
            if let Some((ring, cb)) = rings.get_mut(token as usize) {
                let (n, stop) = cb(&mut ring.reader, usize::MAX)?;
                total = total.saturating_add(n);
                stopped = stop;
            }
            Ok(())
        })?;
        Ok(total)
    }

    /// Consumes every ring without waiting. Returns the number of samples handed out.
    pub fn consume(&mut self) -> Result<usize> {
        self.consume_n(usize::MAX)
    }

    /// Consumes at most `n` samples over all rings (in the order they were added), without waiting.
    pub fn consume_n(&mut self, n: usize) -> Result<usize> {
        let mut total = 0usize;
        for (ring, cb) in &mut self.rings {
            let (got, stop) = cb(&mut ring.reader, n - total)?;
            total += got;
            if stop || total >= n {
                break;
            }
        }
        Ok(total)
    }

    /// Consumes the ring added at `index` only.
    pub fn consume_ring(&mut self, index: usize) -> Result<usize> {
        let (ring, cb) = self
            .rings
            .get_mut(index)
            .ok_or_else(|| Error::invalid(format!("no ring buffer #{index}")))?;
        Ok(cb(&mut ring.reader, usize::MAX)?.0)
    }

    /// The number of rings.
    pub fn ring_count(&self) -> usize {
        self.rings.len()
    }

    /// The ring added at `index`, e.g. to read its [`RingBuf::pending_bytes`].
    pub fn ring(&self, index: usize) -> Option<&RingBuf> {
        self.rings.get(index).map(|r| &r.0)
    }

    /// The epoll fd: readable when any ring has data. For outside event loops.
    pub fn epoll_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

impl AsFd for RingBuffer<'_> {
    /// The epoll fd (see [`RingBuffer::epoll_fd`]).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

#[cfg(feature = "tokio")]
mod asynchronous;
#[cfg(feature = "tokio")]
pub(crate) use asynchronous::{async_fd, poll_until_ready, until_ready};
#[cfg(feature = "tokio")]
pub use asynchronous::{AsyncRingBuf, AsyncRingBuffer};

#[cfg(test)]
mod tests;
