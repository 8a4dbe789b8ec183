//! struct_ops maps (`SEC(".struct_ops.link")`): registering a kernel struct implemented in BPF, such
//! as a `tcp_congestion_ops`, through a link; [`Link::update_prog`](crate::link::Link::update_prog)
//! with another struct_ops map swaps the implementation in place.

use std::os::fd::BorrowedFd;

use std::os::fd::AsFd;

use crate::error::{Error, Result};
use crate::link::{Kind, Link};
use crate::map::MapFlags;
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

/// `BPF_F_LINK`: the struct_ops map is registered through links.
const BPF_F_LINK: u32 = 1 << 13;

impl crate::object::Map {
    /// Registers a struct_ops map of a loaded object (libbpf's `bpf_map__attach_struct_ops`): writes
    /// the kernel value the loader prepared (program fds in place of the function pointers), then
    /// creates a link for `.struct_ops.link` maps; plain `.struct_ops` maps are registered by the write
    /// itself and unregistered by deleting it when the [`Link`] drops.
    pub fn attach_struct_ops(&self) -> Result<Link> {
        let what = format!("struct_ops map '{}'", self.name());
        let handle = self
            .handle()
            .ok_or_else(|| Error::invalid(format!("{what}: not created")))?;
        let value = self
            .struct_ops_value()
            .ok_or_else(|| Error::invalid(format!("{what}: not a loaded struct_ops map")))?;
        let is_link = handle.map_flags() & BPF_F_LINK != 0;
        match handle.update(&0u32.to_ne_bytes(), value, MapFlags::ANY) {
            Ok(()) => {}
            // A link map's value can be written once; a later attach reuses it.
            Err(e) if is_link && e.errno() == Some(libc::EBUSY) => {}
            Err(e) => return Err(e.context(&what)),
        }
        if is_link {
            attach_struct_ops(handle.as_fd()).map_err(|e| e.context(&what))
        } else {
            Ok(Link::new(Kind::StructOpsMap {
                map: handle.try_clone()?,
            }))
        }
    }
}
