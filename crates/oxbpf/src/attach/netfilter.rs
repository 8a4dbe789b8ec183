//! `SEC("netfilter")`: programs on a netfilter hook (kernel ≥ 6.4).

use std::os::fd::BorrowedFd;

use crate::error::Result;
use crate::link::Link;
use crate::sys;
use crate::sys::link::{LinkExtra, Target};

use super::attach_type;

/// `NFPROTO_IPV4`.
pub const NFPROTO_IPV4: u32 = 2;
/// `NFPROTO_IPV6`.
pub const NFPROTO_IPV6: u32 = 10;
/// `BPF_F_NETFILTER_IP_DEFRAG`: see reassembled packets.
pub const BPF_F_NETFILTER_IP_DEFRAG: u32 = 1;

/// Options of [`attach_netfilter`] (libbpf's `bpf_netfilter_opts`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NetfilterOpts {
    /// Protocol family (`NFPROTO_IPV4`, `NFPROTO_IPV6`).
    pub pf: u32,
    /// Hook (`NF_INET_PRE_ROUTING` = 0, `LOCAL_IN` = 1, `FORWARD` = 2, `LOCAL_OUT` = 3, `POST_ROUTING` = 4).
    pub hooknum: u32,
    /// Priority among the hook's functions.
    pub priority: i32,
    /// `BPF_F_NETFILTER_IP_DEFRAG`.
    pub flags: u32,
}

/// Attaches `prog` to a netfilter hook.
pub fn attach_netfilter(prog: BorrowedFd<'_>, opts: &NetfilterOpts) -> Result<Link> {
    let extra = LinkExtra::Netfilter {
        pf: opts.pf,
        hooknum: opts.hooknum,
        priority: opts.priority,
        flags: opts.flags,
    };
    sys::link::link_create(prog, Target::None, attach_type::NETFILTER, 0, &extra)
        .map(Link::from_fd)
        .map_err(|e| e.context(format!("netfilter pf {} hook {}", opts.pf, opts.hooknum)))
}
