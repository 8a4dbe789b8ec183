//! `kprobe`, `kretprobe`, `ksyscall`, `kretsyscall`, `kprobe.multi`, `kretprobe.multi`, `kprobe.session`.
//!
//! A single kprobe is a perf event from the `kprobe` PMU (kernel ≥ 4.17) or, on older kernels, a probe
//! defined in tracefs `kprobe_events`. Multi-kprobes are one `BPF_TRACE_KPROBE_MULTI` link over many
//! functions, given by name or shell glob. A kernel built without kprobes has neither the PMU nor
//! `kprobe_events`; attaching then fails with an error that says so.

use std::ffi::CString;
use std::os::fd::BorrowedFd;

use crate::error::{Error, ErrorKind, Result};
use crate::link::{Link, TracefsProbe};
use crate::sys;
use crate::sys::link::{LinkExtra, Target};
use crate::sys::tracefs::ProbeKind;

use super::elf_sym::glob_match;
use super::perf_event::{attach_perf_event_with_probe, PerfEventOpts};
use super::{attach_type, is_unsupported};

/// `BPF_F_KPROBE_MULTI_RETURN`.
const KPROBE_MULTI_RETURN: u32 = 1;

/// How a single kprobe is created (libbpf's `probe_attach_mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProbeAttachMode {
    /// The PMU with a BPF link where possible, else tracefs.
    #[default]
    Default,
    /// The PMU with `PERF_EVENT_IOC_SET_BPF`.
    Perf,
    /// The PMU with a BPF link.
    Link,
    /// tracefs `kprobe_events` / `uprobe_events`.
    Legacy,
}

/// Options of [`attach_kprobe`] (libbpf's `bpf_kprobe_opts`).
#[derive(Debug, Clone, Copy, Default)]
pub struct KprobeOpts {
    /// Attach to the function's return (kretprobe).
    pub retprobe: bool,
    /// Offset into the function.
    pub offset: u64,
    /// Value for `bpf_get_attach_cookie()`.
    pub cookie: u64,
    /// How to create the probe.
    pub mode: ProbeAttachMode,
}

/// The error for a kernel without kprobe support.
pub fn kprobes_unavailable() -> Error {
    Error::new(
        ErrorKind::NotSupported,
        format!(
            "this kernel has no kprobe support (CONFIG_KPROBES off?): no kprobe PMU at {} and no \
             tracefs kprobe_events",
            sys::perf::pmu_dir("kprobe")
        ),
    )
}

/// Attaches `prog` to kernel function `func` (a kprobe, or a kretprobe with `opts.retprobe`).
pub fn attach_kprobe(prog: BorrowedFd<'_>, func: &str, opts: &KprobeOpts) -> Result<Link> {
    let kind = if opts.retprobe { "kretprobe" } else { "kprobe" };
    let what = if opts.offset != 0 {
        format!("{kind} '{func}+{:#x}'", opts.offset)
    } else {
        format!("{kind} '{func}'")
    };
    if func.is_empty() {
        return Err(Error::invalid(format!("{kind}: no function name")));
    }
    let pmu = sys::perf::pmu_type("kprobe").ok();
    let legacy = opts.mode == ProbeAttachMode::Legacy || pmu.is_none();
    let popts = PerfEventOpts {
        cookie: opts.cookie,
        force_ioctl_attach: opts.mode == ProbeAttachMode::Perf,
    };
    if !legacy {
        let pmu = pmu.unwrap_or_default();
        let mut config = 0;
        if opts.retprobe {
            config |= 1u64 << sys::perf::pmu_retprobe_bit("kprobe").unwrap_or(0);
        }
        let event = sys::perf::probe_event_open(pmu, config, func, opts.offset, -1)
            .map_err(|e| explain_missing_target(e, &what, func))?;
        return attach_perf_event_with_probe(prog, event, None, &popts)
            .map_err(|e| e.context(&what));
    }
    if !sys::tracefs::has_kprobe_events() {
        return Err(kprobes_unavailable().context(&what));
    }
    let event_name = sys::tracefs::probe_event_name(func);
    let target = if opts.offset != 0 {
        format!("{func}+{}", opts.offset)
    } else {
        func.to_string()
    };
    let id = sys::tracefs::add_probe(ProbeKind::Kprobe, &event_name, opts.retprobe, &target)
        .map_err(|e| explain_missing_target(e, &what, func))?;
    let probe = TracefsProbe {
        kind: ProbeKind::Kprobe,
        event: event_name,
    };
    let event = tracefs_event_open(id).map_err(|e| e.context(&what))?;
    attach_perf_event_with_probe(prog, event, Some(probe), &popts).map_err(|e| e.context(&what))
}

