//! The consumer against an in-memory model of the kernel's producer side.

use super::*;
use crate::stream::HINT_LAG;
use std::ops::ControlFlow;

/// An in-memory ring: the positions and a `2 * size` data area whose halves the simulated producer
/// keeps identical, as the kernel's double mapping does.
pub(crate) struct SimRing {
    cons: Box<AtomicUsize>,
    prod: Box<AtomicUsize>,
    data: Vec<u64>,
    size: usize,
}

impl SimRing {
    pub(crate) fn new(size: usize) -> SimRing {
        assert!(size.is_power_of_two() && size >= 16);
        SimRing {
            cons: Box::new(AtomicUsize::new(0)),
            prod: Box::new(AtomicUsize::new(0)),
            data: vec![0u64; 2 * size / 8],
            size,
        }
    }

    pub(crate) fn reader(&mut self) -> RingReader {
        let cons = NonNull::from(&*self.cons);
        let prod = NonNull::from(&*self.prod);
        let data = NonNull::new(self.data.as_mut_ptr().cast::<u8>()).unwrap();
        // SAFETY: the boxes and the vector outlive every reader in these tests (the `SimRing` is
        // dropped last) and the data area is `2 * size` bytes.
        unsafe { RingReader::new(cons, prod, data, self.size) }
    }

    fn base(&self) -> *mut u8 {
        self.data.as_ptr() as *mut u8
    }

    fn hdr(&self, pos: usize, copy: usize) -> &AtomicU32 {
        let off = (pos & (self.size - 1)) + copy * self.size;
        // SAFETY: `off` is 8-aligned and within the `2 * size` area.
        unsafe { &*self.base().add(off).cast::<AtomicU32>() }
    }

    fn write_byte(&self, pos: usize, b: u8) {
        let off = pos & (self.size - 1);
        // SAFETY: both offsets are within the area; the reader does not look at reserved bytes.
        unsafe {
            *self.base().add(off) = b;
            *self.base().add(off + self.size) = b;
        }
    }

    pub(crate) fn consumer_pos(&self) -> usize {
        self.cons.load(Ordering::SeqCst)
    }

    /// Reserves a record of `len` bytes: header BUSY, producer position advanced. `None` when full.
    pub(crate) fn reserve(&self, len: u32) -> Option<usize> {
        let pos = self.prod.load(Ordering::Relaxed);
        let total = record_size(len);
        if pos + total - self.cons.load(Ordering::Acquire) > self.size {
            return None;
        }
        for copy in 0..2 {
            self.hdr(pos, copy).store(len | BUSY_BIT, Ordering::Relaxed);
        }
        self.prod.store(pos + total, Ordering::Release);
        Some(pos)
    }

    pub(crate) fn fill(&self, pos: usize, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.write_byte(pos + HDR_SIZE + i, *b);
        }
    }

    pub(crate) fn commit(&self, pos: usize, discard: bool) {
        for copy in 0..2 {
            let h = self.hdr(pos, copy);
            let len = h.load(Ordering::Relaxed) & !BUSY_BIT;
            h.swap(
                if discard { len | DISCARD_BIT } else { len },
                Ordering::AcqRel,
            );
        }
    }

    /// Reserve + fill + commit; `false` when the ring is full.
    pub(crate) fn output(&self, bytes: &[u8]) -> bool {
        match self.reserve(bytes.len() as u32) {
            Some(pos) => {
                self.fill(pos, bytes);
                self.commit(pos, false);
                true
            }
            None => false,
        }
    }
}

fn record(seq: u32, len: usize) -> Vec<u8> {
    let mut v = vec![(seq % 251) as u8; len.max(4)];
    v[..4].copy_from_slice(&seq.to_le_bytes());
    v
}

fn seq_of(s: &[u8]) -> u32 {
    u32::from_le_bytes(s[..4].try_into().unwrap())
}

fn drain(r: &mut RingReader) -> Vec<Vec<u8>> {
    let mut out = vec![];
    r.consume_with(usize::MAX, |s: &[u8]| out.push(s.to_vec()))
        .unwrap();
    out
}

