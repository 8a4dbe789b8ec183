//! `SEC("cgroup_skb/...")`, `cgroup/sock_create`, `cgroup/connect4`, `sockops`, `cgroup/dev`,
//! `cgroup/sysctl`, `cgroup/getsockopt`, ... : programs on a cgroup v2 directory, for every cgroup
//! attach type.
//!
//! A BPF link (kernel ≥ 5.7) is preferred; [`CgroupOpts::legacy`] (or a kernel without cgroup links)
//! uses `BPF_PROG_ATTACH` with its `BPF_F_ALLOW_OVERRIDE` / `BPF_F_ALLOW_MULTI` flags.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use crate::error::{Error, Result};
use crate::link::{Kind, Link};
use crate::sys;
use crate::sys::link::{LinkExtra, ProgAttachOpts, Relative, Target};

use super::{dup, is_unsupported};

/// `BPF_F_ALLOW_OVERRIDE`: a descendant cgroup's program replaces this one.
pub const BPF_F_ALLOW_OVERRIDE: u32 = 1;
/// `BPF_F_ALLOW_MULTI`: descendant programs run too, in order.
pub const BPF_F_ALLOW_MULTI: u32 = 2;

/// Options of [`attach_cgroup`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CgroupOpts<'a> {
    /// Use `BPF_PROG_ATTACH` instead of a link.
    pub legacy: bool,
    /// Legacy attach flags (`BPF_F_ALLOW_OVERRIDE`, `BPF_F_ALLOW_MULTI`, ...); links behave as multi.
    pub flags: u32,
    /// Ordering anchor (kernel ≥ 6.15 with `BPF_F_BEFORE`/`BPF_F_AFTER` in `flags`).
    pub relative: Relative<'a>,
    /// Fail unless the cgroup's chain has this revision (0: don't check).
    pub expected_revision: u64,
}

/// Opens cgroup directory `path` (e.g. `/sys/fs/cgroup/my.slice`) for [`attach_cgroup`].
pub fn open_cgroup(path: impl AsRef<Path>) -> Result<std::fs::File> {
    let path = path.as_ref();
    std::fs::File::open(path).map_err(|e| Error::io(format!("open cgroup {}", path.display()), e))
}

/// Attaches `prog` to `cgroup` (an open cgroup v2 directory) for `attach_type`
/// (`attach_type::CGROUP_INET_INGRESS`, ...).
pub fn attach_cgroup(
    prog: BorrowedFd<'_>,
    cgroup: BorrowedFd<'_>,
    attach_type: u32,
    opts: &CgroupOpts<'_>,
) -> Result<Link> {
    let what = format!("cgroup (attach type {attach_type})");
    if !opts.legacy {
        let extra = match (opts.relative, opts.expected_revision) {
            (Relative::None, 0) => LinkExtra::None,
            (relative, expected_revision) => LinkExtra::Multi {
                relative,
                expected_revision,
            },
        };
        let link_flags = opts.flags & !(BPF_F_ALLOW_OVERRIDE | BPF_F_ALLOW_MULTI);
        match sys::link::link_create(prog, Target::Fd(cgroup), attach_type, link_flags, &extra) {
            Ok(fd) => return Ok(Link::from_fd(fd)),
            Err(e) if is_unsupported(&e) && matches!(opts.relative, Relative::None) => {
                log::debug!("{what}: BPF link unavailable ({e}); using BPF_PROG_ATTACH");
            }
            Err(e) => return Err(e.context(&what)),
        }
    }
    let aopts = ProgAttachOpts {
        flags: opts.flags,
        relative: opts.relative,
        expected_revision: opts.expected_revision,
        ..Default::default()
    };
    sys::link::prog_attach(prog, Target::Fd(cgroup), attach_type, &aopts)
        .map_err(|e| e.context(&what))?;
    Ok(Link::new(Kind::ProgAttach {
        prog: dup(prog)?,
        target: dup(cgroup.as_fd())?,
        attach_type,
    }))
}
