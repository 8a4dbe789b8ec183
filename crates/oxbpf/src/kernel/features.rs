//! Feature probes: ask the kernel, never its version.
//!
//! Two families, both cached once per process:
//! - [`Feature`]: the internal checks libbpf runs before loading an object (BTF kinds it may have to
//!   sanitize away, global data, program names, `bpf_probe_read_kernel`, cookies, ...), queried with
//!   [`supported`] / [`kernel_supports`];
//! - [`probe_prog_type`], [`probe_map_type`], [`probe_helper`]: libbpf's public
//!   `libbpf_probe_bpf_prog_type` / `_map_type` / `_helper`.
//!
//! Only conclusive answers are cached: a probe that cannot run (no privilege, out of memory) returns an
//! error and is retried next time.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, ErrorKind, Result};
use crate::insn::{reg::*, Insn, BPF_ADD, BPF_DW};
use crate::map::{MapType, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC};
use crate::program::{load_with_growing_log, AttachType, ProgramType};
use crate::sys::bpf::{self as sys, LoadLog, MapCreateOpts, ProgLoadOpts};
use crate::sys::link::{self, LinkExtra, Target};

/// One kernel capability libbpf checks before loading (its `enum kern_feature_id`).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feature {
    ProgName,
    GlobalData,
    Btf,
    BtfFunc,
    BtfGlobalFunc,
    BtfDatasec,
    ArrayMmap,
    ExpAttachType,
    ProbeReadKernel,
    ProgBindMap,
    ModuleBtf,
    BtfFloat,
    PerfLink,
    BtfDeclTag,
    BtfTypeTag,
    MemcgAccount,
    BpfCookie,
    BtfEnum64,
    SyscallWrapper,
    UprobeMultiLink,
    ArgCtxTag,
    BtfQmarkDatasec,
    Ldimm64FullRangeOff,
    UprobeSyscall,
}

