//! Helpers shared by the low-level API tests (sys_*, map_*, prog_*, probes): a fd-leak guard, bpffs and
//! cgroup2 locations, a hand-encoded BTF blob, and the raw fds some map types store.
#![allow(dead_code)]

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use oxbpf::sys::bpf::btf_load;

/// Checks on drop that the test body closed every fd it opened. The fd table is per process and the
/// test harness runs tests on threads, so guarded tests run one at a time (a process-wide lock).
pub struct FdGuard {
    before: usize,
    _serial: std::sync::MutexGuard<'static, ()>,
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl FdGuard {
    pub fn new() -> Self {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        FdGuard {
            before: oxbpf_tests::open_fds(),
            _serial: serial,
        }
    }
}

impl Drop for FdGuard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(oxbpf_tests::open_fds(), self.before, "fd leak");
        }
    }
}

/// True when the test may use the kernel; prints the skip line otherwise.
pub fn root() -> bool {
    if oxbpf_tests::is_root() {
        return true;
    }
    oxbpf_tests::skip("not root: the bpf(2) tests need CAP_BPF/CAP_SYS_ADMIN");
    false
}

/// The raw number of an fd, as fd-holding maps store it.
pub fn raw(fd: &impl AsFd) -> u32 {
    fd.as_fd().as_raw_fd() as u32
}

fn mounts() -> Vec<(String, String)> {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_src, dir, fstype) = (f.next()?, f.next()?, f.next()?);
            Some((dir.to_string(), fstype.to_string()))
        })
        .collect()
}

/// A fresh directory on a bpffs (mounting /sys/fs/bpf when no bpffs is mounted).
pub fn bpffs_tempdir() -> tempfile::TempDir {
    let bpffs = match mounts().into_iter().find(|(_, t)| t == "bpf") {
        Some((dir, _)) => PathBuf::from(dir),
        None => {
            let st = std::process::Command::new("mount")
                .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
                .status();
            assert!(
                st.map(|s| s.success()).unwrap_or(false),
                "cannot mount bpffs at /sys/fs/bpf"
            );
            PathBuf::from("/sys/fs/bpf")
        }
    };
    tempfile::Builder::new()
        .prefix("oxbpf-test-")
        .tempdir_in(bpffs)
        .unwrap()
}

/// The cgroup v2 mount point, if any.
pub fn cgroup2_dir() -> Option<PathBuf> {
    mounts()
        .into_iter()
        .find(|(_, t)| t == "cgroup2")
        .map(|(d, _)| PathBuf::from(d))
}

/// Raw BTF with one type: [1] INT 'int' size 4, 32 bits, signed.
pub fn int_btf_bytes() -> Vec<u8> {
    let strings = b"\0int\0";
    let mut types = Vec::new();
    for w in [
        1u32,           /* name_off */
        1 << 24,        /* kind INT */
        4,              /* size */
        (1 << 24) | 32, /* signed, 32 bits */
    ] {
        types.extend_from_slice(&w.to_ne_bytes());
    }
    let mut b = Vec::new();
    b.extend_from_slice(&0xeb9fu16.to_ne_bytes());
    b.push(1); // version
    b.push(0); // flags
    for w in [
        24u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strings.len() as u32,
    ] {
        b.extend_from_slice(&w.to_ne_bytes());
    }
    b.extend_from_slice(&types);
    b.extend_from_slice(strings);
    b
}

/// [`int_btf_bytes`] loaded into the kernel.
pub fn int_btf() -> OwnedFd {
    btf_load(&int_btf_bytes(), None, None).expect("load a one-int BTF")
}

fn owned(ret: i32, what: &str) -> OwnedFd {
    assert!(ret >= 0, "{what}: {}", std::io::Error::last_os_error());
    // SAFETY: `ret` is a fresh descriptor returned by the call named in `what`.
    unsafe { OwnedFd::from_raw_fd(ret) }
}

/// A bound UDP socket on 127.0.0.1 (sockmap/sockhash/sk_storage accept it).
pub fn udp_socket() -> std::net::UdpSocket {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap()
}

/// A software perf event (cpu-clock on CPU 0, every process), for perf event arrays.
pub fn perf_event_fd() -> OwnedFd {
    // struct perf_event_attr, PERF_ATTR_SIZE_VER0 (64 bytes): type, size, config, sample_period, ...
    let mut attr = [0u64; 8];
    attr[0] = 1 /* PERF_TYPE_SOFTWARE */ | (64u64 << 32) /* size */;
    attr[1] = 0; // PERF_COUNT_SW_CPU_CLOCK
    attr[2] = 1; // sample_period
    attr[3] = 1 << 10; // PERF_SAMPLE_RAW
                       // SAFETY: `attr` is 64 readable bytes laid out as perf_event_attr VER0 for the whole call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1i32,
            0i32,
            -1i32,
            8, /* PERF_FLAG_FD_CLOEXEC */
        )
    };
    owned(fd as i32, "perf_event_open")
}

/// A pidfd of this process (task storage keys).
pub fn pidfd_self() -> OwnedFd {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, std::process::id() as libc::c_long, 0) };
    owned(fd as i32, "pidfd_open")
}
