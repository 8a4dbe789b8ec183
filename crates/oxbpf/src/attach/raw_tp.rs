//! `SEC("raw_tp/<name>")` / `raw_tracepoint/`: the raw tracepoint, without perf (`BPF_RAW_TRACEPOINT_OPEN`).

use std::os::fd::BorrowedFd;

use crate::error::{Error, Result};
use crate::link::Link;
use crate::sys;

/// Attaches `prog` to raw tracepoint `name` (e.g. `sys_enter`) with a cookie (0 for none).
pub fn attach_raw_tracepoint(prog: BorrowedFd<'_>, name: &str, cookie: u64) -> Result<Link> {
    if name.is_empty() {
        return Err(Error::invalid("raw tracepoint name is empty"));
    }
    let fd = sys::link::raw_tracepoint_open(prog, Some(name), cookie).map_err(|e| {
        if e.errno() == Some(libc::ENOENT) {
            e.context(format!("raw tracepoint '{name}' not found"))
        } else {
            e.context(format!("raw tracepoint '{name}'"))
        }
    })?;
    Ok(Link::from_fd(fd))
}
