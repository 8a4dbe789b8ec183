//! Relocations against program code (`.rel<sec>`), recorded per instruction the way libbpf's
//! `bpf_object__collect_prog_relos` / `bpf_program__record_reloc` classify them.

use super::elf::{Elf, SecKind, Symbol};
use super::externs::ExternSpec;
use super::maps::{MapKind, MapSpec};
use super::programs::{find_by_sec_insn, ProgramSpec, INSN_SIZE};
use crate::error::{Error, Result};
use object::elf;

/// What an instruction refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelocKind {
    /// `ld_imm64` of a map (its fd goes in `imm`).
    Map {
        /// Index into the object's maps.
        map_idx: usize,
    },
    /// A call of a `.text` subprogram; `sym_off` is the symbol's byte offset in `.text`.
    Call {
        /// Symbol offset in bytes.
        sym_off: u64,
    },
    /// `ld_imm64` of a global variable: map value pointer at `sym_off` + the instruction's `imm`.
    Data {
        /// Index into the object's maps.
        map_idx: usize,
        /// Symbol offset in bytes.
        sym_off: u64,
    },
    /// `ld_imm64` of an extern (`.kconfig` value or `.ksyms` variable).
    ExternLd64 {
        /// Index into the object's externs.
        ext_idx: usize,
    },
    /// A call of an extern function (kfunc).
    ExternCall {
        /// Index into the object's externs.
        ext_idx: usize,
    },
    /// `ld_imm64` of a subprogram's address (callbacks).
    SubprogAddr {
        /// Symbol offset in bytes.
        sym_off: u64,
    },
    /// A CO-RE relocation (recorded from BTF.ext at load).
    Core {
        /// Index into the program section's CO-RE records.
        relo_idx: usize,
    },
    /// `ld_imm64` of a jump table (`.jumptables`).
    InsnArray {
        /// Symbol offset in bytes.
        sym_off: u64,
        /// Symbol size in bytes.
        sym_size: u64,
    },
}

impl RelocKind {
    /// libbpf's `enum reloc_type` order, used to sort relocations of one instruction.
    fn order(&self) -> u8 {
        match self {
            RelocKind::Map { .. } => 0,
            RelocKind::Call { .. } => 1,
            RelocKind::Data { .. } => 2,
            RelocKind::ExternLd64 { .. } => 3,
            RelocKind::ExternCall { .. } => 4,
            RelocKind::SubprogAddr { .. } => 5,
            RelocKind::Core { .. } => 6,
            RelocKind::InsnArray { .. } => 7,
        }
    }
}

/// One relocation, against instruction `insn_idx` of its function (function-relative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloc {
    /// Instruction index within the function.
    pub insn_idx: usize,
    /// What it refers to.
    pub kind: RelocKind,
}

/// Sorts relocations by instruction, then by libbpf's type order.
pub fn sort(relocs: &mut [Reloc]) {
    relocs.sort_by_key(|r| (r.insn_idx, r.kind.order()));
}

/// Context for classifying relocations.
pub struct RelocCtx<'a> {
    /// The ELF tables.
    pub elf: &'a Elf,
    /// Maps, already collected.
    pub maps: &'a [MapSpec],
    /// Externs, already collected.
    pub externs: &'a [ExternSpec],
    /// Index of the arena map, if any.
    pub arena_map_idx: Option<usize>,
}

fn insn_code(insns: &[u8], idx: usize) -> Option<u8> {
    insns.get(idx * INSN_SIZE).copied()
}

fn insn_src_reg(insns: &[u8], idx: usize) -> Option<u8> {
    insns.get(idx * INSN_SIZE + 1).map(|r| r >> 4)
}

