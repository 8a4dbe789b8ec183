//! `BPF_MAP_TYPE_USER_RINGBUF` producer: user space writes samples that a BPF program drains with
//! `bpf_user_ringbuf_drain()` (libbpf's `user_ring_buffer__*`).
//!
//! The roles of the ring buffer protocol (see [`crate::ringbuf`]) are swapped: user space owns
//! `producer_pos` and the data pages (mapped read-write), the kernel owns `consumer_pos` (mapped
//! read-only). [`UserRingBuffer::reserve`] writes a header with the `BUSY` bit and advances
//! `producer_pos` at once, so samples are drained in reservation order and a sample still being
//! written holds back the ones reserved after it. [`UserRingBufferSample::submit`] clears `BUSY`;
//! discarding (explicitly, or by dropping the sample) sets `DISCARD` so the kernel skips it.
//!
//! # Minimum kernel version
//!
//! 6.1 (`BPF_MAP_TYPE_USER_RINGBUF`).

#![allow(unsafe_code)]

use std::cell::Cell;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::ringbuf::{record_size, BUSY_BIT, DISCARD_BIT, HDR_SIZE, MAP_TYPE_USER_RINGBUF};
use crate::stream::stream_map_info;
use crate::sys::epoll::{Epoll, Interest};
use crate::sys::mmap::{page_size, Mmap};

/// The protocol half of the producer over raw shared memory (no ownership).
#[derive(Debug)]
pub(crate) struct UserRingWriter {
    consumer_pos: NonNull<AtomicUsize>,
    producer_pos: NonNull<AtomicUsize>,
    data: NonNull<u8>,
    mask: usize,
}

impl UserRingWriter {
    /// A writer over a ring of `size` bytes.
    ///
    /// # Safety
    /// `consumer_pos` and `producer_pos` point to aligned `usize`s and `data` to `2 * size`
    /// writable bytes laid out as the kernel's double mapping; all stay valid for the writer's
    /// lifetime, and only this writer writes `producer_pos` and the data. `size` is a power of two.
    pub(crate) unsafe fn new(
        consumer_pos: NonNull<AtomicUsize>,
        producer_pos: NonNull<AtomicUsize>,
        data: NonNull<u8>,
        size: usize,
    ) -> UserRingWriter {
        UserRingWriter {
            consumer_pos,
            producer_pos,
            data,
            mask: size - 1,
        }
    }

    fn consumer(&self) -> &AtomicUsize {
        // SAFETY: valid and aligned for the writer's lifetime (contract of `new`).
        unsafe { self.consumer_pos.as_ref() }
    }

    fn producer(&self) -> &AtomicUsize {
        // SAFETY: as for `consumer`.
        unsafe { self.producer_pos.as_ref() }
    }

    fn header(&self, pos: usize) -> &AtomicU32 {
        // SAFETY: `pos & mask < size`, 8-aligned, within the `2 * size` area; the kernel reads
        // headers concurrently, so they are only touched through atomics.
        unsafe { &*self.data.as_ptr().add(pos & self.mask).cast::<AtomicU32>() }
    }

    /// Free bytes as of now.
    pub(crate) fn available(&self) -> usize {
        let cons = self.consumer().load(Ordering::Acquire);
        let prod = self.producer().load(Ordering::Acquire);
        (self.mask + 1) - prod.wrapping_sub(cons)
    }

    /// Reserves `size` bytes; returns the record position and a pointer to its data.
    pub(crate) fn reserve(&self, size: u32) -> Result<(usize, NonNull<u8>)> {
        if size & (BUSY_BIT | DISCARD_BIT) != 0 {
            return Err(Error::invalid(format!(
                "user ring buffer sample of {size} bytes is too big"
            )));
        }
        let total = record_size(size);
        let ring = self.mask + 1;
        if total > ring {
            return Err(Error::invalid(format!(
                "user ring buffer sample of {size} bytes does not fit a ring of {ring} bytes"
            )));
        }
        // The kernel releases space by a store-release of consumer_pos after it read a sample.
        let cons = self.consumer().load(Ordering::Acquire);
        let prod = self.producer().load(Ordering::Relaxed);
        if ring - prod.wrapping_sub(cons) < total {
            return Err(Error::from_errno("user ring buffer reserve", libc::ENOSPC)
                .with_kind(ErrorKind::Busy));
        }
        let hdr = self.header(prod);
        hdr.store(size | BUSY_BIT, Ordering::Relaxed);
        // SAFETY: the pad word follows the length word inside the same 8-byte header.
        let pad = unsafe { &*(hdr as *const AtomicU32).add(1) };
        pad.store(0, Ordering::Relaxed);
        // Publishes the BUSY header to the kernel's acquire load of producer_pos.
        self.producer()
            .store(prod.wrapping_add(total), Ordering::Release);
        let ptr = self
            .data
            .as_ptr()
            .wrapping_add((prod & self.mask) + HDR_SIZE);
        let ptr = NonNull::new(ptr).ok_or_else(|| Error::invalid("null sample"))?;
        Ok((prod, ptr))
    }

