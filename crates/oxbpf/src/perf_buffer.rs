//! `BPF_MAP_TYPE_PERF_EVENT_ARRAY` consumer (libbpf's `perf_buffer__*`): one perf ring per CPU,
//! opened as a `PERF_COUNT_SW_BPF_OUTPUT` software event, mapped, and stored in the map under the
//! CPU's key so `bpf_perf_event_output()` on that CPU writes into it.
//!
//! # The shared-memory protocol
//!
//! Each ring is a `struct perf_event_mmap_page` (the kernel writes `data_head`, we write
//! `data_tail`) followed by a power-of-two data area. Records (`struct perf_event_header`: type,
//! misc, size) are 8-byte aligned and may wrap around the end of the area; such a record is
//! copied into a scratch buffer so the callback still sees one slice. `PERF_RECORD_SAMPLE`
//! carries the raw bytes the program emitted (padded by the kernel to keep the record aligned);
//! `PERF_RECORD_LOST` says how many samples the kernel dropped because the ring was full.
//!
//! The reader loads `data_head` with Acquire and publishes `data_tail` with Release once per
//! batch (and every [`PUBLISH_EVERY`] bytes); the kernel never writes bytes
//! between tail and head, so samples are handed out in place as `&[u8]` valid during the callback.
//!
//! # Wakeups
//!
//! By default the kernel wakes the poller after every sample (`wakeup_events = 1`), which costs
//! an interrupt per sample and caps throughput near 100k samples/s on a VM.
//! [`PerfBufferBuilder::wakeup_events`] raises that: the poller is woken every N samples, and
//! samples below the threshold wait for the next wakeup or an explicit [`PerfBuffer::consume`]
//! (poll with a timeout and consume on timeout to bound latency).

#![allow(unsafe_code)]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{Error, Result, ResultExt};
use crate::stream::{far_behind, opaque, prefetch, stream_map_info, CallbackResult, PUBLISH_EVERY};
use crate::sys::epoll::{Epoll, Interest};
use crate::sys::mmap::{page_size, Mmap};
use crate::sys::perf;

/// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
const MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
/// `PERF_RECORD_LOST`.
pub(crate) const PERF_RECORD_LOST: u32 = 2;
/// `PERF_RECORD_SAMPLE`.
pub(crate) const PERF_RECORD_SAMPLE: u32 = 9;
/// Offsets in `struct perf_event_mmap_page`.
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;
const DATA_OFFSET: usize = 1040;
const DATA_SIZE: usize = 1048;

/// Records of these sizes get a hint for each of their cache lines after the first, when far
/// enough behind head (`stream::HINT_LAG`); the ring buffer reader has its own range, measured
/// the same way.
///
/// The reader touches only a record's first line (header and the sample's first bytes). For
/// records of two to five lines, the lines it touches then skip one to four lines at an uneven
/// stride, which the hardware prefetcher follows poorly: 144-byte records (128-byte samples) took
/// 6.6-13 ns each, against 4.2-5.3 ns with every line hinted, and 208-byte ones 9.4 against 6.0
/// (bench `streams`, both cache modes). Smaller records touch nearly every line anyway; at 496
/// bytes the seven hints cost 40% more than they saved.
const LINE_HINTS: std::ops::RangeInclusive<usize> = 96..=320;

/// One record of a perf ring, as handed to the reader's callback.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PerfRecord<'a> {
    /// `PERF_RECORD_SAMPLE` with `PERF_SAMPLE_RAW`: the raw bytes.
    Sample(&'a [u8]),
    /// `PERF_RECORD_LOST`: this many samples were dropped.
    Lost(u64),
    /// Any other record type (skipped).
    Other(u32),
}

/// The protocol half of a perf ring consumer over raw shared memory (no ownership).
#[derive(Debug)]
pub(crate) struct PerfReader {
    head: NonNull<AtomicU64>,
    tail: NonNull<AtomicU64>,
    data: NonNull<u8>,
    size: usize,
    /// Scratch space for records that wrap around the end of the data area.
    scratch: Vec<u8>,
}

#[inline(always)]
fn read_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

#[inline(always)]
fn read_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_ne_bytes)
}

