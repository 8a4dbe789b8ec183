//! Extern resolution at load (libbpf's `bpf_object__resolve_externs`): `.kconfig` values from
//! the kernel config and libbpf's virtual `LINUX_*` externs, typeless `.ksyms` from kallsyms,
//! typed `.ksyms` and kfuncs from the kernel's BTF.

use crate::btf::{Btf, Kind};
use crate::error::{Error, Result};
use crate::kernel::kallsyms::{Kallsyms, SymAddr};
use crate::kernel::kconfig::Kconfig;
use crate::obj::externs::{set_kcfg_num, set_kcfg_value, ExternKind, ExternSpec};
use crate::reloc::data::ExternValue;

/// Module BTF objects a load refers to: their fds stay open for the whole load, and kfuncs in
/// modules are called through `fd_array` slots (slot 0 stays empty, as in libbpf).
#[derive(Debug, Default)]
pub(crate) struct ModuleFds {
    open: Vec<(u32, std::os::fd::OwnedFd)>,
    fd_array: Vec<u32>,
}

impl ModuleFds {
    /// The fd of module BTF object `id`, opened on first use.
    pub fn fd(&mut self, id: u32) -> Result<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        let pos = match self.open.iter().position(|(i, _)| *i == id) {
            Some(p) => p,
            None => {
                let fd =
                    crate::sys::info::get_fd_by_id(crate::sys::info::IdKind::Btf, id, 0, None)?;
                self.open.push((id, fd));
                self.open.len() - 1
            }
        };
        Ok(self.open[pos].1.as_fd())
    }

    /// The fd of module BTF object `id`, if this load opened it.
    pub fn get(&self, id: u32) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.open
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, fd)| fd.as_fd())
    }

    /// The `fd_array` index of module BTF object `id` (an `insn->off` for kfunc calls).
    pub fn fd_array_idx(&mut self, id: u32) -> Result<i16> {
        self.fd(id)?;
        if let Some(p) = self.fd_array.iter().position(|i| *i == id) {
            return Ok((p + 1) as i16);
        }
        if self.fd_array.len() + 1 >= i16::MAX as usize {
            return Err(Error::invalid(
                "module BTF fd index too big to fit in bpf_insn offset",
            ));
        }
        self.fd_array.push(id);
        Ok(self.fd_array.len() as i16)
    }

    /// The `fd_array` to pass at program load (empty when no module kfunc is used).
    pub fn fd_array(&self) -> Vec<Option<std::os::fd::BorrowedFd<'_>>> {
        use std::os::fd::AsFd;
        if self.fd_array.is_empty() {
            return Vec::new();
        }
        let mut v = vec![None];
        for id in &self.fd_array {
            v.push(
                self.open
                    .iter()
                    .find(|(i, _)| i == id)
                    .map(|(_, fd)| fd.as_fd()),
            );
        }
        v
    }
}

/// Host facts extern resolution may need; each is fetched only when some extern needs it.
pub(crate) struct Host<'a> {
    /// Extra Kconfig text given by the user (read before the system config).
    pub kconfig_override: Option<&'a str>,
    /// Reads the system Kconfig.
    pub kconfig: &'a dyn Fn() -> Result<std::sync::Arc<Kconfig>>,
    /// Reads kallsyms.
    pub kallsyms: &'a dyn Fn() -> Result<std::sync::Arc<Kallsyms>>,
    /// The kernel BTF.
    pub vmlinux: &'a dyn Fn() -> Result<std::sync::Arc<Btf>>,
    /// `LINUX_KERNEL_VERSION`.
    pub kernel_version: Option<u32>,
    /// Module BTFs, searched after vmlinux.
    pub modules: &'a dyn Fn() -> Result<std::sync::Arc<Vec<crate::kernel::module_btf::ModuleBtf>>>,
}

