//! Running a program on a perf event: the shared path of tracepoints, kprobes, uprobes and
//! `SEC("perf_event")` programs.
//!
//! Kernels ≥ 5.15 attach with a BPF link (`BPF_LINK_CREATE`, `BPF_PERF_EVENT`), which also carries a
//! cookie. Older ones take `PERF_EVENT_IOC_SET_BPF` followed by `PERF_EVENT_IOC_ENABLE`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::error::{Error, Result};
use crate::link::{Kind, Link, TracefsProbe};
use crate::sys;
use crate::sys::link::{LinkExtra, Target};
use crate::sys::perf::PerfEventAttr;

use super::{attach_type, is_unsupported};

/// Options of [`attach_perf_event`] (libbpf's `bpf_perf_event_opts`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PerfEventOpts {
    /// Value for `bpf_get_attach_cookie()`; needs the BPF link path.
    pub cookie: u64,
    /// Use `PERF_EVENT_IOC_SET_BPF` even where BPF links work.
    pub force_ioctl_attach: bool,
}

/// Attaches `prog` to the perf event `event`, taking ownership of the event (closed on detach).
pub fn attach_perf_event(
    prog: BorrowedFd<'_>,
    event: OwnedFd,
    opts: &PerfEventOpts,
) -> Result<Link> {
    attach_perf_event_with_probe(prog, event, None, opts)
}

pub(crate) fn attach_perf_event_with_probe(
    prog: BorrowedFd<'_>,
    event: OwnedFd,
    probe: Option<TracefsProbe>,
    opts: &PerfEventOpts,
) -> Result<Link> {
    if !opts.force_ioctl_attach {
        let extra = LinkExtra::PerfEvent {
            bpf_cookie: opts.cookie,
        };
        match sys::link::link_create(
            prog,
            Target::Fd(event.as_fd()),
            attach_type::PERF_EVENT,
            0,
            &extra,
        ) {
            Ok(link) => {
                return Ok(Link::new(Kind::PerfEvent {
                    link: Some(link),
                    event,
                    probe,
                }));
            }
            Err(e) if is_unsupported(&e) && opts.cookie == 0 => {
                log::debug!(
                    "perf event BPF link unavailable ({e}); falling back to PERF_EVENT_IOC_SET_BPF"
                );
            }
            Err(e) => return Err(e),
        }
    } else if opts.cookie != 0 {
        return Err(Error::invalid(
            "a BPF cookie needs a BPF link; it cannot be set with force_ioctl_attach",
        ));
    }
    sys::perf::set_bpf(event.as_fd(), prog)?;
    sys::perf::enable(event.as_fd())?;
    Ok(Link::new(Kind::PerfEvent {
        link: None,
        event,
        probe,
    }))
}

/// Opens a software CPU-clock sampling event on `cpu` firing `freq` times a second, for
/// `SEC("perf_event")` programs (what libbpf's examples use for profiling).
pub fn open_cpu_clock_event(cpu: u32, freq: u64) -> Result<OwnedFd> {
    let attr = PerfEventAttr {
        type_: sys::perf::PERF_TYPE_SOFTWARE,
        config: sys::perf::PERF_COUNT_SW_CPU_CLOCK,
        sample_period_or_freq: freq,
        flags: sys::perf::FLAG_FREQ,
        ..Default::default()
    };
    sys::perf::perf_event_open(&attr, -1, cpu as i32, None)
        .map_err(|e| e.context(format!("software cpu-clock event on CPU {cpu}")))
}