#[test]
fn every_sample_in_order_with_its_bytes() {
    let mut sim = SimRing::new(4096);
    let mut r = sim.reader();
    let lens = [4usize, 5, 7, 8, 9, 15, 16, 17, 100];
    for (i, len) in lens.iter().enumerate() {
        assert!(sim.output(&record(i as u32, *len)));
    }
    let got = drain(&mut r);
    assert_eq!(got.len(), lens.len());
    for (i, s) in got.iter().enumerate() {
        assert_eq!(s, &record(i as u32, lens[i]));
    }
    // Caught up: the position is published and equals the producer's.
    assert_eq!(sim.consumer_pos(), sim.prod.load(Ordering::SeqCst));
}

#[test]
fn wraps_around_many_times_and_reads_straddling_records_whole() {
    let mut sim = SimRing::new(256);
    let mut r = sim.reader();
    let mut next = 0u32;
    let mut expect = 0u32;
    for round in 0..500 {
        // 1..=3 records of awkward sizes so that records straddle the end of the area.
        for _ in 0..(round % 3 + 1) {
            let len = 4 + (next as usize * 13) % 60;
            if !sim.output(&record(next, len)) {
                break;
            }
            next += 1;
        }
        for s in drain(&mut r) {
            assert_eq!(seq_of(&s), expect);
            assert_eq!(s, record(expect, s.len()));
            expect += 1;
        }
    }
    assert_eq!(expect, next);
    assert!(sim.consumer_pos() > 256 * 50, "wrapped many times");
}

#[test]
fn discarded_samples_are_skipped() {
    let mut sim = SimRing::new(1024);
    let mut r = sim.reader();
    for i in 0..10u32 {
        let pos = sim.reserve(8).unwrap();
        sim.fill(pos, &record(i, 8));
        sim.commit(pos, i % 3 == 0);
    }
    let seqs: Vec<u32> = drain(&mut r).iter().map(|s| seq_of(s)).collect();
    assert_eq!(seqs, vec![1, 2, 4, 5, 7, 8]);
    assert_eq!(sim.consumer_pos(), sim.prod.load(Ordering::SeqCst));
}

#[test]
fn busy_record_stops_the_reader_at_its_position_and_later_resumes() {
    let mut sim = SimRing::new(1024);
    let mut r = sim.reader();
    assert!(sim.output(&record(0, 8)));
    let busy = sim.reserve(8).unwrap();
    assert!(sim.output(&record(2, 8)));
    let got = drain(&mut r);
    assert_eq!(got.len(), 1);
    // The producer's commit compares this with the busy record's position to decide to wake us.
    assert_eq!(sim.consumer_pos(), busy);
    sim.fill(busy, &record(1, 8));
    sim.commit(busy, false);
    let seqs: Vec<u32> = drain(&mut r).iter().map(|s| seq_of(s)).collect();
    assert_eq!(seqs, vec![1, 2]);
}

