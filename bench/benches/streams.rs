//! Ring buffer and perf buffer consumers, oxbpf vs libbpf (libbpf-rs 0.27 over libbpf 1.7) vs aya
//! (0.14), in one run on the same maps filled by the same BPF producer (`stream_producer.bpf.c`,
//! loaded by libbpf; oxbpf and aya open its maps from duplicated fds; aya's ring buffer gets a
//! second instance of the object, see `ringbuf`).
//!
//! Scenario "drain": the producer (a raw_tp program run by `BPF_PROG_TEST_RUN` on CPU 0) fills a
//! 16 MiB ring buffer, or CPU 0's 16 MiB perf ring, to ~95%; then the consumer, pinned to CPU 1,
//! drains it with its library's `consume()` and a callback that checks every sequence number. Only
//! the drain is timed (wall clock and the consumer thread's CPU time). Every callback does the same
//! work (read the sequence number, compare, count). Ring buffer consumers stay mapped for the whole
//! run; perf buffer consumers get fresh rings every round (each maps a ring of its own, and where
//! its pages land moves its drain time by up to 2x). Page faults happen in untimed warm-up drains.
//! Each round runs the three libraries in one of the six orders, so background load hits them
//! alike. Reported: medians over the rounds.
//!
//! Scenario "stream": a producer thread on CPU 0 keeps firing the program (bursts of 1024 records)
//! while the consumer polls (epoll, 10 ms timeout); events/s, consumer CPU per event and records
//! the producer could not place (ring full) per library.
//!
//! Run with `cargo bench -p oxbpf-bench` (root). `OXBPF_BENCH_ROUNDS` sets the rounds (default 12:
//! each of the six run orders twice), `OXBPF_BENCH_ONLY` the scenarios (`ring`, `perf`, `stream`),
//! `OXBPF_BENCH_SIZES` the record sizes, `OXBPF_BENCH_CONSUMER_CPU` the consumer's CPU (default 1),
//! `OXBPF_BENCH_RING_MIB` the ring buffer's size and `OXBPF_BENCH_BARE=1` adds a bare reader to
//! each drain as a yardstick (see `bare.rs`).

use std::cell::Cell;
use std::hint::black_box;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Instant;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libbpf_rs::{MapCore, ObjectBuilder};
use oxbpf_bench::{median, pin_to_cpu, thread_cpu_time};

#[path = "streams/bare.rs"]
mod bare;
use bare::{RawPerf, RawRing};

const RING_BYTES: u32 = 16 << 20;
const PERF_PAGES: usize = 4096;
const SIZES: [u64; 3] = [16, 128, 1024];
const BATCH: u64 = 1024;
/// The consumers, by slot: the three libraries and the bare reader ([`RawRing`], [`RawPerf`]).
const LIBS: [&str; 4] = ["oxbpf", "libbpf", "aya", "bare"];

struct Producer {
    obj: libbpf_rs::Object,
}

impl Producer {
    fn load() -> Producer {
        let mut open = ObjectBuilder::default()
            .open_file(oxbpf_tests::fixture("stream_producer"))
            .expect("open producer");
        for mut m in open.maps_mut() {
            if m.name() == "ring_a" {
                m.set_max_entries(ring_bytes()).unwrap();
            }
        }
        Producer {
            obj: open.load().expect("load producer"),
        }
    }

    fn map(&self, name: &str) -> libbpf_rs::Map<'_> {
        self.obj.maps().find(|m| m.name() == name).unwrap()
    }

    /// The same map, opened by aya from a duplicate of libbpf's fd.
    fn aya_map(&self, name: &str) -> aya::maps::Map {
        let fd = self.map(name).as_fd().try_clone_to_owned().unwrap();
        aya::maps::Map::from_map_data(aya::maps::MapData::from_fd(fd).unwrap()).unwrap()
    }

    /// Emits `count` records of `size` bytes from CPU 0, starting at `seq`; returns refusals.
    fn produce(&self, prog: &str, count: u64, size: u64, seq: u64) -> u64 {
        let p = self.obj.progs().find(|p| p.name() == prog).unwrap();
        // Driven through oxbpf's BPF_PROG_TEST_RUN on a duplicate of libbpf's program fd.
        let h = oxbpf::program::ProgramHandle::from_fd(p.as_fd().try_clone_to_owned().unwrap())
            .unwrap();
        let mut refused = 0;
        let mut done = 0;
        while done < count {
            let n = BATCH.min(count - done);
            let mut ctx = Vec::new();
            for a in [n, size, seq + done] {
                ctx.extend_from_slice(&a.to_ne_bytes());
            }
            let mut o = oxbpf::sys::bpf::TestRunOpts {
                ctx_in: &ctx,
                cpu: 0,
                flags: 1, // BPF_F_TEST_RUN_ON_CPU
                ..Default::default()
            };
            h.test_run_opts(&mut o).unwrap();
            refused += u64::from(o.retval);
            done += n;
        }
        refused
    }
}