impl Feature {
    /// Every feature, in libbpf's order.
    pub const ALL: &'static [Feature] = &[
        Feature::ProgName,
        Feature::GlobalData,
        Feature::Btf,
        Feature::BtfFunc,
        Feature::BtfGlobalFunc,
        Feature::BtfDatasec,
        Feature::ArrayMmap,
        Feature::ExpAttachType,
        Feature::ProbeReadKernel,
        Feature::ProgBindMap,
        Feature::ModuleBtf,
        Feature::BtfFloat,
        Feature::PerfLink,
        Feature::BtfDeclTag,
        Feature::BtfTypeTag,
        Feature::MemcgAccount,
        Feature::BpfCookie,
        Feature::BtfEnum64,
        Feature::SyscallWrapper,
        Feature::UprobeMultiLink,
        Feature::ArgCtxTag,
        Feature::BtfQmarkDatasec,
        Feature::Ldimm64FullRangeOff,
        Feature::UprobeSyscall,
    ];

    /// The human description libbpf prints when a probe fails (`"BPF program name"`, ...).
    pub fn description(self) -> &'static str {
        match self {
            Feature::ProgName => "BPF program name",
            Feature::GlobalData => "global variables",
            Feature::Btf => "minimal BTF",
            Feature::BtfFunc => "BTF functions",
            Feature::BtfGlobalFunc => "BTF global function",
            Feature::BtfDatasec => "BTF data section and variable",
            Feature::ArrayMmap => "ARRAY map mmap()",
            Feature::ExpAttachType => "BPF_PROG_LOAD expected_attach_type attribute",
            Feature::ProbeReadKernel => "bpf_probe_read_kernel() helper",
            Feature::ProgBindMap => "BPF_PROG_BIND_MAP support",
            Feature::ModuleBtf => "module BTF support",
            Feature::BtfFloat => "BTF_KIND_FLOAT support",
            Feature::PerfLink => "BPF perf link support",
            Feature::BtfDeclTag => "BTF_KIND_DECL_TAG support",
            Feature::BtfTypeTag => "BTF_KIND_TYPE_TAG support",
            Feature::MemcgAccount => "memcg-based memory accounting",
            Feature::BpfCookie => "BPF cookie support",
            Feature::BtfEnum64 => "BTF_KIND_ENUM64 support",
            Feature::SyscallWrapper => "Kernel using syscall wrapper",
            Feature::UprobeMultiLink => "BPF multi-uprobe link support",
            Feature::ArgCtxTag => "kernel-side __arg_ctx tag",
            Feature::BtfQmarkDatasec => "BTF DATASEC names starting from '?'",
            Feature::Ldimm64FullRangeOff => "full range LDIMM64 support",
            Feature::UprobeSyscall => "kernel supports uprobe syscall",
        }
    }

    fn index(self) -> usize {
        Feature::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }

    fn probe(self) -> Result<bool> {
        match self {
            Feature::ProgName => probe_prog_name(),
            Feature::GlobalData => probe_global_data(),
            Feature::Btf => btf_loads(&[int(1, 4)].concat(), b"\0int\0"),
            Feature::BtfFunc => btf_loads(&func_btf(0), b"\0int\0x\0a\0"),
            Feature::BtfGlobalFunc => btf_loads(&func_btf(BTF_FUNC_GLOBAL), b"\0int\0x\0a\0"),
            Feature::BtfDatasec => btf_loads(&datasec_btf(), b"\0x\0.data\0"),
            Feature::BtfQmarkDatasec => btf_loads(&datasec_btf(), b"\0x\0?.data\0"),
            Feature::BtfFloat => btf_loads(&ty(1, info(KIND_FLOAT, 0), 4), b"\0float\0"),
            Feature::BtfDeclTag => btf_loads(&decl_tag_btf(), b"\0tag\0"),
            Feature::BtfTypeTag => btf_loads(&type_tag_btf(), b"\0tag\0"),
            Feature::BtfEnum64 => btf_loads(&ty(1, info(KIND_ENUM64, 0), 8), b"\0enum64\0"),
            Feature::ArrayMmap => probe_array_mmap(),
            Feature::ExpAttachType => probe_exp_attach_type(),
            Feature::ProbeReadKernel => probe_read_kernel(),
            Feature::ProgBindMap => probe_prog_bind_map(),
            Feature::ModuleBtf => probe_module_btf(),
            Feature::PerfLink => probe_perf_link(),
            Feature::MemcgAccount => probe_memcg_account(),
            Feature::BpfCookie => probe_bpf_cookie(),
            Feature::SyscallWrapper => probe_syscall_wrapper(),
            Feature::UprobeMultiLink => probe_uprobe_multi_link(),
            Feature::ArgCtxTag => probe_arg_ctx_tag(),
            Feature::Ldimm64FullRangeOff => probe_ldimm64_full_range_off(),
            Feature::UprobeSyscall => Ok(probe_uprobe_syscall()),
        }
    }
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}

/// Whether the running kernel has `feature`; probed on first use, then cached for the process.
/// Errors mean the probe itself could not run (they are not cached).
pub fn supported(feature: Feature) -> Result<bool> {
    static CACHE: OnceLock<Vec<OnceLock<bool>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Feature::ALL.iter().map(|_| OnceLock::new()).collect());
    let Some(cell) = cache.get(feature.index()) else {
        return feature.probe();
    };
    if let Some(v) = cell.get() {
        return Ok(*v);
    }
    let v = feature
        .probe()
        .map_err(|e| e.context(format_args!("detecting kernel {}", feature.description())))?;
    Ok(*cell.get_or_init(|| v))
}

/// [`supported`], treating a probe that could not run as "missing" (libbpf's `kernel_supports`), with a
/// warning in the log.
pub fn kernel_supports(feature: Feature) -> bool {
    supported(feature).unwrap_or_else(|e| {
        log::warn!(
            "Detection of kernel {} support failed: {e}",
            feature.description()
        );
        false
    })
}

