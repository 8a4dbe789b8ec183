//! Ring buffer and perf buffer consumers, oxbpf vs libbpf (libbpf-rs 0.27 over libbpf 1.7), in one
//! run on the same maps filled by the same BPF producer (`stream_producer.bpf.c`).
//!
//! Scenario "drain": the producer (a raw_tp program run by `BPF_PROG_TEST_RUN` on CPU 0) fills a
//! 16 MiB ring buffer, or CPU 0's 16 MiB perf ring, to ~95%; then the consumer, pinned to CPU 1,
//! drains it with its library's `consume()` and a callback that checks every sequence number. Only
//! the drain is timed (wall clock and the consumer thread's CPU time). Both consumers stay mapped
//! for the whole run (page faults happen in the warm-up), and rounds alternate between the two
//! libraries so background load hits both alike. Reported: medians over the rounds.
//!
//! Run with `cargo bench -p oxbpf-bench` (root). `OXBPF_BENCH_ROUNDS` sets the rounds (default 11).

use std::cell::Cell;
use std::hint::black_box;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Instant;

use libbpf_rs::{MapCore, ObjectBuilder};
use oxbpf_bench::{median, pin_to_cpu, thread_cpu_time};

const RING_BYTES: u32 = 16 << 20;
const PERF_PAGES: usize = 4096;
const SIZES: [u64; 3] = [16, 128, 1024];
const BATCH: u64 = 1024;

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
                m.set_max_entries(RING_BYTES).unwrap();
            }
        }
        Producer {
            obj: open.load().expect("load producer"),
        }
    }

    fn map(&self, name: &str) -> libbpf_rs::Map<'_> {
        self.obj.maps().find(|m| m.name() == name).unwrap()
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
}

impl Check {
    fn new() -> Check {
        Check {
            next: Cell::new(0),
            bad: Cell::new(0),
        }
    }