/// Decodes one whole record (header included).
#[inline(always)]
pub(crate) fn parse_record(rec: &[u8]) -> Result<PerfRecord<'_>> {
    let ty = read_u32(rec, 0);
    match ty {
        PERF_RECORD_SAMPLE => {
            let n = read_u32(rec, 8) as usize;
            match rec.get(12..).and_then(|r| r.get(..n)) {
                Some(s) => Ok(PerfRecord::Sample(s)),
                None => Err(sample_too_big(n, rec.len())),
            }
        }
        PERF_RECORD_LOST if rec.len() >= 24 => Ok(PerfRecord::Lost(read_u64(rec, 16))),
        PERF_RECORD_LOST => Err(Error::malformed(format!(
            "PERF_RECORD_LOST of {} bytes, want at least 24",
            rec.len()
        ))),
        other => Ok(PerfRecord::Other(other)),
    }
}

#[cold]
fn sample_too_big(n: usize, rec: usize) -> Error {
    Error::malformed(format!(
        "perf sample of {n} raw bytes does not fit its {rec}-byte record"
    ))
}

impl PerfReader {
    /// A reader over the metadata page at `meta` and `size` data bytes at `data`.
    ///
    /// # Safety
    /// `meta` points to a `struct perf_event_mmap_page` (page-aligned) and `data` to `size`
    /// readable bytes (a power of two) that the kernel fills as a perf ring; both stay valid for
    /// the reader's lifetime and only this reader writes `data_tail`.
    pub(crate) unsafe fn new(meta: NonNull<u8>, data: NonNull<u8>, size: usize) -> PerfReader {
        // SAFETY: `data_head`/`data_tail` are 8-aligned u64 fields at fixed offsets of the page
        // (contract of `new`).
        let (head, tail) = unsafe {
            (
                NonNull::new_unchecked(meta.as_ptr().add(DATA_HEAD).cast::<AtomicU64>()),
                NonNull::new_unchecked(meta.as_ptr().add(DATA_TAIL).cast::<AtomicU64>()),
            )
        };
        PerfReader {
            head,
            tail,
            data,
            size,
            scratch: Vec::new(),
        }
    }

    fn head(&self) -> &AtomicU64 {
        // SAFETY: valid and aligned for the reader's lifetime (contract of `new`).
        unsafe { self.head.as_ref() }
    }

    fn tail(&self) -> &AtomicU64 {
        // SAFETY: as for `head`.
        unsafe { self.tail.as_ref() }
    }

    /// Bytes written by the kernel and not consumed yet.
    pub(crate) fn pending_bytes(&self) -> u64 {
        self.head()
            .load(Ordering::Acquire)
            .wrapping_sub(self.tail().load(Ordering::Relaxed))
    }

