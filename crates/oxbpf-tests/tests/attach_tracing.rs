//! Tracepoints, raw tracepoints, tp_btf, perf events and iterators, attached by oxbpf for real and
//! shown to fire; kprobe and trampoline refusals on this kernel explained; links leak no fds.

mod attach_util;

use std::os::fd::AsFd;

use attach_util::{read_u64, reset_u64, setup, Loaded, Target};
use oxbpf::attach::perf_event::{attach_perf_event, open_cpu_clock_event, PerfEventOpts};
use oxbpf::attach::tracepoint::{attach_tracepoint, TracepointOpts};
use oxbpf::attach::{attach_type, iter, kprobe, raw_tp, tracing};
use oxbpf::link::{link_type, Link};
use oxbpf::ErrorKind;

const C_TP: u32 = 0;
const C_RAW_TP: u32 = 1;
const C_TP_BTF: u32 = 2;
const C_PERF: u32 = 3;
const C_KPROBE: u32 = 4;
const C_TP_COOKIE: u32 = 6;
const ROUNDS: u32 = 7;

/// Runs the target with its pid registered and returns how much slot `slot` grew.
fn run_target(obj: &Loaded, slot: u32) -> u64 {
    let counts = obj.map("counts");
    reset_u64(&counts, slot);
    let t = Target::spawn(ROUNDS);
    obj.set_u32("target_pid", 0, t.pid());
    t.run();
    read_u64(&counts, slot)
}

#[test]
fn tracepoint_counts_child_syscalls_by_link_and_by_ioctl() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_trace", &["tp_getppid"]).unwrap();
    let prog = obj.prog("tp_getppid");
    let before = oxbpf_tests::LeakCheck::start();
    {
        let link = attach_tracepoint(
            prog.as_fd(),
            "syscalls",
            "sys_enter_getppid",
            &TracepointOpts {
                cookie: 3,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            link.fd().is_some(),
            "kernel 6.18 attaches perf events with a BPF link"
        );
        assert_eq!(link.info().unwrap().link_type, link_type::PERF_EVENT);
        assert_eq!(run_target(&obj, C_TP), u64::from(ROUNDS));
        assert_eq!(
            read_u64(&obj.map("counts"), C_TP_COOKIE),
            3 * u64::from(ROUNDS),
            "cookie reaches the program"
        );
        drop(link);
        // Detached: the next run counts nothing.
        assert_eq!(run_target(&obj, C_TP), 0);
    }
    {
        let opts = TracepointOpts {
            force_ioctl_attach: true,
            ..Default::default()
        };
        let link = attach_tracepoint(prog.as_fd(), "syscalls", "sys_enter_getppid", &opts).unwrap();
        assert!(
            link.fd().is_none() && link.perf_event_fd().is_some(),
            "legacy path holds only the event"
        );
        assert_eq!(run_target(&obj, C_TP), u64::from(ROUNDS));
        drop(link);
        assert_eq!(run_target(&obj, C_TP), 0);
    }
    before.assert_clean("tracepoint links leak no fds");

    let err = attach_tracepoint(
        prog.as_fd(),
        "syscalls",
        "sys_enter_no_such_call",
        &TracepointOpts::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.to_string()
            .contains("tracepoint 'syscalls:sys_enter_no_such_call' not found"),
        "{err}"
    );
}

#[test]
fn raw_tracepoint_counts_child_syscalls() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_trace", &["raw_sys_enter"]).unwrap();
    let prog = obj.prog("raw_sys_enter");
    let before = oxbpf_tests::LeakCheck::start();
    let link = raw_tp::attach_raw_tracepoint(prog.as_fd(), "sys_enter", 0).unwrap();
    assert_eq!(link.info().unwrap().link_type, link_type::RAW_TRACEPOINT);
    assert_eq!(run_target(&obj, C_RAW_TP), u64::from(ROUNDS));
    drop(link);
    assert_eq!(run_target(&obj, C_RAW_TP), 0);
    before.assert_clean("fds and BPF mappings");

    let err = raw_tp::attach_raw_tracepoint(prog.as_fd(), "no_such_raw_tp", 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("raw tracepoint 'no_such_raw_tp' not found"),
        "{err}"
    );
}

