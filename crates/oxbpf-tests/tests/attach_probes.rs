//! uprobes, uretprobes and USDT probes attached by oxbpf to a test binary and to libc, shown to fire
//! with the right arguments; links leak no fds.

mod attach_util;

use std::os::fd::AsFd;

use attach_util::{read_u64, reset_u64, setup, target_binary, Loaded, Target};
use oxbpf::attach::kprobe::ProbeAttachMode;
use oxbpf::attach::uprobe::{attach_uprobe, attach_uprobe_multi, UprobeMultiOpts, UprobeOpts};
use oxbpf::attach::usdt::{find_usdt_targets, UsdtManager, UsdtOpts};
use oxbpf::kernel::features::{self, Feature};
use oxbpf::map::MapFlags;
use oxbpf::ErrorKind;

const C_UPROBE: u32 = 0;
const C_URETPROBE: u32 = 1;
const C_URET_SUM: u32 = 2;
const C_LIBC: u32 = 3;
const C_USDT: u32 = 0; // in attach_usdt's counts
const C_GATED: u32 = 1;
const ROUNDS: u32 = 7;

fn sum_0_to(n: u32) -> u64 {
    u64::from(n) * u64::from(n.saturating_sub(1)) / 2
}

#[test]
fn uprobe_and_uretprobe_on_a_test_binary_function() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_probes", &["on_add", "on_add_ret"]).unwrap();
    let (entry, ret) = (obj.prog("on_add"), obj.prog("on_add_ret"));
    let counts = obj.map("counts");
    let bin = target_binary();
    let before = oxbpf_tests::LeakCheck::start();
    for mode in [ProbeAttachMode::Default, ProbeAttachMode::Legacy] {
        for slot in [C_UPROBE, C_URETPROBE, C_URET_SUM] {
            reset_u64(&counts, slot);
        }
        let t = Target::spawn(ROUNDS);
        let opts = UprobeOpts {
            func_name: Some("oxbpf_target_add".into()),
            pid: Some(t.pid() as i32),
            mode,
            ..Default::default()
        };
        let l1 = attach_uprobe(entry.as_fd(), bin.to_str().unwrap(), &opts).unwrap();
        let l2 = attach_uprobe(
            ret.as_fd(),
            bin.to_str().unwrap(),
            &UprobeOpts {
                retprobe: true,
                ..opts.clone()
            },
        )
        .unwrap();
        t.run();
        assert_eq!(
            read_u64(&counts, C_UPROBE),
            u64::from(ROUNDS),
            "{mode:?}: uprobe hits"
        );
        assert_eq!(
            read_u64(&counts, C_URETPROBE),
            u64::from(ROUNDS),
            "{mode:?}: uretprobe hits"
        );
        // oxbpf_target_add(i, 100) returns i + 100.
        assert_eq!(
            read_u64(&counts, C_URET_SUM),
            sum_0_to(ROUNDS) + 100 * u64::from(ROUNDS),
            "{mode:?}: return values"
        );
        drop((l1, l2));
        // Detached (and, for the legacy mode, the tracefs probes removed): nothing fires.
        reset_u64(&counts, C_UPROBE);
        let t = Target::spawn(ROUNDS);
        t.run();
        assert_eq!(read_u64(&counts, C_UPROBE), 0);
    }
    let uprobe_events =
        std::fs::read_to_string("/sys/kernel/tracing/uprobe_events").unwrap_or_default();
    assert!(
        !uprobe_events.contains(&format!("oxbpf_{}_", std::process::id())),
        "legacy probes removed:\n{uprobe_events}"
    );
    before.assert_clean("uprobe links leak no fds");

    let err = attach_uprobe(
        entry.as_fd(),
        bin.to_str().unwrap(),
        &UprobeOpts {
            func_name: Some("oxbpf_missing_fn".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.to_string()
            .contains("function 'oxbpf_missing_fn' not found"),
        "{err}"
    );
}

#[test]
fn uprobe_on_libc_by_library_name() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_probes", &["on_libc"]).unwrap();
    let prog = obj.prog("on_libc");
    let counts = obj.map("counts");
    reset_u64(&counts, C_LIBC);
    let before = oxbpf_tests::LeakCheck::start();
    let t = Target::spawn(ROUNDS);
    // "libc.so.6" is found through the target's /proc/PID/maps; getppid is a libc function.
    let opts = UprobeOpts {
        func_name: Some("getppid".into()),
        pid: Some(t.pid() as i32),
        ..Default::default()
    };
    let link = attach_uprobe(prog.as_fd(), "libc.so.6", &opts).unwrap();
    t.run();
    assert_eq!(read_u64(&counts, C_LIBC), u64::from(ROUNDS));
    drop(link);
    // Without a pid, the library is found in /etc/ld.so.cache; a short name ("libc") works too.
    reset_u64(&counts, C_LIBC);
    let t = Target::spawn(ROUNDS);
    let link = attach_uprobe(
        prog.as_fd(),
        "libc",
        &UprobeOpts {
            func_name: Some("getppid".into()),
            ..Default::default()
        },
    )
    .unwrap();
    t.run();
    assert!(read_u64(&counts, C_LIBC) >= u64::from(ROUNDS));
    drop(link);
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn uprobe_multi_with_a_glob() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_probes", &["on_add_multi"]).unwrap();
    let prog = obj.prog("on_add_multi");
    let counts = obj.map("counts");
    reset_u64(&counts, C_UPROBE);
    let before = oxbpf_tests::LeakCheck::start();
    let t = Target::spawn(ROUNDS);
    let opts = UprobeMultiOpts {
        pid: Some(t.pid() as i32),
        ..Default::default()
    };
    let link = attach_uprobe_multi(
        prog.as_fd(),
        target_binary().to_str().unwrap(),
        Some("oxbpf_target_*"),
        &opts,
    );
    let link = match link {
        // Kernels before 6.6 have no uprobe.multi links (libbpf's probe says the same).
        Err(e) if !features::supported(Feature::UprobeMultiLink).unwrap_or(false) => {
            assert_eq!(e.errno(), Some(libc::EINVAL), "{e}");
            drop(t);
            return oxbpf_tests::skip(format!(
                "uprobe.multi links unknown to this kernel (added in 6.6): {e}"
            ));
        }
        r => r.unwrap(),
    };
    assert_eq!(
        link.info().unwrap().link_type,
        oxbpf::link::link_type::UPROBE_MULTI
    );
    t.run();
    assert_eq!(read_u64(&counts, C_UPROBE), u64::from(ROUNDS));
    drop(link);
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn usdt_probes_deliver_arguments_cookie_and_semaphore() {
    let Some(_serial) = setup() else { return };
    let bin = target_binary();
    // The notes themselves: two probes, both with semaphores, args as gcc wrote them.
    let data = std::fs::read(&bin).unwrap();
    let sites = find_usdt_targets(&data, "attach_target", "oxbpf", "args").unwrap();
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0].args.split_whitespace().count(), 3, "{sites:?}");
    assert_ne!(sites[0].sema_off, 0);
    println!("oxbpf:args spec: {}", sites[0].args);

    let obj = Loaded::load("attach_usdt", &["on_args", "on_gated"]).unwrap();
    let counts = obj.map("counts");
    let recs = obj.map("usdt_recs");
    // With the IP map the manager uses BPF cookies where the kernel has them (5.15+) and the
    // address lookup before, as the loaded program's LINUX_HAS_BPF_COOKIE does.
    let usdt = UsdtManager::with_ip_map(
        obj.map("__bpf_usdt_specs"),
        Some(obj.map("__bpf_usdt_ip_to_spec_id")),
    )
    .unwrap();
    let before = oxbpf_tests::LeakCheck::start();
    let t = Target::spawn(ROUNDS);
    let opts = UsdtOpts {
        pid: Some(t.pid() as i32),
        cookie: 0xC00C1E,
    };
    let l1 = usdt
        .attach(
            obj.prog("on_args").as_fd(),
            bin.to_str().unwrap(),
            "oxbpf",
            "args",
            &opts,
        )
        .unwrap();
    let l2 = usdt
        .attach(
            obj.prog("on_gated").as_fd(),
            bin.to_str().unwrap(),
            "oxbpf",
            "gated",
            &UsdtOpts {
                pid: opts.pid,
                cookie: 0,
            },
        )
        .unwrap();
    assert_eq!(l1.members().len(), 1);
    println!(
        "USDT link: {:?}",
        l1.members()[0].info().map(|i| i.link_type)
    );
    t.run();
    assert_eq!(read_u64(&counts, C_USDT), u64::from(ROUNDS));
    for i in 0..ROUNDS {
        let v = recs
            .lookup(&i.to_ne_bytes(), MapFlags::ANY)
            .unwrap()
            .unwrap();
        let word = |k: usize| i64::from_ne_bytes(v[k * 8..k * 8 + 8].try_into().unwrap());
        assert_eq!(word(0), i64::from(i), "round {i}: int arg");
        assert_eq!(
            word(1),
            0x1_2345_6789 + i64::from(i),
            "round {i}: long long arg"
        );
        assert_eq!(
            word(2),
            -i64::from(i),
            "round {i}: negative short arg, sign-extended"
        );
        assert_eq!(word(3), 3, "round {i}: bpf_usdt_arg_cnt");
        assert_eq!(word(4) as u64, 0xC00C1E, "round {i}: bpf_usdt_cookie");
    }
    // oxbpf:gated only fires when the kernel raised its semaphore: sum of (10 i + 1).
    assert_eq!(
        read_u64(&counts, C_GATED),
        10 * sum_0_to(ROUNDS) + u64::from(ROUNDS),
        "semaphore-gated probe"
    );
    drop((l1, l2));
    before.assert_clean("USDT links leak no fds");

    // Spec ids are given back on detach and reused: attaching again succeeds and fires.
    reset_u64(&counts, C_USDT);
    let t = Target::spawn(2);
    let l = usdt
        .attach(
            obj.prog("on_args").as_fd(),
            bin.to_str().unwrap(),
            "oxbpf",
            "args",
            &UsdtOpts {
                pid: Some(t.pid() as i32),
                cookie: 1,
            },
        )
        .unwrap();
    t.run();
    assert_eq!(read_u64(&counts, C_USDT), 2);
    drop(l);

    let err = usdt
        .attach(
            obj.prog("on_args").as_fd(),
            bin.to_str().unwrap(),
            "oxbpf",
            "nope",
            &UsdtOpts::default(),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("USDT 'oxbpf:nope' not found"),
        "{err}"
    );
}