    /// Hands records to `f` until the ring is empty, `max` samples were handed out, or `f` asks to
    /// stop. Returns `(samples, stopped)`. State lives in locals during the loop (the callback
    /// is opaque to the optimiser).
    ///
    /// Two paths, as in the ring buffer reader: the fast path takes a run of raw samples whose
    /// header and raw size equal the previous record's (two compares per record), bounded up
    /// front by the bytes written, the next publish point and the end of the ring (a record that
    /// wraps goes to the slow path, which copies it); the slow path takes any one record and
    /// learns the size of the next run.
    #[inline]
    pub(crate) fn consume_with<F>(&mut self, max: usize, mut f: F) -> Result<(usize, bool)>
    where
        F: FnMut(PerfRecord<'_>) -> bool,
    {
        // SAFETY: valid for the reader's lifetime (contract of `new`); not borrowed from `self`.
        let (head_ref, tail_ref) = unsafe { (self.head.as_ref(), self.tail.as_ref()) };
        let data = self.data.as_ptr();
        let size = self.size;
        let mask = size - 1;
        let every = PUBLISH_EVERY.min(size / 4) as u64;
        let scratch = &mut self.scratch;
        let mut tail = tail_ref.load(Ordering::Relaxed);
        let mut published = tail;
        let mut samples = 0usize;
        let mut stopped = false;
        let mut result = Ok(());
        // The previous record, when it was a raw sample: its header (as one u64, never 0: the
        // type is not), its raw size and its size in the ring. Samples of one program are mostly
        // of one size.
        let (mut run_hdr, mut run_raw, mut run_size) = (0u64, 0u32, 0usize);
        'outer: while samples < max {
            // Pairs with the kernel's release of data_head after writing the records.
            let head = head_ref.load(Ordering::Acquire);
            if head == tail {
                break;
            }
            // The kernel never gets more than the ring ahead of data_tail; a tail written by
            // another process may be ahead of head, or lag it by more than that.
            if head.wrapping_sub(tail) > size as u64 {
                result = Err(Error::malformed(format!(
                    "perf buffer data_tail {tail} is not within the {size} bytes before data_head {head}"
                )));
                break;
            }
            while tail != head {
                if run_hdr != 0 {
                    let off = (tail as usize) & mask;
                    let mut left = (head.wrapping_sub(tail))
                        .min(every.saturating_sub(tail.wrapping_sub(published)))
                        .min((size - off) as u64) as usize;
                    let mut budget = max - samples;
                    let hint =
                        LINE_HINTS.contains(&run_size) && far_behind(head.wrapping_sub(tail));
                    while left >= run_size && budget != 0 {
                        let off = (tail as usize) & mask;
                        // SAFETY: the record's first 12 bytes are in bounds (`run_size >= 12`
                        // bytes lie before the ring's end and before head, `left`), 8-aligned,
                        // and between tail and head, which the kernel does not write.
                        let (hdr, raw) = unsafe {
                            (
                                data.add(off).cast::<u64>().read(),
                                data.add(off + 8).cast::<u32>().read(),
                            )
                        };
                        if hdr != run_hdr || raw != run_raw {
                            break;
                        }
                        if hint {
                            let mut line = 64;
                            while line < run_size {
                                prefetch(data.wrapping_add(off + line));
                                line += 64;
                            }
                        }
                        // SAFETY: `12 + raw <= run_size` (checked when the run started) bytes
                        // from `off`, all in bounds and published; not rewritten until data_tail
                        // moves past them, after `f` returns; the slice cannot escape `f`.
                        let sample =
                            unsafe { std::slice::from_raw_parts(data.add(off + 12), raw as usize) };
                        budget -= 1;
                        // Hidden from the optimiser, which could otherwise step by the loaded
                        // size and chain every header load to the previous one.
                        tail = tail.wrapping_add(opaque(run_size) as u64);
                        left -= run_size;
                        if f(PerfRecord::Sample(sample)) {
                            samples = max - budget;
                            stopped = true;
                            break 'outer;
                        }
                    }
                    samples = max - budget;
                    if tail.wrapping_sub(published) >= every {
                        tail_ref.store(tail, Ordering::Release);
                        published = tail;
                    }
                    if samples >= max {
                        break 'outer;
                    }
                    if tail == head {
                        break;
                    }
                }
                // Slow path: one record of any kind.
                let off = (tail as usize) & mask;
                // SAFETY: records are 8-byte aligned, so the 8-byte header at `off < size` is in
                // bounds; it lies between tail and head, which the kernel does not write.
                let hdr = unsafe { std::slice::from_raw_parts(data.add(off), 8) };
                let rec_size = usize::from(u16::from_ne_bytes([hdr[6], hdr[7]]));
                // The kernel writes records of a multiple of 8 bytes; anything else would
                // misalign every later header. Nothing may be longer than what is pending, which
                // is at most the ring (checked when head was loaded).
                if rec_size < 8 || rec_size % 8 != 0 || (rec_size as u64) > head.wrapping_sub(tail)
                {
                    result = Err(Error::malformed(format!(
                        "perf record of {rec_size} bytes at position {tail} ({} bytes pending)",
                        head.wrapping_sub(tail)
                    )));
                    break 'outer;
                }
                let wraps = off + rec_size > size;
                let rec: &[u8] = if !wraps {
                    // SAFETY: the record is in bounds and between tail and head (published by
                    // the kernel, not rewritten until we move data_tail past it, which happens
                    // after `f` returns; the slice cannot escape `f`).
                    unsafe { std::slice::from_raw_parts(data.add(off), rec_size) }
                } else {
                    let first = size - off;
                    scratch.clear();
                    // SAFETY: both parts are in bounds ([off, size) and [0, rec_size - first))
                    // and between tail and head, as above.
                    unsafe {
                        scratch.extend_from_slice(std::slice::from_raw_parts(data.add(off), first));
                        scratch
                            .extend_from_slice(std::slice::from_raw_parts(data, rec_size - first));
                    }
                    scratch
                };
                // A raw sample, the record nearly every read is, starts a run.
                let raw = if hdr[..4] == PERF_RECORD_SAMPLE.to_ne_bytes() && rec.len() >= 12 {
                    let n = read_u32(rec, 8);
                    rec[12..].get(..n as usize).map(|s| (n, s))
                } else {
                    None
                };
                run_hdr = 0;
                let stop = if let Some((n, s)) = raw {
                    if !wraps {
                        run_hdr = u64::from_ne_bytes(hdr.try_into().expect("8 bytes"));
                        (run_raw, run_size) = (n, rec_size);
                    }
                    samples += 1;
                    f(PerfRecord::Sample(s))
                } else {
                    match parse_record(rec) {
                        Ok(r) => {
                            if matches!(r, PerfRecord::Sample(_)) {
                                samples += 1;
                            }
                            f(r)
                        }
                        Err(e) => {
                            result = Err(e);
                            break 'outer;
                        }
                    }
                };
                tail = tail.wrapping_add(rec_size as u64);
                if tail.wrapping_sub(published) >= every {
                    tail_ref.store(tail, Ordering::Release);
                    published = tail;
                }
                if stop {
                    stopped = true;
                    break 'outer;
                }
                if samples >= max {
                    break 'outer;
                }
            }
        }
        if tail != published {
            // Pairs with the kernel's read of data_tail: we are done with the bytes before it.
            tail_ref.store(tail, Ordering::Release);
        }
        result.map(|()| (samples, stopped))
    }
}

