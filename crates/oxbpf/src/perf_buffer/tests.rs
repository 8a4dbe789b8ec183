//! The perf ring reader against an in-memory model of the kernel's writer.

use super::*;
use crate::stream::HINT_LAG;

/// A metadata page and a data area in plain memory; `write` plays the kernel.
struct SimPerf {
    meta: Vec<u64>,
    data: Vec<u64>,
    size: usize,
    head: u64,
}

impl SimPerf {
    fn new(size: usize) -> SimPerf {
        SimPerf {
            meta: vec![0; 4096 / 8],
            data: vec![0; size / 8],
            size,
            head: 0,
        }
    }

    fn reader(&mut self) -> PerfReader {
        let meta = NonNull::new(self.meta.as_mut_ptr().cast::<u8>()).unwrap();
        let data = NonNull::new(self.data.as_mut_ptr().cast::<u8>()).unwrap();
        // SAFETY: both vectors outlive the reader in every test.
        unsafe { PerfReader::new(meta, data, self.size) }
    }

    fn tail(&self) -> u64 {
        self.meta[DATA_TAIL / 8]
    }

    /// Writes one record (wrapping byte by byte), if it fits between head and tail.
    fn write(&mut self, rec: &[u8]) -> bool {
        assert_eq!(rec.len() % 8, 0);
        if self.head + rec.len() as u64 - self.tail() > self.size as u64 {
            return false;
        }
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.data);
        for (i, b) in rec.iter().enumerate() {
            bytes[(self.head as usize + i) & (self.size - 1)] = *b;
        }
        self.head += rec.len() as u64;
        self.meta[DATA_HEAD / 8] = self.head;
        true
    }
}

/// A `PERF_RECORD_SAMPLE` with raw data `raw`, padded like the kernel pads it.
fn sample_record(raw: &[u8]) -> Vec<u8> {
    let raw_size = (raw.len() + 4).next_multiple_of(8) - 4;
    let size = 8 + 4 + raw_size;
    let mut r = vec![];
    r.extend_from_slice(&PERF_RECORD_SAMPLE.to_ne_bytes());
    r.extend_from_slice(&0u16.to_ne_bytes());
    r.extend_from_slice(&(size as u16).to_ne_bytes());
    r.extend_from_slice(&(raw_size as u32).to_ne_bytes());
    r.extend_from_slice(raw);
    r.resize(size, 0);
    r
}

fn lost_record(n: u64) -> Vec<u8> {
    let mut r = vec![];
    r.extend_from_slice(&PERF_RECORD_LOST.to_ne_bytes());
    r.extend_from_slice(&0u16.to_ne_bytes());
    r.extend_from_slice(&24u16.to_ne_bytes());
    r.extend_from_slice(&7u64.to_ne_bytes());
    r.extend_from_slice(&n.to_ne_bytes());
    r
}

fn payload(seq: u32, len: usize) -> Vec<u8> {
    let mut v = vec![(seq % 253) as u8; len.max(4)];
    v[..4].copy_from_slice(&seq.to_ne_bytes());
    v
}

#[derive(Debug, PartialEq)]
enum Got {
    S(Vec<u8>),
    L(u64),
}

fn drain(r: &mut PerfReader) -> Vec<Got> {
    let mut out = vec![];
    r.consume_with(usize::MAX, |rec| {
        match rec {
            PerfRecord::Sample(s) => out.push(Got::S(s.to_vec())),
            PerfRecord::Lost(n) => out.push(Got::L(n)),
            PerfRecord::Other(_) => {}
        }
        false
    })
    .unwrap();
    out
}