#[test]
fn tp_btf_counts_child_syscalls() {
    let Some(_serial) = setup() else { return };
    let obj = match Loaded::load("attach_trace", &["btf_sys_enter"]) {
        Ok(o) => o,
        Err(e) if e.contains("Operation not permitted") => {
            return oxbpf_tests::skip(format!("kernel refused tp_btf: {e}"))
        }
        Err(e) => panic!("{e}"),
    };
    let prog = obj.prog("btf_sys_enter");
    let before = oxbpf_tests::LeakCheck::start();
    let link = tracing::attach_trace(prog.as_fd(), attach_type::TRACE_RAW_TP, &Default::default())
        .unwrap();
    assert_eq!(run_target(&obj, C_TP_BTF), u64::from(ROUNDS));
    drop(link);
    assert_eq!(run_target(&obj, C_TP_BTF), 0);
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn perf_event_on_software_cpu_clock_fires() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_trace", &["on_cpu_clock"]).unwrap();
    let prog = obj.prog("on_cpu_clock");
    let counts = obj.map("counts");
    let before = oxbpf_tests::LeakCheck::start();
    let link = attach_perf_event(
        prog.as_fd(),
        open_cpu_clock_event(0, 1000).unwrap(),
        &PerfEventOpts::default(),
    )
    .unwrap();
    // Keep CPU 0 busy-ish: the cpu-clock event ticks while anything runs there; sleep-wake loops suffice.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while read_u64(&counts, C_PERF) < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let fired = read_u64(&counts, C_PERF);
    assert!(fired >= 5, "perf_event program fired {fired} times");
    drop(link);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let after = read_u64(&counts, C_PERF);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        read_u64(&counts, C_PERF),
        after,
        "detached event stops firing"
    );
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn task_iterator_lists_this_process() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_trace", &["dump_task"]).unwrap();
    let prog = obj.prog("dump_task");
    let before = oxbpf_tests::LeakCheck::start();
    let link = iter::attach_iter(prog.as_fd(), iter::IterTarget::All).unwrap();
    assert_eq!(link.info().unwrap().link_type, link_type::ITER);
    let child = Target::spawn(1);
    // Wait until the child has exec'd (its comm changes then).
    let comm = format!("/proc/{}/comm", child.pid());
    while std::fs::read_to_string(&comm).unwrap_or_default().trim() != "attach_target" {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = String::from_utf8(iter::read_iter(&link).unwrap()).unwrap();
    let me = std::process::id().to_string();
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().next() == Some(me.as_str())),
        "own pid {me} in:\n{}",
        &out[..out.len().min(500)]
    );
    let child_line = format!("{} attach_target", child.pid());
    assert!(
        out.lines().any(|l| l == child_line),
        "child '{child_line}' listed"
    );
    child.run();
    // A second walk works too, and one restricted to our pid lists only our threads.
    assert!(!iter::read_iter(&link).unwrap().is_empty());
    let mine = iter::attach_iter(prog.as_fd(), iter::IterTarget::Pid(std::process::id())).unwrap();
    let out = String::from_utf8(iter::read_iter(&mine).unwrap()).unwrap();
    assert!(
        !out.is_empty()
            && out
                .lines()
                .all(|l| l.split_whitespace().next() == Some(me.as_str())),
        "{out}"
    );
    drop((link, mine));
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn link_pin_open_update_detach() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_trace", &["raw_sys_enter", "dump_task"]).unwrap();
    let prog = obj.prog("raw_sys_enter");
    let before = oxbpf_tests::LeakCheck::start();
    let dir = std::path::Path::new("/sys/fs/bpf");
    if !dir.join(".").exists() {
        return oxbpf_tests::skip("bpffs not mounted at /sys/fs/bpf");
    }
    let pin = dir.join(format!("oxbpf_attach_test_{}", std::process::id()));
    let mut link = raw_tp::attach_raw_tracepoint(prog.as_fd(), "sys_enter", 0).unwrap();
    let info = link.info().unwrap();
    link.pin(&pin).unwrap();
    assert_eq!(link.pin_path(), Some(pin.as_path()));
    drop(link);
    // Pinned: dropping did not detach; the program still counts.
    assert_eq!(run_target(&obj, C_RAW_TP), u64::from(ROUNDS));
    let mut reopened = Link::open_pinned(&pin).unwrap();
    assert_eq!(reopened.info().unwrap().id, info.id);
    reopened.unpin().unwrap();
    assert!(!pin.exists());
    // Raw tracepoint links cannot swap programs; the kernel says so and the link is unchanged.
    let other = obj.prog("dump_task");
    assert!(reopened.update_prog(other.as_fd()).is_err());
    reopened.detach().unwrap();
    assert_eq!(run_target(&obj, C_RAW_TP), 0);
    drop(other);
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn kprobe_refusal_is_explained() {
    let Some(_serial) = setup() else { return };
    let have_kprobes = std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists()
        || std::path::Path::new("/sys/kernel/tracing/kprobe_events").exists();
    let obj = Loaded::load("attach_trace", &["kp_unlinkat"]).unwrap();
    let prog = obj.prog("kp_unlinkat");
    let before = oxbpf_tests::LeakCheck::start();
    let r = kprobe::attach_kprobe(prog.as_fd(), "do_unlinkat", &Default::default());
    if have_kprobes {
        // A kernel with kprobes attaches and fires on unlink, by PMU and by tracefs; a missing
        // function is named.
        let counts = obj.map("counts");
        for (link, how) in [
            (r.unwrap(), "default"),
            (
                kprobe::attach_kprobe(
                    prog.as_fd(),
                    "do_unlinkat",
                    &kprobe::KprobeOpts {
                        mode: kprobe::ProbeAttachMode::Legacy,
                        ..Default::default()
                    },
                )
                .unwrap(),
                "legacy tracefs",
            ),
            (
                kprobe::attach_ksyscall(prog.as_fd(), "unlinkat", false, 0).unwrap(),
                "ksyscall",
            ),
        ] {
            reset_u64(&counts, C_KPROBE);
            let f = std::env::temp_dir().join(format!("oxbpf_kprobe_{}", std::process::id()));
            std::fs::write(&f, b"x").unwrap();
            std::fs::remove_file(&f).unwrap();
            assert!(read_u64(&counts, C_KPROBE) >= 1, "{how}: kprobe fired");
            drop(link);
        }
        let err =
            kprobe::attach_kprobe(prog.as_fd(), "oxbpf_no_such_function", &Default::default())
                .unwrap_err();
        assert!(err.to_string().contains("oxbpf_no_such_function"), "{err}");
    } else {
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotSupported, "{err}");
        let msg = err.to_string();
        assert!(msg.contains("kprobe 'do_unlinkat'"), "{msg}");
        assert!(
            msg.contains("no kprobe support") && msg.contains("CONFIG_KPROBES"),
            "{msg}"
        );
        assert!(
            msg.contains("/sys/bus/event_source/devices/kprobe") && msg.contains("kprobe_events"),
            "{msg}"
        );
        let err = kprobe::attach_ksyscall(prog.as_fd(), "unlinkat", false, 0).unwrap_err();
        assert!(
            err.to_string().contains("__x64_sys_unlinkat") || !cfg!(target_arch = "x86_64"),
            "{err}"
        );
        assert!(err.to_string().contains("no kprobe support"), "{err}");
        let err =
            kprobe::attach_kprobe_multi(prog.as_fd(), Some("do_unlinkat*"), &Default::default())
                .unwrap_err();
        println!("kprobe error: {msg}\nkprobe.multi error: {err}");
    }
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn fentry_refusal_is_explained() {
    let Some(_serial) = setup() else { return };
    // Load a trivial fentry program on a real kernel function with the raw bpf(2) wrapper.
    let out = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let id: u32 = text
        .lines()
        .find(|l| l.contains(" FUNC 'do_unlinkat' "))
        .and_then(|l| l.trim_start_matches('[').split(']').next())
        .and_then(|n| n.parse().ok())
        .expect("do_unlinkat in vmlinux BTF");
    use oxbpf::insn::Insn;
    let insns = [Insn::mov64_imm(0, 0), Insn::exit()];
    let opts = oxbpf::sys::bpf::ProgLoadOpts {
        expected_attach_type: attach_type::TRACE_FENTRY,
        attach_btf_id: id,
        ..Default::default()
    };
    const BPF_PROG_TYPE_TRACING: u32 = 26;
    match oxbpf::sys::bpf::prog_load(
        BPF_PROG_TYPE_TRACING,
        Some("fe"),
        "GPL",
        &insns,
        &opts,
        None,
    ) {
        Ok(fd) => {
            // This kernel allows trampolines: attaching must work.
            let link =
                tracing::attach_trace(fd.as_fd(), attach_type::TRACE_FENTRY, &Default::default())
                    .unwrap();
            drop(link);
        }
        Err(e) => {
            assert_eq!(e.errno(), Some(libc::EPERM), "{e}");
            let e = tracing::explain_trampoline_refusal(e, attach_type::TRACE_FENTRY);
            assert_eq!(e.kind(), ErrorKind::PermissionDenied);
            assert!(
                e.to_string()
                    .contains("the kernel refused fentry programs (EPERM)"),
                "{e}"
            );
            let lsm = tracing::explain_trampoline_refusal(
                oxbpf::Error::from_errno("BPF_PROG_LOAD", libc::EPERM),
                attach_type::LSM_MAC,
            );
            assert!(lsm.to_string().contains("refused LSM programs"), "{lsm}");
        }
    }
}

