//! Ring buffer consumers against real BPF producers (`stream_producer.bpf.c`).

mod stream_util;

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::time::Duration;

use oxbpf::ringbuf::{RingBuf, RingBuffer};
use stream_util::{check_record, seq_of, Producer};

#[test]
fn every_sequence_number_arrives_in_order_with_its_bytes() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let fds = oxbpf_tests::open_fds();
    let seen = RefCell::new(Vec::new());
    {
        let mut b = RingBuffer::builder();
        b.add(p.map("ring_a"), |s: &[u8]| {
            check_record(s, 64);
            seen.borrow_mut().push(seq_of(s));
        })
        .unwrap();
        let mut rb = b.build().unwrap();
        for run in 0..10u64 {
            assert_eq!(p.run("produce_ring_a", 1000, 64, run * 1000), 0);
        }
        let mut n = 0;
        while n < 10_000 {
            let got = rb.poll(Duration::from_secs(2)).unwrap();
            assert!(got > 0, "timed out after {n} samples");
            n += got;
        }
        assert_eq!(rb.consume().unwrap(), 0);
    }
    assert_eq!(*seen.borrow(), (0..10_000).collect::<Vec<u64>>());
    assert_eq!(oxbpf_tests::open_fds(), fds, "fd leak");
}

#[test]
fn wraps_around_a_small_ring_many_times() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let mut ring = RingBuf::new(p.map("ring_b")).unwrap();
    assert_eq!(ring.size(), 1 << 14);
    let mut seq = 0u64;
    let mut expect = 0u64;
    // Both positions count bytes: an 8-byte header per record, records padded to 8.
    let mut pos = 0usize;
    for round in 0..200u64 {
        // Sizes chosen so records straddle the end of the 16 KiB area at varying offsets.
        let size = 8 + (round * 37) % 500;
        let count = 20;
        assert_eq!(p.run("produce_ring_b", count, size, seq), 0, "ring full");
        seq += count;
        pos += count as usize * (size as usize + 8).div_ceil(8) * 8;
        assert_eq!(ring.producer_pos(), pos);
        while let Some(s) = ring.next().unwrap() {
            assert_eq!(seq_of(&s), expect);
            check_record(&s, size as usize);
            expect += 1;
        }
        assert_eq!(ring.consumer_pos(), pos);
    }
    assert_eq!(expect, seq);
    assert_eq!(ring.pending_bytes(), 0);
}

#[test]
fn discarded_samples_are_skipped() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let mut ring = RingBuf::new(p.map("ring_a")).unwrap();
    assert_eq!(p.run("produce_discards", 30, 16, 0), 0);
    let mut got = vec![];
    ring.consume(|s: &[u8]| got.push(seq_of(s))).unwrap();
    let want: Vec<u64> = (0..30).filter(|s| s % 3 != 0).collect();
    assert_eq!(got, want);
}

#[test]
fn several_rings_in_one_poll_each_with_its_callback() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let a = RefCell::new(vec![]);
    let b = RefCell::new(vec![]);
    let mut builder = RingBuffer::builder();
    builder
        .add(p.map("ring_a"), |s: &[u8]| a.borrow_mut().push(seq_of(s)))
        .unwrap()
        .add(p.map("ring_b"), |s: &[u8]| b.borrow_mut().push(seq_of(s)))
        .unwrap();
    let mut rb = builder.build().unwrap();
    assert_eq!(rb.ring_count(), 2);
    assert_eq!(
        rb.poll(Duration::from_millis(10)).unwrap(),
        0,
        "nothing yet"
    );
    p.run("produce_ring_a", 5, 16, 100);
    p.run("produce_ring_b", 7, 16, 200);
    // Both maps are ready: one epoll_wait reports both.
    assert_eq!(rb.poll(Duration::from_secs(1)).unwrap(), 12);
    assert_eq!(*a.borrow(), (100..105).collect::<Vec<_>>());
    assert_eq!(*b.borrow(), (200..207).collect::<Vec<_>>());
}

