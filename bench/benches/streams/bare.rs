//! Bare readers for the streams bench (`OXBPF_BENCH_BARE=1`): the least work a consumer can do
//! while touching the cache lines the libraries touch, as yardsticks timed beside them.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use oxbpf::sys::mmap::Mmap;
use oxbpf::sys::perf::{self, PerfEventAttr};

use super::Check;

/// A bare ring buffer reader, as a yardstick (`OXBPF_BENCH_BARE=1`): it knows the record size in
/// advance, ignores busy and discard bits, publishes its position once and inlines the same check,
/// so it does the least work a reader can do while touching the same cache lines (each record's
/// first) and hinting the same ones as oxbpf's reader ([`hint_lines`]). Where a library drains
/// about as fast, what is left is the memory system, not the reader. It is a bound on the work,
/// not on the time: a library's loop can schedule better.
pub(crate) struct RawRing {
    consumer: Mmap,
    rest: Mmap,
    size: usize,
}

impl RawRing {
    pub(crate) fn new(fd: BorrowedFd<'_>, size: usize) -> RawRing {
        let page = 4096;
        // Mapped the way the kernel lays a ring buffer map out: one writable page (the consumer
        // position), then the producer page and the data twice, read-only.
        RawRing {
            consumer: Mmap::map(fd, page, 0, true).expect("mmap ring consumer page"),
            rest: Mmap::map(fd, page + 2 * size, page as u64, false).expect("mmap ring data"),
            size,
        }
    }

    /// Drains what the producer committed; returns how many records it saw.
    pub(crate) fn drain(&self, check: &Check) -> u64 {
        // The kernel writes the producer position; we are the only writer of the consumer's.
        // SAFETY: both positions are aligned u64s at the start of live mappings.
        let (cons, prod) = unsafe {
            (
                &*self.consumer.as_ptr().cast::<AtomicU64>(),
                &*self.rest.as_ptr().cast::<AtomicU64>(),
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
        let data = self.rest.as_ptr().wrapping_add(4096);
        let hdr = |pos: u64| data.wrapping_add((pos & mask) as usize);
        // SAFETY: an aligned header inside the data area (see above).
        let len = unsafe { hdr(c).cast::<u32>().read() } as u64;
        let step = (len + 8).div_ceil(8) * 8;
        let n = (p - c) / step;
        let hinted = hinted_records(n, step, (112..=256).contains(&step));
        for i in 0..n {
            if i < hinted {
                hint_lines(hdr(c + i * step), step);
            }
            let at = hdr(c + i * step).wrapping_add(8);
            // SAFETY: a committed sample of `len` bytes inside the data area (see above).
            check.see(unsafe { std::slice::from_raw_parts(at, len as usize) });
        }
        cons.store(p, Ordering::Release);
        n
    }
}

/// The perf buffer's bare reader (`OXBPF_BENCH_BARE=1`), as [`RawRing`] is the ring buffer's:
/// CPU 0's `PERF_COUNT_SW_BPF_OUTPUT` event with a ring of its own; it knows the record size from
/// the first header, hands each sample to the same check, hints the same lines as oxbpf's reader
/// and moves `data_tail` once.
pub(crate) struct RawPerf {
    pub(crate) fd: OwnedFd,
    base: Mmap,
    size: usize,
}

impl RawPerf {
    pub(crate) fn new(pages: usize) -> RawPerf {
        let attr = PerfEventAttr {
            type_: perf::PERF_TYPE_SOFTWARE,
            config: perf::PERF_COUNT_SW_BPF_OUTPUT,
            sample_type: perf::PERF_SAMPLE_RAW,
            sample_period_or_freq: 1,
            wakeup: 1,
            ..Default::default()
        };
        let fd = perf::perf_event_open(&attr, -1, 0, None).expect("perf_event_open");
        let size = pages * 4096;
        // The metadata page, then the data pages.
        let base = Mmap::map(fd.as_fd(), 4096 + size, 0, true).expect("mmap perf ring");
        RawPerf { fd, base, size }
    }

    /// Drains what the kernel wrote; returns how many samples it saw.
    pub(crate) fn drain(&self, check: &Check) -> u64 {
        // data_head and data_tail live at bytes 1024 and 1032 of the metadata page.
        // SAFETY: aligned u64s in the live metadata page; the kernel writes the head, we the tail.
        let (head, tail) = unsafe {
            (
                &*self.base.as_ptr().add(1024).cast::<AtomicU64>(),
                &*self.base.as_ptr().add(1032).cast::<AtomicU64>(),
            )
        };
        let (h, t) = (head.load(Ordering::Acquire), tail.load(Ordering::Relaxed));
        if h == t {
            return 0;
        }
        let mask = self.size as u64 - 1;
        let data = self.base.as_ptr().wrapping_add(4096);
        let at = |pos: u64| data.wrapping_add((pos & mask) as usize);
        // Every record has the first one's size (one program, one sample size); the record
        // header's size field is its last two bytes.
        // SAFETY: an aligned header inside the data area, written before `h` was published.
        let rec = u64::from(unsafe { at(t).add(6).cast::<u16>().read() });
        // SAFETY: as above (the raw size follows the header, possibly at the ring's start).
        let raw = unsafe { at(t + 8).cast::<u32>().read() } as usize;
        let n = (h - t) / rec;
        let mut scratch = vec![0u8; raw];
        let hinted = hinted_records(n, rec, (96..=320).contains(&rec));
        for i in 0..n {
            if i < hinted {
                hint_lines(at(t + i * rec), rec);
            }
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

/// How many of `n` records of `step` bytes, the last ending at the producer's position, get line
/// hints: those of a hinted size (`sized`) starting more than 1 MiB before that position. oxbpf's
/// readers decide the same per run of at most 64 KiB (their `HINT_LAG` is private, hence the
/// literal), so their last hinted record may fall up to 64 KiB from where this one's does.
fn hinted_records(n: u64, step: u64, sized: bool) -> u64 {
    if sized {
        n.saturating_sub((1 << 20) / step)
    } else {
        0
    }
}

/// Hints each cache line of the `step`-byte record at `rec` after its first, as oxbpf's readers do.
fn hint_lines(rec: *const u8, step: u64) {
    for line in (64..step as usize).step_by(64) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: PREFETCHT0 never faults and has no architectural effect, for any address.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                rec.wrapping_add(line).cast(),
            )
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = rec.wrapping_add(line);
    }
}
