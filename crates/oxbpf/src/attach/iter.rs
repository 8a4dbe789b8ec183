//! `SEC("iter/<target>")`: BPF iterators. Attaching makes a link; each [`open_iter`] starts one walk
//! whose output (what the program wrote with `bpf_seq_printf`/`bpf_seq_write`) is read like a file.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use crate::error::{Error, Result};
use crate::link::Link;
use crate::sys;
use crate::sys::link::{LinkExtra, Target};

use super::attach_type;

/// `BPF_CGROUP_ITER_*` walk orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum CgroupIterOrder {
    /// Only the given cgroup.
    SelfOnly = 1,
    /// Pre-order walk of descendants.
    DescendantsPre = 2,
    /// Post-order walk of descendants.
    DescendantsPost = 3,
    /// The ancestors, walking up.
    AncestorsUp = 4,
}

/// What an iterator walks (`union bpf_iter_link_info`); the default walks everything the target offers.
#[derive(Debug, Clone, Copy, Default)]
pub enum IterTarget<'a> {
    /// No parameters (`task`, `bpf_map`, `bpf_prog`, `tcp`, ...).
    #[default]
    All,
    /// The elements of one map (`bpf_map_elem`, `bpf_sk_storage_map`, `sockmap`).
    Map(BorrowedFd<'a>),
    /// One cgroup (by fd) and the walk order.
    Cgroup(BorrowedFd<'a>, CgroupIterOrder),
    /// Only the task with this TID (`task`, `task_file`, `task_vma`).
    Tid(u32),
    /// Only the tasks of the process with this PID.
    Pid(u32),
    /// Only the tasks of the process behind this pidfd.
    PidFd(BorrowedFd<'a>),
}

impl IterTarget<'_> {
    /// The `union bpf_iter_link_info` bytes (empty for [`IterTarget::All`]).
    fn encode(&self) -> Vec<u8> {
        let words: [u32; 3] = match *self {
            IterTarget::All => return Vec::new(),
            IterTarget::Map(fd) => [fd.as_raw_fd() as u32, 0, 0],
            // { order, cgroup_fd, cgroup_id(u64) }
            IterTarget::Cgroup(fd, order) => [order as u32, fd.as_raw_fd() as u32, 0],
            // task: { tid, pid, pid_fd }
            IterTarget::Tid(tid) => [tid, 0, 0],
            IterTarget::Pid(pid) => [0, pid, 0],
            IterTarget::PidFd(fd) => [0, 0, fd.as_raw_fd() as u32],
        };
        let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        b.resize(16, 0);
        b
    }
}

/// Attaches iterator program `prog` over `target`.
pub fn attach_iter(prog: BorrowedFd<'_>, target: IterTarget<'_>) -> Result<Link> {
    let info = target.encode();
    let extra = if info.is_empty() {
        LinkExtra::None
    } else {
        LinkExtra::Iter { info: &info }
    };
    sys::link::link_create(prog, Target::None, attach_type::TRACE_ITER, 0, &extra)
        .map(Link::from_fd)
        .map_err(|e| e.context("iterator"))
}

/// Starts one walk of the iterator behind `link` (`BPF_ITER_CREATE`); read the returned file to the end.
pub fn open_iter(link: &Link) -> Result<File> {
    let fd = link
        .fd()
        .ok_or_else(|| Error::invalid("open_iter: the link is not an iterator link"))?;
    Ok(File::from(sys::link::iter_create(fd.as_fd())?))
}

/// Runs the iterator behind `link` once and returns everything it wrote.
pub fn read_iter(link: &Link) -> Result<Vec<u8>> {
    let mut f = open_iter(link)?;
    let mut out = Vec::new();
    f.read_to_end(&mut out)
        .map_err(|e| Error::io("read iterator output", e))?;
    Ok(out)
}
