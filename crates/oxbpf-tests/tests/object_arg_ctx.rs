//! `__arg_ctx` on global subprograms: loads on kernels with native support (6.8+) and, through
//! libbpf's func_info fixup, on older ones, with the same verdicts and tags as libbpf; oxbpf's
//! feature probe answers what libbpf's does.

mod sys_util;

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};

use oxbpf::btf::{Kind, TypeKind};
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
    assert_eq!(ours, oxbpf_tests::kernel_at_least(6, 8));
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
    let tags: Vec<_> = btf.types_of_kind(Kind::DeclTag).map(|(id, _)| id).collect();
    let n = tags.len();
    for id in tags {
        btf.update_type(id, |t| t.name_off = renamed).unwrap();
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

/// Owns a libbpf object and closes it on drop.
struct LibbpfObject(*mut libbpf_sys::bpf_object);

impl Drop for LibbpfObject {
    fn drop(&mut self) {
        // SAFETY: the pointer came from bpf_object__open_file and is closed once.
        unsafe { libbpf_sys::bpf_object__close(self.0) };
    }
}

/// The BTF libbpf uploads for `path` with only `progs` autoloaded.
fn libbpf_uploaded_btf(path: &std::path::Path, progs: &[&str]) -> Vec<u8> {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path and NULL options.
    let obj = unsafe { libbpf_sys::bpf_object__open_file(c.as_ptr(), std::ptr::null()) };
    assert!(!obj.is_null() && (obj as isize) > -4096, "libbpf open");
    let obj = LibbpfObject(obj);
    let mut p = std::ptr::null_mut();
    loop {
        // SAFETY: `obj` is open; `p` is null or a program of it.
        p = unsafe { libbpf_sys::bpf_object__next_program(obj.0, p) };
        if p.is_null() {
            break;
        }
        // SAFETY: `p` is a program of the open, not yet loaded `obj`.
        let name = unsafe { std::ffi::CStr::from_ptr(libbpf_sys::bpf_program__name(p)) };
        let on = progs.contains(&name.to_str().unwrap());
        // SAFETY: as above; autoload may change before load.
        unsafe { libbpf_sys::bpf_program__set_autoload(p, on) };
    }
    // SAFETY: `obj` is open and not loaded.
    assert_eq!(
        unsafe { libbpf_sys::bpf_object__load(obj.0) },
        0,
        "libbpf load"
    );
    // SAFETY: `obj` is loaded; its BTF lives as long as it.
    let fd = unsafe { libbpf_sys::btf__fd(libbpf_sys::bpf_object__btf(obj.0)) };
    assert!(fd >= 0, "libbpf uploaded no BTF");
    // SAFETY: `fd` stays open while `obj` lives, which outlasts this borrow.
    kernel_btf_bytes(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
}

/// The bytes of a BTF object in the kernel, read back by id with libbpf (oxbpf's `btf_data` also
/// asks for the name, which 5.10 cannot answer).
fn kernel_btf_bytes(fd: std::os::fd::BorrowedFd<'_>) -> Vec<u8> {
    let id = oxbpf::sys::info::btf_info(fd).unwrap().id;
    // SAFETY: libbpf allocates a new `struct btf` (or returns an error pointer/NULL).
    let btf = unsafe { libbpf_sys::btf__load_from_kernel_by_id(id) };
    assert!(!btf.is_null() && (btf as isize) > -4096, "btf id {id}");
    let mut size = 0u32;
    // SAFETY: `btf` is live; libbpf returns a pointer to `size` bytes it owns.
    let raw = unsafe { libbpf_sys::btf__raw_data(btf, &mut size) };
    assert!(!raw.is_null());
    // SAFETY: `raw` points to `size` bytes owned by `btf`, freed only below.
    let bytes = unsafe { std::slice::from_raw_parts(raw.cast::<u8>(), size as usize) }.to_vec();
    // SAFETY: `btf` came from libbpf and is freed once.
    unsafe { libbpf_sys::btf__free(btf) };
    bytes
}

/// What goes into the kernel is libbpf's BTF byte for byte: with the fixup, the copies, structs,
/// pointers and tags come in libbpf's order.
#[test]
fn uploaded_btf_is_libbpfs() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let native = supported(Feature::ArgCtxTag).unwrap();
    let mut progs = vec!["arg_ctx_socket", "arg_ctx_xdp", "arg_ctx_raw_tp"];
    let kprobe = probe_helper(ProgramType::Kprobe, GET_FUNC_IP).unwrap_or(false);
    if kprobe {
        progs.push("arg_ctx_kprobe");
    }
    if native {
        progs.push("arg_ctx_tracepoint");
    }
    let path = fixture(FIXTURE);
    let theirs = libbpf_uploaded_btf(&path, &progs);
    let mut open = oxbpf::Object::open_file(&path).unwrap();
    for p in open
        .spec_mut()
        .programs
        .iter_mut()
        .filter(|p| !p.is_subprog)
    {
        p.autoload = progs.contains(&p.name.as_str());
    }
    let obj = open.load().unwrap();
    let ours = kernel_btf_bytes(obj.btf_fd().expect("BTF uploaded"));
    let (a, b) = (
        oxbpf::btf::Btf::parse(&ours).unwrap(),
        oxbpf::btf::Btf::parse(&theirs).unwrap(),
    );
    println!(
        "kernel {}: native {native}, {} programs, BTF {} types / {} bytes (libbpf {} / {})",
        release(),
        progs.len(),
        a.len(),
        ours.len(),
        b.len(),
        theirs.len()
    );
    for id in 1..a.len().max(b.len()) as u32 {
        let (x, y) = (a.type_by_id(id).ok(), b.type_by_id(id).ok());
        assert_eq!(x, y, "type [{id}]: oxbpf vs libbpf");
    }
    assert!(ours == theirs, "same types, different bytes");
    // Without native support, one FUNC copy per (program, tagged subprogram it calls): socket 3
    // (skb_len, skb_two, any_ctx), xdp 2, raw_tp 1, kprobe 2.
    let funcs = |btf: &oxbpf::btf::Btf| {
        btf.types()
            .filter(|(_, t)| matches!(t.kind, TypeKind::Func(_)))
            .count()
    };
    let spec = oxbpf::Object::open_file(&path).unwrap();
    let own = funcs(spec.spec().btf.as_ref().unwrap());
    let copies = if native {
        0
    } else {
        6 + if kprobe { 2 } else { 0 }
    };
    assert_eq!(funcs(&a), own + copies);
}