type LostCb<'cb> = Box<dyn FnMut(i32, u64) + 'cb>;

/// Reads one CPU's ring into the sample callback: `(reader, cpu, max samples, lost callback)` to
/// `(samples, stopped)`. Built by [`PerfBufferBuilder::sample_cb`] around the user's closure, so
/// the per-record loop is compiled for that closure (inlined, no indirect call per sample); the
/// one indirect call is per ring and batch.
type RingConsumer<'cb> = Box<
    dyn FnMut(&mut PerfReader, i32, usize, &mut Option<LostCb<'cb>>) -> Result<(usize, bool)> + 'cb,
>;

/// One CPU's ring.
#[derive(Debug)]
struct CpuRing {
    // Field order: the reader goes before the mapping it points into.
    reader: PerfReader,
    _mmap: Mmap,
    event: OwnedFd,
    cpu: i32,
    key: u32,
}

/// How the kernel decides to wake the poller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wakeup {
    Events(u32),
    Watermark(u32),
}

/// Builds a [`PerfBuffer`] (libbpf's `perf_buffer__new` with its options, plus the wakeup knob).
pub struct PerfBufferBuilder<'cb> {
    map: Result<OwnedFd>,
    pages: usize,
    wakeup: Wakeup,
    cpus: Option<Vec<i32>>,
    consumer: Option<RingConsumer<'cb>>,
    lost_cb: Option<LostCb<'cb>>,
}

impl std::fmt::Debug for PerfBufferBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfBufferBuilder")
            .field("pages", &self.pages)
            .field("wakeup", &self.wakeup)
            .field("cpus", &self.cpus)
            .finish()
    }
}

