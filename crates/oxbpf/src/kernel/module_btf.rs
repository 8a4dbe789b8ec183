//! The kernel's module BTFs (libbpf's `load_module_btfs`): every kernel BTF object but vmlinux,
//! in BTF object id order, each parsed as split BTF on vmlinux once per process and reused until
//! the module goes away. CO-RE searches them for candidates; kfunc/ksym externs and module
//! attach targets need their BTF object ids (for `fd_array` and `attach_btf_obj_fd`).

use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use crate::btf::Btf;
use crate::error::Result;
use crate::sys::info::{btf_data, btf_info, get_fd_by_id, ids, IdKind};

/// One kernel module's BTF, split on vmlinux.
#[derive(Debug)]
pub struct ModuleBtf {
    /// Module name (`"nf_conntrack"`).
    pub name: String,
    /// Kernel id of the BTF object (open it with `BPF_BTF_GET_FD_BY_ID` when a load needs its fd).
    pub id: u32,
    /// The parsed BTF (its own types only; ids continue vmlinux's).
    pub btf: Arc<Btf>,
}

/// The BTF object ids listed at one time, and the modules found among them.
type Seen = (Vec<u32>, Arc<Vec<ModuleBtf>>);

/// The last answer.
static CACHE: Mutex<Option<Seen>> = Mutex::new(None);

/// The module BTFs of the running kernel on top of [`vmlinux_btf`](super::vmlinux::vmlinux_btf),
/// in BTF object id order. Without the privilege to list BTF objects there are none (as in
/// libbpf). Modules loaded or unloaded since the last call are picked up; the others are not
/// parsed again.
pub fn module_btfs() -> Result<Arc<Vec<ModuleBtf>>> {
    let all = match ids(IdKind::Btf) {
        Ok(ids) => ids,
        Err(e) if e.errno() == Some(libc::EPERM) => return Ok(Arc::new(Vec::new())),
        Err(e) => return Err(e.context("failed to iterate BTF objects")),
    };
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let vmlinux = super::vmlinux::vmlinux_btf()?;
    if let Some((seen, mods)) = &*cache {
        if *seen == all {
            return Ok(mods.clone());
        }
    }
    let old = cache.take().map(|(_, m)| m);
    let mut out = Vec::new();
    for &id in &all {
        if let Some(m) = old.as_ref().and_then(|o| o.iter().find(|m| m.id == id)) {
            out.push(ModuleBtf {
                name: m.name.clone(),
                id,
                btf: m.btf.clone(),
            });
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
        let btf = Btf::parse_split(&bytes, vmlinux.clone())
            .map_err(|e| e.context(format!("failed to load module [{name}]'s BTF object #{id}")))?;
        out.push(ModuleBtf {
            name,
            id,
            btf: Arc::new(btf),
        });
    }
    let mods = Arc::new(out);
    *cache = Some((all, mods.clone()));
    Ok(mods)
}
