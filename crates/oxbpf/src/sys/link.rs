//! The attach-side `bpf(2)` commands: `BPF_LINK_CREATE/UPDATE/DETACH`, `BPF_PROG_ATTACH/DETACH/QUERY`,
//! `BPF_RAW_TRACEPOINT_OPEN` and `BPF_ITER_CREATE`.
//!
//! The per-attach-type part of `link_create` is a typed enum, [`LinkExtra`], instead of the UAPI's
//! anonymous union; each variant is encoded into the attr by one match arm.

use std::ffi::{CStr, CString};
use std::os::fd::{BorrowedFd, OwnedFd};

use super::attr::*;
use super::{bpf_call, bpf_fd, fd_u32, len_u32, mut_ptr_of, opt_fd_u32, ptr_of, sys_bpf, Cmd};
use crate::error::{Error, Result};

/// `BPF_F_ALLOW_OVERRIDE`: a cgroup program that descendants may override.
pub const BPF_F_ALLOW_OVERRIDE: u32 = 1;
/// `BPF_F_ALLOW_MULTI`: one of several programs of a cgroup hook.
pub const BPF_F_ALLOW_MULTI: u32 = 1 << 1;
/// `BPF_F_PREORDER`: run before the programs of parent cgroups.
pub const BPF_F_PREORDER: u32 = 1 << 6;
/// `BPF_F_REPLACE`: replace the program given as `replace`/`old`.
pub const BPF_F_REPLACE: u32 = 1 << 2;
/// `BPF_F_BEFORE`: insert before the relative program/link.
pub const BPF_F_BEFORE: u32 = 1 << 3;
/// `BPF_F_AFTER`: insert after the relative program/link.
pub const BPF_F_AFTER: u32 = 1 << 4;
/// `BPF_F_ID`: the relative object is given by id, not fd.
pub const BPF_F_ID: u32 = 1 << 5;
/// `BPF_F_LINK`: the relative object is a link.
pub const BPF_F_LINK: u32 = 1 << 13;
/// `BPF_F_QUERY_EFFECTIVE`: report effective (inherited) cgroup programs.
pub const BPF_F_QUERY_EFFECTIVE: u32 = 1;

/// What a program (or struct_ops map) is attached to.
#[derive(Clone, Copy, Debug, Default)]
pub enum Target<'a> {
    /// Nothing (tracing, iterators, struct_ops).
    #[default]
    None,
    /// A cgroup, netns, sockmap, perf event, ... by fd.
    Fd(BorrowedFd<'a>),
    /// A network device by ifindex (XDP, tcx, netkit).
    Ifindex(u32),
}

impl Target<'_> {
    fn raw(self) -> u32 {
        match self {
            Target::None => 0,
            Target::Fd(fd) => fd_u32(fd),
            Target::Ifindex(i) => i,
        }
    }
}

/// The anchor of a multi-program attachment (tcx, netkit, cgroup with `BPF_F_BEFORE`/`BPF_F_AFTER`).
#[derive(Clone, Copy, Debug, Default)]
pub enum Relative<'a> {
    /// No anchor.
    #[default]
    None,
    /// A program or link by fd.
    Fd(BorrowedFd<'a>),
    /// A program or link by id; sets `BPF_F_ID`.
    Id(u32),
}

impl Relative<'_> {
    fn raw(self, flags: &mut u32) -> u32 {
        match self {
            Relative::None => 0,
            Relative::Fd(fd) => fd_u32(fd),
            Relative::Id(id) => {
                *flags |= BPF_F_ID;
                id
            }
        }
    }
}

