//! Attaching loaded programs to their hooks, one file per mechanism.
//!
//! Every attacher takes the program as a [`BorrowedFd`] plus an option struct and returns a
//! [`Link`](crate::link::Link) whose drop detaches. The program fd is only borrowed: attachers that must
//! remember the program (legacy attachments, netlink) keep their own duplicate.
//!
//! The pure helpers ([`usdt_spec`], [`elf_sym`], [`libpath`]) make no system calls.

use std::os::fd::{BorrowedFd, OwnedFd};

use crate::error::{Error, ErrorKind, Result};

pub mod auto;
pub mod cgroup;
pub mod elf_sym;
pub mod iter;
pub mod kprobe;
pub mod libpath;
pub mod netfilter;
pub mod perf_event;
pub mod raw_tp;
pub mod socket;
pub mod struct_ops;
pub mod tc;
pub mod tracepoint;
pub mod tracing;
pub mod uprobe;
pub mod usdt;
pub mod usdt_spec;
pub mod xdp;

pub use crate::obj::sections::attach_type;

/// A duplicate of `fd` for attachments that must outlive the caller's borrow.
pub(crate) fn dup(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    fd.try_clone_to_owned()
        .map_err(|e| Error::io("duplicate program fd", e))
}

/// Whether an error means "this kernel does not know the command or attach type" (try the older way).
pub(crate) fn is_unsupported(e: &Error) -> bool {
    matches!(
        e.errno(),
        Some(libc::EINVAL | libc::EOPNOTSUPP | libc::ENOSYS | 524 /* ENOTSUPP */)
    ) || e.kind() == ErrorKind::NotSupported
}

/// The interface index of network device `name` in the calling thread's network namespace.
pub fn ifindex(name: &str) -> Result<u32> {
    crate::sys::netlink::link_index(name)
}