/// Raises `RLIMIT_MEMLOCK` to unlimited once per process, on kernels that still charge BPF memory to it
/// (before memcg accounting, 5.11), as libbpf does before creating maps or loading programs. Failure
/// is ignored: the kernel then reports EPERM on the load itself.
pub fn bump_memlock_rlimit() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if !kernel_supports(Feature::MemcgAccount) {
            let unlimited = rustix::process::Rlimit {
                current: None,
                maximum: None,
            };
            if let Err(e) =
                rustix::process::setrlimit(rustix::process::Resource::Memlock, unlimited)
            {
                log::warn!("could not raise RLIMIT_MEMLOCK: {e}");
            }
        }
    });
}

// ---- BTF encoding for probes ----

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;
const BTF_FUNC_GLOBAL: u32 = 1;

const fn info(kind: u32, vlen: u32) -> u32 {
    (kind << 24) | vlen
}

fn ty(name: u32, info: u32, size_or_type: u32) -> Vec<u32> {
    vec![name, info, size_or_type]
}

/// A signed 32-bit INT named by string offset `name`.
fn int(name: u32, size: u32) -> Vec<u32> {
    vec![name, info(KIND_INT, 0), size, (1 << 24) | (size * 8)]
}

/// `void x(int a) {}` with the given linkage: [1] int, [2] proto(int a), [3] FUNC x.
fn func_btf(linkage: u32) -> Vec<u32> {
    [
        int(1, 4),
        ty(0, info(KIND_FUNC_PROTO, 1), 0),
        vec![7, 1],
        ty(5, info(KIND_FUNC, linkage), 2),
    ]
    .concat()
}

/// `static int x;` in a one-variable DATASEC named by string offset 3.
fn datasec_btf() -> Vec<u32> {
    [
        int(0, 4),
        ty(1, info(KIND_VAR, 0), 1),
        vec![0],
        ty(3, info(KIND_DATASEC, 1), 4),
        vec![2, 0, 4],
    ]
    .concat()
}

fn decl_tag_btf() -> Vec<u32> {
    [
        int(0, 4),
        ty(1, info(KIND_VAR, 0), 1),
        vec![0],
        ty(1, info(KIND_DECL_TAG, 0), 2),
        vec![u32::MAX],
    ]
    .concat()
}

fn type_tag_btf() -> Vec<u32> {
    [
        int(0, 4),
        ty(1, info(KIND_TYPE_TAG, 0), 1),
        ty(0, info(KIND_PTR, 0), 2),
    ]
    .concat()
}

/// A raw BTF blob: header, `types` (u32 words), strings.
pub(crate) fn raw_btf(types: &[u32], strs: &[u8]) -> Vec<u8> {
    let type_len = (types.len() * 4) as u32;
    let mut b = Vec::with_capacity(24 + type_len as usize + strs.len());
    b.extend_from_slice(&0xeb9fu16.to_ne_bytes());
    b.extend_from_slice(&[1, 0]);
    for w in [24u32, 0, type_len, type_len, strs.len() as u32] {
        b.extend_from_slice(&w.to_ne_bytes());
    }
    for w in types {
        b.extend_from_slice(&w.to_ne_bytes());
    }
    b.extend_from_slice(strs);
    b
}

fn load_btf(types: &[u32], strs: &[u8]) -> Result<OwnedFd> {
    sys::btf_load(&raw_btf(types, strs), None, None)
}

/// Ok(true) when the BTF loads, Ok(false) when the kernel rejects it as invalid, Err when the kernel
/// refused for another reason (no privilege, ...).
fn btf_loads(types: &[u32], strs: &[u8]) -> Result<bool> {
    verdict(load_btf(types, strs))
}

/// Classifies a probe load: success, a "this kernel does not understand it" refusal, or an error that
/// says nothing about the feature.
fn verdict<T>(r: Result<T>) -> Result<bool> {
    match r {
        Ok(_) => Ok(true),
        // EPERM: not allowed to ask; ENOMEM: could not ask. Neither says anything about the feature.
        // (EACCES is the verifier refusing the probe program: a conclusive "no".)
        Err(e) if matches!(e.errno(), Some(libc::EPERM) | Some(libc::ENOMEM)) => Err(e),
        Err(_) => Ok(false),
    }
}