#[test]
fn trampoline_programs_attach_or_their_refusal_is_explained() {
    let Some(_serial) = setup() else { return };
    for prog in ["on_unlink_entry", "on_unlink_exit", "on_file_open"] {
        let mut open =
            oxbpf::object::Object::open_file(oxbpf_tests::fixture("attach_tramp")).unwrap();
        for other in ["on_unlink_entry", "on_unlink_exit", "on_file_open"] {
            open.set_autoload(other, other == prog).unwrap();
        }
        match open.load() {
            Ok(obj) => {
                // A kernel with trampolines: auto-attach from the section works and fires on unlink.
                let link = obj.attach_program(prog).unwrap();
                if prog != "on_file_open" {
                    let f =
                        std::env::temp_dir().join(format!("oxbpf_fentry_{}", std::process::id()));
                    std::fs::write(&f, b"x").unwrap();
                    std::fs::remove_file(&f).unwrap();
                    let bss = obj
                        .maps()
                        .iter()
                        .find(|m| m.name().ends_with(".bss"))
                        .unwrap();
                    let v = bss
                        .handle()
                        .unwrap()
                        .lookup(&0u32.to_ne_bytes(), oxbpf::map::MapFlags::ANY)
                        .unwrap()
                        .unwrap();
                    let hits = u64::from_ne_bytes(v[..8].try_into().unwrap());
                    assert!(hits >= 1, "{prog} fired");
                }
                drop(link);
            }
            Err(e) => {
                let msg = e.to_string();
                println!("{prog}: {msg}");
                assert_eq!(e.errno(), Some(libc::EPERM), "{msg}");
                assert_eq!(e.kind(), ErrorKind::PermissionDenied);
                let what = if prog == "on_file_open" {
                    "LSM"
                } else if prog == "on_unlink_entry" {
                    "fentry"
                } else {
                    "fexit"
                };
                assert!(
                    msg.contains(&format!("the kernel refused {what} programs (EPERM)")),
                    "{msg}"
                );
            }
        }
    }
}
