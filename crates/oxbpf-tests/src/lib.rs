//! Shared helpers for oxbpf's kernel tests: the compiled fixtures, the libbpf reference loader used by
//! the tag-parity harness, and small environment checks (root, bpffs, skip reporting).

pub mod libbpf_ref;
pub mod parity;
pub mod raw_progs;

mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

use std::path::PathBuf;

/// The header sets fixtures are compiled with: `"libbpf"` (libbpf 1.7's headers) and, once they exist,
/// `"oxbpf"` (ours).
pub fn header_sets() -> Vec<&'static str> {
    let mut sets: Vec<&str> = fixtures::FIXTURES.iter().map(|f| f.1).collect();
    sets.dedup();
    sets.sort();
    sets.dedup();
    sets
}

/// Every fixture name.
pub fn fixture_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = fixtures::FIXTURES.iter().map(|f| f.0).collect();
    names.dedup();
    names
}

/// The path of fixture `name` compiled with oxbpf's own headers (`tests/headers.rs` checks that this
/// build is instruction-identical to the libbpf-header one, `fixture_with(name, "libbpf")`).
pub fn fixture(name: &str) -> PathBuf {
    fixture_with(name, "oxbpf")
}

/// The header-compatibility fixtures (`bpf/headers/*.bpf.c`, used by `tests/headers.rs`); not part of
/// [`fixture_names`]. [`fixture_with`] finds them too.
pub fn header_fixture_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = fixtures::HEADER_FIXTURES.iter().map(|f| f.0).collect();
    names.dedup();
    names
}

/// The path of fixture `name` compiled with the header set `headers`.
pub fn fixture_with(name: &str, headers: &str) -> PathBuf {
    fixtures::FIXTURES
        .iter()
        .chain(fixtures::HEADER_FIXTURES)
        .find(|f| f.0 == name && f.1 == headers)
        .map(|f| PathBuf::from(f.2))
        .unwrap_or_else(|| panic!("no fixture {name:?} built with {headers:?} headers"))
}

/// Prints the standard skip line. Tests call this only when the kernel refuses a feature.
pub fn skip(reason: impl std::fmt::Display) {
    println!("SKIP: {reason}");
}

/// True when running as root (the kernel tests need CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether the running kernel is `major.minor` or newer, for behaviour no feature probe tells.
pub fn kernel_at_least(major: u32, minor: u32) -> bool {
    let v = oxbpf::kernel::version::kernel_version().expect("kernel version");
    v >= oxbpf::kernel::version::kernel_version_code(major, minor, 0)
}

/// The number of open file descriptors of this process, for leak checks around a test body.
///
/// Pipes and `/dev/null` are not counted: other tests of the same binary spawn processes (clang,
/// bpftool, ip) at any moment, and `std::process::Command` opens and closes those for each child.
/// The loader never opens either, so no leak of ours hides among them. (A count that included
/// them failed `headers::libbpf_loads_both_builds_identically` once in CI-like runs: 8 vs 7.)
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path()).is_ok_and(|t| {
                        let t = t.to_string_lossy();
                        !t.starts_with("pipe:") && t != "/dev/null"
                    })
                })
                .count()
        })
        .unwrap_or(0)
}

/// The memory mappings of this process that belong to BPF or perf objects (mmapped array maps,
/// ring buffers, perf buffers, arenas): the lines of `/proc/self/maps` naming an `anon_inode:` of
/// `bpf-*` or `[perf_event]`.
pub fn bpf_mappings() -> Vec<String> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("anon_inode:bpf") || l.contains("anon_inode:[perf_event]"))
        .map(str::to_owned)
        .collect()
}

/// A snapshot of this process's open fds and BPF mappings; [`LeakCheck::assert_clean`] asserts
/// that nothing opened or mapped since is still there. The caller holds [`serial`] for the whole
/// span (or uses [`leak_check`], which does), so no other test's fds are counted.
#[derive(Debug)]
pub struct LeakCheck {
    fds: usize,
    maps: Vec<String>,
}

impl LeakCheck {
    /// Takes the snapshot.
    pub fn start() -> LeakCheck {
        LeakCheck {
            fds: open_fds(),
            maps: bpf_mappings(),
        }
    }

    /// Panics, naming `what`, when the number of open fds differs from the snapshot's or a BPF
    /// mapping made since is still there.
    #[track_caller]
    pub fn assert_clean(&self, what: impl std::fmt::Display) {
        let fds = open_fds();
        let maps: Vec<String> = bpf_mappings()
            .into_iter()
            .filter(|m| !self.maps.contains(m))
            .collect();
        assert!(
            maps.is_empty(),
            "{what}: mapping leak: {} BPF mappings left:\n{}",
            maps.len(),
            maps.join("\n")
        );
        assert_eq!(fds, self.fds, "{what}: fd leak (open fds now vs before)");
    }
}

/// Runs `body` holding [`serial`] and asserts that it leaves no fd and no BPF mapping behind
/// (everything it created was dropped by the time it returns). Returns what `body` returns.
#[track_caller]
pub fn leak_check<T>(body: impl FnOnce() -> T) -> T {
    let _serial = serial();
    let check = LeakCheck::start();
    let out = body();
    check.assert_clean("leak_check");
    out
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Serialises the kernel tests of one test binary. Hold the guard for the whole test body in every
/// test of a binary that counts fds ([`open_fds`]): a test running beside it would open fds of its own.
/// A test that panicked while holding it does not poison the others.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}
