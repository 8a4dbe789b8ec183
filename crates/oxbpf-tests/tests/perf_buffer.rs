//! The perf buffer against a BPF producer running on a chosen CPU.

mod stream_util;

use std::cell::RefCell;
use std::time::Duration;

use oxbpf::perf_buffer::PerfBuffer;
use stream_util::{check_record, seq_of, Producer};

#[test]
fn samples_from_each_cpu_arrive_in_order_with_their_bytes() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let fds = oxbpf_tests::open_fds();
    let seen = RefCell::new(vec![]);
    {
        let mut pb = PerfBuffer::builder(p.map("events"))
            .pages(16)
            .sample_cb(|cpu, s: &[u8]| {
                check_record(s, 100);
                // 100 raw bytes come back padded so that 4 + size is a multiple of 8.
                assert_eq!(s.len(), 100);
                seen.borrow_mut().push((cpu, seq_of(s)));
            })
            .lost_cb(|cpu, n| panic!("lost {n} on cpu {cpu}"))
            .build()
            .unwrap();
        assert!(pb.buffer_count() >= 1);
        let cpus: Vec<i32> = (0..pb.buffer_count())
            .map(|i| pb.buffer_cpu(i).unwrap())
            .collect();
        for &cpu in &cpus {
            assert_eq!(
                p.run_on(
                    "produce_perf",
                    Some(cpu as u32),
                    100,
                    100,
                    1000 * cpu as u64
                ),
                0
            );
        }
        let mut n = 0;
        while n < 100 * cpus.len() {
            let got = pb.poll(Duration::from_secs(2)).unwrap();
            assert!(got > 0, "timed out after {n}");
            n += got;
        }
        let seen = seen.borrow();
        for &cpu in &cpus {
            let mine: Vec<u64> = seen.iter().filter(|s| s.0 == cpu).map(|s| s.1).collect();
            let base = 1000 * cpu as u64;
            assert_eq!(mine, (base..base + 100).collect::<Vec<_>>(), "cpu {cpu}");
        }
    }
    assert_eq!(oxbpf_tests::open_fds(), fds, "fd leak");
}

#[test]
fn overflow_is_reported_as_lost() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let got = RefCell::new(0u64);
    let lost = RefCell::new(0u64);
    let mut pb = PerfBuffer::builder(p.map("events"))
        .pages(1)
        .cpus(&[0])
        .sample_cb(|_, _: &[u8]| *got.borrow_mut() += 1)
        .lost_cb(|cpu, n| {
            assert_eq!(cpu, 0);
            *lost.borrow_mut() += n
        })
        .build()
        .unwrap();
    // 1000 records of ~264 bytes into one 4 KiB page: most cannot fit.
    let refused = p.run_on("produce_perf", Some(0), 1000, 256, 0);
    assert!(refused > 900, "refused {refused}");
    pb.consume().unwrap();
    // The kernel writes PERF_RECORD_LOST once there is room again, ahead of the next sample.
    assert_eq!(p.run_on("produce_perf", Some(0), 1, 256, 1000), 0);
    pb.consume().unwrap();
    let (got, lost) = (*got.borrow(), *lost.borrow());
    assert!(lost > 0, "no PERF_RECORD_LOST");
    assert_eq!(got + lost, 1001, "got {got} + lost {lost}");
    assert_eq!(u64::from(refused), lost);
}

#[test]
fn records_wrap_around_a_one_page_ring() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let next = RefCell::new(0u64);
    let size = RefCell::new(0usize);
    let mut pb = PerfBuffer::builder(p.map("events"))
        .pages(1)
        .cpus(&[0])
        .sample_cb(|_, s: &[u8]| {
            assert_eq!(seq_of(s), *next.borrow());
            check_record(s, *size.borrow());
            *next.borrow_mut() += 1;
        })
        .lost_cb(|_, n| panic!("lost {n}"))
        .build()
        .unwrap();
    let mut seq = 0u64;
    for round in 0..300u64 {
        let sz = 8 + (round * 53) % 400;
        *size.borrow_mut() = sz as usize;
        assert_eq!(p.run_on("produce_perf", Some(0), 5, sz, seq), 0);
        seq += 5;
        pb.consume().unwrap();
    }
    assert_eq!(*next.borrow(), seq);
    assert_eq!(pb.pending_bytes(0), Some(0));
}

#[test]
fn wakeup_events_batches_wakeups() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let got = RefCell::new(0usize);
    let mut pb = PerfBuffer::builder(p.map("events"))
        .pages(64)
        .cpus(&[0])
        .wakeup_events(100)
        .sample_cb(|_, _: &[u8]| *got.borrow_mut() += 1)
        .build()
        .unwrap();
    p.run_on("produce_perf", Some(0), 50, 16, 0);
    // Below the threshold: no wakeup, but the samples are there for consume().
    assert_eq!(pb.poll(Duration::from_millis(100)).unwrap(), 0);
    assert_eq!(pb.consume().unwrap(), 50);
    p.run_on("produce_perf", Some(0), 60, 16, 50);
    // 110 samples since the event was opened: the 100th woke the poller.
    assert_eq!(pb.poll(Duration::from_secs(1)).unwrap(), 60);
    assert_eq!(*got.borrow(), 110);
}

