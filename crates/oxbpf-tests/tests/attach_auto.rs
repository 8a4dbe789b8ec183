//! Auto-attach through the oxbpf loader: `Object::attach_all` / `Object::attach_program` /
//! `Program::attach` choose the mechanism from the SEC() name, and the programs fire.

mod attach_util;

use attach_util::{count_target_rounds, have_kprobes, open_only, setup, Target};
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
    // kprobes are auto-attached in their own tests; the perf_event program has no auto-attach and
    // is skipped.
    open.set_autoload("kp_getpgid", false).unwrap();
    let obj = open.load().unwrap();
    let before = oxbpf_tests::LeakCheck::start();
    let links = obj.attach_all().unwrap();
    let mut names: Vec<&str> = links.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["btf_sys_enter", "dump_task", "raw_sys_enter", "tp_getppid"]
    );
    let got = count_target_rounds(
        &obj,
        ROUNDS,
        &[
            (0, "tp_getppid"),
            (1, "raw_sys_enter"),
            (2, "btf_sys_enter"),
        ],
        &[],
    );
    assert_eq!(got, [u64::from(ROUNDS); 3], "tp, raw_tp, tp_btf");
    let err = obj.attach_program("on_cpu_clock").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotSupported);
    assert!(err.to_string().contains("attach_perf_event"), "{err}");
    drop(links);
    before.assert_clean("auto-attached links leak no fds");
}

/// Loads the kprobe fixture with only `progs`, counting this process's calls.
fn load_kprobes(progs: &[&str]) -> oxbpf::Result<Object> {
    let obj = open_only("attach_kprobe", progs)?.load()?;
    obj.map("target_pid")
        .unwrap()
        .handle()
        .unwrap()
        .update(
            &0u32.to_ne_bytes(),
            &std::process::id().to_ne_bytes(),
            MapFlags::ANY,
        )
        .unwrap();
    Ok(obj)
}

/// Calls getpgid(own pid) `ROUNDS` times; returns this process's pid and process group.
fn getpgid_loop() -> (u64, u64) {
    let me = std::process::id() as i32;
    let mut pgid = 0;
    for _ in 0..ROUNDS {
        // SAFETY: getpgid has no memory arguments.
        pgid = unsafe { libc::getpgid(me) };
    }
    (me as u64, pgid as u64)
}

#[test]
fn kprobe_sections_auto_attach_and_fire_or_explain_missing_kprobes() {
    let Some(_serial) = setup() else { return };
    let progs = ["kp_getpgid", "krp_getpgid", "ks_getpgid", "krs_getpgid"];
    let obj = load_kprobes(&progs).unwrap();
    if !have_kprobes() {
        let err = obj.program("kp_getpgid").unwrap().attach().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotSupported);
        assert!(
            err.to_string().contains("prog 'kp_getpgid'")
                && err.to_string().contains("no kprobe support"),
            "{err}"
        );
        assert!(obj.attach_all().is_err(), "attach_all stops at the kprobe");
        return;
    }
    let before = oxbpf_tests::LeakCheck::start();
    let links = obj.attach_all().unwrap();
    assert_eq!(links.len(), progs.len());
    let (pid, pgid) = getpgid_loop();
    // Slots: kprobe, kretprobe, ksyscall, kretsyscall (see attach_kprobe.bpf.c).
    for (slot, what, want) in [
        (0, "kprobe/__x64_sys_getpgid", pid),
        (1, "kretprobe/__x64_sys_getpgid", pgid),
        (2, "ksyscall/getpgid", pid),
        (3, "kretsyscall/getpgid", pgid),
    ] {
        let fired = read(&obj, "counts", slot);
        println!("{what}: fired {fired} times for {ROUNDS} calls");
        assert_eq!(fired, u64::from(ROUNDS), "{what}");
        assert_eq!(
            read(&obj, "seen", slot),
            want,
            "{what}: argument / return value"
        );
    }
    drop(links);
    before.assert_clean("auto-attached kprobes leak no fds");
}

#[test]
fn kprobe_multi_and_session_sections_auto_attach_and_fire() {
    let Some(_serial) = setup() else { return };
    if !have_kprobes() {
        return oxbpf_tests::skip("this kernel has no kprobes (see the kprobe refusal tests)");
    }
    let obj = load_kprobes(&["kpm_getpgid", "krpm_getpgid"]).unwrap();
    let before = oxbpf_tests::LeakCheck::start();
    let entry = match obj.program("kpm_getpgid").unwrap().attach() {
        Err(e) if matches!(e.errno(), Some(libc::EINVAL | libc::EOPNOTSUPP)) => {
            return oxbpf_tests::skip(format!(
                "kprobe.multi refused by this kernel (needs 5.18 and CONFIG_FPROBE): {e}"
            ))
        }
        r => r.unwrap(),
    };
    let ret = obj.program("krpm_getpgid").unwrap().attach().unwrap();
    let (pid, pgid) = getpgid_loop();
    for (slot, what, want) in [
        (4, "kprobe.multi/__x64_sys_getpgi*", pid),
        (5, "kretprobe.multi/__x64_sys_getpgi*", pgid),
    ] {
        let fired = read(&obj, "counts", slot);
        println!("{what}: fired {fired} times for {ROUNDS} calls");
        assert_eq!(fired, u64::from(ROUNDS), "{what}");
        assert_eq!(read(&obj, "seen", slot), want, "{what}");
    }
    drop((entry, ret));
    // kprobe.session (6.10): entry and return in one program.
    match load_kprobes(&["kps_getpgid"]).map(|o| (o.program("kps_getpgid").unwrap().attach(), o)) {
        Ok((Ok(link), o)) => {
            getpgid_loop();
            let fired = read(&o, "counts", 6);
            println!("kprobe.session: fired {fired} times for {ROUNDS} calls");
            assert_eq!(fired, 2 * u64::from(ROUNDS), "entry and return");
            drop(link);
        }
        Ok((Err(e), _)) | Err(e) => {
            assert!(
                matches!(e.errno(), Some(libc::EINVAL | libc::EOPNOTSUPP)),
                "kprobe.session: {e}"
            );
            println!("kprobe.session refused by this kernel (added in 6.10): {e}");
        }
    }
    before.assert_clean("auto-attached multi-kprobes leak no fds");
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
        // .struct_ops.link maps (BPF_F_LINK) arrived in 6.4: the kernel's BTF has no
        // bpf_struct_ops_link_create before; attach_struct_ops tests plain maps there.
        Err(e) if e.errno() == Some(libc::EINVAL) && !attach_util::struct_ops_links() => {
            return oxbpf_tests::skip(format!(
                "struct_ops links unknown to this kernel (added in 6.4): {e}"
            ))
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
