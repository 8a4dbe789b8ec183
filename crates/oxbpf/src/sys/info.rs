//! `BPF_OBJ_GET_INFO_BY_FD` and the id commands (`BPF_*_GET_NEXT_ID`, `BPF_*_GET_FD_BY_ID`): what the
//! kernel knows about a map, program, BTF object or link, and how to find them all.
//!
//! Re-exported from [`super::bpf`], so every command is reachable as `sys::bpf::<command>`.

use std::os::fd::{BorrowedFd, OwnedFd};

use super::attr::*;
use super::bpf::BPF_F_TOKEN_FD;
use super::{bpf_call, bpf_fd, fd_u32, len_u32, mut_ptr_of, sys_bpf, Cmd};
use crate::error::{Error, Result};

/// `BPF_OBJ_GET_INFO_BY_FD`—fill `info` (a `bpf_*_info`); returns the length the kernel wrote.
///
/// # Safety
/// Every pointer field of `info` must be 0 or point to memory valid for the length in its count field.
pub unsafe fn obj_get_info_by_fd<T: bytemuck::Pod>(
    fd: BorrowedFd<'_>,
    info: &mut T,
) -> Result<u32> {
    let bytes = bytemuck::bytes_of_mut(info);
    let mut attr = InfoAttr {
        bpf_fd: fd_u32(fd),
        info_len: len_u32(bytes.len(), "info")?,
        info: bytes.as_mut_ptr() as usize as u64,
    };
    // SAFETY: `info` points to the caller's `info_len`-byte struct; its inner pointers are the caller's
    // promise (# Safety).
    unsafe { bpf_call(Cmd::ObjGetInfoByFd, &mut attr) }?;
    Ok(attr.info_len)
}

/// The `bpf_prog_info` of a program (counts and scalar fields only).
pub fn prog_info(fd: BorrowedFd<'_>) -> Result<BpfProgInfo> {
    let mut info = BpfProgInfo::default();
    // SAFETY: a zeroed info has no pointers for the kernel to write through.
    unsafe { obj_get_info_by_fd(fd, &mut info) }?;
    Ok(info)
}

/// The `bpf_map_info` of a map.
pub fn map_info(fd: BorrowedFd<'_>) -> Result<BpfMapInfo> {
    let mut info = BpfMapInfo::default();
    // SAFETY: a zeroed info has no pointers for the kernel to write through.
    unsafe { obj_get_info_by_fd(fd, &mut info) }?;
    Ok(info)
}

/// The `bpf_btf_info` of a BTF object (size and id; see [`btf_data`] for the bytes).
pub fn btf_info(fd: BorrowedFd<'_>) -> Result<BpfBtfInfo> {
    let mut info = BpfBtfInfo::default();
    // SAFETY: a zeroed info has no pointers for the kernel to write through.
    unsafe { obj_get_info_by_fd(fd, &mut info) }?;
    Ok(info)
}

/// The `bpf_link_info` of a link (scalar fields; name buffers stay empty).
pub fn link_info(fd: BorrowedFd<'_>) -> Result<BpfLinkInfo> {
    let mut info = BpfLinkInfo::default();
    // SAFETY: a zeroed info has no pointers for the kernel to write through.
    unsafe { obj_get_info_by_fd(fd, &mut info) }?;
    Ok(info)
}

/// The raw BTF bytes and the name (`"vmlinux"`, a module name, or empty; always empty before 5.11) of a
/// BTF object.
pub fn btf_data(fd: BorrowedFd<'_>) -> Result<(Vec<u8>, String)> {
    let first = btf_info(fd)?;
    let mut data = vec![0u8; first.btf_size as usize];
    let mut name = vec![0u8; 64];
    let mut info = BpfBtfInfo {
        btf: mut_ptr_of(&mut data),
        btf_size: first.btf_size,
        name: mut_ptr_of(&mut name),
        name_len: len_u32(name.len(), "name")?,
        ..Default::default()
    };
    // SAFETY: `btf` points to `btf_size` writable bytes and `name` to `name_len`; both live until return.
    match unsafe { obj_get_info_by_fd(fd, &mut info) } {
        Ok(_) => {}
        Err(e) if e.errno() == Some(libc::E2BIG) => {
            // Before 5.11 `bpf_btf_info` ends at `id`, and a non-zero `name` past the kernel's struct
            // is refused: ask again for the bytes alone (such kernels have no BTF names).
            info = BpfBtfInfo {
                btf: mut_ptr_of(&mut data),
                btf_size: first.btf_size,
                ..Default::default()
            };
            name.fill(0);
            // SAFETY: `btf` points to `btf_size` writable bytes, live until return.
            unsafe { obj_get_info_by_fd(fd, &mut info) }?;
        }
        Err(e) => return Err(e),
    }
    data.truncate(info.btf_size as usize);
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok((data, String::from_utf8_lossy(&name[..end]).into_owned()))
}