#[test]
fn break_stops_after_the_sample_and_the_rest_stays() {
    let mut sim = SimRing::new(1024);
    let mut r = sim.reader();
    for i in 0..5 {
        assert!(sim.output(&record(i, 8)));
    }
    let mut seen = vec![];
    let (n, stopped) = r
        .consume_with(usize::MAX, |s: &[u8]| {
            seen.push(seq_of(s));
            if seq_of(s) == 1 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!((n, stopped), (2, true));
    // What was handed out is released to the producer.
    assert_eq!(sim.consumer_pos(), 2 * record_size(8));
    let rest: Vec<u32> = drain(&mut r).iter().map(|s| seq_of(s)).collect();
    assert_eq!(rest, vec![2, 3, 4]);
}

#[test]
fn consume_n_hands_out_at_most_n() {
    let mut sim = SimRing::new(1024);
    let mut r = sim.reader();
    for i in 0..5 {
        assert!(sim.output(&record(i, 8)));
    }
    let (n, _) = r.consume_with(3, |_: &[u8]| ()).unwrap();
    assert_eq!(n, 3);
    assert_eq!(sim.consumer_pos(), 3 * record_size(8));
    assert_eq!(drain(&mut r).len(), 2);
}

#[test]
fn position_is_published_in_batches_but_never_past_an_unread_sample() {
    let mut sim = SimRing::new(1 << 20);
    let mut r = sim.reader();
    let n = 20_000u32;
    for i in 0..n {
        assert!(sim.output(&record(i, 8)));
    }
    let cons = &*sim.cons as *const AtomicUsize;
    let mut seen = 0usize;
    let mut publishes = 0usize;
    let mut last = 0usize;
    r.consume_with(usize::MAX, |s: &[u8]| {
        // SAFETY: the box outlives the reader; reading an atomic is fine from here.
        let c = unsafe { &*cons }.load(Ordering::SeqCst);
        assert!(
            c <= seen * record_size(8),
            "published past an unread sample"
        );
        if c != last {
            publishes += 1;
            last = c;
        }
        assert_eq!(seq_of(s) as usize, seen);
        seen += 1;
    })
    .unwrap();
    assert_eq!(seen, n as usize);
    assert!(
        publishes < 10,
        "published {publishes} times for {n} records"
    );
    assert_eq!(sim.consumer_pos(), n as usize * record_size(8));
}

#[test]
fn the_producer_sees_space_freed_while_a_long_batch_runs() {
    // A ring just big enough for the batch: the producer can keep writing while the consumer
    // works through it, because positions are published every quarter ring.
    let mut sim = SimRing::new(4096);
    let mut r = sim.reader();
    let mut next = 0u32;
    while sim.output(&record(next, 8)) {
        next += 1;
    }
    let full_at = next;
    let mut expect = 0u32;
    let sim_ref = &sim;
    r.consume_with(usize::MAX, |s: &[u8]| {
        assert_eq!(seq_of(s), expect);
        expect += 1;
        if next < 3 * full_at && sim_ref.output(&record(next, 8)) {
            next += 1;
        }
    })
    .unwrap();
    assert!(
        next > full_at + full_at / 2,
        "producer never got space back"
    );
    assert_eq!(expect, next);
}

#[test]
fn a_record_longer_than_the_ring_is_an_error_not_a_wild_read() {
    let mut sim = SimRing::new(256);
    let mut r = sim.reader();
    let pos = sim.reserve(8).unwrap();
    for copy in 0..2 {
        sim.hdr(pos, copy).store(10_000, Ordering::SeqCst);
    }
    let err = r.consume_with(usize::MAX, |_: &[u8]| ()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Malformed);
}

#[test]
fn record_sizes_round_up_to_eight_with_header_and_ignore_flag_bits() {
    assert_eq!(record_size(0), 8);
    assert_eq!(record_size(1), 16);
    assert_eq!(record_size(8), 16);
    assert_eq!(record_size(9), 24);
    assert_eq!(record_size(8 | BUSY_BIT | DISCARD_BIT), 16);
}

#[test]
fn reader_position_survives_a_new_reader() {
    let mut sim = SimRing::new(1024);
    {
        let mut r = sim.reader();
        assert!(sim.output(&record(0, 8)));
        assert_eq!(drain(&mut r).len(), 1);
    }
    assert!(sim.output(&record(1, 8)));
    let mut r = sim.reader();
    let got = drain(&mut r);
    assert_eq!(got.iter().map(|s| seq_of(s)).collect::<Vec<_>>(), vec![1]);
}

mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Output(u8),
        Discard(u8),
        ReserveBusy(u8),
        CommitOldestBusy,
        Consume(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<u8>().prop_map(Op::Output),
            1 => any::<u8>().prop_map(Op::Discard),
            1 => any::<u8>().prop_map(Op::ReserveBusy),
            2 => Just(Op::CommitOldestBusy),
            2 => any::<u8>().prop_map(Op::Consume),
        ]
    }

    proptest! {
        /// Whatever the interleaving, the consumer sees exactly the committed, non-discarded
        /// samples, in reservation order, each with its bytes, and never passes a busy one.
        #[test]
        fn matches_a_fifo_model(ops in proptest::collection::vec(op(), 1..300)) {
            fifo_model(ops, |l| 4 + (l as usize % 90))?;
        }

        /// The same with a few sizes only, so that the reader's fast path (runs of one record
        /// size) meets busy, discarded and resized records in the middle of its runs, and
        /// samples of different lengths (9, 12, 16) that take the same record size.
        #[test]
        fn matches_a_fifo_model_in_runs(ops in proptest::collection::vec(op(), 1..300)) {
            fifo_model(ops, |l| [8, 8, 8, 9, 12, 16, 16, 13, 40][l as usize % 9])?;
        }
    }

    /// Plays `ops` on a simulated 512-byte ring and a FIFO model side by side; `len_of` maps an
    /// op's byte to a sample length.
    fn fifo_model(ops: Vec<Op>, len_of: fn(u8) -> usize) -> Result<(), TestCaseError> {
        let mut sim = SimRing::new(512);
        let mut r = sim.reader();
        let mut seq = 0u32;
        // (position, seq, discarded?, committed?)
        let mut fifo: std::collections::VecDeque<(usize, u32, bool, bool)> = Default::default();
        // The length of each reserved sample, by sequence number.
        let mut lens = vec![];
        let mut busy: std::collections::VecDeque<(usize, u32)> = Default::default();
        for op in ops {
            match op {
                Op::Output(l) | Op::Discard(l) | Op::ReserveBusy(l) => {
                    let len = len_of(l);
                    if let Some(pos) = sim.reserve(len as u32) {
                        lens.push(len);
                        sim.fill(pos, &record(seq, len));
                        match op {
                            Op::Output(_) => {
                                sim.commit(pos, false);
                                fifo.push_back((pos, seq, false, true));
                            }
                            Op::Discard(_) => {
                                sim.commit(pos, true);
                                fifo.push_back((pos, seq, true, true));
                            }
                            _ => {
                                fifo.push_back((pos, seq, false, false));
                                busy.push_back((pos, seq));
                            }
                        }
                        seq += 1;
                    }
                }
                Op::CommitOldestBusy => {
                    if let Some((pos, s)) = busy.pop_front() {
                        sim.commit(pos, false);
                        for e in fifo.iter_mut() {
                            if e.1 == s {
                                e.3 = true;
                            }
                        }
                    }
                }
                Op::Consume(max) => {
                    let max = max as usize % 8 + 1;
                    let mut got = vec![];
                    r.consume_with(max, |s: &[u8]| got.push(s.to_vec()))
                        .unwrap();
                    let mut expected = vec![];
                    while expected.len() < max {
                        match fifo.front() {
                            Some(&(_, s, disc, true)) => {
                                fifo.pop_front();
                                if !disc {
                                    expected.push(s);
                                }
                            }
                            _ => break,
                        }
                    }
                    // Trailing discarded records may or may not have been skipped yet.
                    prop_assert_eq!(got.iter().map(|s| seq_of(s)).collect::<Vec<_>>(), expected);
                    for s in &got {
                        prop_assert_eq!(s, &record(seq_of(s), lens[seq_of(s) as usize]));
                    }
                    if let Some(&(pos, _, _, false)) = fifo.front() {
                        if got.len() < max {
                            prop_assert_eq!(sim.consumer_pos(), pos);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[test]
fn picks_up_a_position_published_by_another_consumer() {
    let mut sim = SimRing::new(1024);
    let mut a = sim.reader();
    let mut b = sim.reader();
    for i in 0..3 {
        assert!(sim.output(&record(i, 8)));
    }
    assert_eq!(drain(&mut a).len(), 3);
    assert!(sim.output(&record(3, 8)));
    let got = drain(&mut b);
    assert_eq!(got.iter().map(|s| seq_of(s)).collect::<Vec<_>>(), vec![3]);
    assert_eq!(drain(&mut a).len(), 0);
}

#[test]
fn runs_of_one_size_then_another_are_all_read() {
    // The reader steps by the size it predicts from the previous record; changes of size in the
    // middle of runs (and a discarded record of a third size) must not shift what it reads.
    let mut sim = SimRing::new(4 << 20);
    // 128-, 200- and 248-byte samples make records the reader hints line by line, and the
    // 1000-byte samples after them (1008-byte records, so more than `HINT_LAG` bytes in all) put
    // those runs far enough behind the producer for hints; the last 136-byte run is too close.
    let lens: Vec<usize> = [
        (16, 20),
        (40, 3),
        (16, 5),
        (7, 1),
        (16, 6),
        (128, 9),
        (200, 5),
        (248, 4),
        (1000, HINT_LAG / 1000),
        (128, 9),
    ]
    .iter()
    .flat_map(|&(len, n)| std::iter::repeat_n(len, n))
    .collect();
    for (i, len) in lens.iter().enumerate() {
        assert!(sim.output(&record(i as u32, *len)));
        if i == 22 {
            let pos = sim.reserve(24).unwrap();
            sim.commit(pos, true);
        }
    }
    let mut r = sim.reader();
    let got = drain(&mut r);
    assert_eq!(got.len(), lens.len());
    for (i, s) in got.iter().enumerate() {
        assert_eq!(s, &record(i as u32, lens[i]), "sample {i}");
    }
}

#[test]
fn empty_samples_next_to_short_ones_keep_their_own_sizes() {
    // After an empty sample the run's size is 8; a sample of 1-7 bytes (a 16-byte record) must
    // not be taken for one, which the header window of an 8-byte run (`len == 0` only) ensures.
    let mut sim = SimRing::new(1024);
    let lens = [0usize, 0, 0, 1, 0, 7, 2, 0, 0, 5, 8, 0, 3, 0];
    let samples: Vec<Vec<u8>> = lens
        .iter()
        .enumerate()
        .map(|(i, &l)| vec![i as u8 + 1; l])
        .collect();
    for s in &samples {
        assert!(sim.output(s));
    }
    let mut r = sim.reader();
    assert_eq!(drain(&mut r), samples);
    assert_eq!(sim.consumer_pos(), sim.prod.load(Ordering::SeqCst));
}

#[test]
fn empty_samples_run_and_flagged_headers_end_the_run() {
    // Empty samples make 8-byte records, the one size whose header window (`guess - 15` and up)
    // wraps below zero; a busy or discarded empty record must still end the run.
    let mut sim = SimRing::new(1024);
    for _ in 0..5 {
        assert!(sim.output(&[]));
    }
    let gone = sim.reserve(0).unwrap();
    sim.commit(gone, true);
    for _ in 0..3 {
        assert!(sim.output(&[]));
    }
    let busy = sim.reserve(0).unwrap();
    assert!(sim.output(&[]));
    let mut r = sim.reader();
    let got = drain(&mut r);
    assert_eq!(got, vec![Vec::<u8>::new(); 8]);
    assert_eq!(sim.consumer_pos(), busy);
    sim.commit(busy, false);
    assert_eq!(drain(&mut r), vec![Vec::<u8>::new(); 2]);
}

#[test]
fn a_consumer_position_written_by_another_process_is_checked() {
    // Unaligned: no record starts there, and headers read from it would be misaligned.
    let mut sim = SimRing::new(1024);
    let mut r = sim.reader();
    assert!(sim.output(&record(0, 8)));
    sim.cons.store(4, Ordering::SeqCst);
    let e = r.consume_with(usize::MAX, |_| ()).unwrap_err();
    assert!(e.to_string().contains("not 8-byte aligned"), "{e}");

    // Far behind the producer: a stale header there may claim up to 2^30 bytes, more than the
    // ring (and its double mapping) holds.
    let mut sim = SimRing::new(1024);
    let mut r = sim.reader();
    for i in 0..3 {
        assert!(sim.output(&record(i, 8)));
    }
    sim.prod.store(1 << 20, Ordering::SeqCst);
    sim.hdr(0, 0).store(1 << 29, Ordering::SeqCst);
    sim.hdr(0, 1).store(1 << 29, Ordering::SeqCst);
    let e = r.consume_with(usize::MAX, |_| ()).unwrap_err();
    assert!(e.to_string().contains("not within the 1024 bytes"), "{e}");

    // Ahead of the producer: the bytes there were never reserved.
    let mut sim = SimRing::new(1024);
    let mut r = sim.reader();
    assert!(sim.output(&record(0, 8)));
    sim.cons
        .store(sim.prod.load(Ordering::SeqCst) + 8, Ordering::SeqCst);
    let e = r.consume_with(usize::MAX, |_| ()).unwrap_err();
    assert!(e.to_string().contains("not within the 1024 bytes"), "{e}");

    // Within the ring, but a header claims more than was reserved.
    let mut sim = SimRing::new(1024);
    let mut r = sim.reader();
    assert!(sim.output(&record(0, 8)));
    sim.hdr(0, 0).store(64, Ordering::SeqCst);
    let e = r.consume_with(usize::MAX, |_| ()).unwrap_err();
    assert!(
        e.to_string()
            .contains("claims 72 bytes, but only 16 are reserved"),
        "{e}"
    );
}
