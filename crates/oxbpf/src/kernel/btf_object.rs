//! A BTF object of the running kernel, by id (libbpf's `btf__load_from_kernel_by_id_split`): vmlinux
//! BTF, a module's, or the BTF a loaded program or map carries.

use std::os::fd::AsFd;
use std::sync::Arc;

use crate::btf::Btf;
use crate::error::Result;
use crate::sys::info::{btf_data, btf_info, get_fd_by_id, IdKind};

/// One BTF object as the kernel holds it.
#[derive(Debug, Clone)]
pub struct BtfObject {
    /// Kernel id.
    pub id: u32,
    /// `"vmlinux"`, a module name, or empty for BTF that user space loaded.
    pub name: String,
    /// True for the kernel's own BTF (vmlinux and modules).
    pub kernel_btf: bool,
    /// The raw BTF bytes (split BTF for modules: types and strings continue vmlinux's).
    pub data: Vec<u8>,
}

impl BtfObject {
    /// Whether this is split BTF on vmlinux: kernel BTF not named `vmlinux` (a module's). bpftool
    /// tells a module's BTF apart the same way.
    pub fn is_module(&self) -> bool {
        self.kernel_btf && self.name != "vmlinux"
    }

    /// Parses the bytes, as split BTF on `base` when given (a module's BTF needs vmlinux's).
    pub fn parse(self, base: Option<Arc<Btf>>) -> Result<Btf> {
        let what = if self.name.is_empty() {
            format!("BTF object #{}", self.id)
        } else {
            format!("BTF object #{} ({})", self.id, self.name)
        };
        match base {
            Some(b) => Btf::parse_split(&self.data, b),
            None => Btf::parse_owned(self.data, None),
        }
        .map_err(|e| e.context(what))
    }
}

/// Reads BTF object `id` (`BPF_BTF_GET_FD_BY_ID`, then its info with the data).
pub fn read_btf_object(id: u32) -> Result<BtfObject> {
    let fd = get_fd_by_id(IdKind::Btf, id, 0, None)
        .map_err(|e| e.context(format!("failed to get BTF object #{id} FD")))?;
    let info = btf_info(fd.as_fd())?;
    let (data, name) = btf_data(fd.as_fd())?;
    Ok(BtfObject {
        id,
        name,
        kernel_btf: info.kernel_btf != 0,
        data,
    })
}

/// Parses BTF object `id`. A module's BTF is split BTF: it is parsed on `base`, or on the running
/// kernel's vmlinux BTF when `base` is `None`; other BTF is parsed on `base` when one is given (as
/// `bpftool btf dump id N [-B BASE]` does).
pub fn load_btf_by_id(id: u32, base: Option<Arc<Btf>>) -> Result<Btf> {
    let obj = read_btf_object(id)?;
    let base = match base {
        Some(b) => Some(b),
        None if obj.is_module() => Some(super::vmlinux::vmlinux_btf()?),
        None => None,
    };
    obj.parse(base)
}