// ---- program and map probes ----

const RET0: [Insn; 2] = [Insn::mov64_imm(R0, 0), Insn::exit()];

fn load(t: ProgramType, insns: &[Insn], opts: &ProgLoadOpts<'_>) -> Result<OwnedFd> {
    sys::prog_load(t.as_u32(), None, "GPL", insns, opts, None)
}

fn probe_prog_name() -> Result<bool> {
    let r = sys::prog_load(
        ProgramType::SocketFilter.as_u32(),
        Some("libbpf_nametest"),
        "GPL",
        &RET0,
        &ProgLoadOpts::default(),
        None,
    );
    verdict(r)
}

fn array(name: &str, value_size: u32, flags: u32) -> Result<OwnedFd> {
    let o = MapCreateOpts {
        map_flags: flags,
        ..Default::default()
    };
    sys::map_create(MapType::Array.as_u32(), Some(name), 4, value_size, 1, &o)
}

fn map_fd_imm(fd: &OwnedFd) -> i32 {
    std::os::fd::AsRawFd::as_raw_fd(fd)
}

fn probe_global_data() -> Result<bool> {
    let map = array("libbpf_global", 32, 0)?;
    let [a, b] = Insn::ld_map_value(R1, map_fd_imm(&map), 16);
    let insns = [
        a,
        b,
        Insn::st_mem(BPF_DW, R1, 0, 42),
        Insn::mov64_imm(R0, 0),
        Insn::exit(),
    ];
    verdict(load(
        ProgramType::SocketFilter,
        &insns,
        &ProgLoadOpts::default(),
    ))
}

fn probe_array_mmap() -> Result<bool> {
    verdict(array("libbpf_mmap", 4, BPF_F_MMAPABLE))
}

fn probe_exp_attach_type() -> Result<bool> {
    let o = ProgLoadOpts {
        expected_attach_type: AttachType::CgroupInetSockCreate.as_u32(),
        ..Default::default()
    };
    verdict(load(ProgramType::CgroupSock, &RET0, &o))
}

fn probe_read_kernel() -> Result<bool> {
    let insns = [
        Insn::mov64_reg(R1, R10),
        Insn::alu64_imm(BPF_ADD, R1, -8),
        Insn::mov64_imm(R2, 8),
        Insn::mov64_imm(R3, 0),
        Insn::call_helper(113), // bpf_probe_read_kernel
        Insn::exit(),
    ];
    verdict(load(
        ProgramType::Tracepoint,
        &insns,
        &ProgLoadOpts::default(),
    ))
}

fn probe_prog_bind_map() -> Result<bool> {
    let map = array("libbpf_det_bind", 32, 0)?;
    let Ok(prog) = load(ProgramType::SocketFilter, &RET0, &ProgLoadOpts::default()) else {
        return Ok(false);
    };
    verdict(sys::prog_bind_map(prog.as_fd(), map.as_fd()))
}

fn probe_module_btf() -> Result<bool> {
    // Kernels with module BTF also report BTF object names through bpf_btf_info.
    let Ok(fd) = load_btf(&int(1, 4), b"\0int\0") else {
        return Ok(false);
    };
    Ok(sys::btf_name(fd.as_fd()).is_ok())
}

fn probe_perf_link() -> Result<bool> {
    let prog = load(ProgramType::Tracepoint, &RET0, &ProgLoadOpts::default())?;
    // An invalid perf event fd: EBADF when perf links exist, EINVAL before. Uses a closed descriptor
    // number rather than -1, which a BorrowedFd cannot hold.
    let bad = invalid_fd()?;
    match link::link_create(
        prog.as_fd(),
        Target::Fd(bad.as_fd()),
        AttachType::PerfEvent.as_u32(),
        0,
        &LinkExtra::None,
    ) {
        Ok(_) => Ok(false),
        Err(e) => Ok(e.errno() == Some(libc::EBADF)),
    }
}