pub(crate) fn tracefs_event_open(id: u64) -> Result<std::os::fd::OwnedFd> {
    let attr = sys::perf::PerfEventAttr {
        type_: sys::perf::PERF_TYPE_TRACEPOINT,
        config: id,
        sample_period_or_freq: 1,
        wakeup: 1,
        ..Default::default()
    };
    sys::perf::perf_event_open(&attr, -1, 0, None)
}

fn explain_missing_target(e: Error, what: &str, func: &str) -> Error {
    match e.errno() {
        Some(libc::ENOENT | libc::EINVAL) => e.with_kind(ErrorKind::NotFound).context(format!(
            "{what}: kernel function '{func}' not found or not probeable"
        )),
        _ => e.context(what),
    }
}

/// The arch prefix of syscall wrappers (`__x64_sys_`, `__arm64_sys_`, ...), if this arch has one.
pub fn syscall_prefix() -> Option<&'static str> {
    if cfg!(target_arch = "x86_64") {
        Some("__x64_sys_")
    } else if cfg!(target_arch = "aarch64") {
        Some("__arm64_sys_")
    } else if cfg!(target_arch = "s390x") {
        Some("__s390x_sys_")
    } else if cfg!(target_arch = "riscv64") {
        Some("__riscv_sys_")
    } else if cfg!(target_arch = "powerpc64") {
        Some("__powerpc64_sys_")
    } else {
        None
    }
}

/// The kernel function implementing `syscall`: `__<arch>_sys_<name>` on kernels with syscall wrappers
/// (4.17+, seen in `kallsyms`), `sys_<name>` otherwise.
pub fn syscall_function(syscall: &str, kallsyms: &str) -> String {
    if let Some(prefix) = syscall_prefix() {
        let probe = format!("{prefix}bpf");
        let has_wrappers = kallsyms
            .lines()
            .any(|l| l.split_whitespace().nth(2) == Some(probe.as_str()));
        if has_wrappers {
            return format!("{prefix}{syscall}");
        }
    }
    format!("sys_{syscall}")
}

/// Attaches `prog` to system call `syscall` (`ksyscall/<name>`, `kretsyscall/<name>` with retprobe).
pub fn attach_ksyscall(
    prog: BorrowedFd<'_>,
    syscall: &str,
    retprobe: bool,
    cookie: u64,
) -> Result<Link> {
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let func = syscall_function(syscall, &kallsyms);
    attach_kprobe(
        prog,
        &func,
        &KprobeOpts {
            retprobe,
            cookie,
            ..Default::default()
        },
    )
    .map_err(|e| e.context(format!("ksyscall '{syscall}'")))
}

/// Options of [`attach_kprobe_multi`] (libbpf's `bpf_kprobe_multi_opts`).
#[derive(Debug, Clone, Default)]
pub struct KprobeMultiOpts {
    /// Explicit function names (instead of a pattern).
    pub syms: Vec<String>,
    /// Explicit addresses (instead of a pattern).
    pub addrs: Vec<u64>,
    /// One cookie per function, or empty.
    pub cookies: Vec<u64>,
    /// Attach to the functions' returns.
    pub retprobe: bool,
    /// Attach as a kprobe session (entry and return in one program; `kprobe.session`).
    pub session: bool,
}

