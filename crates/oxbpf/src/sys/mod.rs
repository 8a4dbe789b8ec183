//! The kernel edge: every `bpf(2)` command and the other system calls oxbpf makes, typed.
//!
//! Nearly all `unsafe` of the crate lives here; every block carries a `// SAFETY:` line.
//!
//! - [`attr`]: the UAPI structs (`union bpf_attr` members, `bpf_*_info`), plain `Pod` data;
//! - [`bpf`]: one function per `bpf(2)` command, named after it (`map_create` ↔ `BPF_MAP_CREATE`),
//!   taking borrows and returning `OwnedFd`s; errors name the command and carry the errno;
//! - [`link`]: the attach-side commands (`BPF_LINK_*`, `BPF_PROG_ATTACH/DETACH/QUERY`,
//!   `BPF_RAW_TRACEPOINT_OPEN`, `BPF_ITER_CREATE`, ...).

pub mod attr;
pub mod bpf;
pub(crate) mod epoll;
pub(crate) mod file;
pub mod info;
pub mod link;
pub mod mmap;
pub mod netlink;
pub mod perf;
pub mod socket;
pub mod tracefs;
pub mod types;

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use bytemuck::Pod;

use crate::error::{Error, Result};

/// The `enum bpf_cmd` values oxbpf issues.
#[allow(missing_docs)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    MapCreate = 0,
    MapLookupElem = 1,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    MapGetNextKey = 4,
    ProgLoad = 5,
    ObjPin = 6,
    ObjGet = 7,
    ProgAttach = 8,
    ProgDetach = 9,
    ProgTestRun = 10,
    ProgGetNextId = 11,
    MapGetNextId = 12,
    ProgGetFdById = 13,
    MapGetFdById = 14,
    ObjGetInfoByFd = 15,
    ProgQuery = 16,
    RawTracepointOpen = 17,
    BtfLoad = 18,
    BtfGetFdById = 19,
    TaskFdQuery = 20,
    MapLookupAndDeleteElem = 21,
    MapFreeze = 22,
    BtfGetNextId = 23,
    MapLookupBatch = 24,
    MapLookupAndDeleteBatch = 25,
    MapUpdateBatch = 26,
    MapDeleteBatch = 27,
    LinkCreate = 28,
    LinkUpdate = 29,
    LinkGetFdById = 30,
    LinkGetNextId = 31,
    EnableStats = 32,
    IterCreate = 33,
    LinkDetach = 34,
    ProgBindMap = 35,
    TokenCreate = 36,
    ProgStreamReadByFd = 37,
    ProgAssocStructOps = 38,
}

impl Cmd {
    /// The UAPI name, as errors print it (`"BPF_MAP_CREATE"`).
    pub fn name(self) -> &'static str {
        match self {
            Cmd::MapCreate => "BPF_MAP_CREATE",
            Cmd::MapLookupElem => "BPF_MAP_LOOKUP_ELEM",
            Cmd::MapUpdateElem => "BPF_MAP_UPDATE_ELEM",
            Cmd::MapDeleteElem => "BPF_MAP_DELETE_ELEM",
            Cmd::MapGetNextKey => "BPF_MAP_GET_NEXT_KEY",
            Cmd::ProgLoad => "BPF_PROG_LOAD",
            Cmd::ObjPin => "BPF_OBJ_PIN",
            Cmd::ObjGet => "BPF_OBJ_GET",
            Cmd::ProgAttach => "BPF_PROG_ATTACH",
            Cmd::ProgDetach => "BPF_PROG_DETACH",
            Cmd::ProgTestRun => "BPF_PROG_TEST_RUN",
            Cmd::ProgGetNextId => "BPF_PROG_GET_NEXT_ID",
            Cmd::MapGetNextId => "BPF_MAP_GET_NEXT_ID",
            Cmd::ProgGetFdById => "BPF_PROG_GET_FD_BY_ID",
            Cmd::MapGetFdById => "BPF_MAP_GET_FD_BY_ID",
            Cmd::ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
            Cmd::ProgQuery => "BPF_PROG_QUERY",
            Cmd::RawTracepointOpen => "BPF_RAW_TRACEPOINT_OPEN",
            Cmd::BtfLoad => "BPF_BTF_LOAD",
            Cmd::BtfGetFdById => "BPF_BTF_GET_FD_BY_ID",
            Cmd::TaskFdQuery => "BPF_TASK_FD_QUERY",
            Cmd::MapLookupAndDeleteElem => "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
            Cmd::MapFreeze => "BPF_MAP_FREEZE",
            Cmd::BtfGetNextId => "BPF_BTF_GET_NEXT_ID",
            Cmd::MapLookupBatch => "BPF_MAP_LOOKUP_BATCH",
            Cmd::MapLookupAndDeleteBatch => "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
            Cmd::MapUpdateBatch => "BPF_MAP_UPDATE_BATCH",
            Cmd::MapDeleteBatch => "BPF_MAP_DELETE_BATCH",
            Cmd::LinkCreate => "BPF_LINK_CREATE",
            Cmd::LinkUpdate => "BPF_LINK_UPDATE",
            Cmd::LinkGetFdById => "BPF_LINK_GET_FD_BY_ID",
            Cmd::LinkGetNextId => "BPF_LINK_GET_NEXT_ID",
            Cmd::EnableStats => "BPF_ENABLE_STATS",
            Cmd::IterCreate => "BPF_ITER_CREATE",
            Cmd::LinkDetach => "BPF_LINK_DETACH",
            Cmd::ProgBindMap => "BPF_PROG_BIND_MAP",
            Cmd::TokenCreate => "BPF_TOKEN_CREATE",
            Cmd::ProgStreamReadByFd => "BPF_PROG_STREAM_READ_BY_FD",
            Cmd::ProgAssocStructOps => "BPF_PROG_ASSOC_STRUCT_OPS",
        }
    }
}

