//! The user ring buffer producer, drained by a BPF program (`bpf_user_ringbuf_drain`) that echoes
//! each sample into a ring buffer with its value doubled.

mod stream_util;

use std::time::{Duration, Instant};

use oxbpf::ringbuf::RingBuf;
use oxbpf::user_ringbuf::UserRingBuffer;
use oxbpf::ErrorKind;
use stream_util::Producer;

fn write(
    rb: &UserRingBuffer,
    seq: u64,
    value: u64,
) -> oxbpf::user_ringbuf::UserRingBufferSample<'_> {
    let mut s = rb.reserve(16).unwrap();
    s[..8].copy_from_slice(&seq.to_ne_bytes());
    s[8..].copy_from_slice(&value.to_ne_bytes());
    s
}

fn echoes(ring: &mut RingBuf) -> Vec<(u64, u64)> {
    let mut out = vec![];
    ring.consume(|s: &[u8]| {
        out.push((
            u64::from_ne_bytes(s[..8].try_into().unwrap()),
            u64::from_ne_bytes(s[8..16].try_into().unwrap()),
        ))
    })
    .unwrap();
    out
}

#[test]
fn submitted_samples_are_drained_by_the_program_with_their_content() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load_user_ring() else {
        return;
    };
    let fds = oxbpf_tests::open_fds();
    {
        let urb = UserRingBuffer::new(p.map("user_ring")).unwrap();
        let mut echo = RingBuf::new(p.map("echo")).unwrap();
        let mut want = vec![];
        for i in 0..50u64 {
            let s = write(&urb, i, i * 1000 + 7);
            match i % 5 {
                0 => s.discard(),
                1 => drop(s), // dropping discards too
                _ => {
                    s.submit();
                    want.push((i, (i * 1000 + 7) * 2));
                }
            }
        }
        let ret = p.run("drain_user_ring", 0, 0, 0);
        assert_eq!(ret >> 16, 0, "the program saw malformed samples");
        assert_eq!(
            ret & 0xffff,
            30,
            "drained count (discarded samples are skipped)"
        );
        assert_eq!(echoes(&mut echo), want);
    }
    assert_eq!(oxbpf_tests::open_fds(), fds, "fd leak");
}

#[test]
fn a_full_ring_is_busy_and_reserve_blocking_waits_for_a_drain() {
    let _serial = stream_util::serial();
    let Some(p) = Producer::load_user_ring() else {
        return;
    };
    let urb = UserRingBuffer::new(p.map("user_ring")).unwrap();
    let mut echo = RingBuf::new(p.map("echo")).unwrap();
    let mut n = 0u64;
    loop {
        match urb.reserve(16) {
            Ok(mut s) => {
                s[..8].copy_from_slice(&n.to_ne_bytes());
                s[8..].copy_from_slice(&1u64.to_ne_bytes());
                s.submit();
                n += 1;
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
                break;
            }
        }
    }
    assert_eq!(n, (1 << 14) / 24, "16 KiB of 24-byte records");
    assert!(urb.reserve(1 << 15).unwrap_err().kind() == ErrorKind::InvalidInput);

    let t = Instant::now();
    let err = urb
        .reserve_blocking(16, Duration::from_millis(100))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(t.elapsed() >= Duration::from_millis(100));

    let prog = p
        .obj
        .program("drain_user_ring")
        .unwrap()
        .handle()
        .unwrap()
        .try_clone()
        .unwrap();
    let drainer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let ctx = [0u8; 24];
        let mut o = oxbpf::sys::bpf::TestRunOpts {
            ctx_in: &ctx,
            ..Default::default()
        };
        prog.test_run_opts(&mut o).unwrap();
        o.retval
    });
    let t = Instant::now();
    let s = urb.reserve_blocking(16, Duration::from_secs(5)).unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    s.discard();
    let drained = drainer.join().unwrap();
    assert_eq!(u64::from(drained & 0xffff), n);
    let got = echoes(&mut echo);
    assert_eq!(got.len() as u64, n);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, &(s, v))| s == i as u64 && v == 2));
}

#[test]
fn tokio_reserve_waits_for_the_program_to_drain() {
    use oxbpf::user_ringbuf::AsyncUserRingBuffer;
    let _serial = stream_util::serial();
    let Some(p) = Producer::load_user_ring() else {
        return;
    };
    let p = std::sync::Arc::new(p);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let urb =
            AsyncUserRingBuffer::new(UserRingBuffer::new(p.map("user_ring")).unwrap()).unwrap();
        let mut n = 0u64;
        while let Ok(s) = urb.get_ref().reserve(16) {
            s.submit();
            n += 1;
        }
        // Full: a cancelled wait reserves nothing.
        let r = tokio::time::timeout(Duration::from_millis(20), urb.reserve(16)).await;
        assert!(r.is_err(), "the ring is full");
        let p2 = p.clone();
        let drainer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            p2.run("drain_user_ring", 0, 0, 0)
        });
        let mut s = tokio::time::timeout(Duration::from_secs(5), urb.reserve(16))
            .await
            .expect("woken by the drain")
            .unwrap();
        s.fill(0);
        s.submit();
        assert_eq!(u64::from(drainer.join().unwrap() & 0xffff), n);
    });
}