#[test]
fn a_callback_can_stop_consumption() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let mut seen = vec![];
    {
        let mut builder = RingBuffer::builder();
        builder
            .add(p.map("ring_a"), |s: &[u8]| {
                seen.push(seq_of(s));
                if seq_of(s) == 4 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
        let mut rb = builder.build().unwrap();
        p.run("produce_ring_a", 10, 16, 0);
        assert_eq!(rb.poll(Duration::from_secs(1)).unwrap(), 5);
        // The sample the callback stopped on counts as consumed (as in libbpf): 5 records of 24
        // bytes (8-byte header, 16-byte sample).
        let ring = rb.ring(0).unwrap();
        assert_eq!(
            (ring.consumer_pos(), ring.producer_pos()),
            (5 * 24, 10 * 24)
        );
        assert_eq!(rb.consume_n(2).unwrap(), 2);
        assert_eq!(rb.consume().unwrap(), 3);
    }
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
}

#[test]
fn the_epoll_fd_signals_outside_loops() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let mut builder = RingBuffer::builder();
    builder.add(p.map("ring_b"), |_: &[u8]| ()).unwrap();
    let mut rb = builder.build().unwrap();
    let ready = |rb: &RingBuffer<'_>| {
        let fd = rb.epoll_fd();
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        let ts = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        };
        rustix::event::poll(&mut fds, Some(&ts)).unwrap()
    };
    assert_eq!(ready(&rb), 0);
    p.run("produce_ring_b", 3, 16, 0);
    assert_eq!(ready(&rb), 1);
    assert_eq!(rb.consume().unwrap(), 3);
}

#[test]
fn a_blocked_poll_wakes_for_a_producer_on_another_thread_and_loses_nothing() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let total = 200_000u64;
    let consumed = Arc::new(AtomicU64::new(0));
    let next = RefCell::new(0u64);
    let c = consumed.clone();
    let next = &next;
    let mut builder = RingBuffer::builder();
    builder
        .add(p.map("ring_a"), move |s: &[u8]| {
            let mut n = next.borrow_mut();
            assert_eq!(seq_of(s), *n, "out of order or lost");
            *n += 1;
            c.store(*n, Ordering::Relaxed);
        })
        .unwrap();
    let mut rb = builder.build().unwrap();
    let prog = p
        .obj
        .program("produce_ring_a")
        .unwrap()
        .handle()
        .unwrap()
        .try_clone()
        .unwrap();
    let c = consumed.clone();
    let producer = std::thread::spawn(move || {
        let mut seq = 0u64;
        while seq < total {
            // Stay at most 8 batches (192 KiB) ahead so a descheduled consumer never overflows
            // the 1 MiB ring; the consumer still sleeps in epoll between batches.
            while seq - c.load(Ordering::Relaxed) > 8000 {
                std::thread::yield_now();
            }
            let mut ctx = Vec::new();
            for a in [1000u64, 16, seq] {
                ctx.extend_from_slice(&a.to_ne_bytes());
            }
            let mut o = oxbpf::sys::bpf::TestRunOpts {
                ctx_in: &ctx,
                ..Default::default()
            };
            prog.test_run_opts(&mut o).unwrap();
            assert_eq!(o.retval, 0, "ring full");
            seq += 1000;
        }
    });
    let mut polls = 0;
    while *next.borrow() < total {
        let n = rb.poll(Duration::from_secs(5)).unwrap();
        polls += 1;
        if n == 0 && producer.is_finished() {
            break;
        }
    }
    producer.join().unwrap();
    assert_eq!(*next.borrow(), total);
    assert_eq!(rb.consume().unwrap(), 0);
    println!("{total} records in {polls} polls");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn tokio_next_waits_for_samples_and_a_cancelled_wait_loses_nothing() {
    use oxbpf::ringbuf::AsyncRingBuf;
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let p = std::sync::Arc::new(p);
    runtime().block_on(async {
        let mut ring = AsyncRingBuf::new(RingBuf::new(p.map("ring_b")).unwrap()).unwrap();
        // Cancelled while waiting: nothing consumed, nothing lost.
        let r = tokio::time::timeout(Duration::from_millis(20), ring.next()).await;
        assert!(r.is_err(), "no sample yet");
        let p2 = p.clone();
        let producer = std::thread::spawn(move || {
            for i in 0..20u64 {
                std::thread::sleep(Duration::from_millis(2));
                assert_eq!(p2.run("produce_ring_b", 10, 24, i * 10), 0);
            }
        });
        for want in 0..200u64 {
            let s = tokio::time::timeout(Duration::from_secs(5), ring.next())
                .await
                .expect("woken")
                .unwrap();
            assert_eq!(seq_of(&s), want);
        }
        producer.join().unwrap();
        assert!(ring.get_mut().next().unwrap().is_none());
    });
}

