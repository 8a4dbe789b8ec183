//! The facts every kernel test relies on, checked wherever the tests run: on the host, and inside
//! `cargo xtask vmtest` guests (which set `VMTEST_KERNEL` to the series they booted). In a guest this
//! proves the matrix really runs the requested kernel with BTF, its config, bpffs and tracefs, and
//! that `bpf(2)` works there; one map type shows how a feature an older kernel lacks becomes a SKIP.

use std::ffi::CStr;
use std::os::fd::{FromRawFd, OwnedFd};

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_MAP_TYPE_USER_RINGBUF: u32 = 31;

/// The leading members of `union bpf_attr` used here (map create, element ops), padded to the
/// union's size.
#[repr(C)]
#[derive(Default)]
struct Attr {
    a: u32,
    b: u32,
    c: u64,
    d: u64,
    e: u64,
    pad: [u64; 12],
}

/// `bpf(cmd, attr)`; the errno on failure.
fn bpf(cmd: libc::c_long, attr: &mut Attr) -> Result<libc::c_long, i32> {
    // SAFETY: attr is a live, writable, zero-padded buffer of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut Attr,
            std::mem::size_of::<Attr>() as u32,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

fn map_create(map_type: u32, key: u32, value: u32, entries: u32) -> Result<OwnedFd, i32> {
    let mut attr = Attr {
        a: map_type,
        b: key,
        c: u64::from(value) | u64::from(entries) << 32,
        ..Default::default()
    };
    let fd = bpf(BPF_MAP_CREATE, &mut attr)?;
    // SAFETY: BPF_MAP_CREATE returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn release() -> String {
    // SAFETY: utsname is plain data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u is a valid utsname to write into.
    assert_eq!(unsafe { libc::uname(&mut u) }, 0);
    // SAFETY: uname NUL-terminates release.
    unsafe { CStr::from_ptr(u.release.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn runs_on_the_requested_kernel_with_btf() {
    let rel = release();
    println!("uname -r: {rel}");
    if let Ok(series) = std::env::var("VMTEST_KERNEL") {
        assert!(
            rel.starts_with(&format!("{series}.")),
            "vmtest asked for {series}, the guest runs {rel}"
        );
    }
    let btf = std::fs::metadata("/sys/kernel/btf/vmlinux").expect("kernel BTF");
    assert!(
        btf.len() > 1 << 20,
        "vmlinux BTF is only {} bytes",
        btf.len()
    );
}

#[test]
fn kernel_config_is_readable() {
    let boot = format!("/boot/config-{}", release());
    let config = match std::fs::read_to_string(&boot) {
        Ok(c) => c,
        Err(_) => {
            let out = std::process::Command::new("gzip")
                .args(["-dc", "/proc/config.gz"])
                .output()
                .expect("run gzip");
            assert!(out.status.success(), "neither {boot} nor /proc/config.gz");
            String::from_utf8(out.stdout).unwrap()
        }
    };
    assert!(config.lines().any(|l| l == "CONFIG_BPF_SYSCALL=y"));
}

#[test]
fn bpffs_and_tracefs_are_mounted() {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let has = |fs: &str| mounts.lines().any(|l| l.split(' ').nth(2) == Some(fs));
    assert!(has("bpf"), "no bpffs in /proc/mounts:\n{mounts}");
    assert!(has("tracefs"), "no tracefs in /proc/mounts:\n{mounts}");
}

#[test]
fn array_map_roundtrip() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot create BPF maps");
    }
    let fds = oxbpf_tests::open_fds();
    {
        let map = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 1).expect("BPF_MAP_CREATE array");
        let fd = std::os::fd::AsRawFd::as_raw_fd(&map) as u32;
        let key = 0u32;
        let value = 0x1122_3344_5566_7788u64;
        let mut attr = Attr {
            a: fd,
            c: &key as *const u32 as u64,
            d: &value as *const u64 as u64,
            ..Default::default()
        };
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr).expect("BPF_MAP_UPDATE_ELEM");
        let mut out = 0u64;
        let mut attr = Attr {
            a: fd,
            c: &key as *const u32 as u64,
            d: &mut out as *mut u64 as u64,
            ..Default::default()
        };
        bpf(BPF_MAP_LOOKUP_ELEM, &mut attr).expect("BPF_MAP_LOOKUP_ELEM");
        assert_eq!(out, value);
    }
    assert_eq!(oxbpf_tests::open_fds(), fds, "fd leaked");
}

#[test]
fn user_ringbuf_map() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot create BPF maps");
    }
    match map_create(BPF_MAP_TYPE_USER_RINGBUF, 0, 0, 4096 * 4) {
        Ok(_) => {}
        Err(libc::EINVAL) => {
            oxbpf_tests::skip("kernel has no BPF_MAP_TYPE_USER_RINGBUF (added in 6.1)")
        }
        Err(e) => panic!("BPF_MAP_CREATE user ringbuf: errno {e}"),
    }
}