    /// Commits the record at `pos`: clears `BUSY`, sets `DISCARD` when discarding.
    pub(crate) fn commit(&self, pos: usize, discard: bool) {
        let hdr = self.header(pos);
        let mut len = hdr.load(Ordering::Relaxed) & !BUSY_BIT;
        if discard {
            len |= DISCARD_BIT;
        }
        // Release: the sample's bytes are visible before the kernel sees BUSY cleared.
        hdr.swap(len, Ordering::AcqRel);
    }
}

/// A producer for one `BPF_MAP_TYPE_USER_RINGBUF` map.
///
/// Not `Sync`: reservations from one thread at a time (the kernel side expects one producer).
#[derive(Debug)]
pub struct UserRingBuffer {
    writer: UserRingWriter,
    _consumer_page: Mmap,
    _data: Mmap,
    epoll: Epoll,
    fd: OwnedFd,
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: the writer's pointers target mappings owned alongside it; nothing is tied to a thread.
// (`Cell` keeps the type `!Sync`, so only one thread reserves at a time.)
unsafe impl Send for UserRingBuffer {}

impl UserRingBuffer {
    /// Maps the user ring buffer map `map` (its fd is duplicated).
    pub fn new(map: impl AsFd) -> Result<UserRingBuffer> {
        let fd = map
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::io("dup user ring buffer map fd", e))?;
        let info = stream_map_info(fd.as_fd()).context("user ring buffer")?;
        if info.map_type != MAP_TYPE_USER_RINGBUF {
            return Err(Error::invalid(format!(
                "map '{}' is not BPF_MAP_TYPE_USER_RINGBUF (type {})",
                info.name, info.map_type
            )));
        }
        let size = info.max_entries as usize;
        if !size.is_power_of_two() {
            return Err(Error::invalid(format!(
                "user ring buffer map '{}' size {size} is not a power of two",
                info.name
            )));
        }
        let page = page_size();
        let consumer_page = Mmap::map(fd.as_fd(), page, 0, false)
            .with_context(|| format!("map '{}': consumer page", info.name))?;
        let data_len = size
            .checked_mul(2)
            .and_then(|d| d.checked_add(page))
            .ok_or_else(|| Error::invalid(format!("user ring buffer size {size} is too big")))?;
        let data = Mmap::map(fd.as_fd(), data_len, page as u64, true)
            .with_context(|| format!("map '{}': producer and data pages", info.name))?;
        let mut epoll = Epoll::new()?;
        epoll.add(fd.as_fd(), 0, Interest::Writable)?;
        let cons = NonNull::new(consumer_page.as_ptr().cast::<AtomicUsize>());
        let prod = NonNull::new(data.as_ptr().cast::<AtomicUsize>());
        let base = NonNull::new(data.as_ptr().wrapping_add(page));
        let (Some(cons), Some(prod), Some(base)) = (cons, prod, base) else {
            return Err(Error::invalid("user ring buffer mapping at null"));
        };
        // SAFETY: page-aligned position words at the start of the consumer and producer pages,
        // `2 * size` double-mapped data bytes after the producer page; the mappings are owned by
        // `self` and outlive the writer.
        let writer = unsafe { UserRingWriter::new(cons, prod, base, size) };
        Ok(UserRingBuffer {
            writer,
            _consumer_page: consumer_page,
            _data: data,
            epoll,
            fd,
            _not_sync: PhantomData,
        })
    }

