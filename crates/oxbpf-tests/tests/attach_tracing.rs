//! Tracepoints, raw tracepoints, tp_btf, perf events and iterators, attached by oxbpf for real and
//! shown to fire; links leak no fds. kprobes and trampolines have their own test binaries
//! (attach_kprobes, attach_trampolines).

mod attach_util;

use std::os::fd::AsFd;

use attach_util::{count_target_rounds, read_u64, setup, Loaded, Target};
use oxbpf::attach::perf_event::{attach_perf_event, open_cpu_clock_event, PerfEventOpts};
use oxbpf::attach::tracepoint::{attach_tracepoint, TracepointOpts};
use oxbpf::attach::{attach_type, iter, raw_tp, tracing};
use oxbpf::kernel::features::{self, Feature};
use oxbpf::link::{link_type, Link};
use oxbpf::ErrorKind;

const C_TP: u32 = 0;
const C_RAW_TP: u32 = 1;
const C_TP_BTF: u32 = 2;
const C_PERF: u32 = 3;
const C_TP_COOKIE: u32 = 6;
const ROUNDS: u32 = 7;

/// Runs the target with its pid registered and returns how much slot `slot` grew.
fn run_target(obj: &Loaded, slot: u32) -> u64 {
    let prog = match slot {
        C_TP => "tp_getppid",
        C_RAW_TP => "raw_sys_enter",
        C_TP_BTF => "btf_sys_enter",
        _ => unreachable!("slot {slot} has no syscall program"),
    };
    // The cookie slot is reset with the tracepoint's, so that a repeated run is not added twice.
    let reset_too: &[u32] = if slot == C_TP { &[C_TP_COOKIE] } else { &[] };
    count_target_rounds(obj.object(), ROUNDS, &[(slot, prog)], reset_too)[0]
}

#[test]
fn tracepoint_counts_child_syscalls_by_link_and_by_ioctl() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_trace", &["tp_getppid"]).unwrap();
    let prog = obj.prog("tp_getppid");
    let before = oxbpf_tests::LeakCheck::start();
    // Cookies and perf-event BPF links arrived in 5.15; older kernels take the ioctl path.
    let cookies = features::supported(Feature::BpfCookie).unwrap_or(false);
    let perf_links = features::supported(Feature::PerfLink).unwrap_or(false);
    {
        let link = attach_tracepoint(
            prog.as_fd(),
            "syscalls",
            "sys_enter_getppid",
            &TracepointOpts {
                cookie: if cookies { 3 } else { 0 },
                ..Default::default()
            },
        )
        .unwrap();
        if perf_links {
            assert!(link.fd().is_some(), "perf event attached with a BPF link");
            assert_eq!(link.info().unwrap().link_type, link_type::PERF_EVENT);
        } else {
            assert!(link.fd().is_none() && link.perf_event_fd().is_some());
        }
        let fired = run_target(&obj, C_TP);
        println!("tracepoint fired {fired} times for {ROUNDS} getppid calls");
        assert_eq!(fired, u64::from(ROUNDS));
        if cookies {
            assert_eq!(
                read_u64(&obj.map("counts"), C_TP_COOKIE),
                3 * u64::from(ROUNDS),
                "cookie reaches the program"
            );
        } else {
            let err = attach_tracepoint(
                prog.as_fd(),
                "syscalls",
                "sys_enter_getppid",
                &TracepointOpts {
                    cookie: 3,
                    ..Default::default()
                },
            )
            .unwrap_err();
            println!("cookie refused: {err}");
        }
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
    match iter::attach_iter(prog.as_fd(), iter::IterTarget::Pid(std::process::id())) {
        Ok(mine) => {
            let out = String::from_utf8(iter::read_iter(&mine).unwrap()).unwrap();
            assert!(
                !out.is_empty()
                    && out
                        .lines()
                        .all(|l| l.split_whitespace().next() == Some(me.as_str())),
                "{out}"
            );
        }
        // Task iterators restricted to a pid or fd arrived in 6.1; older kernels reject the
        // larger link_info (E2BIG).
        Err(e) if e.errno() == Some(libc::E2BIG) => {
            println!("task iterator for one pid refused by this kernel (added in 6.1): {e}");
        }
        Err(e) => panic!("{e}"),
    }
    drop(link);
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
