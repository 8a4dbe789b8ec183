//! struct_ops maps (`SEC(".struct_ops.link")`): registering a kernel struct implemented in BPF, such
//! as a `tcp_congestion_ops`, through a link; [`Link::update_prog`](crate::link::Link::update_prog)
//! with another struct_ops map swaps the implementation in place.

use std::os::fd::BorrowedFd;

use crate::error::Result;
use crate::link::Link;
use crate::sys;
use crate::sys::link::{LinkExtra, Target};

use super::attach_type;

/// Registers the struct_ops map `map` (created with `BPF_F_LINK` and its value filled in).
pub fn attach_struct_ops(map: BorrowedFd<'_>) -> Result<Link> {
    // For struct_ops the link's "program" is the map.
    sys::link::link_create(
        map,
        Target::None,
        attach_type::STRUCT_OPS,
        0,
        &LinkExtra::None,
    )
    .map(Link::from_fd)
    .map_err(|e| e.context("struct_ops"))
}