/// An fd that is open but not a perf event (`/dev/null`), so `BPF_LINK_CREATE` reaches the perf
/// lookup and fails there.
fn invalid_fd() -> Result<OwnedFd> {
    std::fs::File::open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| Error::io("open /dev/null", e))
}

fn probe_uprobe_multi_link() -> Result<bool> {
    let o = ProgLoadOpts {
        expected_attach_type: AttachType::TraceUprobeMulti.as_u32(),
        ..Default::default()
    };
    let prog = match load(ProgramType::Kprobe, &RET0, &o) {
        Ok(p) => p,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => return Err(e),
        Err(_) => return Ok(false),
    };
    let offsets = [0u64];
    let mut extra = LinkExtra::UprobeMulti {
        path: c"/",
        offsets: &offsets,
        ref_ctr_offsets: &[],
        cookies: &[],
        flags: 0,
        pid: 0,
    };
    let at = AttachType::TraceUprobeMulti.as_u32();
    // Uprobe on '/' fails with EBADF where multi-uprobe links exist.
    match link::link_create(prog.as_fd(), Target::None, at, 0, &extra) {
        Err(e) if e.errno() == Some(libc::EBADF) => {}
        _ => return Ok(false),
    }
    // Kernels with fixed PID filtering reject pid -1 with EINVAL before looking at the path.
    if let LinkExtra::UprobeMulti { pid, .. } = &mut extra {
        *pid = u32::MAX;
    }
    let r = link::link_create(prog.as_fd(), Target::None, at, 0, &extra);
    Ok(matches!(r, Err(e) if e.errno() == Some(libc::EINVAL)))
}

fn probe_memcg_account() -> Result<bool> {
    // bpf_ktime_get_coarse_ns arrived with memcg-based accounting (5.11).
    verdict(load(
        ProgramType::SocketFilter,
        &[Insn::call_helper(160), Insn::exit()],
        &ProgLoadOpts::default(),
    ))
}

fn probe_bpf_cookie() -> Result<bool> {
    verdict(load(
        ProgramType::Tracepoint,
        &[Insn::call_helper(174), Insn::exit()],
        &ProgLoadOpts::default(),
    ))
}

/// The prefix the architecture's syscall wrappers use (`__x64_sys_bpf`).
fn syscall_prefix() -> Option<&'static str> {
    if cfg!(target_arch = "x86_64") {
        Some("x64")
    } else if cfg!(target_arch = "x86") {
        Some("ia32")
    } else if cfg!(target_arch = "s390x") {
        Some("s390x")
    } else if cfg!(target_arch = "arm") {
        Some("arm")
    } else if cfg!(target_arch = "aarch64") {
        Some("arm64")
    } else if cfg!(target_arch = "riscv64") {
        Some("riscv")
    } else if cfg!(target_arch = "powerpc64") {
        Some("powerpc64")
    } else {
        None
    }
}

/// libbpf's `probe_kern_syscall_wrapper`: whether a kprobe can be created on `__<arch>_sys_bpf`,
/// through the kprobe PMU when there is one, else through legacy `kprobe_events`.
///
/// The answer is what `LINUX_HAS_SYSCALL_WRAPPER` reads, so it has to be libbpf's even where it
/// is not the kernel's truth: a kernel without kprobes answers `false` although it has the
/// wrappers (looking the symbol up in kallsyms would say `true`, and the verifier would then keep
/// the other, longer branch of every `BPF_KSYSCALL` program alive).
fn probe_syscall_wrapper() -> Result<bool> {
    let Some(pfx) = syscall_prefix() else {
        return Ok(false);
    };
    let target = format!("__{pfx}_sys_bpf");
    if let Ok(pmu) = crate::sys::perf::pmu_type("kprobe") {
        let pid = std::process::id() as i32;
        return Ok(crate::sys::perf::probe_event_open(pmu, 0, &target, 0, pid).is_ok());
    }
    let kind = crate::sys::tracefs::ProbeKind::Kprobe;
    let event = crate::sys::tracefs::probe_event_name(&target);
    if crate::sys::tracefs::add_probe(kind, &event, false, &target).is_err() {
        return Ok(false);
    }
    let _ = crate::sys::tracefs::remove_probe(kind, &event);
    Ok(true)
}

