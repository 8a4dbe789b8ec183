//! func_info / line_info records bigger than the kernel's: as libbpf's `bpf_prog_load`, a load the
//! kernel refuses with E2BIG (non-zero bytes past the part it knows) is retried with those bytes
//! zeroed, and loads; libbpf loads the same input the same way.

mod sys_util;

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use oxbpf::insn::{reg::R0, Insn};
use oxbpf::program::{ProgLoadOpts, ProgramType};
use oxbpf::sys::attr::ProgLoadAttr;
use oxbpf::sys::bpf::{btf_load, prog_load};
use oxbpf_tests::{fixture, libbpf_ref::prog_tag};
use sys_util::{btf_bytes, root, FdGuard};

const RET0: [Insn; 2] = [Insn::mov64_imm(R0, 0), Insn::exit()];

/// [1] int, [2] int(void), [3] FUNC main global; strings for one line_info record.
fn main_btf() -> OwnedFd {
    let words = [
        1,
        1 << 24,
        4,
        (1 << 24) | 32,
        0,
        13 << 24,
        1,
        5,
        (12 << 24) | 1,
        2,
    ];
    btf_load(
        &btf_bytes(&words, b"\0int\0main\0f.c\0return 0;\0"),
        None,
        None,
    )
    .expect("load main's BTF")
}

/// One func_info record {insn 0, FUNC [3]} of `rec` bytes, the tail filled with `tail`.
fn func_info(rec: usize, tail: u8) -> Vec<u8> {
    let mut v: Vec<u8> = [0u32, 3].iter().flat_map(|w| w.to_ne_bytes()).collect();
    v.resize(rec, tail);
    v
}

/// One line_info record {insn 0, "f.c", "return 0;", line 1 col 1} of `rec` bytes.
fn line_info(rec: usize, tail: u8) -> Vec<u8> {
    let mut v: Vec<u8> = [0u32, 10, 14, (1 << 10) | 1]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect();
    v.resize(rec, tail);
    v
}

/// `BPF_PROG_LOAD` straight to the kernel, no retry: the errno and the record sizes the kernel
/// wrote back.
fn raw_load(btf: &OwnedFd, fi: &[u8], fi_rec: u32, li: &[u8], li_rec: u32) -> (i32, u32, u32) {
    let license = CString::new("GPL").unwrap();
    let mut attr = ProgLoadAttr {
        prog_type: ProgramType::SocketFilter.as_u32(),
        insn_cnt: RET0.len() as u32,
        insns: RET0.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_btf_fd: btf.as_raw_fd() as u32,
        func_info_rec_size: fi_rec,
        func_info: fi.as_ptr() as u64,
        func_info_cnt: 1,
        line_info_rec_size: li_rec,
        line_info: li.as_ptr() as u64,
        line_info_cnt: 1,
        ..Default::default()
    };
    // SAFETY: `attr` is a full `union bpf_attr` prefix for BPF_PROG_LOAD; its pointers borrow
    // `RET0`, `license`, `fi` and `li`, alive across the call, each holding the one record (or two
    // instructions) its count says.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            5, // BPF_PROG_LOAD
            &mut attr as *mut ProgLoadAttr,
            std::mem::size_of::<ProgLoadAttr>(),
        )
    };
    let errno = if r < 0 {
        std::io::Error::last_os_error().raw_os_error().unwrap()
    } else {
        // SAFETY: a non-negative return of BPF_PROG_LOAD is a new fd nobody else owns.
        drop(unsafe { OwnedFd::from_raw_fd(r as i32) });
        0
    };
    (errno, attr.func_info_rec_size, attr.line_info_rec_size)
}

/// libbpf's `bpf_prog_load` on the same input: the new fd or the errno.
fn libbpf_load(
    btf: &OwnedFd,
    fi: &[u8],
    fi_rec: u32,
    li: &[u8],
    li_rec: u32,
) -> Result<OwnedFd, i32> {
    let opts = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
        prog_btf_fd: btf.as_raw_fd() as u32,
        func_info: fi.as_ptr().cast(),
        func_info_cnt: 1,
        func_info_rec_size: fi_rec,
        line_info: li.as_ptr().cast(),
        line_info_cnt: 1,
        line_info_rec_size: li_rec,
        ..Default::default()
    };
    let mut opts = opts;
    let license = CString::new("GPL").unwrap();
    // SAFETY: libbpf reads two instructions, the license string and the one-record func/line info
    // `opts` points to, all alive across the call; `opts.sz` is its size.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            ProgramType::SocketFilter.as_u32(),
            std::ptr::null(),
            license.as_ptr(),
            RET0.as_ptr().cast(),
            RET0.len() as _,
            &mut opts,
        )
    };
    if fd < 0 {
        return Err(-fd);
    }
    // SAFETY: a non-negative return is a new fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn oxbpf_load(
    btf: &OwnedFd,
    fi: &[u8],
    fi_rec: u32,
    li: &[u8],
    li_rec: u32,
) -> oxbpf::Result<OwnedFd> {
    let opts = ProgLoadOpts {
        prog_btf_fd: Some(btf.as_fd()),
        func_info: fi,
        func_info_rec_size: fi_rec,
        line_info: li,
        line_info_rec_size: li_rec,
        ..Default::default()
    };
    prog_load(
        ProgramType::SocketFilter.as_u32(),
        Some("ext_info"),
        "GPL",
        &RET0,
        &opts,
        None,
    )
}