/// Instructions of a loaded program as the kernel rewrote them (`xlated`), or as JIT output bytes.
pub fn prog_insns(fd: BorrowedFd<'_>, jited: bool) -> Result<Vec<u8>> {
    let first = prog_info(fd)?;
    let len = if jited {
        first.jited_prog_len
    } else {
        first.xlated_prog_len
    };
    let mut buf = vec![0u8; len as usize];
    let mut info = BpfProgInfo::default();
    if jited {
        info.jited_prog_len = len;
        info.jited_prog_insns = mut_ptr_of(&mut buf);
    } else {
        info.xlated_prog_len = len;
        info.xlated_prog_insns = mut_ptr_of(&mut buf);
    }
    // SAFETY: the one pointer set points to `len` writable bytes, as its count field says.
    unsafe { obj_get_info_by_fd(fd, &mut info) }?;
    let got = if jited {
        info.jited_prog_len
    } else {
        info.xlated_prog_len
    };
    buf.truncate((got as usize).min(len as usize));
    Ok(buf)
}

/// The ids of the maps a loaded program uses.
pub fn prog_map_ids(fd: BorrowedFd<'_>) -> Result<Vec<u32>> {
    let first = prog_info(fd)?;
    let mut ids = vec![0u32; first.nr_map_ids as usize];
    let mut info = BpfProgInfo {
        nr_map_ids: first.nr_map_ids,
        map_ids: mut_ptr_of(&mut ids),
        ..Default::default()
    };
    // SAFETY: `map_ids` points to `nr_map_ids` writable u32s.
    unsafe { obj_get_info_by_fd(fd, &mut info) }?;
    ids.truncate((info.nr_map_ids as usize).min(first.nr_map_ids as usize));
    Ok(ids)
}

/// The kind of kernel object an id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// A program.
    Prog,
    /// A map.
    Map,
    /// A BTF object.
    Btf,
    /// A link.
    Link,
}

/// `BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID`—the next id after `start` (`Ok(None)` past the last).
pub fn get_next_id(kind: IdKind, start: u32) -> Result<Option<u32>> {
    let cmd = match kind {
        IdKind::Prog => Cmd::ProgGetNextId,
        IdKind::Map => Cmd::MapGetNextId,
        IdKind::Btf => Cmd::BtfGetNextId,
        IdKind::Link => Cmd::LinkGetNextId,
    };
    let mut attr = GetIdAttr {
        start_id: start,
        ..Default::default()
    };
    // SAFETY: attr holds no pointers, only fds and scalars.
    match unsafe { sys_bpf(cmd, &mut attr) } {
        Ok(_) => Ok(Some(attr.next_id)),
        Err(libc::ENOENT) => Ok(None),
        Err(e) => Err(Error::from_errno(cmd.name(), e)),
    }
}

/// Every id of `kind` currently in the kernel, ascending.
pub fn ids(kind: IdKind) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let mut id = 0;
    while let Some(next) = get_next_id(kind, id)? {
        out.push(next);
        id = next;
    }
    Ok(out)
}

