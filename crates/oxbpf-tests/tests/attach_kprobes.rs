//! kprobe, kretprobe, ksyscall, kretsyscall, kprobe.multi and kprobe.session attached with oxbpf's
//! explicit calls: on a kernel with kprobes each fires on this process's getpgid calls and sees the
//! argument, return value and cookie; on a kernel without kprobes the error says why.

mod attach_util;

use std::os::fd::AsFd;

use attach_util::{read_u64, reset_u64, setup, Loaded};
use oxbpf::attach::kprobe::{self, KprobeMultiOpts, KprobeOpts, ProbeAttachMode};
use oxbpf::kernel::features::{self, Feature};
use oxbpf::ErrorKind;

const K_KPROBE: u32 = 0;
const K_KRETPROBE: u32 = 1;
const K_KSYSCALL: u32 = 2;
const K_KRETSYSCALL: u32 = 3;
const K_MULTI: u32 = 4;
const K_MULTI_RET: u32 = 5;
const K_SESSION: u32 = 6;
const K_COOKIE: u32 = 7;
const ROUNDS: u32 = 9;
const FUNC: &str = "__x64_sys_getpgid";

/// True when this kernel can create kprobes at all (the PMU or tracefs `kprobe_events`).
fn have_kprobes() -> bool {
    std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists()
        || std::path::Path::new("/sys/kernel/tracing/kprobe_events").exists()
        || std::path::Path::new("/sys/kernel/debug/tracing/kprobe_events").exists()
}

/// Calls getpgid(own pid) `n` times; returns this process's pid and process group.
fn getpgid_loop(n: u32) -> (u64, u64) {
    let me = std::process::id() as i32;
    let mut pgid = 0;
    for _ in 0..n {
        // SAFETY: getpgid has no memory arguments.
        pgid = unsafe { libc::getpgid(me) };
        assert!(pgid > 0, "getpgid: {}", std::io::Error::last_os_error());
    }
    (me as u64, pgid as u64)
}

fn load(progs: &[&str]) -> Loaded {
    let obj = Loaded::load("attach_kprobe", progs).unwrap();
    obj.set_u32("target_pid", 0, std::process::id());
    obj
}

fn reset(obj: &Loaded) {
    for slot in 0..=K_COOKIE {
        reset_u64(&obj.map("counts"), slot);
        reset_u64(&obj.map("seen"), slot);
    }
}

/// Calls getpgid `ROUNDS` times and checks that `slot` counted each call and saw `want(pid, pgid)`.
fn check_fires(obj: &Loaded, slot: u32, what: &str, want: impl Fn(u64, u64) -> u64) {
    reset(obj);
    let (pid, pgid) = getpgid_loop(ROUNDS);
    let fired = read_u64(&obj.map("counts"), slot);
    let seen = read_u64(&obj.map("seen"), slot);
    println!("{what}: fired {fired} times for {ROUNDS} getpgid calls, saw {seen}");
    assert_eq!(fired, u64::from(ROUNDS), "{what} fired once per call");
    assert_eq!(seen, want(pid, pgid), "{what}: argument / return value");
}