impl<'cb> PerfBufferBuilder<'cb> {
    /// A builder for the perf event array `map` (its fd is duplicated). Defaults: 64 pages per
    /// CPU, a wakeup per sample, every online CPU.
    pub fn new(map: impl AsFd) -> Self {
        PerfBufferBuilder {
            map: map
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| Error::io("dup perf event array fd", e)),
            pages: 64,
            wakeup: Wakeup::Events(1),
            cpus: None,
            consumer: None,
            lost_cb: None,
        }
    }

    /// Data pages per CPU ring (a power of two).
    pub fn pages(mut self, pages: usize) -> Self {
        self.pages = pages;
        self
    }

    /// Wake the poller every `n` samples instead of every sample (perf's `wakeup_events`, what
    /// libbpf calls `sample_period` in `perf_buffer_opts`). Samples below the threshold wait for
    /// the next wakeup or a [`PerfBuffer::consume`]. 0 is taken as 1.
    pub fn wakeup_events(mut self, n: u32) -> Self {
        self.wakeup = Wakeup::Events(n.max(1));
        self
    }

    /// Wake the poller when at least `bytes` are pending instead (perf's `wakeup_watermark`).
    pub fn wakeup_watermark(mut self, bytes: u32) -> Self {
        self.wakeup = Wakeup::Watermark(bytes.max(1));
        self
    }

    /// Only these CPUs (map key = CPU number), instead of every online CPU.
    pub fn cpus(mut self, cpus: &[i32]) -> Self {
        self.cpus = Some(cpus.to_vec());
        self
    }

    /// Called with `(cpu, sample)` for each sample; may return [`ControlFlow::Break`](std::ops::ControlFlow::Break) to stop the
    /// current `poll`/`consume`.
    pub fn sample_cb<F, R>(mut self, mut cb: F) -> Self
    where
        F: FnMut(i32, &[u8]) -> R + 'cb,
        R: CallbackResult,
    {
        self.consumer = Some(Box::new(move |reader, cpu, max, lost| {
            consume_ring_with(reader, cpu, max, &mut cb, lost)
        }));
        self
    }

    /// Called with `(cpu, count)` when the kernel reports `count` samples lost on `cpu`.
    pub fn lost_cb<F>(mut self, cb: F) -> Self
    where
        F: FnMut(i32, u64) + 'cb,
    {
        self.lost_cb = Some(Box::new(cb));
        self
    }

    /// Opens, maps and enables one perf event per CPU and stores each in the map.
    pub fn build(self) -> Result<PerfBuffer<'cb>> {
        let map = self.map?;
        if self.pages == 0 || !self.pages.is_power_of_two() {
            return Err(Error::invalid(format!(
                "perf buffer page count should be a power of two, but is {}",
                self.pages
            )));
        }
        let info = stream_map_info(map.as_fd()).context("perf buffer")?;
        if info.map_type != MAP_TYPE_PERF_EVENT_ARRAY {
            return Err(Error::invalid(format!(
                "map '{}' should be BPF_MAP_TYPE_PERF_EVENT_ARRAY (type {})",
                info.name, info.map_type
            )));
        }
        let cpus = match self.cpus {
            Some(c) => c,
            None => online_cpus()?
                .into_iter()
                .filter(|&c| info.max_entries == 0 || (c as u32) < info.max_entries)
                .collect(),
        };
        let page = page_size();
        let data_len = page
            .checked_mul(self.pages)
            .ok_or_else(|| Error::invalid("perf buffer too big"))?;
        let mut attr = perf::PerfEventAttr {
            type_: perf::PERF_TYPE_SOFTWARE,
            config: perf::PERF_COUNT_SW_BPF_OUTPUT,
            sample_type: perf::PERF_SAMPLE_RAW,
            ..Default::default()
        };
        match self.wakeup {
            Wakeup::Events(n) => attr.wakeup = n,
            Wakeup::Watermark(b) => {
                attr.wakeup = b;
                attr.flags |= perf::FLAG_WATERMARK;
            }
        }
        let mut pb = PerfBuffer {
            rings: Vec::with_capacity(cpus.len()),
            consumer: self.consumer.unwrap_or_else(|| {
                Box::new(|reader, cpu, max, lost| {
                    consume_ring_with(reader, cpu, max, &mut |_, _: &[u8]| {}, lost)
                })
            }),
            lost_cb: self.lost_cb,
            epoll: Epoll::new()?,
            map,
        };
        for cpu in cpus {
            let ring = open_cpu_ring(&attr, cpu, page, data_len)
                .with_context(|| format!("perf buffer on cpu #{cpu}"))?;
            let key = ring.key;
            let fd = std::os::fd::AsRawFd::as_raw_fd(&ring.event) as u32;
            pb.epoll.add(
                ring.event.as_fd(),
                pb.rings.len() as u64,
                Interest::Readable,
            )?;
            pb.rings.push(ring);
            // SAFETY: a perf event array has 4-byte keys and 4-byte (fd) values.
            unsafe {
                crate::sys::bpf::map_update_elem(
                    pb.map.as_fd(),
                    &key.to_ne_bytes(),
                    &fd.to_ne_bytes(),
                    0,
                )
            }
            .with_context(|| {
                format!(
                    "map '{}': set cpu #{cpu} key {key} to its perf fd",
                    info.name
                )
            })?;
        }
        Ok(pb)
    }
}

