//! Feature probes agree with the kernel: the public probes give libbpf's answers for every program type,
//! map type and a sweep of helpers, and the internal checks match what the kernel then does.

mod sys_util;

use std::time::Instant;

use oxbpf::kernel::features::{probe_helper, probe_map_type, probe_prog_type, supported, Feature};
use oxbpf::map::{MapHandle, MapType, BPF_F_MMAPABLE};
use oxbpf::program::ProgramType;
use oxbpf::sys::bpf::MapCreateOpts;
use sys_util::{root, FdGuard};

fn libbpf_prog_type(t: ProgramType) -> i32 {
    // SAFETY: libbpf's probe takes a program type and a NULL options pointer.
    unsafe { libbpf_sys::libbpf_probe_bpf_prog_type(t.as_u32(), std::ptr::null()) }
}

fn libbpf_map_type(t: MapType) -> i32 {
    // SAFETY: libbpf's probe takes a map type and a NULL options pointer.
    unsafe { libbpf_sys::libbpf_probe_bpf_map_type(t.as_u32(), std::ptr::null()) }
}

fn libbpf_helper(t: ProgramType, id: u32) -> i32 {
    // SAFETY: libbpf's probe takes a program type, a helper id and a NULL options pointer.
    unsafe { libbpf_sys::libbpf_probe_bpf_helper(t.as_u32(), id, std::ptr::null()) }
}

#[test]
fn prog_type_probes_match_libbpf() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    for &t in ProgramType::ALL
        .iter()
        .filter(|t| **t != ProgramType::Unspec)
    {
        let ours = probe_prog_type(t).unwrap_or_else(|e| panic!("{t}: {e:#}"));
        let theirs = libbpf_prog_type(t);
        assert!(theirs >= 0, "libbpf could not probe {t}: {theirs}");
        assert_eq!(ours, theirs == 1, "{t}: oxbpf says {ours}, libbpf {theirs}");
    }
    // The types every 6.x kernel with BPF has.
    for t in [
        ProgramType::SocketFilter,
        ProgramType::Xdp,
        ProgramType::SchedCls,
        ProgramType::Tracepoint,
    ] {
        assert!(probe_prog_type(t).unwrap(), "{t}");
    }
}

#[test]
fn map_type_probes_match_libbpf() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    for &t in MapType::ALL.iter().filter(|t| **t != MapType::Unspec) {
        let ours = probe_map_type(t).unwrap_or_else(|e| panic!("{t}: {e:#}"));
        let theirs = libbpf_map_type(t);
        assert!(theirs >= 0, "libbpf could not probe {t}: {theirs}");
        assert_eq!(ours, theirs == 1, "{t}: oxbpf says {ours}, libbpf {theirs}");
    }
}

#[test]
fn helper_probes_match_libbpf() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let mut yes = 0;
    for t in [
        ProgramType::SocketFilter,
        ProgramType::Xdp,
        ProgramType::Kprobe,
        ProgramType::CgroupSockAddr,
    ] {
        for id in 1..=215u32 {
            let ours = probe_helper(t, id).unwrap_or_else(|e| panic!("{t} helper {id}: {e:#}"));
            let theirs = libbpf_helper(t, id);
            assert!(theirs >= 0, "libbpf could not probe {t}/{id}: {theirs}");
            assert_eq!(
                ours,
                theirs == 1,
                "{t} helper #{id}: oxbpf says {ours}, libbpf {theirs}"
            );
            yes += usize::from(ours);
        }
    }
    assert!(yes > 100, "a 6.x kernel offers many helpers, found {yes}");
    assert!(
        probe_helper(ProgramType::SocketFilter, 1).unwrap(),
        "bpf_map_lookup_elem"
    );
    assert!(
        !probe_helper(ProgramType::SocketFilter, 100_000).unwrap(),
        "no such helper"
    );
    assert!(
        probe_helper(ProgramType::Tracing, 1).is_err(),
        "tracing programs cannot be probed this way"
    );
}