fn insn_imm(insns: &[u8], idx: usize) -> Option<i32> {
    let b = insns.get(idx * INSN_SIZE + 4..idx * INSN_SIZE + 8)?;
    Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

const CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
const LD_IMM64: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const PSEUDO_CALL: u8 = 1;

fn section_map_kind(ctx: &RelocCtx<'_>, shndx: usize) -> Option<MapKind> {
    if shndx == ctx.elf.symtab_shndx {
        return Some(MapKind::Kconfig);
    }
    match ctx.elf.sec_kind(shndx) {
        SecKind::Bss => Some(MapKind::Bss),
        SecKind::Data => Some(MapKind::Data),
        SecKind::Rodata => Some(MapKind::Rodata),
        _ => None,
    }
}

/// Classifies one relocation of `prog`'s instruction `insn_idx` against symbol `sym_idx`
/// (libbpf's `bpf_program__record_reloc`).
pub fn record(
    ctx: &RelocCtx<'_>,
    prog: &ProgramSpec,
    insn_idx: usize,
    sym_idx: usize,
    sym: &Symbol,
    sym_name: &str,
) -> Result<Reloc> {
    let pname = &prog.name;
    let reloc_err = |msg: String| Error::malformed(format!("prog '{pname}': {msg}"));
    let code = insn_code(&prog.insns, insn_idx).unwrap_or(0);
    if code != CALL && code != LD_IMM64 {
        return Err(reloc_err(format!(
            "invalid relo against '{sym_name}' for insns[{insn_idx}].code 0x{code:x}"
        )));
    }
    if sym.is_extern() {
        let ext_idx = ctx
            .externs
            .iter()
            .position(|e| e.sym_idx == sym_idx)
            .ok_or_else(|| {
                reloc_err(format!(
                    "extern relo failed to find extern for '{sym_name}' ({sym_idx})"
                ))
            })?;
        let kind = if code == CALL {
            RelocKind::ExternCall { ext_idx }
        } else {
            RelocKind::ExternLd64 { ext_idx }
        };
        return Ok(Reloc { insn_idx, kind });
    }
    let shndx = sym.shndx as usize;
    if code == CALL {
        if insn_src_reg(&prog.insns, insn_idx) != Some(PSEUDO_CALL) {
            return Err(reloc_err("incorrect bpf_call opcode".into()));
        }
        if shndx == 0 || Some(shndx) != ctx.elf.text_shndx {
            return Err(reloc_err(format!(
                "bad call relo against '{sym_name}' in section '{}'",
                ctx.elf.sec_name(shndx)
            )));
        }
        if sym.value % INSN_SIZE as u64 != 0 {
            return Err(reloc_err(format!(
                "bad call relo against '{sym_name}' at offset {}",
                sym.value
            )));
        }
        return Ok(Reloc {
            insn_idx,
            kind: RelocKind::Call { sym_off: sym.value },
        });
    }
    if shndx == 0 || sym.shndx >= elf::SHN_LORESERVE {
        return Err(reloc_err(format!(
            "invalid relo against '{sym_name}' in special section 0x{:x}; forgot to initialize global var?..",
            sym.shndx
        )));
    }
    if sym.is_subprog(ctx.elf.text_shndx) {
        let imm = insn_imm(&prog.insns, insn_idx).unwrap_or(0);
        if sym.value % INSN_SIZE as u64 != 0 || imm % INSN_SIZE as i32 != 0 {
            return Err(reloc_err(format!(
                "bad subprog addr relo against '{sym_name}' at offset {}+{imm}",
                sym.value
            )));
        }
        return Ok(Reloc {
            insn_idx,
            kind: RelocKind::SubprogAddr { sym_off: sym.value },
        });
    }
    let sec_name = ctx.elf.sec_name(shndx);
    if Some(shndx) == ctx.elf.arena_shndx {
        let map_idx = ctx.arena_map_idx.ok_or_else(|| {
            reloc_err(format!(
                "bad arena data relocation at insn {insn_idx}, no arena maps defined"
            ))
        })?;
        return Ok(Reloc {
            insn_idx,
            kind: RelocKind::Data {
                map_idx,
                sym_off: sym.value,
            },
        });
    }
    if Some(shndx) == ctx.elf.jumptables_shndx {
        return Ok(Reloc {
            insn_idx,
            kind: RelocKind::InsnArray {
                sym_off: sym.value,
                sym_size: sym.size,
            },
        });
    }
    match section_map_kind(ctx, shndx) {
        None => {
            if Some(shndx) != ctx.elf.maps_shndx {
                return Err(reloc_err(format!(
                    "bad map relo against '{sym_name}' in section '{sec_name}'"
                )));
            }
            let map_idx = ctx
                .maps
                .iter()
                .position(|m| {
                    m.kind == MapKind::User && m.sec_idx == Some(shndx) && m.sec_offset == sym.value
                })
                .ok_or_else(|| {
                    reloc_err(format!(
                        "map relo failed to find map for section '{sec_name}', off {}",
                        sym.value
                    ))
                })?;
            Ok(Reloc {
                insn_idx,
                kind: RelocKind::Map { map_idx },
            })
        }
        Some(kind) => {
            if !matches!(
                ctx.elf.sec_kind(shndx),
                SecKind::Bss | SecKind::Data | SecKind::Rodata
            ) {
                return Err(reloc_err(format!(
                    "bad data relo against section '{sec_name}'"
                )));
            }
            let map_idx = ctx
                .maps
                .iter()
                .position(|m| m.kind == kind && m.sec_idx == Some(shndx))
                .ok_or_else(|| {
                    reloc_err(format!(
                        "data relo failed to find map for section '{sec_name}'"
                    ))
                })?;
            Ok(Reloc {
                insn_idx,
                kind: RelocKind::Data {
                    map_idx,
                    sym_off: sym.value,
                },
            })
        }
    }
}

/// Records the relocations of every code relocation section into the programs they patch
/// (libbpf's `bpf_object__collect_prog_relos`), then sorts each program's list.
pub fn collect(ctx: &RelocCtx<'_>, progs: &mut [ProgramSpec]) -> Result<()> {
    for (idx, sec) in ctx.elf.sections.iter().enumerate() {
        if sec.kind != SecKind::Rel {
            continue;
        }
        let target = sec.info as usize;
        if ctx.elf.sec_kind(target) != SecKind::Code {
            continue;
        }
        let target_len = ctx.elf.sections.get(target).map_or(0, |s| s.data.len()) as u64;
        for (i, rel) in ctx.elf.rels(idx)?.into_iter().enumerate() {
            let sym = ctx.elf.symbols.get(rel.sym as usize).ok_or_else(|| {
                Error::malformed(format!(
                    "sec '{}': symbol #{} not found for relo #{i}",
                    sec.name, rel.sym
                ))
            })?;
            if sym.shndx as usize >= ctx.elf.sections.len() {
                return Err(Error::malformed(format!(
                    "sec '{}': corrupted symbol #{} pointing to invalid section #{} for relo #{i}",
                    sec.name, rel.sym, sym.shndx
                )));
            }
            if rel.offset % INSN_SIZE as u64 != 0 || rel.offset >= target_len {
                return Err(Error::malformed(format!(
                    "sec '{}': invalid offset 0x{:x} for relo #{i}",
                    sec.name, rel.offset
                )));
            }
            let insn_idx = (rel.offset / INSN_SIZE as u64) as usize;
            let sym_name = if sym.typ == elf::STT_SECTION && sym.name.is_empty() {
                ctx.elf.sec_name(sym.shndx as usize).to_string()
            } else {
                sym.name.clone()
            };
            let Some(pidx) = find_by_sec_insn(progs, target, insn_idx) else {
                crate::log::debug(format_args!(
                    "sec '{}': relo #{i}: couldn't find program in section '{}' for insn #{insn_idx}, probably overridden weak function, skipping...",
                    sec.name,
                    ctx.elf.sec_name(target)
                ));
                continue;
            };
            let prog = &progs[pidx];
            let local = insn_idx - prog.sec_insn_off;
            let reloc = record(ctx, prog, local, rel.sym as usize, sym, &sym_name)?;
            progs[pidx].relocs.push(reloc);
        }
    }
    for p in progs.iter_mut() {
        sort(&mut p.relocs);
    }
    Ok(())
}