/// `BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID`—open an object by id (`open_flags`: `BPF_F_RDONLY`, ...
/// for maps).
pub fn get_fd_by_id(
    kind: IdKind,
    id: u32,
    open_flags: u32,
    token_fd: Option<BorrowedFd<'_>>,
) -> Result<OwnedFd> {
    let cmd = match kind {
        IdKind::Prog => Cmd::ProgGetFdById,
        IdKind::Map => Cmd::MapGetFdById,
        IdKind::Btf => Cmd::BtfGetFdById,
        IdKind::Link => Cmd::LinkGetFdById,
    };
    let mut attr = GetIdAttr {
        start_id: id,
        open_flags,
        ..Default::default()
    };
    if let Some(fd) = token_fd {
        attr.fd_by_id_token_fd = fd_u32(fd) as i32;
        attr.open_flags |= BPF_F_TOKEN_FD;
    }
    // SAFETY: attr holds no pointers, only fds and scalars.
    unsafe { bpf_fd(cmd, &mut attr) }.map_err(|e| e.context(format_args!("id {id}")))
}

/// The name of a BTF object (`"vmlinux"`, a module name, or empty for BTF loaded by programs), without
/// copying its data. Kernels before 5.11 have no BTF names and refuse the request (E2BIG).
pub fn btf_name(fd: BorrowedFd<'_>) -> Result<String> {
    let mut name = vec![0u8; 64];
    let mut info = BpfBtfInfo {
        name: mut_ptr_of(&mut name),
        name_len: len_u32(name.len(), "name")?,
        ..Default::default()
    };
    // SAFETY: `name` points to `name_len` writable bytes; `btf` is 0, so no data is copied.
    unsafe { obj_get_info_by_fd(fd, &mut info) }?;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok(String::from_utf8_lossy(&name[..end]).into_owned())
}

/// One BTF object of the kernel, as `bpftool btf list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtfObjectInfo {
    /// Kernel id.
    pub id: u32,
    /// `"vmlinux"`, a module name, or empty.
    pub name: String,
    /// Size of the raw BTF in bytes.
    pub size: u32,
    /// True for vmlinux and module BTF.
    pub kernel_btf: bool,
}

/// Every BTF object in the kernel; objects freed between listing and opening are skipped.
pub fn list_btf() -> Result<Vec<BtfObjectInfo>> {
    let mut out = Vec::new();
    for id in ids(IdKind::Btf)? {
        let fd = match get_fd_by_id(IdKind::Btf, id, 0, None) {
            Ok(fd) => fd,
            Err(e) if e.errno() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        let info = btf_info(std::os::fd::AsFd::as_fd(&fd))?;
        out.push(BtfObjectInfo {
            id: info.id,
            name: match btf_name(std::os::fd::AsFd::as_fd(&fd)) {
                Ok(name) => name,
                // Before 5.11: no names.
                Err(e) if e.errno() == Some(libc::E2BIG) => String::new(),
                Err(e) => return Err(e),
            },
            size: info.btf_size,
            kernel_btf: info.kernel_btf != 0,
        });
    }
    Ok(out)
}

/// The per-type part of `struct bpf_link_info`, decoded (scalar fields; names need a second call, see
/// [`link_raw_tracepoint_name`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkDetails {
    /// Raw tracepoint: the cookie.
    RawTracepoint {
        /// `bpf_get_attach_cookie()` value.
        cookie: u64,
    },
    /// fentry/fexit/lsm/freplace.
    Tracing {
        /// `enum bpf_attach_type`.
        attach_type: u32,
        /// Target program id (freplace) or BTF object id.
        target_obj_id: u32,
        /// BTF type id inside that object.
        target_btf_id: u32,
        /// `bpf_get_attach_cookie()` value.
        cookie: u64,
    },
    /// cgroup.
    Cgroup {
        /// The cgroup's id.
        cgroup_id: u64,
        /// `enum bpf_attach_type`.
        attach_type: u32,
    },
    /// Iterator over a map (`map_id` is 0 for other iterators).
    Iter {
        /// The iterated map's id, for map iterators.
        map_id: u32,
    },
    /// Network namespace (flow dissector, sk_lookup).
    Netns {
        /// The namespace's inode.
        netns_ino: u32,
        /// `enum bpf_attach_type`.
        attach_type: u32,
    },
    /// XDP.
    Xdp {
        /// The device.
        ifindex: u32,
    },
    /// struct_ops.
    StructOps {
        /// The struct_ops map's id.
        map_id: u32,
    },
    /// netfilter hook.
    Netfilter {
        /// Protocol family.
        pf: u32,
        /// Hook number.
        hooknum: u32,
        /// Priority.
        priority: i32,
        /// Flags.
        flags: u32,
    },
    /// kprobe.multi.
    KprobeMulti {
        /// Attached functions.
        count: u32,
        /// `BPF_F_KPROBE_MULTI_RETURN`.
        flags: u32,
        /// Missed runs.
        missed: u64,
    },
    /// uprobe.multi.
    UprobeMulti {
        /// Attached offsets.
        count: u32,
        /// `BPF_F_UPROBE_MULTI_RETURN`.
        flags: u32,
        /// Only this process (0: all).
        pid: u32,
    },
    /// perf event (kprobe/uprobe/tracepoint/event through perf).
    PerfEvent {
        /// `enum bpf_perf_event_type`.
        event_type: u32,
    },
    /// tcx.
    Tcx {
        /// The device.
        ifindex: u32,
        /// `enum bpf_attach_type`.
        attach_type: u32,
    },
    /// netkit.
    Netkit {
        /// The device.
        ifindex: u32,
        /// `enum bpf_attach_type`.
        attach_type: u32,
    },
    /// sockmap.
    Sockmap {
        /// The sockmap's id.
        map_id: u32,
        /// `enum bpf_attach_type`.
        attach_type: u32,
    },
    /// A link type this build does not decode.
    Other,
}