#[test]
fn a_sample_callback_can_stop_consumption() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let seen = RefCell::new(vec![]);
    let mut pb = PerfBuffer::builder(p.map("events"))
        .cpus(&[0])
        .sample_cb(|_, s: &[u8]| {
            seen.borrow_mut().push(seq_of(s));
            if seq_of(s) == 2 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })
        .build()
        .unwrap();
    p.run_on("produce_perf", Some(0), 6, 16, 0);
    assert_eq!(pb.consume().unwrap(), 3);
    assert_eq!(pb.consume().unwrap(), 3);
    assert_eq!(*seen.borrow(), (0..6).collect::<Vec<_>>());
}

#[test]
fn tokio_perf_buffer_wakes_on_samples() {
    use oxbpf::perf_buffer::AsyncPerfBuffer;
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let p = std::sync::Arc::new(p);
    let seen = RefCell::new(vec![]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pb = PerfBuffer::builder(p.map("events"))
            .cpus(&[0])
            .sample_cb(|_, s: &[u8]| seen.borrow_mut().push(seq_of(s)))
            .build()
            .unwrap();
        let mut pb = AsyncPerfBuffer::new(pb).unwrap();
        let r = tokio::time::timeout(Duration::from_millis(20), pb.poll()).await;
        assert!(r.is_err(), "nothing to read yet");
        let p2 = p.clone();
        let producer = std::thread::spawn(move || {
            for i in 0..10u64 {
                std::thread::sleep(Duration::from_millis(3));
                assert_eq!(p2.run_on("produce_perf", Some(0), 4, 16, i * 4), 0);
            }
        });
        let mut n = 0;
        while n < 40 {
            n += tokio::time::timeout(Duration::from_secs(5), pb.poll())
                .await
                .expect("woken")
                .unwrap();
        }
        producer.join().unwrap();
    });
    assert_eq!(seen.into_inner(), (0..40).collect::<Vec<_>>());
}

/// The next item of `s`, as `StreamExt::next` would give it (without pulling in futures-util).
async fn next_item<S: futures_core::Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_next(cx)).await
}

#[test]
fn tokio_stream_yields_samples_and_lost_events() {
    use oxbpf::perf_buffer::{PerfEvent, PerfEventStream};
    let _serial = stream_util::serial();
    let Some(p) = Producer::load() else { return };
    let p = std::sync::Arc::new(p);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // After the runtime: its own fds stay open until the end of the test.
    let fds = oxbpf_tests::open_fds();
    rt.block_on(async {
        let pb = PerfBuffer::builder(p.map("events"))
            .pages(1)
            .cpus(&[0])
            // Never called: the stream reads the rings itself.
            .sample_cb(|_, _: &[u8]| -> () { panic!("callback called") })
            .build()
            .unwrap();
        let mut stream = PerfEventStream::new(pb).unwrap();
        let r = tokio::time::timeout(Duration::from_millis(20), next_item(&mut stream)).await;
        assert!(r.is_err(), "nothing to read yet");

        // Overflow first: 500 records of ~264 bytes into one 4 KiB page.
        let refused = u64::from(p.run_on("produce_perf", Some(0), 500, 256, 0));
        assert!(refused > 400, "refused {refused}");
        let (mut samples, mut lost) = (vec![], 0u64);
        while (samples.len() as u64) < 500 - refused {
            let event = tokio::time::timeout(Duration::from_secs(5), next_item(&mut stream))
                .await
                .expect("woken")
                .expect("the stream never ends")
                .unwrap();
            match event {
                PerfEvent::Sample { cpu, data } => {
                    assert_eq!(cpu, 0);
                    check_record(&data, 256);
                    samples.push(seq_of(&data));
                }
                PerfEvent::Lost { .. } => panic!("lost before the kept samples"),
            }
        }
        // The kernel writes PERF_RECORD_LOST ahead of the next sample that fits.
        let p2 = p.clone();
        let producer = std::thread::spawn(move || {
            for i in 0..20u64 {
                std::thread::sleep(Duration::from_millis(2));
                assert_eq!(p2.run_on("produce_perf", Some(0), 2, 16, 500 + i * 2), 0);
            }
        });
        let mut tail = vec![];
        while tail.len() < 40 {
            // Short timeouts drop pending `next()`s; queued events must survive them.
            match tokio::time::timeout(Duration::from_micros(200), next_item(&mut stream)).await {
                Err(_) => continue,
                Ok(item) => match item.expect("the stream never ends").unwrap() {
                    PerfEvent::Sample { cpu, data } => {
                        assert_eq!(cpu, 0);
                        tail.push(seq_of(&data));
                    }
                    PerfEvent::Lost { cpu, count } => {
                        assert_eq!(cpu, 0);
                        lost += count;
                    }
                },
            }
        }
        producer.join().unwrap();
        assert_eq!(lost, refused, "every refused sample reported lost");
        assert_eq!(samples, (0..500 - refused).collect::<Vec<_>>());
        assert_eq!(tail, (500..540).collect::<Vec<_>>());
    });
    assert_eq!(oxbpf_tests::open_fds(), fds, "fd leak");
}