fn open_cpu_ring(
    attr: &perf::PerfEventAttr,
    cpu: i32,
    page: usize,
    data_len: usize,
) -> Result<CpuRing> {
    let key = u32::try_from(cpu).map_err(|_| Error::invalid(format!("cpu {cpu}")))?;
    let event = perf::perf_event_open(attr, -1, cpu, None)?;
    let mmap = Mmap::map(event.as_fd(), page + data_len, 0, true)?;
    let meta = NonNull::new(mmap.as_ptr()).ok_or_else(|| Error::invalid("null mapping"))?;
    // Kernels since 4.1 say where the data area is; older ones put it right after the page.
    // SAFETY: `data_offset`/`data_size` are u64 fields of the mapped metadata page, written once
    // by the kernel before mmap returns.
    let (off, size) = unsafe {
        (
            std::ptr::read_volatile(meta.as_ptr().add(DATA_OFFSET).cast::<u64>()) as usize,
            std::ptr::read_volatile(meta.as_ptr().add(DATA_SIZE).cast::<u64>()) as usize,
        )
    };
    let (off, size) = if off == 0 || size == 0 {
        (page, data_len)
    } else {
        (off, size)
    };
    if off + size > mmap.len() || !size.is_power_of_two() {
        return Err(Error::malformed(format!(
            "perf ring data at {off}+{size} outside the {}-byte mapping",
            mmap.len()
        )));
    }
    let data = NonNull::new(mmap.as_ptr().wrapping_add(off))
        .ok_or_else(|| Error::invalid("null mapping"))?;
    // SAFETY: `meta` is the metadata page and `data` the `size`-byte data area of the same
    // mapping, owned by the `CpuRing` built below and dropped after its reader.
    let reader = unsafe { PerfReader::new(meta, data, size) };
    perf::enable(event.as_fd())?;
    Ok(CpuRing {
        reader,
        _mmap: mmap,
        event,
        cpu,
        key,
    })
}

/// The CPUs listed in `/sys/devices/system/cpu/online`.
pub(crate) fn online_cpus() -> Result<Vec<i32>> {
    let path = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("read {path}"), e))?;
    parse_cpu_ranges(&text).ok_or_else(|| Error::malformed(format!("{path}: '{}'", text.trim())))
}

/// Parses a kernel cpu list (`"0-3,8,10-11"`) into CPU numbers.
pub(crate) fn parse_cpu_ranges(text: &str) -> Option<Vec<i32>> {
    let mut out = vec![];
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b): (i32, i32) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let n = part.trim().parse().ok()?;
                (n, n)
            }
        };
        if a > b {
            return None;
        }
        out.extend(a..=b);
    }
    Some(out)
}

/// Per-CPU perf rings of one `BPF_MAP_TYPE_PERF_EVENT_ARRAY`, behind one epoll.
pub struct PerfBuffer<'cb> {
    rings: Vec<CpuRing>,
    consumer: RingConsumer<'cb>,
    lost_cb: Option<LostCb<'cb>>,
    epoll: Epoll,
    map: OwnedFd,
}