#[test]
fn samples_and_lost_records_in_order_with_kernel_padding() {
    let mut sim = SimPerf::new(4096);
    let mut r = sim.reader();
    assert!(sim.write(&sample_record(&payload(0, 16))));
    assert!(sim.write(&lost_record(5)));
    assert!(sim.write(&sample_record(&payload(1, 9))));
    let got = drain(&mut r);
    assert_eq!(got.len(), 3);
    // 16 raw bytes are padded to 20 (4 + 20 = 24, a multiple of 8).
    match &got[0] {
        Got::S(s) => assert_eq!((s.len(), &s[..16]), (20, &payload(0, 16)[..])),
        g => panic!("{g:?}"),
    }
    assert_eq!(got[1], Got::L(5));
    match &got[2] {
        Got::S(s) => assert_eq!(&s[..9], &payload(1, 9)[..]),
        g => panic!("{g:?}"),
    }
    assert_eq!(sim.tail(), sim.head);
}

#[test]
fn runs_far_behind_head_and_close_to_it_are_read_alike() {
    // 128- and 200-byte samples make records of hinted sizes; the 1000-byte samples after them
    // (1016-byte records, so more than `HINT_LAG` bytes in all) put the first runs far enough
    // behind head for hints, and the last run, too close for them, ends right at head.
    let mut sim = SimPerf::new(4 << 20);
    let mut r = sim.reader();
    let lens: Vec<usize> = [(128, 9), (200, 5), (1000, HINT_LAG / 1000), (128, 9)]
        .iter()
        .flat_map(|&(len, n)| std::iter::repeat_n(len, n))
        .collect();
    for (i, len) in lens.iter().enumerate() {
        assert!(sim.write(&sample_record(&payload(i as u32, *len))));
    }
    let got = drain(&mut r);
    assert_eq!(got.len(), lens.len());
    for (i, g) in got.iter().enumerate() {
        match g {
            Got::S(s) => assert_eq!(&s[..lens[i]], &payload(i as u32, lens[i])[..], "sample {i}"),
            g => panic!("{g:?}"),
        }
    }
    assert_eq!(sim.tail(), sim.head);
}

#[test]
fn records_that_wrap_are_reassembled() {
    let mut sim = SimPerf::new(256);
    let mut r = sim.reader();
    let mut next = 0u32;
    let mut expect = 0u32;
    let mut wrapped = 0;
    for round in 0..300 {
        for _ in 0..(round % 4 + 1) {
            let len = 4 + (next as usize * 11) % 70;
            let start = sim.head as usize & 255;
            let rec = sample_record(&payload(next, len));
            if !sim.write(&rec) {
                break;
            }
            if start + rec.len() > 256 {
                wrapped += 1;
            }
            next += 1;
        }
        for g in drain(&mut r) {
            let Got::S(s) = g else { panic!("lost") };
            let len = 4 + (expect as usize * 11) % 70;
            assert_eq!(&s[..len], &payload(expect, len)[..]);
            expect += 1;
        }
    }
    assert_eq!(expect, next);
    assert!(wrapped > 20, "only {wrapped} records wrapped");
}

#[test]
fn stop_leaves_the_rest_for_later_and_publishes_what_was_read() {
    let mut sim = SimPerf::new(4096);
    let mut r = sim.reader();
    for i in 0..4 {
        assert!(sim.write(&sample_record(&payload(i, 8))));
    }
    let mut n = 0;
    let (samples, stopped) = r
        .consume_with(usize::MAX, |_| {
            n += 1;
            n == 2
        })
        .unwrap();
    assert_eq!((samples, stopped), (2, true));
    assert_eq!(sim.tail(), 2 * 24);
    assert_eq!(drain(&mut r).len(), 2);
}

#[test]
fn max_counts_samples_not_lost_records() {
    let mut sim = SimPerf::new(4096);
    let mut r = sim.reader();
    assert!(sim.write(&lost_record(1)));
    for i in 0..3 {
        assert!(sim.write(&sample_record(&payload(i, 8))));
    }
    let (n, _) = r.consume_with(2, |_| false).unwrap();
    assert_eq!(n, 2);
    assert_eq!(drain(&mut r).len(), 1);
}

