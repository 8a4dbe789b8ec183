//! The kernel's module BTFs, as CO-RE candidates: every kernel BTF object but vmlinux, in BTF
//! object id order (the order libbpf's `load_module_btfs` finds them), each parsed as split BTF on
//! vmlinux once per process and reused until the module goes away.

use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::reloc::core::TargetBtf;
use crate::sys::info::{btf_data, btf_info, get_fd_by_id, ids, IdKind};

/// Module BTFs parsed so far: (BTF object id, target).
static CACHE: Mutex<Vec<(u32, Arc<TargetBtf>)>> = Mutex::new(Vec::new());

/// The module BTFs of the running kernel on top of `vmlinux`, in BTF object id order. Without the
/// privilege to list BTF objects there are none (as in libbpf).
pub fn module_btfs(vmlinux: &TargetBtf) -> Result<Vec<Arc<TargetBtf>>> {
    let all = match ids(IdKind::Btf) {
        Ok(ids) => ids,
        Err(e) if e.errno() == Some(libc::EPERM) => return Ok(Vec::new()),
        Err(e) => return Err(e.context("failed to iterate BTF objects")),
    };
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let same_base = |t: &TargetBtf| {
        t.btf()
            .base()
            .is_some_and(|b| Arc::ptr_eq(b, vmlinux.btf()))
    };
    cache.retain(|(id, t)| all.contains(id) && same_base(t));
    let mut out = Vec::new();
    for id in all {
        if let Some((_, t)) = cache.iter().find(|(i, _)| *i == id) {
            out.push(t.clone());
            continue;
        }
        let fd = match get_fd_by_id(IdKind::Btf, id, 0, None) {
            Ok(fd) => fd,
            // Unloaded between listing and opening.
            Err(e) if e.errno() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e.context(format!("failed to get BTF object #{id} FD"))),
        };
        if btf_info(fd.as_fd())?.kernel_btf == 0 {
            continue;
        }
        let (bytes, name) = btf_data(fd.as_fd())?;
        if name == "vmlinux" {
            continue;
        }
        let t = Arc::new(
            TargetBtf::parse_module(name.as_str(), &bytes, vmlinux).map_err(|e| {
                e.context(format!("failed to load module [{name}]'s BTF object #{id}"))
            })?,
        );
        cache.push((id, t.clone()));
        out.push(t);
    }
    Ok(out)
}