#[test]
fn usdt_falls_back_to_one_uprobe_per_site() {
    let Some(_serial) = setup() else { return };
    // A plain uprobe program (not loaded for uprobe.multi) makes the multi link fail; USDT then
    // attaches one perf-event uprobe per site, with the semaphore as reference counter.
    let probes = Loaded::load("attach_probes", &["on_add"]).unwrap();
    let usdt_obj = Loaded::load("attach_usdt", &["on_args"]).unwrap();
    let counts = probes.map("counts");
    reset_u64(&counts, C_UPROBE);
    let usdt = UsdtManager::with_ip_map(
        usdt_obj.map("__bpf_usdt_specs"),
        Some(usdt_obj.map("__bpf_usdt_ip_to_spec_id")),
    )
    .unwrap();
    let before = oxbpf_tests::LeakCheck::start();
    let t = Target::spawn(ROUNDS);
    let bin = target_binary();
    let link = usdt
        .attach(
            probes.prog("on_add").as_fd(),
            bin.to_str().unwrap(),
            "oxbpf",
            "gated",
            &UsdtOpts {
                pid: Some(t.pid() as i32),
                cookie: 0,
            },
        )
        .unwrap();
    assert_eq!(link.members().len(), 1);
    assert!(
        link.members()[0].perf_event_fd().is_some(),
        "per-site perf-event uprobe"
    );
    t.run();
    // oxbpf:gated fires only while the kernel holds its semaphore up.
    assert_eq!(read_u64(&counts, C_UPROBE), u64::from(ROUNDS));
    drop(link);
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn usdt_without_cookies_records_runtime_addresses() {
    let Some(_serial) = setup() else { return };
    // Kernels before 5.15 have no BPF cookies: usdt.bpf.h then looks the spec id up by the probe's
    // run-time address. Forced here on a kernel that has cookies, the IP map must hold exactly the
    // address where the target process has the probe mapped, and be emptied on detach.
    //
    // The attached program is a plain uprobe program: on_args was built with the kernel's answer
    // (LINUX_HAS_BPF_COOKIE = 1) and would read a cookie this forced mode never sets. Worse, it is
    // loaded for uprobe.multi links, and 6.12.117 oopses in bpf_get_attach_cookie when such a
    // program runs from a single perf-event uprobe (the attach_target was SIGKILLed).
    let obj = Loaded::load("attach_usdt", &["on_args"]).unwrap();
    let plain = Loaded::load("attach_probes", &["on_add"]).unwrap();
    let ip_map = obj.map("__bpf_usdt_ip_to_spec_id");
    let mut usdt = UsdtManager::with_ip_map(
        obj.map("__bpf_usdt_specs"),
        Some(obj.map("__bpf_usdt_ip_to_spec_id")),
    )
    .unwrap();
    usdt.set_use_cookies(false).unwrap();
    let bin = target_binary();
    let rel_ip =
        find_usdt_targets(&std::fs::read(&bin).unwrap(), "t", "oxbpf", "args").unwrap()[0].rel_ip;
    let t = Target::spawn(2);
    let link = usdt
        .attach(
            plain.prog("on_add").as_fd(),
            bin.to_str().unwrap(),
            "oxbpf",
            "args",
            &UsdtOpts {
                pid: Some(t.pid() as i32),
                cookie: 0,
            },
        )
        .unwrap();
    // The expected address, from the target's own mappings.
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", t.pid())).unwrap();
    let expected = maps
        .lines()
        .filter(|l| l.ends_with("attach_target"))
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (s, e) = f[0].split_once('-').unwrap();
            let (s, e) = (
                u64::from_str_radix(s, 16).unwrap(),
                u64::from_str_radix(e, 16).unwrap(),
            );
            let off = u64::from_str_radix(f[2], 16).unwrap();
            (off <= rel_ip && rel_ip < off + (e - s)).then(|| s - off + rel_ip)
        })
        .expect("probe offset mapped");
    let key = ip_map.next_key(None).unwrap().expect("one IP recorded");
    assert_eq!(u64::from_ne_bytes(key[..8].try_into().unwrap()), expected);
    let id = ip_map.lookup(&key, MapFlags::ANY).unwrap().unwrap();
    assert_eq!(
        u32::from_ne_bytes(id[..4].try_into().unwrap()),
        0,
        "first spec id"
    );
    assert!(
        ip_map.next_key(Some(&key)).unwrap().is_none(),
        "exactly one site"
    );
    t.run();
    drop(link);
    assert!(
        ip_map.next_key(None).unwrap().is_none(),
        "IP entries removed on detach"
    );
}