fn probe_arg_ctx_tag() -> Result<bool> {
    // [1] int a; [2] void *; [3] int(void *a); [4] FUNC a global; [5] int(void *b); [6] FUNC b global;
    // [7] DECL_TAG "arg:ctx" on b's argument 0.
    let types = [
        int(1, 4),
        ty(0, info(KIND_PTR, 0), 0),
        ty(0, info(KIND_FUNC_PROTO, 1), 1),
        vec![1, 2],
        ty(1, info(KIND_FUNC, BTF_FUNC_GLOBAL), 3),
        ty(0, info(KIND_FUNC_PROTO, 1), 1),
        vec![3, 2],
        ty(3, info(KIND_FUNC, BTF_FUNC_GLOBAL), 5),
        ty(5, info(KIND_DECL_TAG, 0), 6),
        vec![0],
    ]
    .concat();
    let Ok(btf) = load_btf(&types, b"\0a\0b\0arg:ctx\0") else {
        return Ok(false);
    };
    let insns = [
        Insn::call_pseudo(1),
        Insn::exit(),
        Insn::call_helper(173),
        Insn::exit(),
    ];
    let func_info: Vec<u8> = [0u32, 4, 2, 6]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect();
    let o = ProgLoadOpts {
        prog_btf_fd: Some(btf.as_fd()),
        func_info: &func_info,
        func_info_rec_size: 8,
        ..Default::default()
    };
    verdict(sys::prog_load(
        ProgramType::Kprobe.as_u32(),
        Some("det_arg_ctx"),
        "GPL",
        &insns,
        &o,
        None,
    ))
}

fn probe_ldimm64_full_range_off() -> Result<bool> {
    let map = array("arr", 1, 0)?;
    let [a, b] = Insn::ld_map_value(R1, map_fd_imm(&map), 1 << 30);
    let insns = [a, b, Insn::exit()];
    let mut buf = vec![0u8; 4096];
    let mut log = LoadLog {
        level: 1,
        buf: &mut buf,
        true_size: 0,
    };
    let r = sys::prog_load(
        ProgramType::SocketFilter.as_u32(),
        Some("global_reloc"),
        "GPL",
        &insns,
        &ProgLoadOpts::default(),
        Some(&mut log),
    );
    let text = log.text();
    match r {
        Ok(_) => Err(Error::new(
            ErrorKind::Other,
            "ldimm64 full-range probe: program unexpectedly loaded",
        )),
        Err(_) if text.contains("direct value offset of") => Ok(false),
        Err(_) if text.contains("invalid access to map value pointer") => Ok(true),
        Err(e) => Err(e
            .context("ldimm64 full-range probe: unexpected verifier message")
            .with_log(text)),
    }
}

/// The `uprobe()` syscall (x86-64 only) answers ENXIO when called outside a uprobe trampoline.
fn probe_uprobe_syscall() -> bool {
    if !cfg!(target_arch = "x86_64") {
        return false;
    }
    crate::sys::raw_syscall0(336) == Err(libc::ENXIO)
}

// ---- libbpf_probe_bpf_* ----

fn kernel_version_code() -> u32 {
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = rel
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse::<u32>().ok());
    let (a, b, c) = (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    );
    (a << 16) | (b << 8) | c.min(255)
}

