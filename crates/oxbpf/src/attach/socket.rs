//! Socket-side programs: `sk_skb/stream_parser`, `sk_skb/stream_verdict`, `sk_skb/verdict`, `sk_msg`
//! on a sockmap/sockhash; `sk_lookup` and `flow_dissector` on a network namespace; and classic socket
//! filters (`SEC("socket")`) with `SO_ATTACH_BPF`.

use std::os::fd::{AsFd, BorrowedFd};

use crate::error::{Error, Result};
use crate::link::{Kind, Link};
use crate::sys;
use crate::sys::link::{LinkExtra, ProgAttachOpts, Target};

use super::{attach_type, dup, is_unsupported};

/// What a sockmap/sockhash program does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockmapAttach {
    /// `sk_skb/stream_parser`.
    StreamParser,
    /// `sk_skb/stream_verdict`.
    StreamVerdict,
    /// `sk_skb/verdict`.
    SkbVerdict,
    /// `sk_msg`.
    MsgVerdict,
}

impl SockmapAttach {
    fn attach_type(self) -> u32 {
        match self {
            SockmapAttach::StreamParser => attach_type::SK_SKB_STREAM_PARSER,
            SockmapAttach::StreamVerdict => attach_type::SK_SKB_STREAM_VERDICT,
            SockmapAttach::SkbVerdict => attach_type::SK_SKB_VERDICT,
            SockmapAttach::MsgVerdict => attach_type::SK_MSG_VERDICT,
        }
    }
}

/// Attaches `prog` to sockmap/sockhash `map`: a link on kernels ≥ 6.10, else `BPF_PROG_ATTACH`.
pub fn attach_sockmap(
    prog: BorrowedFd<'_>,
    map: BorrowedFd<'_>,
    kind: SockmapAttach,
) -> Result<Link> {
    let ty = kind.attach_type();
    let what = format!("sockmap {kind:?}");
    match sys::link::link_create(prog, Target::Fd(map), ty, 0, &LinkExtra::None) {
        Ok(fd) => return Ok(Link::from_fd(fd)),
        Err(e) if is_unsupported(&e) => {
            log::debug!("{what}: link unavailable ({e}); using BPF_PROG_ATTACH")
        }
        Err(e) => return Err(e.context(&what)),
    }
    sys::link::prog_attach(prog, Target::Fd(map), ty, &ProgAttachOpts::default())
        .map_err(|e| e.context(&what))?;
    Ok(Link::new(Kind::ProgAttach {
        prog: dup(prog)?,
        target: dup(map)?,
        attach_type: ty,
    }))
}

/// Opens the network namespace of the calling thread (`/proc/self/ns/net`).
pub fn current_netns() -> Result<std::fs::File> {
    std::fs::File::open("/proc/thread-self/ns/net")
        .or_else(|_| std::fs::File::open("/proc/self/ns/net"))
        .map_err(|e| Error::io("open /proc/self/ns/net", e))
}

fn attach_netns(prog: BorrowedFd<'_>, netns: BorrowedFd<'_>, ty: u32, what: &str) -> Result<Link> {
    match sys::link::link_create(prog, Target::Fd(netns), ty, 0, &LinkExtra::None) {
        Ok(fd) => Ok(Link::from_fd(fd)),
        Err(e) if is_unsupported(&e) && ty == attach_type::FLOW_DISSECTOR => {
            // Before 5.8 the flow dissector attached to the caller's netns without a target fd.
            sys::link::prog_attach(prog, Target::None, ty, &ProgAttachOpts::default())
                .map_err(|e| e.context(what))?;
            Ok(Link::new(Kind::ProgAttachNoTarget {
                prog: dup(prog)?,
                attach_type: ty,
            }))
        }
        Err(e) => Err(e.context(what)),
    }
}

/// Attaches `sk_lookup` program `prog` to network namespace `netns` (see [`current_netns`]).
pub fn attach_sk_lookup(prog: BorrowedFd<'_>, netns: BorrowedFd<'_>) -> Result<Link> {
    attach_netns(prog, netns, attach_type::SK_LOOKUP, "sk_lookup")
}

/// Attaches `flow_dissector` program `prog` to network namespace `netns`.
pub fn attach_flow_dissector(prog: BorrowedFd<'_>, netns: BorrowedFd<'_>) -> Result<Link> {
    attach_netns(prog, netns, attach_type::FLOW_DISSECTOR, "flow_dissector")
}

/// Attaches socket-filter program `prog` to `socket` (`SO_ATTACH_BPF`); the link keeps a duplicate of
/// the socket and removes the filter (`SO_DETACH_BPF`) when dropped.
pub fn attach_socket_filter(prog: BorrowedFd<'_>, socket: BorrowedFd<'_>) -> Result<Link> {
    sys::socket::attach_bpf(socket, prog)?;
    Ok(Link::new(Kind::SocketFilter {
        socket: dup(socket.as_fd())?,
    }))
}

pub(crate) fn detach_socket_filter(socket: BorrowedFd<'_>) -> Result<()> {
    sys::socket::detach_bpf(socket)
}
