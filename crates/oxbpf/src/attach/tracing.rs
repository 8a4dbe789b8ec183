//! Trampoline-based programs: `tp_btf`, `fentry`, `fexit`, `fmod_ret`, `lsm`, and `freplace`.
//!
//! Their target was fixed at load time (`attach_btf_id`), so attaching only needs the attach type.
//! `BPF_LINK_CREATE` (with a cookie) is tried first, then `BPF_RAW_TRACEPOINT_OPEN` with no name, which
//! older kernels use for these program types.

use std::os::fd::BorrowedFd;

use crate::error::{Error, ErrorKind, Result};
use crate::link::Link;
use crate::sys;
use crate::sys::link::{LinkExtra, Target};

use super::{attach_type, is_unsupported};

/// Options of [`attach_trace`] (libbpf's `bpf_trace_opts`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceOpts {
    /// Value for `bpf_get_attach_cookie()`.
    pub cookie: u64,
}

/// Attaches a loaded `tp_btf`/`fentry`/`fexit`/`fmod_ret`/`lsm` program with its expected attach type
/// (`attach_type::TRACE_FENTRY`, ...).
pub fn attach_trace(
    prog: BorrowedFd<'_>,
    expected_attach_type: u32,
    opts: &TraceOpts,
) -> Result<Link> {
    let extra = LinkExtra::Tracing {
        target_btf_id: 0,
        cookie: opts.cookie,
    };
    let r = sys::link::link_create(prog, Target::None, expected_attach_type, 0, &extra);
    let r = match r {
        Err(e) if is_unsupported(&e) && opts.cookie == 0 => {
            sys::link::raw_tracepoint_open(prog, None, 0)
        }
        r => r,
    };
    r.map(Link::from_fd)
        .map_err(|e| explain_trampoline_refusal(e, expected_attach_type))
}

/// Attaches an `lsm`/`lsm.s` program.
pub fn attach_lsm(prog: BorrowedFd<'_>, opts: &TraceOpts) -> Result<Link> {
    attach_trace(prog, attach_type::LSM_MAC, opts)
}

/// Attaches an `freplace` program in place of the function with BTF id `target_btf_id` of the loaded
/// program `target_prog` (0 and `None`: the target given at load time).
pub fn attach_freplace(
    prog: BorrowedFd<'_>,
    target_prog: Option<BorrowedFd<'_>>,
    target_btf_id: u32,
) -> Result<Link> {
    if target_prog.is_some() != (target_btf_id != 0) {
        return Err(Error::invalid(
            "freplace: give both the target program and the target function's BTF id, or neither",
        ));
    }
    let target = target_prog.map_or(Target::None, Target::Fd);
    let extra = LinkExtra::Tracing {
        target_btf_id,
        cookie: 0,
    };
    sys::link::link_create(prog, target, 0, 0, &extra)
        .or_else(|e| {
            if target_prog.is_none() && is_unsupported(&e) {
                sys::link::raw_tracepoint_open(prog, None, 0)
            } else {
                Err(e)
            }
        })
        .map(Link::from_fd)
        .map_err(|e| e.context("freplace"))
}

fn kind_name(attach_type: u32) -> &'static str {
    match attach_type {
        attach_type::TRACE_FENTRY => "fentry",
        attach_type::TRACE_FEXIT => "fexit",
        attach_type::MODIFY_RETURN => "fmod_ret",
        attach_type::LSM_MAC | attach_type::LSM_CGROUP => "LSM",
        attach_type::TRACE_RAW_TP => "tp_btf",
        attach_type::TRACE_ITER => "iterator",
        u32::MAX => "freplace",
        _ => "tracing",
    }
}

/// For a failed program load: explains `EPERM`/`ENOTSUPP` of trampoline programs (tracing
/// fentry/fexit/fmod_ret, LSM, freplace) with [`explain_trampoline_refusal`]; other errors unchanged.
pub fn explain_load_refusal(err: Error, prog_type: u32, expected_attach_type: u32) -> Error {
    const TRACING: u32 = 26;
    const EXT: u32 = 28;
    const LSM: u32 = 29;
    let trampoline = match prog_type {
        TRACING => matches!(
            expected_attach_type,
            attach_type::TRACE_FENTRY | attach_type::TRACE_FEXIT | attach_type::MODIFY_RETURN
        ),
        EXT | LSM => true,
        _ => false,
    };
    if trampoline && matches!(err.errno(), Some(libc::EPERM | libc::EOPNOTSUPP | 524)) {
        let ty = if prog_type == EXT {
            u32::MAX
        } else {
            expected_attach_type
        };
        explain_trampoline_refusal(err, ty)
    } else {
        err
    }
}

/// Turns `EPERM`/`ENOTSUPP` from loading or attaching a trampoline program into an error that says the
/// kernel refused fentry/fexit/LSM programs (lockdown, no `CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS`,
/// BPF LSM not in `lsm=`), keeping the errno.
pub fn explain_trampoline_refusal(err: Error, attach_type: u32) -> Error {
    let what = kind_name(attach_type);
    match err.errno() {
        Some(libc::EPERM) => err.with_kind(ErrorKind::PermissionDenied).context(format!(
            "the kernel refused {what} programs (EPERM): fentry/fexit/fmod_ret/LSM need BPF trampolines, \
             which this kernel does not allow (lockdown, missing ftrace direct calls, or BPF LSM not enabled)"
        )),
        Some(524 | libc::EOPNOTSUPP) => err.with_kind(ErrorKind::NotSupported).context(format!(
            "the kernel does not support {what} programs (no BPF trampoline on this architecture/config)"
        )),
        _ => err.context(what),
    }
}
