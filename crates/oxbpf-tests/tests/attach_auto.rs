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
    let before = oxbpf_tests::LeakCheck::start();
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
    before.assert_clean("auto-attached links leak no fds");
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

#[test]
fn usdt_through_the_oxbpf_loader() {
    let Some(_serial) = setup() else { return };
    let bin = attach_util::target_binary();
    let obj = Object::open_file(oxbpf_tests::fixture("attach_usdt"))
        .unwrap()
        .load()
        .unwrap();
    let usdt = obj
        .usdt_manager()
        .unwrap()
        .expect("the object has __bpf_usdt_specs");
    let prog = obj.program("on_args").unwrap().handle().unwrap();
    let before = oxbpf_tests::LeakCheck::start();
    let t = Target::spawn(ROUNDS);
    let opts = oxbpf::attach::usdt::UsdtOpts {
        pid: Some(t.pid() as i32),
        cookie: 77,
    };
    let link = usdt
        .attach(
            std::os::fd::AsFd::as_fd(prog),
            bin.to_str().unwrap(),
            "oxbpf",
            "args",
            &opts,
        )
        .unwrap();
    t.run();
    assert_eq!(read(&obj, "counts", 0), u64::from(ROUNDS));
    let recs = obj.map("usdt_recs").unwrap().handle().unwrap();
    for i in 0..ROUNDS {
        let v = recs
            .lookup(&i.to_ne_bytes(), MapFlags::ANY)
            .unwrap()
            .unwrap();
        let word = |k: usize| i64::from_ne_bytes(v[k * 8..k * 8 + 8].try_into().unwrap());
        assert_eq!(
            (word(0), word(1), word(2), word(3), word(4)),
            (
                i64::from(i),
                0x1_2345_6789 + i64::from(i),
                -i64::from(i),
                3,
                77
            )
        );
    }
    drop(link);
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn struct_ops_through_the_oxbpf_loader() {
    let Some(_serial) = setup() else { return };
    let obj = match Object::open_file(oxbpf_tests::fixture("attach_struct_ops"))
        .unwrap()
        .load()
    {
        Ok(o) => o,
        Err(e)
            if e.kind() == ErrorKind::PermissionDenied || e.kind() == ErrorKind::NotSupported =>
        {
            return oxbpf_tests::skip(format!("kernel refused struct_ops: {e}"))
        }
        Err(e) => panic!("{e}"),
    };
    let before = oxbpf_tests::LeakCheck::start();
    let link = obj.map("oxcc").unwrap().attach_struct_ops().unwrap();
    assert_eq!(
        link.info().unwrap().link_type,
        oxbpf::link::link_type::STRUCT_OPS
    );
    let cc =
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap();
    assert!(cc.split_whitespace().any(|c| c == "oxbpf_cc"), "{cc}");
    drop(link);
    let cc =
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap();
    assert!(!cc.split_whitespace().any(|c| c == "oxbpf_cc"), "{cc}");
    // Attaching again reuses the value already written, like libbpf.
    drop(obj.map("oxcc").unwrap().attach_struct_ops().unwrap());
    before.assert_clean("fds and BPF mappings");
}