/// Loads `insns` as `prog_type` with the attributes that type needs (libbpf's `probe_prog_load`);
/// returns whether it loaded and the verifier log when `want_log`.
fn probe_load(prog_type: ProgramType, insns: &[Insn], want_log: bool) -> Result<(bool, String)> {
    let mut o = ProgLoadOpts::default();
    let mut expect: Option<(i32, &str)> = None;
    match prog_type {
        ProgramType::CgroupSockAddr => {
            o.expected_attach_type = AttachType::CgroupInet4Connect.as_u32()
        }
        ProgramType::CgroupSockopt => {
            o.expected_attach_type = AttachType::CgroupGetsockopt.as_u32()
        }
        ProgramType::SkLookup => o.expected_attach_type = AttachType::SkLookup.as_u32(),
        ProgramType::Kprobe => o.kern_version = kernel_version_code(),
        ProgramType::LircMode2 => o.expected_attach_type = AttachType::LircMode2.as_u32(),
        ProgramType::Tracing | ProgramType::Lsm => {
            o.expected_attach_type = if prog_type == ProgramType::Tracing {
                AttachType::TraceFentry.as_u32()
            } else {
                AttachType::ModifyReturn.as_u32()
            };
            o.attach_btf_id = 1;
            expect = Some((libc::EINVAL, "attach_btf_id 1 is not a function"));
        }
        ProgramType::Ext => {
            o.attach_btf_id = 1;
            expect = Some((libc::EINVAL, "Cannot replace kernel functions"));
        }
        ProgramType::Syscall => o.prog_flags = 1 << 4, // BPF_F_SLEEPABLE
        ProgramType::StructOps => expect = Some((524, "")),
        ProgramType::Netfilter => o.expected_attach_type = AttachType::Netfilter.as_u32(),
        ProgramType::Unspec => {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "cannot probe program type unspec",
            ))
        }
        _ => {}
    }
    let need_log = want_log || expect.is_some_and(|(_, m)| !m.is_empty());
    let t = prog_type.as_u32();
    let (r, log) = if need_log {
        load_with_growing_log(1, |l| sys::prog_load(t, None, "GPL", insns, &o, Some(l)))
    } else {
        (
            sys::prog_load(t, None, "GPL", insns, &o, None),
            String::new(),
        )
    };
    let ok = match (expect, r) {
        (Some(_), Ok(_)) => false,
        (Some((errno, msg)), Err(e)) => e.errno() == Some(errno) && log.contains(msg),
        (None, Ok(_)) => true,
        (None, Err(e)) if e.errno() == Some(libc::EPERM) && log.trim().is_empty() => return Err(e),
        (None, Err(_)) => false,
    };
    Ok((ok, log))
}

/// Cached probe answers by (probe kind, type, helper).
type ProbeCache = Mutex<HashMap<(u8, u32, u32), bool>>;

fn probe_cache() -> &'static ProbeCache {
    static C: OnceLock<ProbeCache> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

fn cached(key: (u8, u32, u32), f: impl FnOnce() -> Result<bool>) -> Result<bool> {
    if let Some(v) = probe_cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
    {
        return Ok(*v);
    }
    let v = f()?;
    probe_cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, v);
    Ok(v)
}

/// Whether the kernel can load programs of `prog_type` (libbpf's `libbpf_probe_bpf_prog_type`).
pub fn probe_prog_type(prog_type: ProgramType) -> Result<bool> {
    cached((0, prog_type.as_u32(), 0), || {
        probe_load(prog_type, &RET0, false).map(|(ok, _)| ok)
    })
}

/// Whether the kernel can create maps of `map_type` (libbpf's `libbpf_probe_bpf_map_type`).
pub fn probe_map_type(map_type: MapType) -> Result<bool> {
    cached((1, map_type.as_u32(), 0), || probe_map_create(map_type))
}