    /// Reserves a sample of `size` bytes (zero-filled is not promised: write all of it).
    ///
    /// Fails with [`ErrorKind::Busy`] (`ENOSPC`) when the ring is full, and with
    /// [`ErrorKind::InvalidInput`] when `size` can never fit.
    pub fn reserve(&self, size: usize) -> Result<UserRingBufferSample<'_>> {
        let size = u32::try_from(size)
            .map_err(|_| Error::invalid(format!("user ring buffer sample of {size} bytes")))?;
        let (pos, ptr) = self.writer.reserve(size)?;
        Ok(UserRingBufferSample {
            ring: self,
            pos,
            ptr,
            len: size as usize,
            done: false,
        })
    }

    /// Like [`UserRingBuffer::reserve`], but waits up to `timeout` (`Duration::MAX`: forever) for
    /// the kernel to drain enough space. The kernel signals after each `bpf_user_ringbuf_drain()`
    /// that consumed something. Fails with [`ErrorKind::Busy`] (`ETIMEDOUT`) on timeout.
    pub fn reserve_blocking(
        &self,
        size: usize,
        timeout: Duration,
    ) -> Result<UserRingBufferSample<'_>> {
        let deadline = (timeout != Duration::MAX).then(|| Instant::now() + timeout);
        loop {
            match self.reserve(size) {
                Err(e) if e.kind() == ErrorKind::Busy => {}
                other => return other,
            }
            let left = match deadline {
                None => None,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(
                            Error::from_errno("user ring buffer reserve", libc::ETIMEDOUT)
                                .with_kind(ErrorKind::Busy),
                        );
                    }
                    Some(d - now)
                }
            };
            self.epoll.wait_ready(left)?;
        }
    }

    /// Bytes free for new samples right now.
    pub fn available(&self) -> usize {
        self.writer.available()
    }

    /// The epoll fd: readable when the map has room (the kernel drained something).
    pub fn epoll_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

impl AsFd for UserRingBuffer {
    /// The user ring buffer map's fd (`EPOLLOUT` when there is room).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A [`UserRingBuffer`] for async code (feature `tokio`).
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct AsyncUserRingBuffer {
    rb: UserRingBuffer,
    afd: tokio::io::unix::AsyncFd<OwnedFd>,
}

#[cfg(feature = "tokio")]
impl AsyncUserRingBuffer {
    /// Wraps `rb`; must be called inside a tokio runtime.
    pub fn new(rb: UserRingBuffer) -> Result<AsyncUserRingBuffer> {
        let afd = crate::ringbuf::async_fd(rb.epoll_fd())?;
        Ok(AsyncUserRingBuffer { rb, afd })
    }

    /// Reserves `size` bytes, waiting for the kernel to drain space when the ring is full.
    /// Cancellation-safe: nothing is reserved until the future completes.
    pub async fn reserve(&self, size: usize) -> Result<UserRingBufferSample<'_>> {
        let rb = &self.rb;
        crate::ringbuf::until_ready(&self.afd, || {
            match rb.writer.reserve(
                u32::try_from(size)
                    .map_err(|_| Error::invalid(format!("sample of {size} bytes")))?,
            ) {
                Ok((pos, ptr)) => Ok(Some((pos, ptr))),
                Err(e) if e.kind() == ErrorKind::Busy => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
        .map(|(pos, ptr)| UserRingBufferSample {
            ring: rb,
            pos,
            ptr,
            len: size,
            done: false,
        })
    }

    /// The wrapped producer.
    pub fn get_ref(&self) -> &UserRingBuffer {
        &self.rb
    }
}

/// A reserved sample: write it through `DerefMut`, then [`submit`](Self::submit) it. Dropping it
/// without submitting discards it.
#[derive(Debug)]
pub struct UserRingBufferSample<'a> {
    ring: &'a UserRingBuffer,
    pos: usize,
    ptr: NonNull<u8>,
    len: usize,
    done: bool,
}

impl UserRingBufferSample<'_> {
    /// Makes the sample visible to the draining BPF program.
    pub fn submit(mut self) {
        self.ring.writer.commit(self.pos, false);
        self.done = true;
    }

