//! Data relocations: `ld_imm64` of maps, global variables and externs, and kfunc calls, patched
//! exactly as libbpf's `bpf_object__relocate_data` encodes them.

use super::insn;
use crate::error::{Error, Result};
use crate::obj::relocs::{Reloc, RelocKind};

/// libbpf's poison for `ld_imm64` of a map that is not created: `call 2001000000 + map index`.
pub const POISON_LDIMM64_MAP_BASE: i32 = 2_001_000_000;
/// libbpf's poison for a call of an unresolved weak kfunc: `call 2002000000 + extern index`.
pub const POISON_CALL_KFUNC_BASE: i32 = 2_002_000_000;

/// How one extern was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternValue {
    /// A `.kconfig` value at `data_off` in the `.kconfig` map.
    Kconfig {
        /// Offset in the `.kconfig` map value.
        data_off: u32,
    },
    /// A typed `.ksyms` variable found in kernel BTF.
    KsymBtf {
        /// BTF id in the kernel (vmlinux or module) BTF.
        btf_id: u32,
        /// fd of the module BTF (0 for vmlinux).
        btf_obj_fd: i32,
    },
    /// A typeless `.ksyms` variable (or an unresolved weak one): its address (0 if unresolved).
    KsymAddr(u64),
    /// A kfunc found in kernel BTF.
    Kfunc {
        /// BTF id of the FUNC.
        btf_id: u32,
        /// Index into the program's `fd_array` (0 for vmlinux).
        btf_fd_idx: i16,
    },
    /// An unresolved weak kfunc: the call is poisoned.
    Unresolved,
}

/// What data relocation needs to know about the object's kernel objects.
pub struct DataCtx<'a> {
    /// Per map: its fd, or `None` when the map is not created (references are poisoned).
    pub map_fds: &'a [Option<i32>],
    /// fd of the `.kconfig` map.
    pub kconfig_map_fd: Option<i32>,
    /// Per extern: its resolution.
    pub externs: &'a [ExternValue],
    /// Offset of arena globals within the arena map, and the arena map index.
    pub arena: Option<(usize, u32)>,
}

fn poison_map(insns: &mut [u8], at: usize, map_idx: usize) {
    for i in at..at + 2 {
        insn::set_code(insns, i, insn::CALL);
        if let Some(b) = insns.get_mut(i * 8 + 1) {
            *b = 0;
        }
        insn::set_off(insns, i, 0);
        insn::set_imm(insns, i, POISON_LDIMM64_MAP_BASE + map_idx as i32);
    }
}

/// Patches every data relocation of `insns` (libbpf's `bpf_object__relocate_data`).
pub fn relocate_data(
    prog_name: &str,
    insns: &mut [u8],
    relocs: &[Reloc],
    ctx: &DataCtx<'_>,
) -> Result<()> {
    for (n, r) in relocs.iter().enumerate() {
        let i = r.insn_idx;
        let map_fd = |map_idx: usize| -> Result<Option<i32>> {
            ctx.map_fds.get(map_idx).copied().ok_or_else(|| {
                Error::invalid(format!("prog '{prog_name}': relo #{n}: no map #{map_idx}"))
            })
        };
        match r.kind {
            RelocKind::Map { map_idx } => match map_fd(map_idx)? {
                Some(fd) => {
                    insn::set_src_reg(insns, i, insn::PSEUDO_MAP_FD);
                    insn::set_imm(insns, i, fd);
                }
                None => poison_map(insns, i, map_idx),
            },
            RelocKind::Data { map_idx, sym_off } => {
                let mut second = insn::imm(insns, i).wrapping_add(sym_off as i32);
                if let Some((arena_idx, arena_off)) = ctx.arena {
                    if arena_idx == map_idx {
                        second = second.wrapping_add(arena_off as i32);
                    }
                }
                insn::set_imm(insns, i + 1, second);
                match map_fd(map_idx)? {
                    Some(fd) => {
                        insn::set_src_reg(insns, i, insn::PSEUDO_MAP_VALUE);
                        insn::set_imm(insns, i, fd);
                    }
                    None => poison_map(insns, i, map_idx),
                }
            }
            RelocKind::ExternLd64 { ext_idx } | RelocKind::ExternCall { ext_idx } => {
                let value = ctx.externs.get(ext_idx).copied().ok_or_else(|| {
                    Error::invalid(format!("prog '{prog_name}': relo #{n}: no extern #{ext_idx}"))
                })?;
                let is_call = matches!(r.kind, RelocKind::ExternCall { .. });
                match (is_call, value) {
                    (false, ExternValue::Kconfig { data_off }) => {
                        let fd = ctx.kconfig_map_fd.ok_or_else(|| {
                            Error::invalid(format!("prog '{prog_name}': relo #{n}: .kconfig map is missing"))
                        })?;
                        insn::set_src_reg(insns, i, insn::PSEUDO_MAP_VALUE);
                        insn::set_imm(insns, i, fd);
                        insn::set_imm(insns, i + 1, data_off as i32);
                    }
                    (false, ExternValue::Kfunc { btf_id, .. }) => {
                        // A kfunc's address (bpf_ksym_exists): its BTF id, vmlinux (fd 0).
                        insn::set_src_reg(insns, i, insn::PSEUDO_BTF_ID);
                        insn::set_imm(insns, i, btf_id as i32);
                        insn::set_imm(insns, i + 1, 0);
                    }
                    (false, ExternValue::KsymBtf { btf_id, btf_obj_fd }) => {
                        insn::set_src_reg(insns, i, insn::PSEUDO_BTF_ID);
                        insn::set_imm(insns, i, btf_id as i32);
                        insn::set_imm(insns, i + 1, btf_obj_fd);
                    }
                    (false, ExternValue::KsymAddr(addr)) => {
                        insn::set_imm(insns, i, addr as u32 as i32);
                        insn::set_imm(insns, i + 1, (addr >> 32) as u32 as i32);
                    }
                    (false, ExternValue::Unresolved) => {
                        insn::set_imm(insns, i, 0);
                        insn::set_imm(insns, i + 1, 0);
                    }
                    (true, ExternValue::Kfunc { btf_id, btf_fd_idx }) => {
                        insn::set_src_reg(insns, i, insn::PSEUDO_KFUNC_CALL);
                        insn::set_imm(insns, i, btf_id as i32);
                        insn::set_off(insns, i, btf_fd_idx);
                    }
                    (true, ExternValue::Unresolved) => {
                        insn::set_code(insns, i, insn::CALL);
                        if let Some(b) = insns.get_mut(i * 8 + 1) {
                            *b = 0;
                        }
                        insn::set_off(insns, i, 0);
                        insn::set_imm(insns, i, POISON_CALL_KFUNC_BASE + ext_idx as i32);
                    }
                    (call, v) => {
                        return Err(Error::invalid(format!(
                            "prog '{prog_name}': relo #{n}: extern #{ext_idx} resolved as {v:?} cannot be used by {}",
                            if call { "a call" } else { "ld_imm64" }
                        )))
                    }
                }
            }
            RelocKind::SubprogAddr { .. } => {
                if insn::src_reg(insns, i) != insn::PSEUDO_FUNC {
                    return Err(Error::invalid(format!("prog '{prog_name}': relo #{n}: bad insn")));
                }
            }
            RelocKind::Call { .. } | RelocKind::Core { .. } => {}
            RelocKind::InsnArray { .. } => {
                return Err(Error::new(
                    crate::ErrorKind::NotSupported,
                    format!("prog '{prog_name}': relo #{n}: jump tables (.jumptables) are not supported yet"),
                ))
            }
        }
    }
    Ok(())
}