/// The per-attach-type part of `BPF_LINK_CREATE`.
#[derive(Clone, Copy, Debug, Default)]
pub enum LinkExtra<'a> {
    /// No extra attributes (cgroup without anchor, XDP, sockmap, struct_ops, raw tracepoint).
    #[default]
    None,
    /// fentry/fexit/fmod_ret/lsm/freplace: target BTF id (0: the one given at load) and cookie.
    Tracing {
        /// BTF id of the target (freplace) or 0.
        target_btf_id: u32,
        /// Value for `bpf_get_attach_cookie()`.
        cookie: u64,
    },
    /// Iterator: the raw `union bpf_iter_link_info` bytes.
    Iter {
        /// `union bpf_iter_link_info`.
        info: &'a [u8],
    },
    /// perf event (kprobe/uprobe/tracepoint through perf): cookie.
    PerfEvent {
        /// Value for `bpf_get_attach_cookie()`.
        bpf_cookie: u64,
    },
    /// kprobe.multi: functions by name or address, optional per-function cookies.
    KprobeMulti {
        /// `BPF_F_KPROBE_MULTI_RETURN`.
        flags: u32,
        /// Symbols (exclusive with `addrs`).
        syms: &'a [&'a CStr],
        /// Addresses (exclusive with `syms`).
        addrs: &'a [u64],
        /// One cookie per target, or empty.
        cookies: &'a [u64],
    },
    /// uprobe.multi: offsets in one binary.
    UprobeMulti {
        /// The binary.
        path: &'a CStr,
        /// File offsets.
        offsets: &'a [u64],
        /// Reference counter (semaphore) offsets, or empty.
        ref_ctr_offsets: &'a [u64],
        /// One cookie per offset, or empty.
        cookies: &'a [u64],
        /// `BPF_F_UPROBE_MULTI_RETURN`.
        flags: u32,
        /// Only this process (0: all).
        pid: u32,
    },
    /// netfilter hook.
    Netfilter {
        /// Protocol family (`NFPROTO_IPV4`, ...).
        pf: u32,
        /// Hook number.
        hooknum: u32,
        /// Priority.
        priority: i32,
        /// `BPF_F_NETFILTER_IP_DEFRAG`.
        flags: u32,
    },
    /// tcx / netkit / cgroup (mprog): anchor and expected revision.
    Multi {
        /// The anchor for `BPF_F_BEFORE`/`BPF_F_AFTER`.
        relative: Relative<'a>,
        /// Fail unless the attachment list has this revision (0: don't check).
        expected_revision: u64,
    },
}

/// `BPF_LINK_CREATE`—attach `prog` (or a struct_ops map) with a link fd that detaches when closed.
pub fn link_create(
    prog: BorrowedFd<'_>,
    target: Target<'_>,
    attach_type: u32,
    flags: u32,
    extra: &LinkExtra<'_>,
) -> Result<OwnedFd> {
    let mut attr = LinkCreateAttr {
        prog_fd: fd_u32(prog),
        target_fd: target.raw(),
        attach_type,
        flags,
        extra: [0; 6],
    };
    // Owned copies that must outlive the syscall.
    let mut sym_ptrs: Vec<u64> = Vec::new();
    match *extra {
        LinkExtra::None => {}
        LinkExtra::Tracing {
            target_btf_id,
            cookie,
        } => {
            attr.set_extra(&LinkTracingExtra {
                target_btf_id,
                _pad0: 0,
                cookie,
            });
        }
        LinkExtra::Iter { info } => {
            let iter_info_len = len_u32(info.len(), "iter_info")?;
            attr.set_extra(&LinkIterExtra {
                iter_info: ptr_of(info),
                iter_info_len,
                _pad0: 0,
            });
        }
        LinkExtra::PerfEvent { bpf_cookie } => attr.set_extra(&LinkPerfEventExtra { bpf_cookie }),
        LinkExtra::KprobeMulti {
            flags,
            syms,
            addrs,
            cookies,
        } => {
            if !syms.is_empty() && !addrs.is_empty() {
                return Err(Error::invalid(
                    "kprobe_multi: give symbols or addresses, not both",
                ));
            }
            let cnt = syms.len().max(addrs.len());
            if !cookies.is_empty() && cookies.len() != cnt {
                return Err(Error::invalid("kprobe_multi: one cookie per target"));
            }
            sym_ptrs = syms.iter().map(|s| s.as_ptr() as usize as u64).collect();
            attr.set_extra(&LinkKprobeMultiExtra {
                flags,
                cnt: len_u32(cnt, "kprobe_multi targets")?,
                syms: ptr_of(&sym_ptrs),
                addrs: ptr_of(addrs),
                cookies: ptr_of(cookies),
            });
        }
        LinkExtra::UprobeMulti {
            path,
            offsets,
            ref_ctr_offsets,
            cookies,
            flags,
            pid,
        } => {
            let cnt = offsets.len();
            if (!ref_ctr_offsets.is_empty() && ref_ctr_offsets.len() != cnt)
                || (!cookies.is_empty() && cookies.len() != cnt)
            {
                return Err(Error::invalid(
                    "uprobe_multi: ref_ctr_offsets and cookies must match offsets",
                ));
            }
            attr.set_extra(&LinkUprobeMultiExtra {
                path: path.as_ptr() as usize as u64,
                offsets: ptr_of(offsets),
                ref_ctr_offsets: ptr_of(ref_ctr_offsets),
                cookies: ptr_of(cookies),
                cnt: len_u32(cnt, "uprobe_multi offsets")?,
                flags,
                pid,
                _pad0: 0,
            });
        }
        LinkExtra::Netfilter {
            pf,
            hooknum,
            priority,
            flags,
        } => {
            attr.set_extra(&LinkNetfilterExtra {
                pf,
                hooknum,
                priority,
                flags,
            });
        }
        LinkExtra::Multi {
            relative,
            expected_revision,
        } => {
            let relative_fd = relative.raw(&mut attr.flags);
            attr.set_extra(&LinkRelativeExtra {
                relative_fd,
                _pad0: 0,
                expected_revision,
            });
        }
    }
    // SAFETY: pointers in `extra` borrow the `LinkExtra` slices and C strings or `sym_ptrs`, all alive
    // across the call, with matching counts.
    let r = unsafe { bpf_fd(Cmd::LinkCreate, &mut attr) };
    drop(sym_ptrs);
    r
}