impl BpfLinkInfo {
    /// The per-type union, decoded by `type_` (UAPI offsets of `struct bpf_link_info`).
    pub fn details(&self) -> LinkDetails {
        let (u32_at, u64_at) = (|o| self.extra_u32(o), |o| self.extra_u64(o));
        match self.type_ {
            1 => LinkDetails::RawTracepoint { cookie: u64_at(16) },
            2 => LinkDetails::Tracing {
                attach_type: u32_at(0),
                target_obj_id: u32_at(4),
                target_btf_id: u32_at(8),
                cookie: u64_at(16),
            },
            3 => LinkDetails::Cgroup {
                cgroup_id: u64_at(0),
                attach_type: u32_at(8),
            },
            4 => LinkDetails::Iter { map_id: u32_at(12) },
            5 => LinkDetails::Netns {
                netns_ino: u32_at(0),
                attach_type: u32_at(4),
            },
            6 => LinkDetails::Xdp { ifindex: u32_at(0) },
            7 => LinkDetails::PerfEvent {
                event_type: u32_at(0),
            },
            8 => LinkDetails::KprobeMulti {
                count: u32_at(8),
                flags: u32_at(12),
                missed: u64_at(16),
            },
            9 => LinkDetails::StructOps { map_id: u32_at(0) },
            10 => LinkDetails::Netfilter {
                pf: u32_at(0),
                hooknum: u32_at(4),
                priority: u32_at(8) as i32,
                flags: u32_at(12),
            },
            11 => LinkDetails::Tcx {
                ifindex: u32_at(0),
                attach_type: u32_at(4),
            },
            12 => LinkDetails::UprobeMulti {
                count: u32_at(36),
                flags: u32_at(40),
                pid: u32_at(44),
            },
            13 => LinkDetails::Netkit {
                ifindex: u32_at(0),
                attach_type: u32_at(4),
            },
            14 => LinkDetails::Sockmap {
                map_id: u32_at(0),
                attach_type: u32_at(4),
            },
            _ => LinkDetails::Other,
        }
    }
}

/// The tracepoint name of a raw tracepoint link (`None` for other link types).
pub fn link_raw_tracepoint_name(fd: BorrowedFd<'_>) -> Result<Option<String>> {
    let first = link_info(fd)?;
    if first.type_ != 1 {
        return Ok(None);
    }
    let mut name = vec![0u8; 256];
    let mut info = BpfLinkInfo::default();
    let ptr = mut_ptr_of(&mut name);
    let len = len_u32(name.len(), "name")?;
    // raw_tracepoint.tp_name (u64 at union offset 0) and tp_name_len (u32 at offset 8).
    info.set_extra_u64(0, ptr);
    info.set_extra_u32(8, len);
    // SAFETY: the only pointer set, tp_name, points to `name` with tp_name_len writable bytes, alive
    // until this returns.
    unsafe { obj_get_info_by_fd(fd, &mut info) }?;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok(Some(String::from_utf8_lossy(&name[..end]).into_owned()))
}