/// Whether programs of `prog_type` may call helper `helper_id` (libbpf's `libbpf_probe_bpf_helper`).
/// Tracing, ext, LSM and struct_ops programs cannot be probed this way (`NotSupported`).
pub fn probe_helper(prog_type: ProgramType, helper_id: u32) -> Result<bool> {
    if matches!(
        prog_type,
        ProgramType::Tracing | ProgramType::Ext | ProgramType::Lsm | ProgramType::StructOps
    ) {
        return Err(Error::new(
            ErrorKind::NotSupported,
            format!("helpers of {prog_type} programs cannot be probed"),
        ));
    }
    cached((2, prog_type.as_u32(), helper_id), || {
        let insns = [Insn::call_helper(helper_id as i32), Insn::exit()];
        let (_, log) = probe_load(prog_type, &insns, true)?;
        // The verifier names an unknown helper, or one this program type may not call; any other outcome
        // (loads, or fails on an argument) means the helper is there.
        Ok(!(log.contains("invalid func ")
            || log.contains("unknown func ")
            || log.contains("program of this type cannot use helper ")))
    })
}

fn probe_map_create(map_type: MapType) -> Result<bool> {
    let (mut k, mut v, mut n) = (4u32, 4u32, 1u32);
    let mut o = MapCreateOpts::default();
    let mut btf: Option<OwnedFd> = None;
    match map_type {
        MapType::StackTrace => v = 8,
        MapType::LpmTrie => {
            (k, v) = (8, 8);
            o.map_flags = BPF_F_NO_PREALLOC;
        }
        MapType::CgroupStorage | MapType::PercpuCgroupStorage => (k, v, n) = (16, 8, 0),
        MapType::Queue | MapType::Stack | MapType::BloomFilter => k = 0,
        MapType::SkStorage
        | MapType::InodeStorage
        | MapType::TaskStorage
        | MapType::CgrpStorage => {
            // struct val { int cnt; struct bpf_spin_lock l; }
            let types = [
                int(0, 4),
                ty(1, info(4 /* STRUCT */, 1), 4),
                vec![15, 1, 0],
                ty(15, info(4, 2), 8),
                vec![19, 1, 0, 23, 2, 32],
            ]
            .concat();
            btf = Some(load_btf(&types, b"\0bpf_spin_lock\0val\0cnt\0l\0")?);
            (v, n) = (8, 0);
            o.map_flags = BPF_F_NO_PREALLOC;
            o.btf_key_type_id = 1;
            o.btf_value_type_id = 3;
        }
        MapType::Ringbuf | MapType::UserRingbuf => {
            (k, v) = (0, 0);
            n = crate::sys::mmap::page_size() as u32;
        }
        MapType::StructOps => {
            let r = sys::map_create_struct_ops_probe();
            return Ok(matches!(r, Err(e) if e.errno() == Some(524)));
        }
        MapType::Arena => {
            (k, v) = (0, 0);
            o.map_flags = BPF_F_MMAPABLE;
        }
        MapType::InsnArray => v = 16,
        MapType::Unspec => {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "cannot probe map type unspec",
            ))
        }
        _ => {}
    }
    let inner = if matches!(map_type, MapType::ArrayOfMaps | MapType::HashOfMaps) {
        Some(sys::map_create(
            MapType::Hash.as_u32(),
            None,
            4,
            4,
            1,
            &MapCreateOpts::default(),
        )?)
    } else {
        None
    };
    o.inner_map_fd = inner.as_ref().map(|f| f.as_fd());
    o.btf_fd = btf.as_ref().map(|f| f.as_fd());
    let r = sys::map_create(map_type.as_u32(), None, k, v, n, &o);
    verdict(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btf_blobs_are_well_formed() {
        let b = raw_btf(&int(1, 4), b"\0int\0");
        assert_eq!(b.len(), 24 + 16 + 5);
        assert_eq!(&b[..4], &[0x9f, 0xeb, 1, 0]);
        // func_btf: 4 + 3 + 2 + 3 words.
        assert_eq!(func_btf(0).len(), 12);
        assert_eq!(func_btf(BTF_FUNC_GLOBAL)[10], info(KIND_FUNC, 1));
        assert_eq!(datasec_btf().len(), 4 + 3 + 1 + 3 + 3);
    }

    #[test]
    fn every_feature_has_a_description() {
        for f in Feature::ALL {
            assert!(!f.description().is_empty());
            assert_eq!(Feature::ALL[f.index()], *f);
        }
    }
}
