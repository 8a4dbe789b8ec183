//! `__arg_ctx` on global subprograms: loads on kernels with native support (6.8+) and, through
//! libbpf's func_info fixup, on older ones, with the same verdicts and tags as libbpf; oxbpf's
//! feature probe answers what libbpf's does.

mod sys_util;

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};

use oxbpf::btf::TypeKind;
use oxbpf::kernel::features::{probe_helper, supported, Feature};
use oxbpf::program::ProgramType;
use oxbpf_tests::{fixture, parity};
use sys_util::{btf_bytes, root, FdGuard};

const FIXTURE: &str = "obj_arg_ctx";
/// `BPF_FUNC_get_func_ip`.
const GET_FUNC_IP: u32 = 173;

fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// libbpf 1.7's `probe_kern_arg_ctx_tag`, byte for byte, through libbpf's own low-level calls: a
/// kprobe main program calling a global subprogram whose `void *` argument carries `arg:ctx` and
/// is passed to `bpf_get_func_ip`.
fn libbpf_probe_arg_ctx_tag() -> bool {
    let words: Vec<u32> = [
        &[1, 1 << 24, 4, (1 << 24) | 32][..], // [1] INT a
        &[0, 2 << 24, 0],                     // [2] PTR -> void
        &[0, (13 << 24) | 1, 1, 1, 2],        // [3] FUNC_PROTO int(void *a)
        &[1, (12 << 24) | 1, 3],              // [4] FUNC a, global
        &[0, (13 << 24) | 1, 1, 3, 2],        // [5] FUNC_PROTO int(void *b)
        &[3, (12 << 24) | 1, 5],              // [6] FUNC b, global
        &[5, 17 << 24, 6, 0],                 // [7] DECL_TAG arg:ctx -> b, arg 0
    ]
    .concat();
    let btf = btf_bytes(&words, b"\0a\0b\0arg:ctx\0");
    // SAFETY: libbpf reads `btf.len()` bytes of `btf`, alive across the call; NULL options.
    let btf_fd = unsafe {
        libbpf_sys::bpf_btf_load(btf.as_ptr().cast(), btf.len() as _, std::ptr::null_mut())
    };
    if btf_fd < 0 {
        return false;
    }
    // SAFETY: a non-negative return is a new fd owned by nobody else.
    let btf_fd = unsafe { OwnedFd::from_raw_fd(btf_fd) };
    let insns: [u64; 4] = [
        0x0000_0001_0000_1085u64,            // call pc+1 (BPF_PSEUDO_CALL)
        0x95,                                // exit
        ((GET_FUNC_IP as u64) << 32) | 0x85, // call bpf_get_func_ip
        0x95,
    ];
    let func_info: [u32; 4] = [0, 4, 2, 6];
    let mut opts = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
        prog_btf_fd: std::os::fd::AsRawFd::as_raw_fd(&btf_fd) as u32,
        func_info: func_info.as_ptr().cast(),
        func_info_cnt: 2,
        func_info_rec_size: 8,
        ..Default::default()
    };
    let name = CString::new("det_arg_ctx").unwrap();
    let license = CString::new("GPL").unwrap();
    // SAFETY: four instructions, two func_info records, the name and license strings, all alive
    // across the call; `opts.sz` is its size.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            ProgramType::Kprobe.as_u32(),
            name.as_ptr(),
            license.as_ptr(),
            insns.as_ptr().cast(),
            insns.len() as _,
            &mut opts,
        )
    };
    if fd < 0 {
        return false;
    }
    // SAFETY: a non-negative return is a new fd owned by nobody else.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    true
}

#[test]
fn arg_ctx_probe_answers_like_libbpf() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let ours = supported(Feature::ArgCtxTag).unwrap();
    let theirs = libbpf_probe_arg_ctx_tag();
    println!(
        "kernel {}: __arg_ctx native: oxbpf {ours}, libbpf {theirs}",
        release()
    );
    assert_eq!(ours, theirs);
    // The verifier learnt the tag in 6.8.
    let v = oxbpf::kernel::version::kernel_version().expect("kernel version");
    assert_eq!(
        ours,
        v >= oxbpf::kernel::version::kernel_version_code(6, 8, 0)
    );
}

#[test]
fn arg_ctx_fixture_loads_like_libbpf() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let p = parity::assert_tag_parity(&fixture(FIXTURE));
    let native = supported(Feature::ArgCtxTag).unwrap();
    let func_ip = probe_helper(ProgramType::Kprobe, GET_FUNC_IP).unwrap_or(false);
    println!("kernel {}: native __arg_ctx {native}", release());
    for v in &p.oxbpf {
        println!(
            "  {:<20} loaded={} {}",
            v.name,
            v.loaded,
            v.error.as_deref().unwrap_or("")
        );
    }
    let loaded = |name: &str| {
        p.oxbpf
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .loaded
    };
    // Named context structs: native support or the fixup makes them load everywhere.
    assert!(loaded("arg_ctx_socket"));
    assert!(loaded("arg_ctx_xdp"));
    assert!(loaded("arg_ctx_raw_tp"));
    assert_eq!(loaded("arg_ctx_kprobe"), func_ip);
    // No named context for tracepoints: only the kernel itself can take the tag.
    assert_eq!(loaded("arg_ctx_tracepoint"), native);
}

/// The control: with the tags renamed (the kernel ignores tags not starting with "arg:"), the same
/// `void *` subprograms are refused on every kernel, so what makes them load is the tag, natively
/// or through the fixup.
#[test]
fn without_the_tag_the_subprograms_are_refused() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let open = oxbpf::Object::open_file(fixture(FIXTURE)).unwrap();
    let mut untagged = open.clone();
    let btf = untagged.spec_mut().btf.as_mut().unwrap();
    let renamed = btf.add_string("xrg:ctx");
    let mut n = 0;
    for t in btf.types_mut() {
        if matches!(t.kind, TypeKind::DeclTag(_)) {
            t.name_off = renamed;
            n += 1;
        }
    }
    assert_eq!(n, 8, "arg:ctx tags in the fixture");
    for (prog, refused) in [("arg_ctx_socket", true), ("arg_ctx_xdp", true)] {
        let load = |o: &oxbpf::OpenObject| {
            let mut o = o.clone();
            for p in o.spec_mut().programs.iter_mut().filter(|p| !p.is_subprog) {
                p.autoload = p.name == prog;
            }
            o.load()
        };
        load(&open).unwrap_or_else(|e| panic!("{prog} with its tags: {e:#}"));
        let e = load(&untagged).err();
        assert_eq!(e.is_some(), refused, "{prog} without its tags: {e:?}");
        if let Some(e) = e {
            println!(
                "{prog} untagged: {}",
                e.to_string().lines().next().unwrap_or("")
            );
        }
    }
}
