//! The BPF producers shared by the event-stream tests: `stream_producer.bpf.c` (ring and perf
//! buffers) and `stream_user_ring.bpf.c` (the user ring buffer drain), loaded with oxbpf's object
//! loader and driven by `BPF_PROG_TEST_RUN` (args: count, size, first sequence number).
#![allow(dead_code)]

use oxbpf::kernel::features::probe_map_type;
use oxbpf::map::{MapHandle, MapType};
use oxbpf::sys::bpf::TestRunOpts;
use oxbpf::Object;

/// `BPF_F_TEST_RUN_ON_CPU`.
const TEST_RUN_ON_CPU: u32 = 1;

/// Serialises the tests of one binary: some count open fds, which parallel tests would disturb.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct Producer {
    pub obj: Object,
}

impl Producer {
    /// Loads the ring/perf buffer producer object, or prints the skip line and returns `None` when
    /// not root.
    pub fn load() -> Option<Producer> {
        Self::load_fixture("stream_producer")
    }

    /// Loads the user ring buffer drain object (maps `user_ring` and `echo`), or prints the skip
    /// line and returns `None` when not root or when the kernel has no user ring buffers (6.1+).
    pub fn load_user_ring() -> Option<Producer> {
        if oxbpf_tests::is_root() && !probe_map_type(MapType::UserRingbuf).unwrap() {
            oxbpf_tests::skip("kernel has no BPF_MAP_TYPE_USER_RINGBUF (added in 6.1)");
            return None;
        }
        Self::load_fixture("stream_user_ring")
    }

    fn load_fixture(name: &str) -> Option<Producer> {
        if !oxbpf_tests::is_root() {
            oxbpf_tests::skip("not root: cannot load BPF programs");
            return None;
        }
        let obj = Object::open_file(oxbpf_tests::fixture(name))
            .unwrap()
            .load()
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        Some(Producer { obj })
    }

    pub fn map(&self, name: &str) -> &MapHandle {
        self.obj.map(name).unwrap().handle().unwrap()
    }

    /// Runs `prog` once on CPU `cpu` (any CPU with `None`); returns the program's return value.
    pub fn run_on(&self, prog: &str, cpu: Option<u32>, count: u64, size: u64, seq: u64) -> u32 {
        let p = self.obj.program(prog).unwrap().handle().unwrap();
        let mut ctx = Vec::new();
        for a in [count, size, seq] {
            ctx.extend_from_slice(&a.to_ne_bytes());
        }
        let mut o = TestRunOpts {
            ctx_in: &ctx,
            flags: if cpu.is_some() { TEST_RUN_ON_CPU } else { 0 },
            cpu: cpu.unwrap_or(0),
            ..Default::default()
        };
        p.test_run_opts(&mut o).unwrap();
        o.retval
    }

    /// Runs `prog` once; returns how many records the kernel refused.
    pub fn run(&self, prog: &str, count: u64, size: u64, seq: u64) -> u32 {
        self.run_on(prog, None, count, size, seq)
    }
}

/// The sequence number of a producer record.
pub fn seq_of(sample: &[u8]) -> u64 {
    u64::from_ne_bytes(sample[..8].try_into().unwrap())
}

/// Checks the filler byte the producer writes after the sequence number (records of 16+ bytes).
pub fn check_record(sample: &[u8], size: usize) {
    assert!(sample.len() >= size, "{} < {size}", sample.len());
    if size >= 16 {
        assert_eq!(
            sample[8],
            seq_of(sample) as u8,
            "filler byte of {}",
            seq_of(sample)
        );
    }
}
