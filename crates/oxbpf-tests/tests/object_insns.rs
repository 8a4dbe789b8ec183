//! Instruction-level parity, stricter than tags: the kernel zeroes both immediates of map
//! `ld_imm64`s when it computes a tag, so a wrong global-variable offset would keep the tag. Here
//! the instructions oxbpf submitted are compared with the ones libbpf submitted
//! (`bpf_program__insns` after load), map fds replaced by map names on both sides.

use oxbpf_tests::fixture;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd};

const LD_IMM64: u8 = 0x18;
const PSEUDO_MAP_FD: u8 = 1;
const PSEUDO_MAP_VALUE: u8 = 2;

/// Instructions as (code, regs, off, imm) with map fds replaced by `map_ids[name]`.
fn normalize(
    raw: &[[u8; 8]],
    fd_to_map: &HashMap<i32, String>,
    names: &mut Vec<String>,
) -> Vec<(u8, u8, i16, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let imm = i32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
        let off = i16::from_ne_bytes([b[2], b[3]]);
        let src = b[1] >> 4;
        if b[0] == LD_IMM64 && (src == PSEUDO_MAP_FD || src == PSEUDO_MAP_VALUE) {
            let name = fd_to_map
                .get(&imm)
                .cloned()
                .unwrap_or_else(|| format!("fd?{imm}"));
            if !names.contains(&name) {
                names.push(name.clone());
            }
            out.push((b[0], b[1], off, format!("map:{name}")));
        } else {
            out.push((b[0], b[1], off, imm.to_string()));
        }
        i += 1;
    }
    out
}

type Progs = HashMap<String, Vec<(u8, u8, i16, String)>>;

fn libbpf_insns(path: &std::path::Path) -> Option<Progs> {
    let c = CString::new(path.to_string_lossy().as_bytes()).unwrap();
    let cs = |p: *const std::os::raw::c_char| {
        // SAFETY: libbpf returns NUL-terminated names owned by the object, open while this runs.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    };
    // SAFETY: valid path; every pointer comes from the live object, closed at the end.
    unsafe {
        let obj = libbpf_sys::bpf_object__open_file(c.as_ptr(), std::ptr::null());
        assert!(!obj.is_null());
        if libbpf_sys::bpf_object__load(obj) != 0 {
            libbpf_sys::bpf_object__close(obj);
            return None;
        }
        let mut fds = HashMap::new();
        let mut m = libbpf_sys::bpf_object__next_map(obj, std::ptr::null());
        while !m.is_null() {
            fds.insert(libbpf_sys::bpf_map__fd(m), cs(libbpf_sys::bpf_map__name(m)));
            m = libbpf_sys::bpf_object__next_map(obj, m);
        }
        let mut out = HashMap::new();
        let mut p = libbpf_sys::bpf_object__next_program(obj, std::ptr::null_mut());
        while !p.is_null() {
            if libbpf_sys::bpf_program__fd(p) >= 0 {
                let n = libbpf_sys::bpf_program__insn_cnt(p) as usize;
                let insns = libbpf_sys::bpf_program__insns(p) as *const [u8; 8];
                let raw = std::slice::from_raw_parts(insns, n);
                out.insert(
                    cs(libbpf_sys::bpf_program__name(p)),
                    normalize(raw, &fds, &mut Vec::new()),
                );
            }
            p = libbpf_sys::bpf_object__next_program(obj, p);
        }
        libbpf_sys::bpf_object__close(obj);
        Some(out)
    }
}

fn oxbpf_insns(path: &std::path::Path) -> Option<Progs> {
    let obj = oxbpf::Object::open_file(path).ok()?.load().ok()?;
    let fds: HashMap<i32, String> = obj
        .maps()
        .iter()
        .filter_map(|m| {
            m.handle()
                .map(|h| (h.as_fd().as_raw_fd(), m.name().to_string()))
        })
        .collect();
    let mut out = HashMap::new();
    for p in obj.programs().iter().filter(|p| p.handle().is_some()) {
        let raw: Vec<[u8; 8]> = oxbpf::insn::Insn::slice_as_bytes(p.insns())
            .chunks_exact(8)
            .map(|c| c.try_into().unwrap())
            .collect();
        out.insert(p.name().to_string(), normalize(&raw, &fds, &mut Vec::new()));
    }
    Some(out)
}

#[test]
fn submitted_instructions_match_libbpf_exactly() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let mut compared = 0;
    // The fixtures, and the third-party objects Debian's xdp-tools ship, when installed.
    let mut paths: Vec<std::path::PathBuf> = oxbpf_tests::fixture_names()
        .into_iter()
        .map(fixture)
        .collect();
    for dir in ["/usr/lib/x86_64-linux-gnu/bpf", "/usr/libexec/xdp-tools"] {
        if let Ok(d) = std::fs::read_dir(dir) {
            let mut objs: Vec<_> = d
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "o"))
                .collect();
            objs.sort();
            paths.extend(objs);
        }
    }
    for path in &paths {
        let name = path.display();
        let (Some(l), Some(o)) = (libbpf_insns(path), oxbpf_insns(path)) else {
            continue;
        };
        assert_eq!(l.len(), o.len(), "{name}: loaded program sets differ");
        for (prog, li) in &l {
            let oi = o
                .get(prog)
                .unwrap_or_else(|| panic!("{name}: oxbpf did not load {prog}"));
            if li != oi {
                let at = li
                    .iter()
                    .zip(oi)
                    .position(|(a, b)| a != b)
                    .unwrap_or(li.len().min(oi.len()));
                panic!(
                    "{name}/{prog}: instruction {at} differs: libbpf {:?} oxbpf {:?} (lengths {} / {})",
                    li.get(at),
                    oi.get(at),
                    li.len(),
                    oi.len()
                );
            }
            compared += 1;
        }
    }
    println!("{compared} programs byte-identical (map fds normalised to names)");
    assert!(compared >= 10, "only {compared} programs compared");
}