#[test]
fn oversized_records_load_after_zeroing_their_tails_as_under_libbpf() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let btf = main_btf();
    // (func_info record size, its tail, line_info record size, its tail, E2BIG expected first)
    let cases = [
        (8, 0, 16, 0, false),
        (12, 0, 16, 0, false),
        (12, 0, 20, 0, false),
        (12, 0xa5, 16, 0, true),
        (16, 0x01, 16, 0, true),
        (8, 0, 20, 0x5a, true),
        (12, 0xff, 24, 0x5a, true),
    ];
    for (fi_rec, fi_tail, li_rec, li_tail, e2big) in cases {
        let what =
            format!("func_info {fi_rec}B tail {fi_tail:#x}, line_info {li_rec}B tail {li_tail:#x}");
        let fi = func_info(fi_rec, fi_tail);
        let li = line_info(li_rec, li_tail);
        let (fi_rec, li_rec) = (fi_rec as u32, li_rec as u32);
        // The kernel alone: E2BIG for non-zero tails, with its own record size written back.
        let (errno, fi_kern, li_kern) = raw_load(&btf, &fi, fi_rec, &li, li_rec);
        if e2big {
            assert_eq!(errno, libc::E2BIG, "{what}: the kernel takes it as it is");
            let fi_cut = fi_tail != 0 && fi_rec > 8;
            assert_eq!(fi_kern, if fi_cut { 8 } else { fi_rec }, "{what}");
            // The kernel stops at the first offending part: line_info is checked after func_info.
            if !fi_cut {
                assert_eq!(li_kern, 16, "{what}");
            }
        } else {
            assert_eq!(errno, 0, "{what}: the kernel refuses zero tails");
        }
        // oxbpf and libbpf both load it, with the same tag.
        let ours = oxbpf_load(&btf, &fi, fi_rec, &li, li_rec)
            .unwrap_or_else(|e| panic!("{what}: oxbpf: {e:#}"));
        let theirs = libbpf_load(&btf, &fi, fi_rec, &li, li_rec)
            .unwrap_or_else(|e| panic!("{what}: libbpf: errno {e}"));
        assert_eq!(
            prog_tag(ours.as_raw_fd()).map(|t| t.0),
            prog_tag(theirs.as_raw_fd()).map(|t| t.0),
            "{what}"
        );
    }
}

#[test]
fn records_the_kernel_cannot_take_fail_for_both() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let btf = main_btf();
    // Not a multiple of 4, and past the kernel's 252-byte limit: no retry makes these loadable.
    for (rec, tail) in [(10usize, 0u8), (256, 0), (256, 7)] {
        let fi = func_info(rec, tail);
        let li = line_info(16, 0);
        let e = oxbpf_load(&btf, &fi, rec as u32, &li, 16).unwrap_err();
        assert_eq!(e.errno(), Some(libc::EINVAL), "{rec}: {e:#}");
        assert_eq!(
            libbpf_load(&btf, &fi, rec as u32, &li, 16).unwrap_err(),
            libc::EINVAL
        );
    }
}

/// An object whose `.BTF.ext` has 12-byte func_info and 20-byte line_info records with non-zero
/// tails (as a newer compiler could emit): each program loads exactly when it loads from the plain
/// object, with the same tag. Programs are loaded one at a time, so a program the kernel refuses
/// (old kernels lack some helpers) does not hide the others.
#[test]
fn object_with_bigger_ext_records_loads_like_the_plain_one() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let path = fixture("obj_subprogs");
    let plain = oxbpf::Object::open_file(&path).unwrap();
    let mut big = plain.clone();
    let ext = big
        .spec_mut()
        .btf_ext
        .as_mut()
        .expect("fixture has .BTF.ext");
    assert_eq!((ext.func_info_rec_size, ext.line_info_rec_size), (8, 16));
    ext.func_info_rec_size = 12;
    for s in &mut ext.func_info {
        s.extra = vec![0x3c; s.records.len() * 4];
    }
    ext.line_info_rec_size = 20;
    for s in &mut ext.line_info {
        s.extra = vec![0xc3; s.records.len() * 4];
    }
    let n = ext.func_info.iter().map(|s| s.records.len()).sum::<usize>();
    assert!(n >= 3, "the fixture has subprograms: {n} func_info records");
    let names: Vec<String> = plain
        .spec()
        .entry_programs()
        .map(|p| p.name.clone())
        .collect();
    let only = |o: &oxbpf::OpenObject, name: &str| {
        let mut o = o.clone();
        for p in o.spec_mut().programs.iter_mut().filter(|p| !p.is_subprog) {
            p.autoload = p.name == name;
        }
        o.load().and_then(|obj| obj.program(name).unwrap().info())
    };
    let mut loaded = 0;
    for name in &names {
        match (only(&plain, name), only(&big, name)) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.tag, b.tag, "{name}");
                assert_eq!(a.xlated_prog_len, b.xlated_prog_len, "{name}");
                loaded += 1;
            }
            (Err(_), Err(_)) => println!("{name}: not loadable on this kernel"),
            (a, b) => panic!("{name}: plain {:?} | big records {:?}", a.err(), b.err()),
        }
    }
    assert!(loaded >= 2, "{loaded} programs compared");
}