/// Issues `bpf(cmd, attr, sizeof attr)`; returns the non-negative result or the errno.
///
/// The kernel may write results back into `attr` (ids, counts, log sizes), which is why it is `&mut`.
///
/// # Safety
/// Every pointer inside `attr` must be 0 or valid for the access `cmd` makes through it (reads of the
/// given length, writes of the given capacity) until this returns.
pub(crate) unsafe fn sys_bpf<A: Pod>(cmd: Cmd, attr: &mut A) -> std::result::Result<i64, i32> {
    let size = std::mem::size_of::<A>();
    // SAFETY: `attr` points to `size` initialised, writable bytes for the whole call; the kernel copies
    // at most `size` bytes in and writes back only inside them. Pointers embedded in `attr` were taken
    // from borrows the caller keeps alive until this returns.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as u32 as libc::c_long,
            attr as *mut A as *mut libc::c_void,
            size,
        )
    };
    if ret < 0 {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL))
    } else {
        Ok(ret)
    }
}

/// A system call without arguments (used by feature probes, e.g. x86-64's `uprobe()`); returns its
/// result or the errno.
pub(crate) fn raw_syscall0(nr: libc::c_long) -> std::result::Result<i64, i32> {
    // SAFETY: a syscall without arguments passes no pointers; the callers only name calls that are
    // harmless outside their intended context (they fail with an errno).
    let ret = unsafe { libc::syscall(nr) };
    if ret < 0 {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL))
    } else {
        Ok(ret)
    }
}

/// [`sys_bpf`] with the errno turned into an [`Error`] naming the command.
///
/// # Safety
/// As for [`sys_bpf`].
pub(crate) unsafe fn bpf_call<A: Pod>(cmd: Cmd, attr: &mut A) -> Result<i64> {
    // SAFETY: forwarded; the caller upholds sys_bpf's contract.
    unsafe { sys_bpf(cmd, attr) }.map_err(|errno| Error::from_errno(cmd.name(), errno))
}

/// [`bpf_call`] for commands that return a new file descriptor.
///
/// # Safety
/// As for [`sys_bpf`].
pub(crate) unsafe fn bpf_fd<A: Pod>(cmd: Cmd, attr: &mut A) -> Result<OwnedFd> {
    // SAFETY: forwarded; the caller upholds sys_bpf's contract.
    let ret = unsafe { bpf_call(cmd, attr) }?;
    owned_fd(cmd, ret)
}

/// Takes ownership of the descriptor a successful fd-returning command gave back.
pub(crate) fn owned_fd(cmd: Cmd, ret: i64) -> Result<OwnedFd> {
    // The kernel returns an int; anything else would be a kernel bug.
    let fd = RawFd::try_from(ret)
        .map_err(|_| Error::invalid(format!("{}: returned {ret}", cmd.name())))?;
    if fd < 0 {
        return Err(Error::invalid(format!("{}: returned {ret}", cmd.name())));
    }
    // SAFETY: a successful fd-returning bpf command hands us a fresh descriptor nobody else owns.
    Ok(ensure_good_fd(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Moves a descriptor out of 0–2 (the UAPI reads fd 0 as "none" in several fields, and stdio must not be
/// shadowed). Anything higher is returned as is. If the dup fails the original is kept.
pub(crate) fn ensure_good_fd(fd: OwnedFd) -> OwnedFd {
    use std::os::fd::AsRawFd;
    if fd.as_raw_fd() > 2 {
        return fd;
    }
    match rustix::io::fcntl_dupfd_cloexec(&fd, 3) {
        Ok(new) => new,
        Err(_) => fd,
    }
}

/// The user address of a slice, as the UAPI wants it (`0` for an empty slice).
pub(crate) fn ptr_of<T>(s: &[T]) -> u64 {
    if s.is_empty() {
        0
    } else {
        s.as_ptr() as usize as u64
    }
}

/// The user address of a mutable slice (`0` for an empty slice).
pub(crate) fn mut_ptr_of<T>(s: &mut [T]) -> u64 {
    if s.is_empty() {
        0
    } else {
        s.as_mut_ptr() as usize as u64
    }
}

/// A borrowed fd as the UAPI's `__u32`.
pub(crate) fn fd_u32(fd: std::os::fd::BorrowedFd<'_>) -> u32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd() as u32
}

/// An optional borrowed fd as the UAPI's `__u32`, `0` for none.
pub(crate) fn opt_fd_u32(fd: Option<std::os::fd::BorrowedFd<'_>>) -> u32 {
    fd.map_or(0, fd_u32)
}

/// Copies `name` into a UAPI object name: at most 15 bytes, NUL-terminated, zero-padded.
pub(crate) fn obj_name(name: &str) -> [u8; attr::BPF_OBJ_NAME_LEN] {
    let mut out = [0u8; attr::BPF_OBJ_NAME_LEN];
    let n = name.len().min(attr::BPF_OBJ_NAME_LEN - 1);
    out[..n].copy_from_slice(&name.as_bytes()[..n]);
    out
}

/// A length as the UAPI's `__u32`, or an error naming what was too large.
pub(crate) fn len_u32(len: usize, what: &str) -> Result<u32> {
    u32::try_from(len)
        .map_err(|_| Error::invalid(format!("{what}: length {len} does not fit in u32")))
}
