//! The facts every kernel test relies on, checked wherever the tests run: on the host, and inside
//! `cargo xtask vmtest` guests (which set `VMTEST_KERNEL` to the series they booted). In a guest this
//! proves the matrix really runs the requested kernel with BTF, its config, bpffs and tracefs, and
//! that oxbpf's map layer works there; one map type shows how a feature an older kernel lacks
//! becomes a SKIP.

use std::ffi::CStr;

use oxbpf::map::{MapFlags, MapHandle, MapType};
use oxbpf::sys::bpf::MapCreateOpts;

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
    let _serial = oxbpf_tests::serial();
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
    let _serial = oxbpf_tests::serial();
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
    let _serial = oxbpf_tests::serial();
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let has = |fs: &str| mounts.lines().any(|l| l.split(' ').nth(2) == Some(fs));
    assert!(has("bpf"), "no bpffs in /proc/mounts:\n{mounts}");
    assert!(has("tracefs"), "no tracefs in /proc/mounts:\n{mounts}");
}

#[test]
fn array_map_roundtrip() {
    let _serial = oxbpf_tests::serial();
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot create BPF maps");
    }
    let fds = oxbpf_tests::open_fds();
    {
        let opts = MapCreateOpts::default();
        let map = MapHandle::create(MapType::Array, Some("vm_guest"), 4, 8, 1, &opts)
            .expect("BPF_MAP_CREATE array");
        let key = 0u32.to_ne_bytes();
        let value = 0x1122_3344_5566_7788u64.to_ne_bytes();
        map.update(&key, &value, MapFlags::ANY)
            .expect("BPF_MAP_UPDATE_ELEM");
        let got = map
            .lookup(&key, MapFlags::ANY)
            .expect("BPF_MAP_LOOKUP_ELEM");
        assert_eq!(got.as_deref(), Some(&value[..]));
    }
    assert_eq!(oxbpf_tests::open_fds(), fds, "fd leaked");
}

#[test]
fn user_ringbuf_map() {
    let _serial = oxbpf_tests::serial();
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot create BPF maps");
    }
    let opts = MapCreateOpts::default();
    match MapHandle::create(MapType::UserRingbuf, None, 0, 0, 4096 * 4, &opts) {
        Ok(map) => assert_eq!(map.max_entries(), 4096 * 4),
        Err(e) if e.errno() == Some(libc::EINVAL) => {
            oxbpf_tests::skip("kernel has no BPF_MAP_TYPE_USER_RINGBUF (added in 6.1)")
        }
        Err(e) => panic!("BPF_MAP_CREATE user ringbuf: {e}"),
    }
}
