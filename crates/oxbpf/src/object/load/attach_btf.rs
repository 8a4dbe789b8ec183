//! The BTF attach target of a program that needs one (fentry/fexit/fmod_ret, LSM, tp_btf, iterators,
//! freplace), as libbpf's `libbpf_find_attach_btf_id` finds it: an freplace program's target function
//! in the BTF of the program it replaces; any other target in vmlinux's BTF, then in the modules'
//! BTF, whose BTF object then goes with the type id.

use super::Loader;
use crate::btf::{Btf, Kind};
use crate::error::{Error, Result};
use crate::obj::programs::ProgramSpec;
use crate::obj::sections::{self, SecFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

/// Where a program attaches, as `BPF_PROG_LOAD` takes it.
pub(super) struct AttachBtf {
    /// `attach_btf_id` (0: none).
    pub id: u32,
    /// The BTF object id of the module whose BTF holds `id` (`None`: vmlinux, or a target program).
    pub obj: Option<u32>,
    /// The loaded program an freplace program replaces a function of.
    pub prog: Option<Arc<OwnedFd>>,
}

impl Loader {
    /// The attach target of program `p` (section flags `flags`): the spec's own when it has one
    /// or its section takes no BTF target; else looked up by name.
    pub(super) fn attach_btf(
        &mut self,
        p: &ProgramSpec,
        flags: SecFlags,
        expected_attach_type: u32,
    ) -> Result<AttachBtf> {
        let name = &p.name;
        let mut out = AttachBtf {
            id: p.attach_btf_id,
            obj: None,
            prog: None,
        };
        if !flags.contains(SecFlags::ATTACH_BTF) || out.id != 0 {
            return Ok(out);
        }
        let Some(target) = p
            .attach_target
            .as_deref()
            .or_else(|| sections::attach_target(&p.section))
        else {
            return Err(Error::invalid(format!(
                "prog '{name}': no BTF-based attach target is specified, use bpf_program__set_attach_target()"
            )));
        };
        let target_prog = self
            .open
            .attach_progs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, fd)| Arc::clone(fd));
        if let Some(fd) = target_prog {
            out.id = prog_func_btf_id(fd.as_fd(), target)
                .map_err(|e| e.context(format!("prog '{name}'")))?;
            out.prog = Some(fd);
        }
        if out.id != 0 {
            return Ok(out);
        }
        let vm = self.vmlinux()?;
        let (module, func) = match target.split_once(':') {
            Some((m, f)) => (Some(m), f),
            None => (None, target),
        };
        let in_vmlinux = match module {
            None | Some("vmlinux") => find_attach_btf_id(&vm, expected_attach_type, func),
            Some(_) => None,
        };
        out.id = match in_vmlinux {
            Some(id) => id,
            None => {
                // A module's function: its BTF object fd goes with the BTF id.
                let mods = crate::kernel::module_btf::module_btfs()?;
                let hit = mods
                    .iter()
                    .filter(|m| module.is_none_or(|n| n == m.name))
                    .find_map(|m| {
                        find_attach_btf_id(&m.btf, expected_attach_type, func)
                            .filter(|&id| id >= m.btf.first_id())
                            .map(|id| (m.id, id))
                    });
                let (obj, id) = hit.ok_or_else(|| {
                    Error::not_found(format!(
                        "prog '{name}': failed to find kernel BTF type ID of '{target}'"
                    ))
                })?;
                self.mods.fd(obj)?;
                out.obj = Some(obj);
                id
            }
        };
        Ok(out)
    }
}

/// The BTF id of function `func` in the BTF of loaded program `prog` (an freplace target).
fn prog_func_btf_id(prog: BorrowedFd<'_>, func: &str) -> Result<u32> {
    let info = crate::sys::info::prog_info(prog)?;
    if info.btf_id == 0 {
        return Err(Error::invalid(format!(
            "freplace target program has no BTF: cannot find '{func}'"
        )));
    }
    let btf_fd =
        crate::sys::info::get_fd_by_id(crate::sys::info::IdKind::Btf, info.btf_id, 0, None)?;
    let (data, _) = crate::sys::info::btf_data(btf_fd.as_fd())?;
    let btf = Btf::parse(&data)?;
    btf.find_by_name_kind(func, Kind::Func).ok_or_else(|| {
        Error::not_found(format!(
            "freplace target function '{func}' not found in the target program's BTF"
        ))
    })
}

/// libbpf's `btf_get_kernel_prefix_kind` + lookup: the kernel BTF id an attach-BTF program targets.
fn find_attach_btf_id(vmlinux: &Btf, attach_type: u32, target: &str) -> Option<u32> {
    use crate::obj::sections::attach_type as a;
    let target = match target.split_once(':') {
        Some(("vmlinux", f)) => f,
        _ => target,
    };
    let (prefix, kind) = match attach_type {
        a::TRACE_RAW_TP => ("btf_trace_", Kind::Typedef),
        a::LSM_MAC | a::LSM_CGROUP => ("bpf_lsm_", Kind::Func),
        a::TRACE_ITER => ("bpf_iter_", Kind::Func),
        _ => ("", Kind::Func),
    };
    vmlinux.find_by_name_kind(&format!("{prefix}{target}"), kind)
}
