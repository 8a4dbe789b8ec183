//! `SEC("tracepoint/<category>/<name>")` (also `tp/`): a perf event on a tracefs tracepoint.

use std::os::fd::BorrowedFd;

use crate::error::{ErrorKind, Result};
use crate::link::Link;
use crate::sys;
use crate::sys::perf::PerfEventAttr;

use super::perf_event::{attach_perf_event, PerfEventOpts};

/// Options of [`attach_tracepoint`] (libbpf's `bpf_tracepoint_opts`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TracepointOpts {
    /// Value for `bpf_get_attach_cookie()`.
    pub cookie: u64,
    /// Attach with `PERF_EVENT_IOC_SET_BPF` instead of a BPF link.
    pub force_ioctl_attach: bool,
}

/// Attaches `prog` to tracepoint `category:name` (e.g. `syscalls`, `sys_enter_write`).
pub fn attach_tracepoint(
    prog: BorrowedFd<'_>,
    category: &str,
    name: &str,
    opts: &TracepointOpts,
) -> Result<Link> {
    let what = format!("tracepoint '{category}:{name}'");
    let id = sys::tracefs::tracepoint_id(category, name).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            e.context(format!("{what} not found"))
        } else {
            e
        }
    })?;
    let attr = PerfEventAttr {
        type_: sys::perf::PERF_TYPE_TRACEPOINT,
        config: id,
        sample_period_or_freq: 1,
        wakeup: 1,
        ..Default::default()
    };
    let event = sys::perf::perf_event_open(&attr, -1, 0, None).map_err(|e| e.context(&what))?;
    let popts = PerfEventOpts {
        cookie: opts.cookie,
        force_ioctl_attach: opts.force_ioctl_attach,
    };
    attach_perf_event(prog, event, &popts).map_err(|e| e.context(&what))
}

/// Splits a `tracepoint/` / `tp/` section suffix `category/name` into its parts.
pub fn parse_tracepoint_target(target: &str) -> Option<(&str, &str)> {
    let (cat, name) = target.split_once('/')?;
    (!cat.is_empty() && !name.is_empty() && !name.contains('/')).then_some((cat, name))
}