    /// Throws the sample away; the kernel skips it.
    pub fn discard(mut self) {
        self.ring.writer.commit(self.pos, true);
        self.done = true;
    }
}

impl std::ops::Deref for UserRingBufferSample<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the record is reserved (BUSY) for this sample only; the kernel does not read its
        // bytes until it is committed, which consumes `self`. It lies within the double-mapped
        // data area, so it is contiguous even when it wraps.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for UserRingBufferSample<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `deref`; `&mut self` makes this the only live view of the bytes.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for UserRingBufferSample<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.ring.writer.commit(self.pos, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring in plain memory, the kernel's consumer simulated by `drain`.
    struct Sim {
        cons: Box<AtomicUsize>,
        prod: Box<AtomicUsize>,
        data: Vec<u64>,
        size: usize,
    }

    impl Sim {
        fn new(size: usize) -> Sim {
            Sim {
                cons: Box::new(AtomicUsize::new(0)),
                prod: Box::new(AtomicUsize::new(0)),
                data: vec![0; 2 * size / 8],
                size,
            }
        }

        fn writer(&mut self) -> UserRingWriter {
            let d = NonNull::new(self.data.as_mut_ptr().cast::<u8>()).unwrap();
            // SAFETY: the boxes and vector outlive the writer in each test.
            unsafe {
                UserRingWriter::new(
                    NonNull::from(&*self.cons),
                    NonNull::from(&*self.prod),
                    d,
                    self.size,
                )
            }
        }

        /// The kernel's `__bpf_user_ringbuf_peek` + consume.
        fn drain(&mut self) -> (Vec<Vec<u8>>, bool) {
            // The tests keep samples from straddling the end, so the first copy is enough.
            let bytes: &[u8] = bytemuck::cast_slice(&self.data);
            let mut out = vec![];
            loop {
                let cons = self.cons.load(Ordering::Acquire);
                let prod = self.prod.load(Ordering::Acquire);
                if cons == prod {
                    return (out, false);
                }
                let off = cons & (self.size - 1);
                let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
                if len & BUSY_BIT != 0 {
                    return (out, true);
                }
                let n = (len & !(BUSY_BIT | DISCARD_BIT)) as usize;
                if len & DISCARD_BIT == 0 {
                    out.push(bytes[off + 8..off + 8 + n].to_vec());
                }
                self.cons.store(cons + record_size(len), Ordering::Release);
            }
        }
    }

    #[test]
    fn submitted_samples_reach_the_consumer_in_order_discarded_ones_do_not() {
        let mut sim = Sim::new(256);
        let w = sim.writer();
        let mut want = vec![];
        for i in 0..5u8 {
            let (pos, ptr) = w.reserve(3 + u32::from(i)).unwrap();
            let v: Vec<u8> = (0..3 + i).map(|k| i * 16 + k + 1).collect();
            // SAFETY: `ptr` points to the reserved bytes.
            unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), ptr.as_ptr(), v.len()) };
            w.commit(pos, i == 2);
            if i != 2 {
                want.push(v);
            }
        }
        let (got, busy) = sim.drain();
        assert!(!busy);
        assert_eq!(got, want);
    }

    #[test]
    fn full_ring_is_busy_until_drained_and_too_big_is_invalid() {
        let mut sim = Sim::new(64);
        let w = sim.writer();
        assert_eq!(w.reserve(100).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(
            w.reserve(BUSY_BIT).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let mut n = 0;
        while let Ok((pos, _)) = w.reserve(8) {
            w.commit(pos, false);
            n += 1;
        }
        assert_eq!(n, 4);
        assert_eq!(w.reserve(8).unwrap_err().kind(), ErrorKind::Busy);
        assert_eq!(w.available(), 0);
        let (got, _) = sim.drain();
        assert_eq!(got.len(), 4);
        assert!(w.reserve(8).is_ok());
    }

    #[test]
    fn an_uncommitted_sample_holds_back_later_ones() {
        let mut sim = Sim::new(256);
        let w = sim.writer();
        let (first, _) = w.reserve(8).unwrap();
        let (second, _) = w.reserve(8).unwrap();
        w.commit(second, false);
        let (got, busy) = sim.drain();
        assert!(busy && got.is_empty());
        w.commit(first, false);
        let (got, busy) = sim.drain();
        assert!(!busy);
        assert_eq!(got.len(), 2);
    }
}
