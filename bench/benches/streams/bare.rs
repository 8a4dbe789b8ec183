//! Bare readers for the streams bench (`OXBPF_BENCH_BARE=1`): the least work a consumer can do
//! while touching the cache lines the libraries touch, as yardsticks timed beside them.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Check;

/// A bare ring buffer reader, as a yardstick (`OXBPF_BENCH_BARE=1`): it knows the record size in
/// advance, ignores busy and discard bits, publishes its position once and inlines the same check,
/// so it does the least work a reader can do while touching the same cache lines (each record's
/// first). Where a library drains about as fast, what is left is the memory system, not the
/// reader. It is a bound on the work, not on the time: a library's loop can schedule better.
pub(crate) struct RawRing {
    consumer: *mut u8,
    rest: *mut u8,
    size: usize,
}

impl RawRing {
    pub(crate) fn new(fd: BorrowedFd<'_>, size: usize) -> RawRing {
        let page = 4096;
        // Mapped the way the kernel lays a ring buffer map out: one writable page (the consumer
        // position), then the producer page and the data twice, read-only.
        // SAFETY: fresh mappings of a ring buffer map's fd, no existing memory touched.
        let (consumer, rest) = unsafe {
            (
                libc::mmap(
                    std::ptr::null_mut(),
                    page,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    0,
                ),
                libc::mmap(
                    std::ptr::null_mut(),
                    page + 2 * size,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    page as libc::off_t,
                ),
            )
        };
        assert!(
            consumer != libc::MAP_FAILED && rest != libc::MAP_FAILED,
            "mmap ring"
        );
        RawRing {
            consumer: consumer.cast(),
            rest: rest.cast(),
            size,
        }
    }

    /// Drains what the producer committed; returns how many records it saw.
    pub(crate) fn drain(&self, check: &Check) -> u64 {
        // The kernel writes the producer position; we are the only writer of the consumer's.
        // SAFETY: both positions are aligned u64s at the start of live mappings.
        let (cons, prod) = unsafe {
            (
                &*self.consumer.cast::<AtomicU64>(),
                &*self.rest.cast::<AtomicU64>(),
            )
        };
        let (c, p) = (cons.load(Ordering::Acquire), prod.load(Ordering::Acquire));
        if c == p {
            return 0;
        }
        let mask = self.size as u64 - 1;
        // The data area starts one page in and is 2 * size long (offsets are masked, and a record
        // never runs past the second copy); the producer ran to completion before the drain, so
        // every record is committed, and none is reused before we publish.
        let data = self.rest.wrapping_add(4096);
        let hdr = |pos: u64| data.wrapping_add((pos & mask) as usize);
        // SAFETY: an aligned header inside the data area (see above).
        let len = unsafe { hdr(c).cast::<u32>().read() } as u64;
        let step = (len + 8).div_ceil(8) * 8;
        let n = (p - c) / step;
        for i in 0..n {
            let at = hdr(c + i * step).wrapping_add(8);
            // SAFETY: a committed sample of `len` bytes inside the data area (see above).
            check.see(unsafe { std::slice::from_raw_parts(at, len as usize) });
        }
        cons.store(p, Ordering::Release);
        n
    }
}

impl Drop for RawRing {
    fn drop(&mut self) {
        // SAFETY: the two mappings made in `new`, unused from here on.
        unsafe {
            libc::munmap(self.consumer.cast(), 4096);
            libc::munmap(self.rest.cast(), 4096 + 2 * self.size);
        }
    }
}

/// The perf buffer's bare reader (`OXBPF_BENCH_BARE=1`), as [`RawRing`] is the ring buffer's:
/// CPU 0's `PERF_COUNT_SW_BPF_OUTPUT` event with a ring of its own; it knows the record size from
/// the first header, hands each sample to the same check and moves `data_tail` once. Unlike
/// oxbpf's reader it gives the CPU no prefetch hints, so on records of a few lines it is slower.
pub(crate) struct RawPerf {
    pub(crate) fd: OwnedFd,
    base: *mut u8,
    size: usize,
}

impl RawPerf {
    pub(crate) fn new(pages: usize) -> RawPerf {
        // SAFETY: a zeroed perf_event_attr is valid (all fields plain integers).
        let mut attr: libbpf_sys::perf_event_attr = unsafe { std::mem::zeroed() };
        attr.type_ = libbpf_sys::PERF_TYPE_SOFTWARE;
        attr.size = std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32;
        attr.config = u64::from(libbpf_sys::PERF_COUNT_SW_BPF_OUTPUT);
        attr.sample_type = u64::from(libbpf_sys::PERF_SAMPLE_RAW);
        attr.__bindgen_anon_1.sample_period = 1;
        attr.__bindgen_anon_2.wakeup_events = 1;
        const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
        // SAFETY: perf_event_open reads `attr.size` bytes of a live attr; pid -1 and CPU 0.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr,
                -1,
                0,
                -1,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        assert!(
            fd >= 0,
            "perf_event_open: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: a fresh fd of our own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let size = pages * 4096;
        // SAFETY: a fresh shared mapping of the event: the metadata page, then the data pages.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096 + size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        assert!(base != libc::MAP_FAILED, "mmap perf ring");
        RawPerf {
            fd,
            base: base.cast(),
            size,
        }
    }

    /// Drains what the kernel wrote; returns how many samples it saw.
    pub(crate) fn drain(&self, check: &Check) -> u64 {
        // data_head and data_tail live at bytes 1024 and 1032 of the metadata page.
        // SAFETY: aligned u64s in the live metadata page; the kernel writes the head, we the tail.
        let (head, tail) = unsafe {
            (
                &*self.base.add(1024).cast::<AtomicU64>(),
                &*self.base.add(1032).cast::<AtomicU64>(),
            )
        };
        let (h, t) = (head.load(Ordering::Acquire), tail.load(Ordering::Relaxed));
        if h == t {
            return 0;
        }
        let mask = self.size as u64 - 1;
        let data = self.base.wrapping_add(4096);
        let at = |pos: u64| data.wrapping_add((pos & mask) as usize);
        // Every record has the first one's size (one program, one sample size); the record
        // header's size field is its last two bytes.
        // SAFETY: an aligned header inside the data area, written before `h` was published.
        let rec = u64::from(unsafe { at(t).add(6).cast::<u16>().read() });
        // SAFETY: as above (the raw size follows the header, possibly at the ring's start).
        let raw = unsafe { at(t + 8).cast::<u32>().read() } as usize;
        let n = (h - t) / rec;
        let mut scratch = vec![0u8; raw];
        for i in 0..n {
            let pos = t + i * rec + 12;
            let off = (pos & mask) as usize;
            if off + raw <= self.size {
                // SAFETY: a published sample in the data area, kept until we move the tail.
                check.see(unsafe { std::slice::from_raw_parts(at(pos), raw) });
            } else {
                for (j, b) in scratch.iter_mut().enumerate() {
                    // SAFETY: one byte of the same sample, read where it wrapped to.
                    *b = unsafe { at(pos + j as u64).read() };
                }
                check.see(&scratch);
            }
        }
        tail.store(h, Ordering::Release);
        n
    }
}

impl Drop for RawPerf {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unused from here on.
        unsafe { libc::munmap(self.base.cast(), 4096 + self.size) };
    }
}
