//! `SEC("xdp")`: programs on a network device's receive path.
//!
//! Kernels ≥ 5.9 attach with a BPF link (`BPF_XDP`); older ones (or a device already holding a
//! netlink-attached program) take the program over rtnetlink `IFLA_XDP`, in driver, generic (skb) or
//! offload mode.

use std::os::fd::BorrowedFd;

use crate::error::{Error, Result};
use crate::link::{Kind, Link};
use crate::sys;
use crate::sys::link::{LinkExtra, Target};

use super::{attach_type, dup, is_unsupported};

/// `XDP_FLAGS_UPDATE_IF_NOEXIST`: fail if a program is already attached.
pub const XDP_FLAGS_UPDATE_IF_NOEXIST: u32 = 1;
/// `XDP_FLAGS_SKB_MODE`: generic XDP.
pub const XDP_FLAGS_SKB_MODE: u32 = 2;
/// `XDP_FLAGS_DRV_MODE`: native (driver) XDP.
pub const XDP_FLAGS_DRV_MODE: u32 = 4;
/// `XDP_FLAGS_HW_MODE`: offloaded XDP.
pub const XDP_FLAGS_HW_MODE: u32 = 8;

/// Where the XDP program runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum XdpMode {
    /// Driver mode if the driver supports it, else generic.
    #[default]
    Auto,
    /// Generic XDP in the network stack (`XDP_FLAGS_SKB_MODE`).
    Skb,
    /// Native driver XDP (`XDP_FLAGS_DRV_MODE`).
    Driver,
    /// Offloaded to the NIC (`XDP_FLAGS_HW_MODE`).
    Hardware,
}

impl XdpMode {
    fn flags(self) -> u32 {
        match self {
            XdpMode::Auto => 0,
            XdpMode::Skb => XDP_FLAGS_SKB_MODE,
            XdpMode::Driver => XDP_FLAGS_DRV_MODE,
            XdpMode::Hardware => XDP_FLAGS_HW_MODE,
        }
    }
}

/// Options of [`attach_xdp`].
#[derive(Debug, Clone, Copy, Default)]
pub struct XdpOpts {
    /// Where the program runs.
    pub mode: XdpMode,
    /// Use rtnetlink even where BPF links work (the attachment then outlives the process if forgotten).
    pub force_netlink: bool,
    /// With netlink: replace a program already attached instead of failing.
    pub replace: bool,
}

/// Attaches XDP program `prog` to the device with index `ifindex`.
pub fn attach_xdp(prog: BorrowedFd<'_>, ifindex: u32, opts: &XdpOpts) -> Result<Link> {
    let what = format!("XDP on ifindex {ifindex}");
    if ifindex == 0 {
        return Err(Error::invalid("XDP: ifindex 0 is not a device"));
    }
    if !opts.force_netlink {
        match sys::link::link_create(
            prog,
            Target::Ifindex(ifindex),
            attach_type::XDP,
            opts.mode.flags(),
            &LinkExtra::None,
        ) {
            Ok(fd) => return Ok(Link::from_fd(fd)),
            Err(e) if is_unsupported(&e) && e.errno() != Some(libc::EBUSY) => {
                log::debug!("{what}: BPF link unavailable ({e}); using netlink");
            }
            Err(e) => return Err(e.context(&what)),
        }
    }
    let mut flags = opts.mode.flags();
    if !opts.replace {
        flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
    }
    sys::netlink::xdp_set(ifindex as i32, Some(prog), flags, None).map_err(|e| e.context(&what))?;
    // Detach must not use UPDATE_IF_NOEXIST, only the mode.
    Ok(Link::new(Kind::NetlinkXdp {
        ifindex: ifindex as i32,
        flags: opts.mode.flags(),
        prog: dup(prog)?,
    }))
}

/// The id of the XDP program attached to `ifindex` (any mode), if any.
pub fn query_xdp(ifindex: u32) -> Result<Option<u32>> {
    let (mode, id) = sys::netlink::xdp_query(ifindex as i32)?;
    Ok((mode != 0 && id != 0).then_some(id))
}
