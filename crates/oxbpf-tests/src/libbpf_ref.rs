//! libbpf (through libbpf-sys) as the reference loader: what it loads, and with which tags.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::path::Path;

use oxbpf::insn::Insn;

/// One program's verdict under a loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgVerdict {
    /// Program (function) name.
    pub name: String,
    /// ELF section.
    pub section: String,
    /// Whether the kernel accepted it.
    pub loaded: bool,
    /// The kernel's tag (a hash of the submitted instructions), when loaded.
    pub tag: Option<[u8; 8]>,
    /// The kernel's translated length in bytes, when loaded.
    pub xlated_len: Option<u32>,
    /// Why it failed, when it failed.
    pub error: Option<String>,
    /// `"whole"` when loaded as part of the whole object, `"single"` when loaded alone.
    pub mode: &'static str,
}

/// Kernel tag and xlated length of a loaded program fd.
pub fn prog_tag(fd: i32) -> Option<([u8; 8], u32)> {
    // SAFETY: bpf_prog_info is plain old data; all-zero is a valid value.
    let mut info: libbpf_sys::bpf_prog_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: info is a valid, writable bpf_prog_info of `len` bytes.
    let r = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) };
    (r == 0).then_some((info.tag, info.xlated_prog_len))
}

struct Obj(*mut libbpf_sys::bpf_object);

impl Drop for Obj {
    fn drop(&mut self) {
        // SAFETY: the pointer came from bpf_object__open_file and is closed once.
        unsafe { libbpf_sys::bpf_object__close(self.0) }
    }
}

fn open(path: &Path) -> Result<Obj, String> {
    open_with(path, None)
}

/// Opens `path` with default options, or with CO-RE against `btf_custom_path` when given.
fn open_with(path: &Path, btf_custom_path: Option<&Path>) -> Result<Obj, String> {
    let c = CString::new(path.to_string_lossy().as_bytes()).unwrap();
    let p = match btf_custom_path {
        // SAFETY: c is a valid C string; a null opts pointer means defaults.
        None => unsafe { libbpf_sys::bpf_object__open_file(c.as_ptr(), std::ptr::null()) },
        Some(btf) => {
            let custom = CString::new(btf.to_string_lossy().as_bytes()).unwrap();
            // SAFETY: zeroed open opts are the defaults; sz is set, and btf_custom_path points at a
            // C string alive for the call (libbpf keeps its own copy).
            unsafe {
                let mut opts: libbpf_sys::bpf_object_open_opts = std::mem::zeroed();
                opts.sz = std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as _;
                opts.btf_custom_path = custom.as_ptr();
                libbpf_sys::bpf_object__open_file(c.as_ptr(), &opts)
            }
        }
    };
    if p.is_null() {
        return Err(format!("open: {}", std::io::Error::last_os_error()));
    }
    Ok(Obj(p))
}

fn progs(obj: &Obj) -> Vec<*mut libbpf_sys::bpf_program> {
    let mut v = Vec::new();
    let mut p = std::ptr::null_mut();
    loop {
        // SAFETY: obj is open; p is null or a program of obj.
        p = unsafe { libbpf_sys::bpf_object__next_program(obj.0, p) };
        if p.is_null() {
            return v;
        }
        v.push(p);
    }
}