#[test]
fn tokio_ring_buffer_polls_several_rings() {
    use oxbpf::ringbuf::AsyncRingBuffer;
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let p = std::sync::Arc::new(p);
    let seen = RefCell::new(vec![]);
    runtime().block_on(async {
        let mut b = RingBuffer::builder();
        b.add(p.map("ring_a"), |s: &[u8]| {
            seen.borrow_mut().push(seq_of(s))
        })
        .unwrap()
        .add(p.map("ring_b"), |s: &[u8]| {
            seen.borrow_mut().push(seq_of(s))
        })
        .unwrap();
        let mut rb = AsyncRingBuffer::new(b.build().unwrap()).unwrap();
        let p2 = p.clone();
        let producer = std::thread::spawn(move || {
            for i in 0..10u64 {
                std::thread::sleep(Duration::from_millis(3));
                let ring = if i % 2 == 0 {
                    "produce_ring_a"
                } else {
                    "produce_ring_b"
                };
                assert_eq!(p2.run(ring, 5, 16, i * 5), 0);
            }
        });
        let mut n = 0;
        while n < 50 {
            n += tokio::time::timeout(Duration::from_secs(5), rb.poll())
                .await
                .expect("woken")
                .unwrap();
        }
        producer.join().unwrap();
    });
    let mut s = seen.into_inner();
    s.sort();
    assert_eq!(s, (0..50).collect::<Vec<_>>());
}

/// The next item of `s`, as `StreamExt::next` would give it (without pulling in futures-util).
async fn next_item<S: futures_core::Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_next(cx)).await
}

#[test]
fn tokio_stream_yields_owned_samples_and_cancelled_polls_lose_nothing() {
    use oxbpf::ringbuf::AsyncRingBuf;
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let p = std::sync::Arc::new(p);
    let fds = oxbpf_tests::open_fds();
    runtime().block_on(async {
        let mut stream = AsyncRingBuf::new(RingBuf::new(p.map("ring_b")).unwrap()).unwrap();
        let r = tokio::time::timeout(Duration::from_millis(20), next_item(&mut stream)).await;
        assert!(r.is_err(), "no sample yet");
        let total = 2000u64;
        let p2 = p.clone();
        let producer = std::thread::spawn(move || {
            let mut seq = 0;
            while seq < total {
                // Small bursts with gaps, so the consumer both waits and finds queued samples.
                std::thread::sleep(Duration::from_millis(3));
                let n = 100.min(total - seq);
                let size = 8 + (seq % 7) * 24;
                assert_eq!(p2.run("produce_ring_b", n, size, seq), 0, "ring full");
                seq += n;
            }
        });
        let mut want = 0u64;
        let mut cancelled = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while want < total {
            assert!(tokio::time::Instant::now() < deadline, "stuck at {want}");
            // A very short timeout drops many `next()` futures while they wait: each drop must
            // leave the sample it was about to get in the ring.
            match tokio::time::timeout(Duration::from_micros(100), next_item(&mut stream)).await {
                Err(_) => cancelled += 1,
                Ok(item) => {
                    let s: Vec<u8> = item.expect("the stream never ends").unwrap();
                    assert_eq!(seq_of(&s), want);
                    check_record(&s, 8);
                    want += 1;
                }
            }
        }
        producer.join().unwrap();
        assert!(stream.get_mut().next().unwrap().is_none(), "extra samples");
        assert!(cancelled > 0, "no wait was cancelled");
        println!("{total} samples, {cancelled} cancelled waits");
    });
    assert_eq!(oxbpf_tests::open_fds(), fds, "fd leak");
}