/// `BPF_LINK_UPDATE`—swap the program of a link; with `old`, only if it is still `old` (`BPF_F_REPLACE`).
pub fn link_update(
    link: BorrowedFd<'_>,
    new_prog: BorrowedFd<'_>,
    old: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let mut attr = LinkUpdateAttr {
        link_fd: fd_u32(link),
        new_prog_fd: fd_u32(new_prog),
        ..Default::default()
    };
    if let Some(old) = old {
        attr.old_prog_fd = fd_u32(old);
        attr.flags |= BPF_F_REPLACE;
    }
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_call(Cmd::LinkUpdate, &mut attr) }.map(drop)
}

/// `BPF_LINK_DETACH`—detach a link while keeping its fd (it becomes defunct).
pub fn link_detach(link: BorrowedFd<'_>) -> Result<()> {
    let mut attr = LinkDetachAttr {
        link_fd: fd_u32(link),
    };
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_call(Cmd::LinkDetach, &mut attr) }.map(drop)
}

/// `BPF_ITER_CREATE`—open a readable fd that runs an iterator link's program.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut attr = IterCreateAttr {
        link_fd: fd_u32(link),
        flags: 0,
    };
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_fd(Cmd::IterCreate, &mut attr) }
}

/// `BPF_RAW_TRACEPOINT_OPEN`—attach to raw tracepoint `name` (`None` for tracing programs whose target
/// came from `attach_btf_id`), with a cookie.
pub fn raw_tracepoint_open(
    prog: BorrowedFd<'_>,
    name: Option<&str>,
    cookie: u64,
) -> Result<OwnedFd> {
    let name = name
        .map(|n| CString::new(n).map_err(|_| Error::invalid("tracepoint name contains a NUL byte")))
        .transpose()?;
    let mut attr = RawTracepointAttr {
        name: name.as_ref().map_or(0, |n| n.as_ptr() as usize as u64),
        prog_fd: fd_u32(prog),
        _pad0: 0,
        cookie,
    };
    // SAFETY: `name` borrows the CString `name`, alive across the call.
    unsafe { bpf_fd(Cmd::RawTracepointOpen, &mut attr) }
}

/// Optional attributes of `BPF_PROG_ATTACH` / `BPF_PROG_DETACH` (libbpf's `bpf_prog_attach_opts`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ProgAttachOpts<'a> {
    /// `BPF_F_ALLOW_OVERRIDE`, `BPF_F_ALLOW_MULTI`, `BPF_F_BEFORE`, `BPF_F_AFTER`, `BPF_F_PREORDER`, ...
    pub flags: u32,
    /// The program to replace; sets `BPF_F_REPLACE`.
    pub replace_prog: Option<BorrowedFd<'a>>,
    /// The anchor of `BPF_F_BEFORE`/`BPF_F_AFTER`.
    pub relative: Relative<'a>,
    /// Fail unless the attachment list has this revision (0: don't check).
    pub expected_revision: u64,
}

fn attach_attr(
    prog: Option<BorrowedFd<'_>>,
    target: Target<'_>,
    attach_type: u32,
    opts: &ProgAttachOpts<'_>,
) -> ProgAttachAttr {
    let mut attr = ProgAttachAttr {
        target_fd: target.raw(),
        attach_bpf_fd: opt_fd_u32(prog),
        attach_type,
        attach_flags: opts.flags,
        expected_revision: opts.expected_revision,
        ..Default::default()
    };
    if let Some(r) = opts.replace_prog {
        attr.replace_bpf_fd = fd_u32(r);
        attr.attach_flags |= BPF_F_REPLACE;
    }
    attr.relative_fd = opts.relative.raw(&mut attr.attach_flags);
    attr
}