/// The kernel release that brought `f` (`None` for the answers that depend on the host).
fn since(f: Feature) -> Option<(u32, u32)> {
    Some(match f {
        Feature::ProgName => (4, 15),
        Feature::GlobalData | Feature::BtfDatasec => (5, 2),
        Feature::Btf => (4, 18),
        Feature::BtfFunc => (5, 0),
        Feature::BtfGlobalFunc => (5, 6),
        Feature::ArrayMmap | Feature::ProbeReadKernel => (5, 5),
        Feature::ExpAttachType => (4, 17),
        Feature::ProgBindMap => (5, 10),
        // BTF object names (what the probe asks for) came with module BTF.
        Feature::ModuleBtf | Feature::MemcgAccount => (5, 11),
        Feature::BtfFloat => (5, 13),
        Feature::PerfLink | Feature::BpfCookie => (5, 15),
        Feature::BtfDeclTag => (5, 16),
        Feature::BtfTypeTag => (5, 17),
        Feature::BtfEnum64 => (6, 0),
        Feature::ArgCtxTag => (6, 8),
        Feature::BtfQmarkDatasec => (6, 9),
        _ => return None,
    })
}

#[test]
fn feature_checks_agree_with_the_kernel() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let t0 = Instant::now();
    let got: Vec<(Feature, bool)> = Feature::ALL
        .iter()
        .map(|&f| {
            let t = Instant::now();
            let v = supported(f).unwrap_or_else(|e| panic!("{f}: {e:#}"));
            println!(
                "{:<45} {:>5} {:?}",
                f.description(),
                if v { "yes" } else { "no" },
                t.elapsed()
            );
            (f, v)
        })
        .collect();
    let first = t0.elapsed();
    // Each feature the kernel has had since its release must be found; older kernels may lack it.
    // The four whose answer depends on the host (kprobes, uprobe.multi, full-range ld_imm64
    // offsets, the uprobe syscall) are checked below or not at all.
    let kernel = oxbpf::kernel::version::kernel_version().expect("kernel version");
    for &f in Feature::ALL {
        let Some((major, minor)) = since(f) else {
            continue;
        };
        if kernel >= oxbpf::kernel::version::kernel_version_code(major, minor, 0) {
            assert!(
                supported(f).unwrap(),
                "{f} (in the kernel since {major}.{minor})"
            );
        }
    }
    // ARRAY map mmap(): what the probe claims, the kernel does.
    let o = MapCreateOpts {
        map_flags: BPF_F_MMAPABLE,
        ..Default::default()
    };
    let m = MapHandle::create(MapType::Array, Some("mm"), 4, 4, 1, &o).unwrap();
    assert!(m.mmap(true).is_ok());
    // The syscall wrapper answer is libbpf's: yes only when a kprobe can be put on
    // `__x64_sys_bpf`, so it needs the symbol and kprobes (the PMU or legacy kprobe_events). A
    // kernel without kprobes says no although it has the wrappers, as under libbpf.
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap();
    let wrapper = kallsyms.lines().any(|l| l.ends_with(" __x64_sys_bpf"));
    let kprobes = std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists()
        || oxbpf::sys::tracefs::has_kprobe_events();
    assert_eq!(
        supported(Feature::SyscallWrapper).unwrap(),
        cfg!(target_arch = "x86_64") && wrapper && kprobes
    );
    // Cached: asking again costs nothing and answers the same.
    let t1 = Instant::now();
    for (f, v) in &got {
        assert_eq!(supported(*f).unwrap(), *v);
    }
    let second = t1.elapsed();
    println!(
        "probing all {} features: {first:?}; cached: {second:?}",
        got.len()
    );
    assert!(
        second * 10 < first,
        "cached lookups ({second:?}) should be far cheaper than probing ({first:?})"
    );
}
