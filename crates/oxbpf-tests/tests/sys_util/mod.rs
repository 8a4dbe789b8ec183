//! Helpers shared by the low-level API tests (sys_*, map_*, prog_*, probes): a fd-leak guard, bpffs and
//! cgroup2 locations, a hand-encoded BTF blob, and the raw fds some map types store.
#![allow(dead_code)]

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

use oxbpf::sys::bpf::btf_load;

/// Checks on drop that the test body closed every fd it opened and unmapped every BPF mapping. The fd table is per process and the
/// test harness runs tests on threads, so guarded tests run one at a time (a process-wide lock).
pub struct FdGuard {
    before: oxbpf_tests::LeakCheck,
    _serial: std::sync::MutexGuard<'static, ()>,
}

impl FdGuard {
    pub fn new() -> Self {
        let serial = oxbpf_tests::serial();
        FdGuard {
            before: oxbpf_tests::LeakCheck::start(),
            _serial: serial,
        }
    }
}

impl Drop for FdGuard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.before.assert_clean("FdGuard");
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

/// Raw BTF from type words and a string section (header computed).
pub fn btf_bytes(type_words: &[u32], strings: &[u8]) -> Vec<u8> {
    let types: Vec<u8> = type_words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let mut b = Vec::new();
    b.extend_from_slice(&0xeb9fu16.to_ne_bytes());
    b.push(1); // version
    b.push(0); // flags
    let (tl, sl) = (types.len() as u32, strings.len() as u32);
    for w in [
        24u32, /* hdr_len */
        0,     /* type_off */
        tl, tl, /* str_off */
        sl,
    ] {
        b.extend_from_slice(&w.to_ne_bytes());
    }
    b.extend_from_slice(&types);
    b.extend_from_slice(strings);
    b
}

/// Raw BTF with one type: [1] INT 'int' size 4, 32 bits, signed.
pub fn int_btf_bytes() -> Vec<u8> {
    // name_off, info (kind INT), size, encoding (signed, 32 bits)
    btf_bytes(&[1, 1 << 24, 4, (1 << 24) | 32], b"\0int\0")
}

/// BTF for a program with one callback: [1] int, [2] int(void), [3] FUNC main, [4] void *,
/// [5] int(void *, void *), [6] FUNC cb. Use func_info {0, 3} and {cb_insn, 6}.
pub fn callback_btf() -> OwnedFd {
    let int = [1, 1 << 24, 4, (1 << 24) | 32];
    let proto0 = [0, 13 << 24, 1];
    let main = [5, 12 << 24, 2];
    let ptr = [0, 2 << 24, 0];
    let proto2 = [0, (13 << 24) | 2, 1, 13, 4, 15, 4]; // params named (FUNC requires it)
    let cb = [10, 12 << 24, 5];
    let words: Vec<u32> = [&int[..], &proto0, &main, &ptr, &proto2, &cb].concat();
    btf_load(&btf_bytes(&words, b"\0int\0main\0cb\0a\0b\0"), None, None).expect("load callback BTF")
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

/// An AF_XDP socket bound (copy mode) to queue 0 of `ifindex`, with its UMEM; `None` when the kernel
/// has no AF_XDP or refuses the bind. The UMEM memory must outlive the socket, so both are returned.
pub fn xsk_socket(ifindex: u32) -> Option<(OwnedFd, Vec<u8>)> {
    // SAFETY: socket() takes plain integers and returns a new fd or -1.
    let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a fresh socket we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut umem = vec![0u8; 16 * 4096 + 4096];
    // Page-align the UMEM inside the buffer.
    let base = umem.as_mut_ptr() as usize;
    let addr = (base + 4095) & !4095;
    let reg = libc::xdp_umem_reg {
        addr: addr as u64,
        len: 16 * 4096,
        chunk_size: 2048,
        headroom: 0,
        flags: 0,
        tx_metadata_len: 0,
    };
    let ring: u32 = 64;
    let set = |opt: libc::c_int, val: *const libc::c_void, len: usize| -> bool {
        // SAFETY: `val` points to `len` readable bytes for the call.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_XDP,
                opt,
                val,
                len as libc::socklen_t,
            ) == 0
        }
    };
    let ok = set(
        libc::XDP_UMEM_REG,
        (&reg as *const libc::xdp_umem_reg).cast(),
        std::mem::size_of_val(&reg),
    ) && set(libc::XDP_UMEM_FILL_RING, (&ring as *const u32).cast(), 4)
        && set(
            libc::XDP_UMEM_COMPLETION_RING,
            (&ring as *const u32).cast(),
            4,
        )
        && set(libc::XDP_RX_RING, (&ring as *const u32).cast(), 4);
    if !ok {
        return None;
    }
    let sa = libc::sockaddr_xdp {
        sxdp_family: libc::AF_XDP as u16,
        sxdp_flags: libc::XDP_COPY,
        sxdp_ifindex: ifindex,
        sxdp_queue_id: 0,
        sxdp_shared_umem_fd: 0,
    };
    // SAFETY: `sa` is a valid sockaddr_xdp of the given length for the call.
    let r = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&sa as *const libc::sockaddr_xdp).cast(),
            std::mem::size_of_val(&sa) as libc::socklen_t,
        )
    };
    (r == 0).then_some((sock, umem))
}

/// A listening TCP socket on 127.0.0.1 with SO_REUSEPORT set (reuseport_sockarray members).
pub fn reuseport_listener() -> OwnedFd {
    // SAFETY: socket() takes plain integers and returns a new fd or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    let sock = owned(fd, "socket");
    let one: libc::c_int = 1;
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `one` and `sa` are valid for the sizes passed, for the duration of each call.
    let ok = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of_val(&one) as libc::socklen_t,
        ) == 0
            && libc::bind(
                sock.as_raw_fd(),
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of_val(&sa) as libc::socklen_t,
            ) == 0
            && libc::listen(sock.as_raw_fd(), 8) == 0
    };
    assert!(
        ok,
        "reuseport listener: {}",
        std::io::Error::last_os_error()
    );
    sock
}