/// `BPF_PROG_ATTACH`—legacy (fd-less) attachment to a cgroup, sockmap, netns, tcx, ...
pub fn prog_attach(
    prog: BorrowedFd<'_>,
    target: Target<'_>,
    attach_type: u32,
    opts: &ProgAttachOpts<'_>,
) -> Result<()> {
    let mut attr = attach_attr(Some(prog), target, attach_type, opts);
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_call(Cmd::ProgAttach, &mut attr) }.map(drop)
}

/// `BPF_PROG_DETACH`—undo [`prog_attach`] (`prog` may be `None` where the hook holds one program).
pub fn prog_detach(
    prog: Option<BorrowedFd<'_>>,
    target: Target<'_>,
    attach_type: u32,
    opts: &ProgAttachOpts<'_>,
) -> Result<()> {
    let mut attr = attach_attr(prog, target, attach_type, opts);
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_call(Cmd::ProgDetach, &mut attr) }.map(drop)
}

/// What `BPF_PROG_QUERY` reports for one hook.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgQuery {
    /// Flags the hook was attached with (cgroup).
    pub attach_flags: u32,
    /// Attached program ids, in run order.
    pub prog_ids: Vec<u32>,
    /// Per-program attach flags (empty for effective queries and on kernels before 6.0).
    pub prog_attach_flags: Vec<u32>,
    /// Link ids (0 for programs attached without a link); tcx/netkit. Empty before 6.6.
    pub link_ids: Vec<u32>,
    /// Per-link attach flags; tcx/netkit.
    pub link_attach_flags: Vec<u32>,
    /// Revision of the attachment list (tcx/netkit, cgroup).
    pub revision: u64,
}

/// `BPF_PROG_QUERY`—list the programs attached to a hook (`query_flags`: `BPF_F_QUERY_EFFECTIVE`).
pub fn prog_query(target: Target<'_>, attach_type: u32, query_flags: u32) -> Result<ProgQuery> {
    let mut cap = 0u32;
    // Older kernels reject attr fields they do not know (EINVAL): link ids and link flags came in
    // 6.6, per-program attach flags in 6.0. Ask for fewer of them until the kernel accepts.
    let mut fields = 2u8;
    loop {
        let n = cap as usize;
        let (mut ids, mut pflags, mut lids, mut lflags) =
            (vec![0u32; n], vec![0u32; n], vec![0u32; n], vec![0u32; n]);
        let mut attr = ProgQueryAttr {
            target_fd: target.raw(),
            attach_type,
            query_flags,
            prog_ids: mut_ptr_of(&mut ids),
            prog_cnt: cap,
            ..Default::default()
        };
        let detailed = cap > 0 && query_flags & BPF_F_QUERY_EFFECTIVE == 0;
        if detailed && fields >= 1 {
            attr.prog_attach_flags = mut_ptr_of(&mut pflags);
        }
        if detailed && fields >= 2 {
            attr.link_ids = mut_ptr_of(&mut lids);
            attr.link_attach_flags = mut_ptr_of(&mut lflags);
        }
        // SAFETY: the id and flag arrays borrow vectors of `prog_cnt` elements, alive across the call.
        match unsafe { sys_bpf(Cmd::ProgQuery, &mut attr) } {
            Ok(_) if attr.prog_cnt <= cap => {
                let got = attr.prog_cnt as usize;
                let eff = query_flags & BPF_F_QUERY_EFFECTIVE != 0;
                ids.truncate(got);
                pflags.truncate(if eff || fields < 1 { 0 } else { got });
                for v in [&mut lids, &mut lflags] {
                    v.truncate(if eff || fields < 2 { 0 } else { got });
                }
                return Ok(ProgQuery {
                    attach_flags: attr.attach_flags,
                    prog_ids: ids,
                    prog_attach_flags: pflags,
                    link_ids: lids,
                    link_attach_flags: lflags,
                    revision: attr.revision,
                });
            }
            // Count-only call, or the list grew between calls: size for what the kernel reported.
            Ok(_) => cap = attr.prog_cnt,
            Err(libc::ENOSPC) if attr.prog_cnt > cap => cap = attr.prog_cnt,
            Err(libc::EINVAL) if detailed && fields > 0 => fields -= 1,
            Err(e) => return Err(Error::from_errno(Cmd::ProgQuery.name(), e)),
        }
    }
}