impl std::fmt::Debug for PerfBuffer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfBuffer")
            .field(
                "cpus",
                &self.rings.iter().map(|r| r.cpu).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<'cb> PerfBuffer<'cb> {
    /// Shorthand for [`PerfBufferBuilder::new`].
    pub fn builder(map: impl AsFd) -> PerfBufferBuilder<'cb> {
        PerfBufferBuilder::new(map)
    }

    /// Waits up to `timeout` (`Duration::MAX`: forever) for a wakeup, then consumes the rings
    /// that signalled. Returns the number of samples handed to the sample callback.
    pub fn poll(&mut self, timeout: Duration) -> Result<usize> {
        let timeout = (timeout != Duration::MAX).then_some(timeout);
        let mut total = 0usize;
        let mut stopped = false;
        let rings = &mut self.rings;
        let consumer = &mut self.consumer;
        let lost_cb = &mut self.lost_cb;
        self.epoll.wait(timeout, |token| {
            if stopped {
                return Ok(());
            }
            if let Some(ring) = rings.get_mut(token as usize) {
                let (n, stop) = consumer(&mut ring.reader, ring.cpu, usize::MAX, lost_cb)?;
                total = total.saturating_add(n);
                stopped = stop;
            }
            Ok(())
        })?;
        Ok(total)
    }

    /// Consumes every CPU's ring without waiting. Returns the number of samples.
    pub fn consume(&mut self) -> Result<usize> {
        let mut total = 0usize;
        for ring in &mut self.rings {
            let (n, stop) =
                (self.consumer)(&mut ring.reader, ring.cpu, usize::MAX, &mut self.lost_cb)?;
            total = total.saturating_add(n);
            if stop {
                break;
            }
        }
        Ok(total)
    }

    /// Consumes the ring at `index` (see [`PerfBuffer::buffer_cpu`]) without waiting.
    pub fn consume_buffer(&mut self, index: usize) -> Result<usize> {
        let ring = self
            .rings
            .get_mut(index)
            .ok_or_else(|| Error::invalid(format!("no perf buffer #{index}")))?;
        Ok((self.consumer)(&mut ring.reader, ring.cpu, usize::MAX, &mut self.lost_cb)?.0)
    }

    /// Hands every record of every ring (up to `max` samples per ring) to `f` as `(cpu, record)`,
    /// bypassing the callbacks. Returns the number of samples.
    #[cfg(feature = "tokio")]
    pub(crate) fn consume_records(
        &mut self,
        max: usize,
        mut f: impl FnMut(i32, PerfRecord<'_>),
    ) -> Result<usize> {
        let mut total = 0usize;
        for ring in &mut self.rings {
            let cpu = ring.cpu;
            let (n, _) = ring.reader.consume_with(max, |rec| {
                f(cpu, rec);
                false
            })?;
            total = total.saturating_add(n);
        }
        Ok(total)
    }

    /// The number of per-CPU rings.
    pub fn buffer_count(&self) -> usize {
        self.rings.len()
    }

    /// The CPU of the ring at `index`.
    pub fn buffer_cpu(&self, index: usize) -> Option<i32> {
        self.rings.get(index).map(|r| r.cpu)
    }

    /// The perf event fd of the ring at `index` (pollable on its own).
    pub fn buffer_fd(&self, index: usize) -> Option<BorrowedFd<'_>> {
        self.rings.get(index).map(|r| r.event.as_fd())
    }

    /// Bytes pending in the ring at `index`.
    pub fn pending_bytes(&self, index: usize) -> Option<u64> {
        self.rings.get(index).map(|r| r.reader.pending_bytes())
    }

    /// The epoll fd: readable when a ring signalled. For outside event loops.
    pub fn epoll_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

/// One ring's records to `sample_cb` and `lost_cb`; returns `(samples, stopped)`.
#[inline(always)]
fn consume_ring_with<F, R>(
    reader: &mut PerfReader,
    cpu: i32,
    max: usize,
    sample_cb: &mut F,
    lost_cb: &mut Option<LostCb<'_>>,
) -> Result<(usize, bool)>
where
    F: FnMut(i32, &[u8]) -> R,
    R: CallbackResult,
{
    reader.consume_with(max, |rec| match rec {
        PerfRecord::Sample(s) => sample_cb(cpu, s).should_stop(),
        PerfRecord::Lost(n) => {
            if let Some(cb) = lost_cb {
                cb(cpu, n);
            }
            false
        }
        PerfRecord::Other(ty) => {
            log::debug!("perf buffer: cpu #{cpu}: skipping record of type {ty}");
            false
        }
    })
}

impl AsFd for PerfBuffer<'_> {
    /// The epoll fd (see [`PerfBuffer::epoll_fd`]).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}

#[cfg(feature = "tokio")]
mod asynchronous;
#[cfg(feature = "tokio")]
pub use asynchronous::{AsyncPerfBuffer, PerfEvent, PerfEventStream};

impl Drop for PerfBuffer<'_> {
    fn drop(&mut self) {
        for ring in &self.rings {
            // SAFETY: 4-byte key of a perf event array.
            let _ = unsafe {
                crate::sys::bpf::map_delete_elem(self.map.as_fd(), &ring.key.to_ne_bytes(), 0)
            };
            let _ = perf::disable(ring.event.as_fd());
        }
    }
}

#[cfg(test)]
mod tests;