fn cstr(p: *const std::os::raw::c_char) -> String {
    // SAFETY: libbpf returns valid NUL-terminated names that live as long as the object.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The program's name. `p` must be a program of a live object.
fn prog_name(p: *mut libbpf_sys::bpf_program) -> String {
    // SAFETY: callers pass programs of an object they keep open.
    cstr(unsafe { libbpf_sys::bpf_program__name(p) })
}

/// Whether the program loads with its object. `p` must be a program of a live object.
fn prog_autoload(p: *mut libbpf_sys::bpf_program) -> bool {
    // SAFETY: callers pass programs of an object they keep open.
    unsafe { libbpf_sys::bpf_program__autoload(p) }
}

fn verdict(
    p: *mut libbpf_sys::bpf_program,
    mode: &'static str,
    err: Option<String>,
) -> ProgVerdict {
    // SAFETY: p is a program of a live object.
    let (name, section, fd) = unsafe {
        (
            cstr(libbpf_sys::bpf_program__name(p)),
            cstr(libbpf_sys::bpf_program__section_name(p)),
            libbpf_sys::bpf_program__fd(p),
        )
    };
    let info = if fd >= 0 { prog_tag(fd) } else { None };
    ProgVerdict {
        name,
        section,
        loaded: info.is_some(),
        tag: info.map(|i| i.0),
        xlated_len: info.map(|i| i.1),
        error: if info.is_some() { None } else { err },
        mode,
    }
}

/// Loads `path` with libbpf as `oxbpf object check` does: the whole object with default autoload; if that
/// fails, each autoload program alone (fresh open, all others off). One verdict per autoload program.
pub fn load(path: &Path) -> Result<Vec<ProgVerdict>, String> {
    let obj = open(path)?;
    let all = progs(&obj);
    let autoload: Vec<String> = all
        .iter()
        .filter(|p| prog_autoload(**p))
        .map(|p| prog_name(*p))
        .collect();
    // SAFETY: obj is open and not yet loaded.
    let r = unsafe { libbpf_sys::bpf_object__load(obj.0) };
    if r == 0 {
        return Ok(all
            .into_iter()
            .filter(|p| autoload.contains(&prog_name(*p)))
            .map(|p| verdict(p, "whole", None))
            .collect());
    }
    drop(obj);
    let mut out = Vec::new();
    for want in &autoload {
        let obj = open(path)?;
        let mut target = None;
        for p in progs(&obj) {
            let name = prog_name(p);
            // SAFETY: obj not loaded yet; set_autoload is allowed.
            unsafe { libbpf_sys::bpf_program__set_autoload(p, name == *want) };
            if name == *want {
                target = Some(p);
            }
        }
        // SAFETY: obj is open and not yet loaded.
        let r = unsafe { libbpf_sys::bpf_object__load(obj.0) };
        let err = (r != 0).then(|| format!("load: {}", std::io::Error::from_raw_os_error(-r)));
        out.push(verdict(target.unwrap(), "single", err));
    }
    Ok(out)
}

/// How far [`insns_after`] takes an object through libbpf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `bpf_object__prepare`: CO-RE and call relocation, no program load.
    Prepare,
    /// `bpf_object__load`: programs the kernel refuses keep the instructions libbpf relocated.
    Load,
}

/// Each program's instructions after libbpf took `path` through `stage`, CO-RE against
/// `btf_custom_path` when given (else the running kernel's BTF), with that call's return code
/// (0, or a negative errno). Panics when libbpf cannot open the object.
pub fn insns_after(
    path: &Path,
    btf_custom_path: Option<&Path>,
    stage: Stage,
) -> (i32, HashMap<String, Vec<Insn>>) {
    let obj =
        open_with(path, btf_custom_path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // SAFETY: obj is open and neither prepared nor loaded yet.
    let rc = unsafe {
        match stage {
            Stage::Prepare => libbpf_sys::bpf_object__prepare(obj.0),
            Stage::Load => libbpf_sys::bpf_object__load(obj.0),
        }
    };
    let mut out = HashMap::new();
    for p in progs(&obj) {
        // SAFETY: p is a program of obj, open until the end of this function; libbpf's
        // instruction array holds insn_cnt instructions.
        let raw = unsafe {
            let n = libbpf_sys::bpf_program__insn_cnt(p) as usize;
            std::slice::from_raw_parts(libbpf_sys::bpf_program__insns(p).cast::<u8>(), n * 8)
        };
        out.insert(prog_name(p), Insn::slice_from_bytes(raw).unwrap());
    }
    (rc, out)
}
