//! `SEC("tc")`, `tcx/ingress`, `tcx/egress`, `netkit/primary`, `netkit/peer`: traffic-control programs.
//!
//! tcx links (kernel ≥ 6.6) chain programs on a device's ingress/egress without qdiscs. Older kernels
//! use the `clsact` qdisc with a direct-action `cls_bpf` filter, set up over rtnetlink; the qdisc is
//! created if missing and removed again on detach only if this attachment created it. netkit devices
//! take programs for their primary and peer sides through links.

use std::os::fd::BorrowedFd;

use crate::error::{ErrorKind, Result};
use crate::link::{Kind, Link};
use crate::sys;
use crate::sys::link::{LinkExtra, Relative, Target};
use crate::sys::netlink::{tc_h_make, TC_H_CLSACT, TC_H_MIN_EGRESS, TC_H_MIN_INGRESS};

use super::attach_type;

/// Which direction of traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcDirection {
    /// Packets arriving at the device.
    Ingress,
    /// Packets leaving the device.
    Egress,
}

/// Options of [`attach_tcx`] and [`attach_netkit`] (libbpf's `bpf_tcx_opts`/`bpf_netkit_opts`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcxOpts<'a> {
    /// `BPF_F_BEFORE` / `BPF_F_AFTER` and friends.
    pub flags: u32,
    /// The program or link the new one goes before/after.
    pub relative: Relative<'a>,
    /// Fail unless the chain has this revision (0: don't check).
    pub expected_revision: u64,
}

/// Attaches `prog` to the tcx ingress/egress chain of `ifindex` with a link.
pub fn attach_tcx(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    dir: TcDirection,
    opts: &TcxOpts<'_>,
) -> Result<Link> {
    let ty = match dir {
        TcDirection::Ingress => attach_type::TCX_INGRESS,
        TcDirection::Egress => attach_type::TCX_EGRESS,
    };
    let extra = LinkExtra::Multi {
        relative: opts.relative,
        expected_revision: opts.expected_revision,
    };
    sys::link::link_create(prog, Target::Ifindex(ifindex), ty, opts.flags, &extra)
        .map(Link::from_fd)
        .map_err(|e| e.context(format!("tcx {dir:?} on ifindex {ifindex}")))
}

/// Which side of a netkit pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetkitSide {
    /// The primary device (in the host namespace).
    Primary,
    /// The peer device.
    Peer,
}

/// Attaches `prog` to netkit device `ifindex` (the primary's ifindex for both sides).
pub fn attach_netkit(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    side: NetkitSide,
    opts: &TcxOpts<'_>,
) -> Result<Link> {
    let ty = match side {
        NetkitSide::Primary => attach_type::NETKIT_PRIMARY,
        NetkitSide::Peer => attach_type::NETKIT_PEER,
    };
    let extra = LinkExtra::Multi {
        relative: opts.relative,
        expected_revision: opts.expected_revision,
    };
    sys::link::link_create(prog, Target::Ifindex(ifindex), ty, opts.flags, &extra)
        .map(Link::from_fd)
        .map_err(|e| e.context(format!("netkit {side:?} on ifindex {ifindex}")))
}

/// Options of [`attach_tc`] (libbpf's `bpf_tc_hook` + `bpf_tc_opts`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcOpts {
    /// Filter handle (0: the kernel picks).
    pub handle: u32,
    /// Filter priority (0: the kernel picks).
    pub priority: u16,
    /// Replace an existing filter with the same handle and priority.
    pub replace: bool,
}

/// Attaches `prog` as a direct-action `cls_bpf` filter on the clsact qdisc of `ifindex` (created if
/// missing), the classic `tc filter add ... bpf da` path.
pub fn attach_tc(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    dir: TcDirection,
    name: &str,
    opts: &TcOpts,
) -> Result<Link> {
    let what = format!("tc {dir:?} filter on ifindex {ifindex}");
    let idx = ifindex as i32;
    let qdisc_created = match sys::netlink::clsact_create(idx) {
        Ok(()) => true,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e.context(&what)),
    };
    let minor = match dir {
        TcDirection::Ingress => TC_H_MIN_INGRESS,
        TcDirection::Egress => TC_H_MIN_EGRESS,
    };
    let parent = tc_h_make(TC_H_CLSACT, minor);
    match sys::netlink::tc_filter_add(
        idx,
        parent,
        opts.handle,
        opts.priority,
        prog,
        name,
        opts.replace,
    ) {
        Ok((handle, priority)) => Ok(Link::new(Kind::NetlinkTc {
            ifindex: idx,
            parent,
            handle,
            priority,
            qdisc_created,
        })),
        Err(e) => {
            if qdisc_created {
                let _ = sys::netlink::clsact_destroy(idx);
            }
            Err(e.context(&what))
        }
    }
}

/// Attaches `prog` for `SEC("tc")`-style programs: a tcx link where the kernel has tcx, else a clsact
/// `cls_bpf` filter.
pub fn attach_tc_auto(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    dir: TcDirection,
    name: &str,
) -> Result<Link> {
    match attach_tcx(prog, ifindex, dir, &TcxOpts::default()) {
        Ok(l) => Ok(l),
        Err(e) if super::is_unsupported(&e) => {
            attach_tc(prog, ifindex, dir, name, &TcOpts::default())
        }
        Err(e) => Err(e),
    }
}

impl std::fmt::Display for TcDirection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TcDirection::Ingress => "ingress",
            TcDirection::Egress => "egress",
        })
    }
}