    #[inline(always)]
    fn see(&self, s: &[u8]) {
        let seq = u64::from_ne_bytes(s[..8].try_into().unwrap());
        if seq != self.next.get() {
            self.bad.set(self.bad.get() + 1);
        }
        self.next.set(seq + 1);
        black_box(s);
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

fn timed(records: u64, s: &mut Samples, drain: impl FnOnce() -> u64) {
    let (c0, t0) = (thread_cpu_time(), Instant::now());
    let got = drain();
    let (wall, cpu) = (t0.elapsed(), thread_cpu_time() - c0);
    assert_eq!(got, records, "drained {got} of {records}");
    s.add(records, wall, cpu);
}

fn report(kind: &str, size: u64, ox: &mut Samples, lb: &mut Samples) -> (f64, f64) {
    let (or, lr) = (median(&mut ox.rate), median(&mut lb.rate));
    let (oc, lc) = (median(&mut ox.cpu_ns), median(&mut lb.cpu_ns));
    // `median` sorted the samples: the last rate is the best round.
    let (ob, lbest) = (ox.rate[ox.rate.len() - 1], lb.rate[lb.rate.len() - 1]);
    println!(
        "{kind:<5} {size:>5} B | oxbpf {or:>7.1} M/s (best {ob:>6.1}) {oc:>6.2} ns/rec | libbpf {lr:>7.1} M/s (best {lbest:>6.1}) {lc:>6.2} ns/rec | throughput x{:.2}, CPU/rec x{:.2}",
        or / lr,
        oc / lc
    );
    (or / lr, oc / lc)
}

fn records_for(record_bytes: u64, capacity: u64) -> u64 {
    (capacity * 95 / 100 / record_bytes) / BATCH * BATCH
}

fn ringbuf(p: &Producer, rounds: usize) -> Vec<(u64, f64, f64)> {
    let map = p.map("ring_a");
    let mut out = vec![];
    for size in SIZES {
        let n = records_for((size + 8).div_ceil(8) * 8, u64::from(RING_BYTES));
        let ox_check = Check::new();
        let lb_check = Check::new();
        let mut b = oxbpf::ringbuf::RingBuffer::builder();
        b.add(map.as_fd(), |s: &[u8]| ox_check.see(s)).unwrap();
        let mut ox = b.build().unwrap();
        let mut lb_b = libbpf_rs::RingBufferBuilder::new();
        lb_b.add(&map, |s: &[u8]| {
            lb_check.see(s);
            0
        })
        .unwrap();
        let lb = lb_b.build().unwrap();
        let (mut os, mut ls) = (Samples::default(), Samples::default());
        let mut seq = 0u64;
        for round in 0..rounds + 2 {
            for which in [round % 2, 1 - round % 2] {
                assert_eq!(p.produce("produce_ring_a", n, size, seq), 0, "ring full");
                let mut scratch = Samples::default();
                let s = match (round < 2, which) {
                    (true, _) => &mut scratch, // warm-up: map the pages in
                    (false, 0) => &mut os,
                    (false, _) => &mut ls,
                };
                if which == 0 {
                    ox_check.next.set(seq);
                    timed(n, s, || ox.consume().unwrap() as u64);
                } else {
                    lb_check.next.set(seq);
                    timed(n, s, || {
                        let before = lb_check.next.get();
                        lb.consume().unwrap();
                        lb_check.next.get() - before
                    });
                }
                seq += n;
            }
        }
        assert_eq!(ox_check.bad.get() + lb_check.bad.get(), 0, "sequence gaps");
        let (r, c) = report("ring", size, &mut os, &mut ls);
        out.push((size, r, c));
    }
    out
}

fn perfbuf(p: &Producer, rounds: usize) -> Vec<(u64, f64, f64)> {
    let map = p.map("events");
    let mut out = vec![];
    for size in SIZES {
        // PERF_RECORD_SAMPLE: 8-byte header, u32 size, data padded so the record is 8-aligned.
        let rec = 8 + (size + 4).div_ceil(8) * 8;
        let n = records_for(rec, (PERF_PAGES * 4096) as u64);
        let ox_check = Check::new();
        let lb_check = Check::new();
        let mut ox = oxbpf::perf_buffer::PerfBuffer::builder(map.as_fd())
            .pages(PERF_PAGES)
            .cpus(&[0])
            .sample_cb(|_, s: &[u8]| ox_check.see(s))
            .lost_cb(|_, n| panic!("oxbpf lost {n}"))
            .build()
            .unwrap();
        let ox_fd = ox.buffer_fd(0).unwrap().as_raw_fd();
        let lb = libbpf_rs::PerfBufferBuilder::new(&map)
            .pages(PERF_PAGES)
            .sample_cb(|_, s: &[u8]| lb_check.see(s))
            .lost_cb(|_, n| panic!("libbpf lost {n}"))
            .build()
            .unwrap();
        let lb_fd = lb.buffer_fd(0).unwrap();
        let (mut os, mut ls) = (Samples::default(), Samples::default());
        let mut seq = 0u64;
        for round in 0..rounds + 2 {
            for which in [round % 2, 1 - round % 2] {
                // Point CPU 0's slot at the consumer under test.
                let fd = if which == 0 { ox_fd } else { lb_fd };
                map.update(
                    &0u32.to_ne_bytes(),
                    &(fd as u32).to_ne_bytes(),
                    libbpf_rs::MapFlags::ANY,
                )
                .unwrap();
                assert_eq!(p.produce("produce_perf", n, size, seq), 0, "perf ring full");
                let mut scratch = Samples::default();
                let s = match (round < 2, which) {
                    (true, _) => &mut scratch,
                    (false, 0) => &mut os,
                    (false, _) => &mut ls,
                };
                if which == 0 {
                    ox_check.next.set(seq);
                    timed(n, s, || ox.consume().unwrap() as u64);
                } else {
                    lb_check.next.set(seq);
                    timed(n, s, || {
                        let before = lb_check.next.get();
                        lb.consume().unwrap();
                        lb_check.next.get() - before
                    });
                }
                seq += n;
            }
        }
        assert_eq!(ox_check.bad.get() + lb_check.bad.get(), 0, "sequence gaps");
        let (r, c) = report("perf", size, &mut os, &mut ls);
        out.push((size, r, c));
    }
    out
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
        .unwrap_or(11);
    if !pin_to_cpu(1) {
        println!("note: could not pin the consumer to CPU 1");
    }
    let p = Producer::load();
    println!("drain benchmark: {rounds} rounds per library, medians; consumer on CPU 1, producer on CPU 0");
    let ring = ringbuf(&p, rounds);
    let perf = perfbuf(&p, rounds);
    let all: Vec<_> = ring.iter().chain(perf.iter()).collect();
    let min = all.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    let worst_cpu = all.iter().map(|r| r.2).fold(0.0, f64::max);
    println!("lowest throughput ratio oxbpf/libbpf: x{min:.2}; highest CPU-per-record ratio: x{worst_cpu:.2}");
}
