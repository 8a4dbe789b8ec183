//! [`Link`]: one attachment of a program, detached when dropped.
//!
//! Most attachments are kernel BPF links (an fd; closing it detaches unless it is pinned in bpffs).
//! Older mechanisms are emulated: a perf event carrying the program (`PERF_EVENT_IOC_SET_BPF`), a legacy
//! `BPF_PROG_ATTACH`, an XDP program or `cls_bpf` filter set over netlink, a socket filter, a tracefs
//! probe definition. Whatever the mechanism, dropping the [`Link`] undoes it, [`Link::forget`] leaves the
//! attachment in place, and [`Link::detach`] undoes it now and reports failures.

use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::sys;
use crate::sys::link::{ProgAttachOpts, Target};

/// The kernel's `enum bpf_link_type` values, as [`LinkInfo::link_type`] reports them.
#[allow(missing_docs)]
pub mod link_type {
    pub const UNSPEC: u32 = 0;
    pub const RAW_TRACEPOINT: u32 = 1;
    pub const TRACING: u32 = 2;
    pub const CGROUP: u32 = 3;
    pub const ITER: u32 = 4;
    pub const NETNS: u32 = 5;
    pub const XDP: u32 = 6;
    pub const PERF_EVENT: u32 = 7;
    pub const KPROBE_MULTI: u32 = 8;
    pub const STRUCT_OPS: u32 = 9;
    pub const NETFILTER: u32 = 10;
    pub const TCX: u32 = 11;
    pub const UPROBE_MULTI: u32 = 12;
    pub const NETKIT: u32 = 13;
    pub const SOCKMAP: u32 = 14;
}

/// What [`Link::info`] reports (`struct bpf_link_info`).
#[derive(Debug, Clone, Copy)]
pub struct LinkInfo {
    /// `BPF_LINK_TYPE_*` (see [`link_type`]).
    pub link_type: u32,
    /// The link's id.
    pub id: u32,
    /// The id of the attached program.
    pub prog_id: u32,
    /// The whole record, including the per-type union.
    pub raw: sys::attr::BpfLinkInfo,
}

/// A tracefs probe defined for a legacy kprobe/uprobe; removed when the link goes.
#[derive(Debug)]
pub(crate) struct TracefsProbe {
    pub(crate) kind: sys::tracefs::ProbeKind,
    pub(crate) event: String,
}

impl Drop for TracefsProbe {
    fn drop(&mut self) {
        let _ = sys::tracefs::remove_probe(self.kind, &self.event);
    }
}

/// How a [`Link`] is held.
#[derive(Debug)]
pub(crate) enum Kind {
    /// A kernel BPF link.
    Fd(OwnedFd),
    /// A perf event with the program attached, by BPF link (`link`) or by ioctl (`link` = None).
    /// Field order matters: the link closes before the event, the event before its tracefs probe.
    PerfEvent {
        link: Option<OwnedFd>,
        event: OwnedFd,
        probe: Option<TracefsProbe>,
    },
    /// `BPF_PROG_ATTACH` to a target fd (cgroup, sockmap, netns, ...).
    ProgAttach {
        prog: OwnedFd,
        target: OwnedFd,
        attach_type: u32,
    },
    /// `BPF_PROG_ATTACH` with no target fd (flow dissector / sk_lookup on the current netns).
    ProgAttachNoTarget { prog: OwnedFd, attach_type: u32 },
    /// An XDP program set over netlink.
    NetlinkXdp {
        ifindex: i32,
        flags: u32,
        prog: OwnedFd,
    },
    /// A `cls_bpf` filter on clsact; `qdisc_created` removes the qdisc too.
    NetlinkTc {
        ifindex: i32,
        parent: u32,
        handle: u32,
        priority: u16,
        qdisc_created: bool,
    },
    /// `SO_ATTACH_BPF` on a socket.
    SocketFilter { socket: OwnedFd },
    /// A struct_ops map without `BPF_F_LINK`, registered by writing its value; deleting it unregisters.
    StructOpsMap { map: crate::map::MapHandle },
    /// Several links detached together (USDT, multi-target fallbacks), plus a cleanup hook.
    Group {
        links: Vec<Link>,
        on_detach: Option<Cleanup>,
    },
}

/// Work to do after a group's links are detached (e.g. give back USDT spec ids).
pub(crate) struct Cleanup(pub(crate) Box<dyn FnOnce() + Send>);

impl std::fmt::Debug for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cleanup")
    }
}

/// An attached program. Dropping it detaches (unless pinned or [`forget`](Link::forget)-ten).
#[derive(Debug)]
#[must_use = "dropping a Link detaches the program"]
pub struct Link {
    kind: Option<Kind>,
    pin_path: Option<PathBuf>,
}