#[test]
fn kprobes_fire_with_arguments_return_values_and_cookies() {
    let Some(_serial) = setup() else { return };
    let obj = load(&["kp_getpgid", "krp_getpgid", "ks_getpgid", "krs_getpgid"]);
    let (kp, krp) = (obj.prog("kp_getpgid"), obj.prog("krp_getpgid"));
    let (ks, krs) = (obj.prog("ks_getpgid"), obj.prog("krs_getpgid"));
    let before = oxbpf_tests::LeakCheck::start();
    if !have_kprobes() {
        let err = kprobe::attach_kprobe(kp.as_fd(), FUNC, &Default::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotSupported, "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&format!("kprobe '{FUNC}'")), "{msg}");
        assert!(
            msg.contains("no kprobe support") && msg.contains("CONFIG_KPROBES"),
            "{msg}"
        );
        assert!(
            msg.contains("/sys/bus/event_source/devices/kprobe") && msg.contains("kprobe_events"),
            "{msg}"
        );
        let err = kprobe::attach_ksyscall(ks.as_fd(), "getpgid", false, 0).unwrap_err();
        assert!(err.to_string().contains(FUNC), "{err}");
        assert!(err.to_string().contains("no kprobe support"), "{err}");
        println!("kprobe error: {msg}");
        before.assert_clean("fds and BPF mappings");
        return;
    }
    let cookies = features::supported(Feature::BpfCookie).unwrap_or(false);
    for (mode, how) in [
        (ProbeAttachMode::Default, "kprobe PMU with a BPF link"),
        (
            ProbeAttachMode::Perf,
            "kprobe PMU with PERF_EVENT_IOC_SET_BPF",
        ),
        (ProbeAttachMode::Legacy, "tracefs kprobe_events"),
    ] {
        let cookie = if cookies && mode != ProbeAttachMode::Perf {
            0x00c0_ffee
        } else {
            0
        };
        let entry = kprobe::attach_kprobe(
            kp.as_fd(),
            FUNC,
            &KprobeOpts {
                cookie,
                mode,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{how}: {e}"));
        let ret = kprobe::attach_kprobe(
            krp.as_fd(),
            FUNC,
            &KprobeOpts {
                retprobe: true,
                mode,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{how} (return): {e}"));
        check_fires(&obj, K_KPROBE, &format!("kprobe via {how}"), |pid, _| pid);
        if cookies {
            assert_eq!(
                read_u64(&obj.map("seen"), K_COOKIE),
                cookie,
                "{how}: cookie"
            );
        }
        check_fires(&obj, K_KRETPROBE, &format!("kretprobe via {how}"), |_, g| g);
        drop((entry, ret));
        reset(&obj);
        getpgid_loop(ROUNDS);
        assert_eq!(read_u64(&obj.map("counts"), K_KPROBE), 0, "{how}: detached");
    }
    let entry = kprobe::attach_ksyscall(ks.as_fd(), "getpgid", false, 0).unwrap();
    let ret = kprobe::attach_ksyscall(krs.as_fd(), "getpgid", true, 0).unwrap();
    check_fires(&obj, K_KSYSCALL, "ksyscall", |pid, _| pid);
    check_fires(&obj, K_KRETSYSCALL, "kretsyscall", |_, g| g);
    drop((entry, ret));
    let err = kprobe::attach_kprobe(kp.as_fd(), "oxbpf_no_such_function", &Default::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("oxbpf_no_such_function"), "{err}");
    before.assert_clean("fds and BPF mappings");
}

/// True when `err` is the kernel refusing an attach type it does not have (EINVAL for an unknown
/// type, EOPNOTSUPP when it was built without the mechanism).
fn kernel_lacks(err: &oxbpf::Error) -> bool {
    matches!(err.errno(), Some(libc::EINVAL | libc::EOPNOTSUPP))
}

#[test]
fn kprobe_multi_fires_on_a_glob_and_on_names_with_cookies() {
    let Some(_serial) = setup() else { return };
    let obj = load(&["kpm_getpgid", "krpm_getpgid"]);
    let (kpm, krpm) = (obj.prog("kpm_getpgid"), obj.prog("krpm_getpgid"));
    let before = oxbpf_tests::LeakCheck::start();
    let glob = "__x64_sys_getpgi*";
    let entry = kprobe::attach_kprobe_multi(kpm.as_fd(), Some(glob), &Default::default());
    if !have_kprobes() {
        let err = entry.unwrap_err();
        assert!(err.to_string().contains("kprobe.multi"), "{err}");
        println!("kprobe.multi error: {err}");
        drop(err);
        before.assert_clean("fds and BPF mappings");
        return;
    }
    let entry = match entry {
        Err(e) if kernel_lacks(&e) => {
            return oxbpf_tests::skip(format!(
                "kprobe.multi refused by this kernel (needs 5.18 and CONFIG_FPROBE): {e}"
            ))
        }
        r => r.unwrap(),
    };
    let ret = kprobe::attach_kprobe_multi(
        krpm.as_fd(),
        Some(glob),
        &KprobeMultiOpts {
            retprobe: true,
            ..Default::default()
        },
    )
    .unwrap();
    check_fires(&obj, K_MULTI, "kprobe.multi (glob)", |pid, _| pid);
    check_fires(&obj, K_MULTI_RET, "kretprobe.multi (glob)", |_, g| g);
    drop((entry, ret));
    // By name, with a cookie per function.
    let named = kprobe::attach_kprobe_multi(
        kpm.as_fd(),
        None,
        &KprobeMultiOpts {
            syms: vec![FUNC.to_string()],
            cookies: vec![7],
            ..Default::default()
        },
    )
    .unwrap();
    check_fires(&obj, K_MULTI, "kprobe.multi (by name)", |pid, _| pid);
    drop(named);
    reset(&obj);
    getpgid_loop(ROUNDS);
    assert_eq!(read_u64(&obj.map("counts"), K_MULTI), 0, "detached");
    let err =
        kprobe::attach_kprobe_multi(kpm.as_fd(), Some("oxbpf_no_such_fn*"), &Default::default())
            .unwrap_err();
    assert!(err.to_string().contains("oxbpf_no_such_fn*"), "{err}");
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn kprobe_session_runs_at_entry_and_return() {
    let Some(_serial) = setup() else { return };
    let obj = match Loaded::load("attach_kprobe", &["kps_getpgid"]) {
        Ok(o) => o,
        Err(e) if e.contains("Invalid argument") => {
            return oxbpf_tests::skip(format!(
                "kprobe.session programs refused by this kernel (added in 6.10): {e}"
            ))
        }
        Err(e) => panic!("{e}"),
    };
    obj.set_u32("target_pid", 0, std::process::id());
    let kps = obj.prog("kps_getpgid");
    let before = oxbpf_tests::LeakCheck::start();
    let r = kprobe::attach_kprobe_multi(
        kps.as_fd(),
        Some("__x64_sys_getpgi*"),
        &KprobeMultiOpts {
            session: true,
            ..Default::default()
        },
    );
    let link = match r {
        Err(e) if !have_kprobes() => {
            assert!(e.to_string().contains("kprobe.multi"), "{e}");
            println!("kprobe.session error: {e}");
            drop(e);
            before.assert_clean("fds and BPF mappings");
            return;
        }
        Err(e) if kernel_lacks(&e) => {
            return oxbpf_tests::skip(format!(
                "kprobe.session refused by this kernel (needs 6.10 and CONFIG_FPROBE): {e}"
            ))
        }
        r => r.unwrap(),
    };
    reset(&obj);
    getpgid_loop(ROUNDS);
    let fired = read_u64(&obj.map("counts"), K_SESSION);
    println!("kprobe.session fired {fired} times for {ROUNDS} getpgid calls");
    assert_eq!(
        fired,
        2 * u64::from(ROUNDS),
        "once at entry, once at return"
    );
    drop(link);
    before.assert_clean("fds and BPF mappings");
}