/// The kernel functions matching glob `pattern`, from `available_filter_functions` (or `kallsyms`).
pub fn resolve_kernel_glob(pattern: &str) -> Result<Vec<String>> {
    let names = match sys::tracefs::available_filter_functions() {
        Ok(n) => n,
        Err(_) => {
            let text = std::fs::read_to_string("/proc/kallsyms")
                .map_err(|e| Error::io("read /proc/kallsyms", e))?;
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let (_, ty, name) = (f.next()?, f.next()?, f.next()?);
                    matches!(ty, "t" | "T").then(|| name.to_string())
                })
                .collect()
        }
    };
    let mut out: Vec<String> = names
        .into_iter()
        .filter(|n| !n.contains('.') && glob_match(pattern, n))
        .collect();
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(Error::not_found(format!(
            "no kernel function matches '{pattern}'"
        )));
    }
    Ok(out)
}

/// Attaches `prog` to many kernel functions at once: those matching `pattern` (a shell glob), or the
/// explicit `opts.syms` / `opts.addrs` when `pattern` is `None`.
pub fn attach_kprobe_multi(
    prog: BorrowedFd<'_>,
    pattern: Option<&str>,
    opts: &KprobeMultiOpts,
) -> Result<Link> {
    let what = match pattern {
        Some(p) => format!("kprobe.multi '{p}'"),
        None => "kprobe.multi".to_string(),
    };
    let syms: Vec<String> = match pattern {
        Some(p) => resolve_kernel_glob(p).map_err(|e| e.context(&what))?,
        None => opts.syms.clone(),
    };
    if syms.is_empty() && opts.addrs.is_empty() {
        return Err(Error::invalid(format!("{what}: no functions given")));
    }
    let csyms: Vec<CString> = syms
        .iter()
        .map(|s| {
            CString::new(s.as_str())
                .map_err(|_| Error::invalid(format!("function name '{s}' contains NUL")))
        })
        .collect::<Result<_>>()?;
    let refs: Vec<&std::ffi::CStr> = csyms.iter().map(|c| c.as_c_str()).collect();
    let extra = LinkExtra::KprobeMulti {
        flags: if opts.retprobe {
            KPROBE_MULTI_RETURN
        } else {
            0
        },
        syms: &refs,
        addrs: &opts.addrs,
        cookies: &opts.cookies,
    };
    let ty = if opts.session {
        attach_type::TRACE_KPROBE_SESSION
    } else {
        attach_type::TRACE_KPROBE_MULTI
    };
    sys::link::link_create(prog, Target::None, ty, 0, &extra)
        .map(Link::from_fd)
        .map_err(|e| {
            if is_unsupported(&e)
                && sys::perf::pmu_type("kprobe").is_err()
                && !sys::tracefs::has_kprobe_events()
            {
                e.with_kind(ErrorKind::NotSupported)
                    .context(format!("{what}: {}", kprobes_unavailable()))
            } else {
                e.context(&what)
            }
        })
}

/// Splits a `kprobe/` section target `func+off` (offset decimal or `0x` hex).
pub fn parse_kprobe_target(target: &str) -> Result<(&str, u64)> {
    match target.split_once('+') {
        None => Ok((target, 0)),
        Some((func, off)) => {
            let parsed = match off.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => off.parse().ok(),
            };
            parsed.map(|o| (func, o)).ok_or_else(|| {
                Error::invalid(format!("kprobe target '{target}': bad offset '{off}'"))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kprobe_targets() {
        assert_eq!(
            parse_kprobe_target("do_unlinkat").unwrap(),
            ("do_unlinkat", 0)
        );
        assert_eq!(
            parse_kprobe_target("do_unlinkat+0x10").unwrap(),
            ("do_unlinkat", 16)
        );
        assert_eq!(parse_kprobe_target("f+8").unwrap(), ("f", 8));
        assert!(parse_kprobe_target("f+zz").is_err());
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn ksyscall_names() {
        let with = "ffffffff814e0370 T __x64_sys_bpf\n";
        assert_eq!(syscall_function("openat", with), "__x64_sys_openat");
        assert_eq!(
            syscall_function("openat", "ffffffff814e0370 T sys_bpf\n"),
            "sys_openat"
        );
    }
}