/// What a consumer callback does with each sample, the same for both libraries.
struct Check {
    next: Cell<u64>,
    bad: Cell<u64>,
    count: Cell<u64>,
}

impl Check {
    fn new() -> Check {
        Check {
            next: Cell::new(0),
            bad: Cell::new(0),
            count: Cell::new(0),
        }
    }

    /// How many records it has seen since sequence number `seq` (for readers that do not count).
    fn seen_since(&self, seq: u64) -> u64 {
        self.next.get() - seq
    }

    #[inline(always)]
    fn see(&self, s: &[u8]) {
        let seq = u64::from_ne_bytes(s[..8].try_into().unwrap());
        if seq != self.next.get() {
            self.bad.set(self.bad.get() + 1);
        }
        self.next.set(seq + 1);
        self.count.set(self.count.get() + 1);
        black_box(s);
    }
}

/// An aya perf sample comes as up to two slices (it may wrap around the ring).
fn aya_perf_sample(check: &Check, head: &[u8], tail: &[u8]) {
    if head.len() >= 8 {
        check.see(head)
    } else {
        let mut s = head.to_vec();
        s.extend_from_slice(tail);
        check.see(&s)
    }
}

#[derive(Default)]
struct Samples {
    rate: Vec<f64>,
    cpu_ns: Vec<f64>,
}

impl Samples {
    fn add(&mut self, records: u64, wall: std::time::Duration, cpu: std::time::Duration) {
        self.rate.push(records as f64 / wall.as_secs_f64() / 1e6);
        self.cpu_ns.push(cpu.as_nanos() as f64 / records as f64);
    }
}

/// One drain of the `n` records numbered from `seq` by library `which`, timed into `s[which]`,
/// or into nothing when `keep` is false (a warm-up). `drain` gets that library's check and
/// returns how many records it handed out.
fn drain_once(
    n: u64,
    seq: u64,
    which: usize,
    keep: bool,
    checks: &[Check],
    s: &mut [Samples],
    drain: impl FnOnce(&Check) -> u64,
) {
    let check = &checks[which];
    check.next.set(seq);
    let mut scratch = Samples::default();
    let samples = if keep { &mut s[which] } else { &mut scratch };
    timed(n, samples, || drain(check));
}

fn timed(records: u64, s: &mut Samples, drain: impl FnOnce() -> u64) {
    let (c0, t0) = (thread_cpu_time(), Instant::now());
    let got = drain();
    let (wall, cpu) = (t0.elapsed(), thread_cpu_time() - c0);
    assert_eq!(got, records, "drained {got} of {records}");
    s.add(records, wall, cpu);
}

/// Prints one line per size; returns (oxbpf/libbpf throughput, oxbpf/libbpf CPU per record).
fn report(kind: &str, size: u64, s: &mut [Samples]) -> (f64, f64) {
    let mut rate = [0.0; 4];
    let mut cpu = [0.0; 4];
    let mut line = format!("{kind:<5} {size:>5} B |");
    for (i, lib) in LIBS.iter().enumerate().take(s.len()) {
        rate[i] = median(&mut s[i].rate);
        cpu[i] = median(&mut s[i].cpu_ns);
        line += &format!(" {lib} {:>6.1} M/s {:>6.2} ns/rec |", rate[i], cpu[i]);
    }
    line += &format!(
        " oxbpf/libbpf: throughput x{:.2}, CPU/rec x{:.2}; oxbpf/aya CPU/rec x{:.2}",
        rate[0] / rate[1],
        cpu[0] / cpu[1],
        cpu[0] / cpu[2]
    );
    if s.len() > 3 {
        line += &format!("; bare/oxbpf throughput x{:.2}", rate[3] / rate[0]);
    }
    println!("{line}");
    (rate[0] / rate[1], cpu[0] / cpu[1])
}