impl Link {
    pub(crate) fn new(kind: Kind) -> Link {
        Link {
            kind: Some(kind),
            pin_path: None,
        }
    }

    /// Wraps a kernel BPF link fd (from `BPF_LINK_CREATE`, `BPF_RAW_TRACEPOINT_OPEN`, or a pin).
    pub fn from_fd(fd: OwnedFd) -> Link {
        Link::new(Kind::Fd(fd))
    }

    /// Opens a link pinned at `path` in bpffs (`bpf_link__open`). Dropping it does not detach.
    pub fn open_pinned(path: impl AsRef<Path>) -> Result<Link> {
        let path = path.as_ref();
        let fd = sys::bpf::obj_get(path, 0)?;
        let mut link = Link::from_fd(fd);
        link.pin_path = Some(path.to_path_buf());
        Ok(link)
    }

    /// The kernel BPF link fd, when this attachment is one (or a perf event attached through one).
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self.kind.as_ref()? {
            Kind::Fd(fd) => Some(fd.as_fd()),
            Kind::PerfEvent { link: Some(fd), .. } => Some(fd.as_fd()),
            _ => None,
        }
    }

    /// The perf event fd of a perf-event-based link (tracepoint, kprobe, uprobe, perf_event).
    pub fn perf_event_fd(&self) -> Option<BorrowedFd<'_>> {
        match self.kind.as_ref()? {
            Kind::PerfEvent { event, .. } => Some(event.as_fd()),
            _ => None,
        }
    }

    /// The member links of a group link (USDT: one per probe site).
    pub fn members(&self) -> &[Link] {
        match &self.kind {
            Some(Kind::Group { links, .. }) => links,
            _ => &[],
        }
    }

    fn bpf_fd(&self, op: &str) -> Result<BorrowedFd<'_>> {
        self.fd().ok_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                format!(
                    "{op}: this attachment is not a kernel BPF link ({})",
                    self.describe()
                ),
            )
        })
    }

    fn describe(&self) -> &'static str {
        match &self.kind {
            Some(Kind::Fd(_)) => "bpf link",
            Some(Kind::PerfEvent { link: Some(_), .. }) => "perf event bpf link",
            Some(Kind::PerfEvent { link: None, .. }) => "perf event with PERF_EVENT_IOC_SET_BPF",
            Some(Kind::ProgAttach { .. } | Kind::ProgAttachNoTarget { .. }) => {
                "legacy BPF_PROG_ATTACH"
            }
            Some(Kind::NetlinkXdp { .. }) => "XDP over netlink",
            Some(Kind::NetlinkTc { .. }) => "tc cls_bpf filter over netlink",
            Some(Kind::SocketFilter { .. }) => "socket filter",
            Some(Kind::StructOpsMap { .. }) => "struct_ops map registered by update",
            Some(Kind::Group { .. }) => "group of links",
            None => "detached",
        }
    }

    /// Pins the link at `path` in bpffs; it then outlives this process until [`unpin`](Link::unpin)ned.
    pub fn pin(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        sys::bpf::obj_pin(self.bpf_fd("pin")?, path)?;
        self.pin_path = Some(path.to_path_buf());
        Ok(())
    }

    /// Removes the pin made by [`pin`](Link::pin) or found by [`open_pinned`](Link::open_pinned).
    pub fn unpin(&mut self) -> Result<()> {
        let path = self
            .pin_path
            .take()
            .ok_or_else(|| Error::invalid("unpin: the link is not pinned"))?;
        std::fs::remove_file(&path).map_err(|e| Error::io(format!("unpin {}", path.display()), e))
    }

    /// Where the link is pinned, if it is.
    pub fn pin_path(&self) -> Option<&Path> {
        self.pin_path.as_deref()
    }

    /// Swaps the attached program for `prog` without a gap (`BPF_LINK_UPDATE`; for netlink XDP an
    /// atomic replace; for legacy attachments `BPF_F_REPLACE`).
    pub fn update_prog(&mut self, prog: BorrowedFd<'_>) -> Result<()> {
        match self.kind.as_mut() {
            Some(Kind::NetlinkXdp {
                ifindex,
                flags,
                prog: old,
            }) => {
                sys::netlink::xdp_set(
                    *ifindex,
                    Some(prog),
                    *flags | sys::netlink::XDP_FLAGS_REPLACE,
                    Some(old.as_fd()),
                )?;
                *old = prog
                    .try_clone_to_owned()
                    .map_err(|e| Error::io("dup program fd", e))?;
                Ok(())
            }
            Some(Kind::ProgAttach {
                prog: old,
                target,
                attach_type,
            }) => {
                let opts = ProgAttachOpts {
                    flags: 0,
                    replace_prog: Some(old.as_fd()),
                    ..Default::default()
                };
                sys::link::prog_attach(prog, Target::Fd(target.as_fd()), *attach_type, &opts)?;
                *old = prog
                    .try_clone_to_owned()
                    .map_err(|e| Error::io("dup program fd", e))?;
                Ok(())
            }
            _ => sys::link::link_update(self.bpf_fd("update_prog")?, prog, None),
        }
    }

    /// The kernel's description of the link (`BPF_OBJ_GET_INFO_BY_FD`).
    pub fn info(&self) -> Result<LinkInfo> {
        let raw = sys::bpf::link_info(self.bpf_fd("info")?)?;
        Ok(LinkInfo {
            link_type: raw.type_,
            id: raw.id,
            prog_id: raw.prog_id,
            raw,
        })
    }

    /// Detaches now, even if pinned (`BPF_LINK_DETACH` for BPF links), and reports failure.
    pub fn detach(mut self) -> Result<()> {
        match self.kind.take() {
            Some(Kind::Fd(fd)) => match sys::link::link_detach(fd.as_fd()) {
                // Some link types (raw tracepoint, tracing) cannot be detached while open elsewhere;
                // closing the last fd of an unpinned link detaches it all the same.
                Err(e)
                    if self.pin_path.is_none()
                        && matches!(e.errno(), Some(libc::EOPNOTSUPP | libc::EINVAL)) =>
                {
                    drop(fd);
                    Ok(())
                }
                r => r,
            },
            Some(kind) => undo(kind),
            None => Ok(()),
        }
    }

    /// Leaves the program attached: a BPF link stays until the process exits (or forever if pinned),
    /// a legacy attachment stays until removed by other means.
    pub fn forget(mut self) {
        match self.kind.take() {
            Some(Kind::Fd(fd)) => {
                let _ = fd.into_raw_fd();
            }
            Some(Kind::PerfEvent { link, event, probe }) => {
                let _ = link.map(IntoRawFd::into_raw_fd);
                let _ = event.into_raw_fd();
                std::mem::forget(probe);
            }
            Some(Kind::Group { links, .. }) => links.into_iter().for_each(Link::forget),
            _ => {}
        }
    }
}

