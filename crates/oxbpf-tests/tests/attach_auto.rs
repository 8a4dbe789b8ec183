//! Auto-attach through the oxbpf loader: `Object::attach_all` / `Object::attach_program` /
//! `Program::attach` choose the mechanism from the SEC() name, and the programs fire.

mod attach_util;

use attach_util::{setup, Target};
use oxbpf::map::MapFlags;
use oxbpf::object::Object;
use oxbpf::ErrorKind;

const ROUNDS: u32 = 5;

fn read(obj: &Object, map: &str, key: u32) -> u64 {
    let h = obj.map(map).unwrap().handle().unwrap();
    let v = h
        .lookup(&key.to_ne_bytes(), MapFlags::ANY)
        .unwrap()
        .unwrap();
    u64::from_ne_bytes(v[..8].try_into().unwrap())
}

#[test]
fn attach_all_tracing_programs_from_their_sections() {
    let Some(_serial) = setup() else { return };
    let mut open = Object::open_file(oxbpf_tests::fixture("attach_trace")).unwrap();
    // No kprobes on this kernel; the perf_event program has no auto-attach and is skipped.
    open.set_autoload("kp_unlinkat", false).unwrap();
    let obj = open.load().unwrap();
    let before = oxbpf_tests::open_fds();
    let links = obj.attach_all().unwrap();
    let mut names: Vec<&str> = links.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["btf_sys_enter", "dump_task", "raw_sys_enter", "tp_getppid"]
    );
    let t = Target::spawn(ROUNDS);
    obj.map("target_pid")
        .unwrap()
        .handle()
        .unwrap()
        .update(&0u32.to_ne_bytes(), &t.pid().to_ne_bytes(), MapFlags::ANY)
        .unwrap();
    t.run();
    for (slot, what) in [(0, "tp"), (1, "raw_tp"), (2, "tp_btf")] {
        assert_eq!(read(&obj, "counts", slot), u64::from(ROUNDS), "{what}");
    }
    let err = obj.attach_program("on_cpu_clock").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotSupported);
    assert!(err.to_string().contains("attach_perf_event"), "{err}");
    drop(links);
    assert_eq!(
        oxbpf_tests::open_fds(),
        before,
        "auto-attached links leak no fds"
    );
}

#[test]
fn kprobe_section_auto_attach_explains_missing_kprobes() {
    let Some(_serial) = setup() else { return };
    if std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        return oxbpf_tests::skip("this kernel has kprobes; the refusal cannot be shown");
    }
    let mut open = Object::open_file(oxbpf_tests::fixture("attach_trace")).unwrap();
    for p in [
        "tp_getppid",
        "raw_sys_enter",
        "btf_sys_enter",
        "on_cpu_clock",
        "dump_task",
    ] {
        open.set_autoload(p, false).unwrap();
    }
    let obj = open.load().unwrap();
    let err = obj.program("kp_unlinkat").unwrap().attach().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotSupported);
    assert!(
        err.to_string().contains("prog 'kp_unlinkat'")
            && err.to_string().contains("no kprobe support"),
        "{err}"
    );
    assert!(obj.attach_all().is_err(), "attach_all stops at the kprobe");
}

#[test]
fn uprobe_section_with_library_and_function() {
    let Some(_serial) = setup() else { return };
    let mut open = Object::open_file(oxbpf_tests::fixture("attach_probes")).unwrap();
    for p in ["on_add", "on_add_ret", "on_add_multi"] {
        open.set_autoload(p, false).unwrap();
    }
    let obj = open.load().unwrap();
    let prog = obj.program("on_libc").unwrap();
    assert!(prog.can_auto_attach());
    let before = read(&obj, "counts", 3);
    let link = prog.attach().unwrap();
    let t = Target::spawn(ROUNDS);
    t.run();
    // Every process calling getppid counts; at least our target's rounds did.
    assert!(read(&obj, "counts", 3) - before >= u64::from(ROUNDS));
    drop(link);
}
