//! `uprobe`, `uretprobe`, `uprobe.multi`, `uretprobe.multi`, `uprobe.session`: user-space probes.
//!
//! The target is a binary or library plus a file offset. Offsets come from the ELF symbol tables
//! ([`elf_sym`](super::elf_sym)); library names (`libc.so.6`, `libc`) are found among the files a process
//! has mapped, in the dynamic linker's cache, or in the usual directories ([`super::libpath`]).
//! A single uprobe is a perf event from the `uprobe` PMU or a tracefs `uprobe_events` definition.

use std::ffi::CString;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::link::{Link, TracefsProbe};
use crate::sys;
use crate::sys::link::{LinkExtra, Target};
use crate::sys::tracefs::ProbeKind;

use super::attach_type;
use super::elf_sym::{glob_match, ElfImage};
use super::kprobe::ProbeAttachMode;
use super::libpath;
use super::perf_event::{attach_perf_event_with_probe, PerfEventOpts};

/// `BPF_F_UPROBE_MULTI_RETURN`.
const UPROBE_MULTI_RETURN: u32 = 1;

/// Options of [`attach_uprobe`] (libbpf's `bpf_uprobe_opts`).
#[derive(Debug, Clone, Default)]
pub struct UprobeOpts {
    /// Attach to the function's return (uretprobe).
    pub retprobe: bool,
    /// Only fire in this process (`None`: every process).
    pub pid: Option<i32>,
    /// The function to probe; its offset is added to `offset`.
    pub func_name: Option<String>,
    /// File offset (or offset into `func_name`).
    pub offset: u64,
    /// File offset of a reference counter (USDT semaphore) the kernel increments while attached.
    pub ref_ctr_offset: u64,
    /// Value for `bpf_get_attach_cookie()`.
    pub cookie: u64,
    /// How to create the probe.
    pub mode: ProbeAttachMode,
}