#[test]
fn corrupt_records_are_errors() {
    let mut sim = SimPerf::new(256);
    let mut r = sim.reader();
    let mut rec = sample_record(&payload(0, 8));
    rec[8..12].copy_from_slice(&1000u32.to_ne_bytes());
    assert!(sim.write(&rec));
    assert!(r.consume_with(usize::MAX, |_| false).is_err());

    // The same in the middle of a run of records with the same header (the fast path).
    let mut sim = SimPerf::new(256);
    let mut r = sim.reader();
    for i in 0..3 {
        assert!(sim.write(&sample_record(&payload(i, 8))));
    }
    let mut rec = sample_record(&payload(3, 8));
    rec[8..12].copy_from_slice(&1000u32.to_ne_bytes());
    assert!(sim.write(&rec));
    let mut seen = 0;
    assert!(r
        .consume_with(usize::MAX, |_| {
            seen += 1;
            false
        })
        .is_err());
    assert_eq!(seen, 3);

    let mut sim = SimPerf::new(256);
    let mut r = sim.reader();
    let mut rec = sample_record(&payload(0, 8));
    rec[6..8].copy_from_slice(&0u16.to_ne_bytes());
    assert!(sim.write(&rec));
    assert!(r.consume_with(usize::MAX, |_| false).is_err());
}

#[test]
fn cpu_lists_parse_like_the_kernel_prints_them() {
    assert_eq!(
        parse_cpu_ranges("0-3,8,10-11\n"),
        Some(vec![0, 1, 2, 3, 8, 10, 11])
    );
    assert_eq!(parse_cpu_ranges("0\n"), Some(vec![0]));
    assert_eq!(parse_cpu_ranges("3-1"), None);
    assert_eq!(parse_cpu_ranges("x"), None);
}

#[test]
fn tail_never_passes_an_unread_sample_and_moves_every_quarter_ring() {
    // The kernel reuses bytes before data_tail at once: while the callback holds a sample, the
    // published tail must not be past it. And a long drain must publish as it goes (every
    // quarter of the ring here), so the producer gets space back before the drain ends.
    let mut sim = SimPerf::new(4096);
    let mut r = sim.reader();
    let meta = sim.meta.as_ptr();
    let mut next = 0u32;
    let mut starts = std::collections::VecDeque::new();
    let mut seen = 0u32;
    for _ in 0..20 {
        while sim.write(&sample_record(&payload(next, 8))) {
            starts.push_back(sim.head - 24);
            next += 1;
        }
        r.consume_with(usize::MAX, |rec| {
            // SAFETY: `meta` is the live metadata vector; the reader writes it only between
            // callbacks, on this thread.
            let tail = unsafe { std::ptr::read_volatile(meta.add(DATA_TAIL / 8)) };
            let start = starts.pop_front().unwrap();
            assert!(tail <= start, "tail {tail} is past the sample at {start}");
            assert!(
                start - tail <= 4096 / 4,
                "tail {tail} lags the sample at {start}"
            );
            let PerfRecord::Sample(s) = rec else {
                panic!("{rec:?}")
            };
            assert_eq!(&s[..4], &seen.to_ne_bytes());
            seen += 1;
            false
        })
        .unwrap();
        assert_eq!(sim.tail(), sim.head);
    }
    assert_eq!(seen, next);
    assert!(next > 3000, "{next}");
}

#[test]
fn record_sizes_that_are_not_multiples_of_8_or_exceed_the_ring_are_errors() {
    // Two samples of 20 bytes: the second would start misaligned.
    let mut sim = SimPerf::new(256);
    let mut r = sim.reader();
    let mut rec = sample_record(&payload(0, 8));
    rec[6..8].copy_from_slice(&20u16.to_ne_bytes());
    rec[8..12].copy_from_slice(&8u32.to_ne_bytes());
    assert!(sim.write(&rec));
    let e = r.consume_with(usize::MAX, |_| false).unwrap_err();
    assert!(e.to_string().contains("perf record of 20 bytes"), "{e}");

    // A size larger than the ring, with a head (corrupt) a whole ring ahead of the tail.
    let mut sim = SimPerf::new(256);
    let mut r = sim.reader();
    let mut rec = sample_record(&payload(0, 8));
    rec[6..8].copy_from_slice(&512u16.to_ne_bytes());
    assert!(sim.write(&rec));
    sim.meta[DATA_HEAD / 8] = 256;
    let e = r.consume_with(usize::MAX, |_| false).unwrap_err();
    assert!(e.to_string().contains("perf record of 512 bytes"), "{e}");
}