/// Undoes an attachment; used by drop (errors ignored) and [`Link::detach`].
fn undo(kind: Kind) -> Result<()> {
    match kind {
        Kind::Fd(fd) => {
            drop(fd);
            Ok(())
        }
        Kind::PerfEvent { link, event, probe } => {
            if link.is_none() {
                let _ = sys::perf::disable(event.as_fd());
            }
            drop(link);
            drop(event);
            drop(probe);
            Ok(())
        }
        Kind::ProgAttach {
            prog,
            target,
            attach_type,
        } => sys::link::prog_detach(
            Some(prog.as_fd()),
            Target::Fd(target.as_fd()),
            attach_type,
            &ProgAttachOpts::default(),
        ),
        Kind::ProgAttachNoTarget { prog, attach_type } => sys::link::prog_detach(
            Some(prog.as_fd()),
            Target::None,
            attach_type,
            &ProgAttachOpts::default(),
        ),
        Kind::NetlinkXdp {
            ifindex,
            flags,
            prog,
        } => {
            // Remove only our program: REPLACE with the expected fd fails if someone else replaced it.
            sys::netlink::xdp_set(
                ifindex,
                None,
                flags | sys::netlink::XDP_FLAGS_REPLACE,
                Some(prog.as_fd()),
            )
        }
        Kind::NetlinkTc {
            ifindex,
            parent,
            handle,
            priority,
            qdisc_created,
        } => {
            let r = sys::netlink::tc_filter_del(ifindex, parent, handle, priority);
            if qdisc_created {
                let _ = sys::netlink::clsact_destroy(ifindex);
            }
            r
        }
        Kind::SocketFilter { socket } => {
            crate::attach::socket::detach_socket_filter(socket.as_fd())
        }
        Kind::StructOpsMap { map } => map.delete(&0u32.to_ne_bytes()).map(drop),
        Kind::Group { links, on_detach } => {
            let mut first_err = None;
            for l in links {
                if let Err(e) = l.detach() {
                    first_err.get_or_insert(e);
                }
            }
            if let Some(Cleanup(f)) = on_detach {
                f();
            }
            first_err.map_or(Ok(()), Err)
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(kind) = self.kind.take() {
            if let Err(e) = undo(kind) {
                log::debug!("detaching link failed: {e}");
            }
        }
    }
}