/// Resolves every extern: fills `kcfg_data` (the `.kconfig` map value) and returns how each
/// `ld_imm64`/call referring to an extern is to be encoded.
pub(crate) fn resolve_externs(
    exts: &[ExternSpec],
    kcfg_data: &mut [u8],
    host: &Host<'_>,
    mods: &mut ModuleFds,
) -> Result<Vec<ExternValue>> {
    let mut values: Vec<Option<ExternValue>> = vec![None; exts.len()];
    let (mut need_config, mut need_kallsyms, mut need_btf) = (false, false, false);
    for (i, ext) in exts.iter().enumerate() {
        match ext.kind {
            ExternKind::Ksym => {
                if ext.ksym_type_id != 0 {
                    need_btf = true;
                } else {
                    need_kallsyms = true;
                }
            }
            ExternKind::Kconfig => {
                let data_off = ext.kcfg.map_or(0, |k| k.data_off);
                if ext.name.starts_with("CONFIG_") {
                    need_config = true;
                    continue;
                }
                let value = match ext.name.as_str() {
                    "LINUX_KERNEL_VERSION" => u64::from(host.kernel_version.ok_or_else(|| {
                        Error::invalid(format!(
                            "extern (kcfg) '{}': failed to get kernel version",
                            ext.name
                        ))
                    })?),
                    "LINUX_HAS_BPF_COOKIE" => u64::from(crate::kernel::features::kernel_supports(
                        crate::kernel::features::Feature::BpfCookie,
                    )),
                    "LINUX_HAS_SYSCALL_WRAPPER" => {
                        u64::from(crate::kernel::features::kernel_supports(
                            crate::kernel::features::Feature::SyscallWrapper,
                        ))
                    }
                    n if n.starts_with("LINUX_") && ext.is_weak => 0,
                    _ => {
                        return Err(Error::invalid(format!(
                            "extern (kcfg) '{}': unrecognized virtual extern",
                            ext.name
                        )))
                    }
                };
                set_kcfg_num(ext, kcfg_data, value)?;
                values[i] = Some(ExternValue::Kconfig { data_off });
            }
        }
    }
    if need_config {
        let mut apply = |k: &Kconfig, values: &mut [Option<ExternValue>]| -> Result<()> {
            for (i, ext) in exts.iter().enumerate() {
                if ext.kind != ExternKind::Kconfig || values[i].is_some() {
                    continue;
                }
                if let Some(v) = k.get(&ext.name) {
                    set_kcfg_value(ext, kcfg_data, v)?;
                    values[i] = Some(ExternValue::Kconfig {
                        data_off: ext.kcfg.map_or(0, |k| k.data_off),
                    });
                }
            }
            Ok(())
        };
        if let Some(text) = host.kconfig_override {
            let k =
                Kconfig::parse(text).map_err(|e| e.context("error parsing in-memory Kconfig"))?;
            apply(&k, &mut values)?;
        }
        let missing = exts
            .iter()
            .enumerate()
            .any(|(i, e)| e.kind == ExternKind::Kconfig && values[i].is_none());
        if missing {
            let k = (host.kconfig)()?;
            apply(&k, &mut values)?;
        }
    }
    if need_kallsyms {
        let syms = (host.kallsyms)()?;
        for (i, ext) in exts.iter().enumerate() {
            if ext.kind != ExternKind::Ksym || ext.ksym_type_id != 0 || ext.is_func {
                continue;
            }
            match syms.get(&ext.name) {
                Some(SymAddr::Unique(a)) => values[i] = Some(ExternValue::KsymAddr(a)),
                Some(SymAddr::Ambiguous(a, b)) => {
                    return Err(Error::invalid(format!(
                        "extern (ksym) '{}': resolution is ambiguous: 0x{a:x} or 0x{b:x}",
                        ext.name
                    )))
                }
                None => {}
            }
        }
    }
    if need_btf {
        let vmlinux = (host.vmlinux)()?;
        for (i, ext) in exts.iter().enumerate() {
            if ext.kind != ExternKind::Ksym || ext.ksym_type_id == 0 {
                continue;
            }
            let lookup = ext.essent_name.as_deref().unwrap_or(&ext.name);
            // Not in vmlinux: the first module whose own types have it (libbpf's find_ksym_btf_id).
            let in_module = |name: &str, kind: Kind| -> Result<Option<(u32, u32)>> {
                let modules = (host.modules)()?;
                Ok(modules.iter().find_map(|m| {
                    m.btf
                        .ids_by_name(name)
                        .iter()
                        .copied()
                        .find(|&id| m.btf.type_by_id(id).is_ok_and(|t| t.btf_kind() == kind))
                        .map(|id| (m.id, id))
                }))
            };
            let found = if ext.is_func {
                match vmlinux.find_by_name_kind(lookup, Kind::Func) {
                    Some(id) => Some(ExternValue::Kfunc {
                        btf_id: id,
                        btf_fd_idx: 0,
                    }),
                    None => match in_module(lookup, Kind::Func)? {
                        Some((obj, id)) => Some(ExternValue::Kfunc {
                            btf_id: id,
                            btf_fd_idx: mods.fd_array_idx(obj)?,
                        }),
                        None => None,
                    },
                }
            } else {
                match vmlinux.find_by_name_kind(&ext.name, Kind::Var) {
                    Some(id) => Some(ExternValue::KsymBtf {
                        btf_id: id,
                        btf_obj_fd: 0,
                    }),
                    None => match in_module(&ext.name, Kind::Var)? {
                        Some((obj, id)) => {
                            use std::os::fd::AsRawFd;
                            Some(ExternValue::KsymBtf {
                                btf_id: id,
                                btf_obj_fd: mods.fd(obj)?.as_raw_fd(),
                            })
                        }
                        None => None,
                    },
                }
            };
            match found {
                Some(v) => values[i] = Some(v),
                None if ext.is_weak => {}
                None if ext.is_func => {
                    return Err(Error::not_found(format!(
                        "extern (func ksym) '{}': not found in kernel or module BTFs",
                        ext.name
                    )))
                }
                None => {
                    return Err(Error::not_found(format!(
                        "extern (var ksym) '{}': not found in kernel BTF",
                        ext.name
                    )))
                }
            }
        }
    }
    let mut out = Vec::with_capacity(exts.len());
    for (i, ext) in exts.iter().enumerate() {
        match values[i] {
            Some(v) => out.push(v),
            None if ext.is_weak => {
                crate::log::debug(format_args!(
                    "extern '{}' (weak): not resolved, defaulting to zero",
                    ext.name
                ));
                out.push(match ext.kind {
                    ExternKind::Kconfig => ExternValue::Kconfig {
                        data_off: ext.kcfg.map_or(0, |k| k.data_off),
                    },
                    ExternKind::Ksym if ext.is_func => ExternValue::Unresolved,
                    ExternKind::Ksym => ExternValue::KsymAddr(0),
                });
            }
            None => {
                return Err(Error::not_found(format!(
                    "extern '{}' (strong): not resolved",
                    ext.name
                )))
            }
        }
    }
    Ok(out)
}