#[test]
fn a_data_tail_written_by_another_process_is_checked() {
    // Lagging head by more than the ring: those bytes were overwritten long ago.
    let mut sim = SimPerf::new(256);
    let mut r = sim.reader();
    assert!(sim.write(&sample_record(&payload(0, 8))));
    sim.meta[DATA_HEAD / 8] = 4096;
    let e = r.consume_with(usize::MAX, |_| false).unwrap_err();
    assert!(e.to_string().contains("not within the 256 bytes"), "{e}");

    // Ahead of head: nothing there was written.
    let mut sim = SimPerf::new(256);
    let mut r = sim.reader();
    assert!(sim.write(&sample_record(&payload(0, 8))));
    sim.meta[DATA_TAIL / 8] = sim.head + 8;
    let e = r.consume_with(usize::MAX, |_| false).unwrap_err();
    assert!(e.to_string().contains("not within the 256 bytes"), "{e}");
}

mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Sample(u8),
        Lost,
        Consume(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => any::<u8>().prop_map(Op::Sample),
            1 => Just(Op::Lost),
            2 => any::<u8>().prop_map(Op::Consume),
        ]
    }

    proptest! {
        /// Runs of samples of a few sizes (the reader's fast path), lost records and records that
        /// wrap around a small ring, read `max` samples at a time: every record comes out once,
        /// in order, with its bytes, and the tail moves only past what was handed out.
        #[test]
        fn matches_a_fifo_model(ops in proptest::collection::vec(op(), 1..300)) {
            let mut sim = SimPerf::new(512);
            let mut r = sim.reader();
            let mut fifo: std::collections::VecDeque<Got> = Default::default();
            let mut seq = 0u32;
            for op in ops {
                match op {
                    Op::Sample(l) => {
                        let p = payload(seq, [8, 8, 8, 16, 45][l as usize % 5]);
                        if sim.write(&sample_record(&p)) {
                            let mut padded = p.clone();
                            padded.resize((p.len() + 4).next_multiple_of(8) - 4, 0);
                            fifo.push_back(Got::S(padded));
                            seq += 1;
                        }
                    }
                    Op::Lost => {
                        if sim.write(&lost_record(u64::from(seq))) {
                            fifo.push_back(Got::L(u64::from(seq)));
                        }
                    }
                    Op::Consume(m) => {
                        let max = m as usize % 6 + 1;
                        let mut got = vec![];
                        let (n, stopped) = r
                            .consume_with(max, |rec| {
                                match rec {
                                    PerfRecord::Sample(s) => got.push(Got::S(s.to_vec())),
                                    PerfRecord::Lost(n) => got.push(Got::L(n)),
                                    PerfRecord::Other(_) => {}
                                }
                                false
                            })
                            .unwrap();
                        prop_assert!(!stopped);
                        let samples = got.iter().filter(|g| matches!(g, Got::S(_))).count();
                        prop_assert_eq!(n, samples);
                        prop_assert!(n <= max);
                        let expected: Vec<Got> = fifo.drain(..got.len()).collect();
                        prop_assert_eq!(&got, &expected);
                        if n < max {
                            // Fewer than asked: the ring is empty and the kernel told so.
                            prop_assert!(fifo.is_empty());
                            prop_assert_eq!(sim.tail(), sim.head);
                        }
                    }
                }
            }
        }
    }
}