/// The order the `n` (3 or 4) consumers run in round `round`, so that each runs first, second,
/// ... equally often and right after each of the others equally often (with a plain rotation each
/// would always follow the same one, and what one consumer leaves behind in the caches measurably
/// biased the next): all six orders of three in turn, or the four rows of a Williams square.
fn order(round: usize, n: usize) -> &'static [usize] {
    const THREE: [[usize; 3]; 6] = [
        [0, 1, 2],
        [1, 2, 0],
        [2, 0, 1],
        [0, 2, 1],
        [2, 1, 0],
        [1, 0, 2],
    ];
    const FOUR: [[usize; 4]; 4] = [[0, 1, 3, 2], [1, 2, 0, 3], [2, 3, 1, 0], [3, 0, 2, 1]];
    match n {
        3 => &THREE[round % 6],
        _ => &FOUR[round % 4],
    }
}

/// The sample sizes to run: `OXBPF_BENCH_SIZES` (comma-separated) or all of [`SIZES`].
fn sizes() -> Vec<u64> {
    std::env::var("OXBPF_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec())
}

/// Whether the drains also time a bare reader ([`RawRing`], [`RawPerf`]): `OXBPF_BENCH_BARE=1`.
fn bare() -> bool {
    std::env::var("OXBPF_BENCH_BARE").is_ok_and(|v| v == "1")
}

/// Whether scenario `name` runs: `OXBPF_BENCH_ONLY` (comma-separated) or all.
fn wanted(name: &str) -> bool {
    std::env::var("OXBPF_BENCH_ONLY").map_or(true, |v| v.split(',').any(|x| x.trim() == name))
}

/// The ring buffer's size: `OXBPF_BENCH_RING_MIB` MiB (a power of two) or [`RING_BYTES`].
fn ring_bytes() -> u32 {
    std::env::var("OXBPF_BENCH_RING_MIB")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(RING_BYTES, |m| m << 20)
}

fn records_for(record_bytes: u64, capacity: u64) -> u64 {
    (capacity * 95 / 100 / record_bytes) / BATCH * BATCH
}

/// `pa` is a second instance of the producer object: aya's ring buffer reader keeps its position
/// to itself instead of re-reading `consumer_pos`, so it cannot share a ring with the others.
fn ringbuf(p: &Producer, pa: &Producer, rounds: usize) -> Vec<(u64, f64, f64)> {
    let map = p.map("ring_a");
    let mut aya_ring = aya::maps::RingBuf::try_from(pa.aya_map("ring_a")).unwrap();
    let mut out = vec![];
    for size in sizes() {
        let n = records_for((size + 8).div_ceil(8) * 8, u64::from(ring_bytes()));
        let checks = [Check::new(), Check::new(), Check::new(), Check::new()];
        let raw = bare().then(|| RawRing::new(map.as_fd(), ring_bytes() as usize));
        let mut b = oxbpf::ringbuf::RingBuffer::builder();
        b.add(map.as_fd(), |s: &[u8]| checks[0].see(s)).unwrap();
        let mut ox = b.build().unwrap();
        let mut lb_b = libbpf_rs::RingBufferBuilder::new();
        lb_b.add(&map, |s: &[u8]| {
            checks[1].see(s);
            0
        })
        .unwrap();
        let lb = lb_b.build().unwrap();
        let consumers = if bare() { 4 } else { 3 };
        let mut s: Vec<Samples> = (0..consumers).map(|_| Samples::default()).collect();
        let mut seq = 0u64;
        for round in 0..rounds + 2 {
            for &which in order(round, consumers) {
                let prod = if which == 2 { pa } else { p };
                assert_eq!(prod.produce("produce_ring_a", n, size, seq), 0, "ring full");
                // Two warm-up rounds map the pages in.
                drain_once(
                    n,
                    seq,
                    which,
                    round >= 2,
                    &checks,
                    &mut s,
                    |check| match which {
                        0 => ox.consume().unwrap() as u64,
                        1 => {
                            lb.consume().unwrap();
                            check.seen_since(seq)
                        }
                        3 => raw.as_ref().unwrap().drain(check),
                        _ => {
                            while let Some(item) = aya_ring.next() {
                                check.see(&item);
                            }
                            check.seen_since(seq)
                        }
                    },
                );
                seq += n;
            }
        }
        let bad: u64 = checks.iter().map(|c| c.bad.get()).sum();
        assert_eq!(bad, 0, "sequence gaps");
        let (r, c) = report("ring", size, &mut s);
        out.push((size, r, c));
    }
    out
}

fn perfbuf(p: &Producer, rounds: usize) -> Vec<(u64, f64, f64)> {
    let map = p.map("events");
    let mut aya_arr = aya::maps::PerfEventArray::try_from(p.aya_map("events")).unwrap();
    let mut out = vec![];
    for size in sizes() {
        // PERF_RECORD_SAMPLE: 8-byte header, u32 size, data padded so the record is 8-aligned.
        let rec = 8 + (size + 4).div_ceil(8) * 8;
        let n = records_for(rec, (PERF_PAGES * 4096) as u64);
        let checks = [Check::new(), Check::new(), Check::new(), Check::new()];
        let consumers = if bare() { 4 } else { 3 };
        let mut s: Vec<Samples> = (0..consumers).map(|_| Samples::default()).collect();
        let mut seq = 0u64;
        for round in 0..rounds {
            // Each perf consumer maps a ring of its own, and where its pages land moves its
            // drain time by up to 2x: fresh rings every round, so that no library keeps a lucky
            // or an unlucky placement for the whole run. One untimed fill and drain each first
            // maps the pages in.
            let mut ox = oxbpf::perf_buffer::PerfBuffer::builder(map.as_fd())
                .pages(PERF_PAGES)
                .cpus(&[0])
                .sample_cb(|_, s: &[u8]| checks[0].see(s))
                .lost_cb(|_, n| panic!("oxbpf lost {n}"))
                .build()
                .unwrap();
            let ox_fd = ox.buffer_fd(0).unwrap().as_raw_fd();
            let lb = libbpf_rs::PerfBufferBuilder::new(&map)
                .pages(PERF_PAGES)
                .sample_cb(|_, s: &[u8]| checks[1].see(s))
                .lost_cb(|_, n| panic!("libbpf lost {n}"))
                .build()
                .unwrap();
            let lb_fd = lb.buffer_fd(0).unwrap();
            let mut aya_buf = aya_arr.open(0, Some(PERF_PAGES)).unwrap();
            let aya_fd = aya_buf.as_raw_fd();
            let raw = bare().then(|| RawPerf::new(PERF_PAGES));
            let raw_fd = raw.as_ref().map_or(-1, |r| r.fd.as_raw_fd());
            for timed_pass in [false, true] {
                for &which in order(round, consumers) {
                    // Point CPU 0's slot at the consumer under test.
                    let fd = [ox_fd, lb_fd, aya_fd, raw_fd][which];
                    map.update(
                        &0u32.to_ne_bytes(),
                        &(fd as u32).to_ne_bytes(),
                        libbpf_rs::MapFlags::ANY,
                    )
                    .unwrap();
                    assert_eq!(p.produce("produce_perf", n, size, seq), 0, "perf ring full");
                    drain_once(
                        n,
                        seq,
                        which,
                        timed_pass,
                        &checks,
                        &mut s,
                        |check| match which {
                            0 => ox.consume().unwrap() as u64,
                            1 => {
                                lb.consume().unwrap();
                                check.seen_since(seq)
                            }
                            3 => raw.as_ref().unwrap().drain(check),
                            _ => {
                                aya_buf.for_each(|ev| match ev {
                                    aya::maps::perf::PerfEvent::Sample { head, tail } => {
                                        aya_perf_sample(check, head, tail)
                                    }
                                    aya::maps::perf::PerfEvent::Lost { count } => {
                                        panic!("aya lost {count}")
                                    }
                                });
                                check.seen_since(seq)
                            }
                        },
                    );
                    seq += n;
                }
            }
        }
        let bad: u64 = checks.iter().map(|c| c.bad.get()).sum();
        assert_eq!(bad, 0, "sequence gaps");
        let (r, c) = report("perf", size, &mut s);
        out.push((size, r, c));
    }
    out
}

/// Scenario "stream" on the ring buffer: a producer thread pinned to CPU 0 fires `total` records
/// of `size` bytes in bursts of 1024 while the consumer (this thread, CPU 1) waits in its
/// library's poll and consumes. Returns (records/s, consumer CPU ns per record, records refused,
/// polls per 1000 records).
fn ring_stream_once(
    p: &Producer,
    size: u64,
    total: u64,
    seq: u64,
    poll_once: &mut dyn FnMut() -> u64,
) -> (f64, f64, u64, f64) {
    let refused = AtomicU64::new(0);
    let mut polls = 0u64;
    let done = AtomicBool::new(false);
    let mut got = 0u64;
    let (c0, t0) = (thread_cpu_time(), Instant::now());
    std::thread::scope(|sc| {
        sc.spawn(|| {
            pin_to_cpu(0);
            let mut r = 0;
            for b in 0..total / BATCH {
                r += p.produce("produce_ring_a", BATCH, size, seq + b * BATCH);
            }
            refused.store(r, Ordering::SeqCst);
            done.store(true, Ordering::SeqCst);
        });
        loop {
            got += poll_once();
            polls += 1;
            if done.load(Ordering::SeqCst) && got + refused.load(Ordering::SeqCst) >= total {
                break;
            }
        }
    });
    let (wall, cpu) = (t0.elapsed(), thread_cpu_time() - c0);
    (
        got as f64 / wall.as_secs_f64() / 1e6,
        cpu.as_nanos() as f64 / got.max(1) as f64,
        refused.load(Ordering::SeqCst),
        polls as f64 * 1000.0 / got.max(1) as f64,
    )
}

fn ring_stream(p: &Producer, pa: &Producer, rounds: usize) {
    let map = p.map("ring_a");
    let mut aya_ring = aya::maps::RingBuf::try_from(pa.aya_map("ring_a")).unwrap();
    let total = 256 * BATCH;
    for size in sizes() {
        let checks = [Check::new(), Check::new(), Check::new()];
        let mut b = oxbpf::ringbuf::RingBuffer::builder();
        b.add(map.as_fd(), |s: &[u8]| checks[0].see(s)).unwrap();
        let mut ox = b.build().unwrap();
        let mut lb_b = libbpf_rs::RingBufferBuilder::new();
        lb_b.add(&map, |s: &[u8]| {
            checks[1].see(s);
            0
        })
        .unwrap();
        let lb = lb_b.build().unwrap();
        let timeout = std::time::Duration::from_millis(10);
        let mut rate: [Vec<f64>; 3] = Default::default();
        let mut cpu: [Vec<f64>; 3] = Default::default();
        let mut refused = [0u64; 3];
        let mut polls: [Vec<f64>; 3] = Default::default();
        let mut seq = 1u64 << 40;
        for round in 0..rounds {
            for &which in order(round, 3) {
                let check = &checks[which];
                check.next.set(seq);
                let mut poll_once: Box<dyn FnMut() -> u64> = match which {
                    0 => Box::new(|| ox.poll(timeout).unwrap() as u64),
                    1 => Box::new(|| {
                        let before = checks[1].count.get();
                        lb.poll(timeout).unwrap();
                        checks[1].count.get() - before
                    }),
                    _ => Box::new(|| {
                        let mut pfd = libc::pollfd {
                            fd: aya_ring.as_raw_fd(),
                            events: libc::POLLIN,
                            revents: 0,
                        };
                        // SAFETY: one valid pollfd for the duration of the call.
                        unsafe { libc::poll(&mut pfd, 1, 10) };
                        let mut n = 0;
                        while let Some(item) = aya_ring.next() {
                            checks[2].see(&item);
                            n += 1;
                        }
                        n
                    }),
                };
                let (r, c, lost, pk) = ring_stream_once(
                    if which == 2 { pa } else { p },
                    size,
                    total,
                    seq,
                    &mut *poll_once,
                );
                drop(poll_once);
                rate[which].push(r);
                cpu[which].push(c);
                refused[which] += lost;
                polls[which].push(pk);
                seq += total;
            }
        }
        let mut line = format!("ring stream {size:>5} B |");
        let mut m = [(0.0, 0.0); 3];
        for (i, lib) in LIBS.iter().enumerate().take(3) {
            m[i] = (median(&mut rate[i]), median(&mut cpu[i]));
            line += &format!(
                " {lib} {:>5.2} M/s {:>5.1} ns/rec {:>5.1} polls/1k rec {:>6} refused |",
                m[i].0,
                m[i].1,
                median(&mut polls[i]),
                refused[i]
            );
        }
        println!(
            "{line} oxbpf/libbpf: throughput x{:.2}, CPU/rec x{:.2}",
            m[0].0 / m[1].0,
            m[0].1 / m[1].1
        );
    }
}

/// Scenario "stream": the producer keeps emitting (16-byte records, batches of 1024 from CPU 0)
/// while the consumer polls; oxbpf's perf buffer with a wakeup per sample (libbpf-rs's only
/// setting) against `wakeup_events(1024)`. Records/s until all `total` arrived.
fn perf_stream(p: &Producer) {
    let map = p.map("events");
    let total = 100 * BATCH;
    for wakeup in [1u32, 1024] {
        let got = Cell::new(0u64);
        let lost = Cell::new(0u64);
        let mut pb = oxbpf::perf_buffer::PerfBuffer::builder(map.as_fd())
            .pages(PERF_PAGES)
            .cpus(&[0])
            .wakeup_events(wakeup)
            .sample_cb(|_, _: &[u8]| got.set(got.get() + 1))
            .lost_cb(|_, n| lost.set(lost.get() + n))
            .build()
            .unwrap();
        let t0 = Instant::now();
        std::thread::scope(|sc| {
            sc.spawn(|| {
                pin_to_cpu(0);
                for b in 0..total / BATCH {
                    p.produce("produce_perf", BATCH, 16, b * BATCH);
                }
            });
            while got.get() + lost.get() < total {
                if pb.poll(std::time::Duration::from_millis(10)).unwrap() == 0 {
                    pb.consume().unwrap();
                }
            }
        });
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "perf stream 16 B, wakeup_events {wakeup:>4}: {:>7.3} M records/s ({} lost)",
            got.get() as f64 / secs / 1e6,
            lost.get()
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !oxbpf_tests::is_root() {
        println!("SKIP: not root: the stream benchmarks load BPF programs");
        return;
    }
    let rounds: usize = std::env::var("OXBPF_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(12);
    // The consumer's CPU: 1 by default; 0 (the producer's) reads records from local caches, which
    // on this VM is one of the two modes the cross-CPU drain switches between from run to run.
    let consumer_cpu = std::env::var("OXBPF_BENCH_CONSUMER_CPU")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    if !pin_to_cpu(consumer_cpu) {
        println!("note: could not pin the consumer to CPU {consumer_cpu}");
    }
    let p = Producer::load();
    let pa = Producer::load();
    println!("drain benchmark: {rounds} rounds per library, medians; consumer on CPU {consumer_cpu}, producer on CPU 0");
    let ring = if wanted("ring") {
        ringbuf(&p, &pa, rounds)
    } else {
        vec![]
    };
    let perf = if wanted("perf") {
        perfbuf(&p, rounds)
    } else {
        vec![]
    };
    if wanted("stream") {
        println!("stream benchmark: {rounds} rounds per library, medians");
        ring_stream(&p, &pa, rounds);
        perf_stream(&p);
    }
    let all: Vec<_> = ring.iter().chain(perf.iter()).collect();
    let min = all.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    let worst_cpu = all.iter().map(|r| r.2).fold(0.0, f64::max);
    println!("lowest throughput ratio oxbpf/libbpf: x{min:.2}; highest CPU-per-record ratio: x{worst_cpu:.2}");
}