/// Finds the file behind `binary`: a path (with a `/`) as given; a library name among the files mapped
/// by `pid`, in `/etc/ld.so.cache`, then in the library directories; any other name on `$PATH`.
pub fn resolve_binary(binary: &str, pid: Option<i32>) -> Result<PathBuf> {
    if binary.contains('/') {
        let p = PathBuf::from(binary);
        return if p.exists() {
            Ok(p)
        } else {
            Err(Error::not_found(format!(
                "uprobe target '{binary}' does not exist"
            )))
        };
    }
    let is_lib = binary.contains(".so") || binary.starts_with("lib");
    if is_lib {
        if let Some(pid) = pid.filter(|&p| p > 0) {
            if let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) {
                let entries = libpath::parse_proc_maps(&maps);
                if let Some(p) = libpath::maps_lookup(&entries, binary) {
                    // Through /proc/PID/root so a process in another mount namespace resolves too.
                    return Ok(PathBuf::from(format!("/proc/{pid}/root{p}")));
                }
            }
        }
        if let Ok(cache) = std::fs::read("/etc/ld.so.cache") {
            if let Ok(entries) = libpath::parse_ld_so_cache(&cache) {
                if let Some(p) =
                    libpath::ld_cache_lookup(&entries, binary, libpath::host_ldcache_flags())
                {
                    return Ok(PathBuf::from(p));
                }
            }
        }
        let mut dirs: Vec<String> = std::env::var("LD_LIBRARY_PATH")
            .unwrap_or_default()
            .split(':')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let triple = if cfg!(target_arch = "x86_64") {
            "x86_64-linux-gnu"
        } else {
            "aarch64-linux-gnu"
        };
        for d in ["/usr/lib64", "/usr/lib", "/lib64", "/lib"] {
            dirs.push(format!("{d}/{triple}"));
            dirs.push(d.to_string());
        }
        for d in dirs {
            let p = Path::new(&d).join(binary);
            if p.exists() {
                return Ok(p);
            }
        }
    } else {
        for d in std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .filter(|s| !s.is_empty())
        {
            let p = Path::new(d).join(binary);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(Error::not_found(format!(
        "uprobe target '{binary}' not found (looked in the process's mappings, /etc/ld.so.cache, library dirs and $PATH)"
    )))
}

/// The file offset of function `func` in the ELF file at `path`.
pub fn func_offset(path: &Path, func: &str) -> Result<u64> {
    let data = std::fs::read(path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
    let img = ElfImage::parse(&data, &path.to_string_lossy())?;
    img.func_offset(func)
        .map_err(|e| e.context(format!("{}", path.display())))
}

/// Attaches `prog` to `binary` (a path or library name) at `opts.func_name` + `opts.offset`.
pub fn attach_uprobe(prog: BorrowedFd<'_>, binary: &str, opts: &UprobeOpts) -> Result<Link> {
    let kind = if opts.retprobe { "uretprobe" } else { "uprobe" };
    let path = resolve_binary(binary, opts.pid).map_err(|e| e.context(kind))?;
    let mut offset = opts.offset;
    if let Some(func) = opts.func_name.as_deref().filter(|f| !f.is_empty()) {
        offset += func_offset(&path, func).map_err(|e| e.context(kind))?;
    }
    let what = match &opts.func_name {
        Some(f) => format!("{kind} '{}:{f}+{:#x}'", path.display(), opts.offset),
        None => format!("{kind} '{}:{offset:#x}'", path.display()),
    };
    let path_str = path.to_string_lossy().into_owned();
    let pid = opts.pid.unwrap_or(-1);
    let popts = PerfEventOpts {
        cookie: opts.cookie,
        force_ioctl_attach: opts.mode == ProbeAttachMode::Perf,
    };
    let pmu = sys::perf::pmu_type("uprobe").ok();
    if opts.mode != ProbeAttachMode::Legacy {
        if let Some(pmu) = pmu {
            let mut config = opts.ref_ctr_offset << sys::perf::UPROBE_REF_CTR_OFFSET_SHIFT;
            if opts.retprobe {
                config |= 1u64 << sys::perf::pmu_retprobe_bit("uprobe").unwrap_or(0);
            }
            let event = sys::perf::probe_event_open(pmu, config, &path_str, offset, pid)
                .map_err(|e| e.context(&what))?;
            return attach_perf_event_with_probe(prog, event, None, &popts)
                .map_err(|e| e.context(&what));
        }
    }
    if !sys::tracefs::has_uprobe_events() {
        return Err(Error::new(
            ErrorKind::NotSupported,
            format!("{what}: this kernel has no uprobe support: no uprobe PMU and no tracefs uprobe_events"),
        ));
    }
    let event_name = sys::tracefs::probe_event_name(&format!("{path_str}_{offset:x}"));
    let mut target = format!("{path_str}:{offset:#x}");
    if opts.ref_ctr_offset != 0 {
        target.push_str(&format!("({:#x})", opts.ref_ctr_offset));
    }
    let id = sys::tracefs::add_probe(ProbeKind::Uprobe, &event_name, opts.retprobe, &target)
        .map_err(|e| e.context(&what))?;
    let probe = TracefsProbe {
        kind: ProbeKind::Uprobe,
        event: event_name,
    };
    let attr = sys::perf::PerfEventAttr {
        type_: sys::perf::PERF_TYPE_TRACEPOINT,
        config: id,
        sample_period_or_freq: 1,
        wakeup: 1,
        ..Default::default()
    };
    let (pid, cpu) = if pid < 0 { (-1, 0) } else { (pid, -1) };
    let event = sys::perf::perf_event_open(&attr, pid, cpu, None).map_err(|e| e.context(&what))?;
    attach_perf_event_with_probe(prog, event, Some(probe), &popts).map_err(|e| e.context(&what))
}

/// Options of [`attach_uprobe_multi`] (libbpf's `bpf_uprobe_multi_opts`).
#[derive(Debug, Clone, Default)]
pub struct UprobeMultiOpts {
    /// Explicit function names (instead of a pattern).
    pub syms: Vec<String>,
    /// Explicit file offsets (instead of names or a pattern).
    pub offsets: Vec<u64>,
    /// Reference counter offsets, one per probe, or empty.
    pub ref_ctr_offsets: Vec<u64>,
    /// Cookies, one per probe, or empty.
    pub cookies: Vec<u64>,
    /// Only fire in this process.
    pub pid: Option<i32>,
    /// Attach to the functions' returns.
    pub retprobe: bool,
    /// Attach as a uprobe session (`uprobe.session`).
    pub session: bool,
}

/// Attaches `prog` to many places of one binary: the functions matching glob `pattern`, or the explicit
/// `opts.syms` / `opts.offsets` when `pattern` is `None`.
pub fn attach_uprobe_multi(
    prog: BorrowedFd<'_>,
    binary: &str,
    pattern: Option<&str>,
    opts: &UprobeMultiOpts,
) -> Result<Link> {
    let path = resolve_binary(binary, opts.pid)?;
    let what = format!(
        "uprobe.multi '{}:{}'",
        path.display(),
        pattern.unwrap_or("<offsets>")
    );
    let mut offsets = opts.offsets.clone();
    if pattern.is_some() || !opts.syms.is_empty() {
        let data =
            std::fs::read(&path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        let img = ElfImage::parse(&data, &path.to_string_lossy())?;
        if let Some(p) = pattern {
            let mut found: Vec<u64> = img
                .functions()
                .into_iter()
                .filter(|(n, _)| glob_match(p, n))
                .map(|(_, o)| o)
                .collect();
            found.sort_unstable();
            found.dedup();
            offsets = found;
        } else {
            offsets = opts
                .syms
                .iter()
                .map(|s| img.func_offset(s))
                .collect::<Result<_>>()
                .map_err(|e| e.context(&what))?;
        }
    }
    if offsets.is_empty() {
        return Err(Error::not_found(format!("{what}: no function matches")));
    }
    let cpath = CString::new(path.to_string_lossy().as_bytes())
        .map_err(|_| Error::invalid("uprobe path contains NUL"))?;
    let extra = LinkExtra::UprobeMulti {
        path: &cpath,
        offsets: &offsets,
        ref_ctr_offsets: &opts.ref_ctr_offsets,
        cookies: &opts.cookies,
        flags: if opts.retprobe {
            UPROBE_MULTI_RETURN
        } else {
            0
        },
        pid: opts.pid.unwrap_or(0).max(0) as u32,
    };
    let ty = if opts.session {
        attach_type::TRACE_UPROBE_SESSION
    } else {
        attach_type::TRACE_UPROBE_MULTI
    };
    sys::link::link_create(prog, Target::None, ty, 0, &extra)
        .map(Link::from_fd)
        .map_err(|e| e.context(&what))
}

/// A parsed `uprobe/PATH:FUNC[+OFFSET]` section target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UprobeTarget {
    /// The binary or library.
    pub binary: String,
    /// The function (empty for a bare offset).
    pub func: String,
    /// The offset into the function (or the file offset without a function).
    pub offset: u64,
}

/// Parses the part of a `uprobe/...` section name after the `uprobe/` prefix.
pub fn parse_uprobe_target(spec: &str) -> Result<UprobeTarget> {
    let (binary, rest) = spec.rsplit_once(':').ok_or_else(|| {
        Error::invalid(format!(
            "uprobe target '{spec}': expected BINARY:FUNCTION[+OFFSET]"
        ))
    })?;
    if binary.is_empty() || rest.is_empty() {
        return Err(Error::invalid(format!(
            "uprobe target '{spec}': expected BINARY:FUNCTION[+OFFSET]"
        )));
    }
    let parse_num = |s: &str| match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    };
    let (func, offset) = match rest.split_once('+') {
        Some((f, o)) => (
            f,
            parse_num(o).ok_or_else(|| {
                Error::invalid(format!("uprobe target '{spec}': bad offset '{o}'"))
            })?,
        ),
        None => match parse_num(rest) {
            Some(n) => ("", n),
            None => (rest, 0),
        },
    };
    Ok(UprobeTarget {
        binary: binary.to_string(),
        func: func.to_string(),
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_targets() {
        let t = parse_uprobe_target("/usr/bin/bash:readline").unwrap();
        assert_eq!(
            (t.binary.as_str(), t.func.as_str(), t.offset),
            ("/usr/bin/bash", "readline", 0)
        );
        let t = parse_uprobe_target("libc.so.6:malloc+0x10").unwrap();
        assert_eq!(
            (t.binary.as_str(), t.func.as_str(), t.offset),
            ("libc.so.6", "malloc", 16)
        );
        let t = parse_uprobe_target("/bin/x:0x1234").unwrap();
        assert_eq!((t.func.as_str(), t.offset), ("", 0x1234));
        assert!(parse_uprobe_target("nocolon").is_err());
        assert!(parse_uprobe_target("/bin/x:f+zz").is_err());
    }

    #[test]
    fn resolves_libc_by_name() {
        let p = resolve_binary("libc.so.6", None).unwrap();
        assert!(p.exists(), "{}", p.display());
        let off = func_offset(&p, "malloc").unwrap();
        assert!(off > 0);
        let err = func_offset(&p, "definitely_not_in_libc").unwrap_err();
        assert!(err.to_string().contains("definitely_not_in_libc"), "{err}");
    }
}
