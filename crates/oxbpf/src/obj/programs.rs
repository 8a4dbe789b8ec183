//! Programs and subprograms: every `STT_FUNC` symbol of an executable section becomes one
//! [`ProgramSpec`], as libbpf's `bpf_object__add_programs` does. Functions in `.text` are
//! subprograms (appended to the entry programs that call them at load); functions in any other
//! executable section are entry programs whose type comes from the section name.

use super::elf::{Elf, SecKind};
use super::relocs::Reloc;
use super::sections::{SecDef, SecDefs};
use crate::error::{Error, ErrorKind, Result};
use object::elf;

/// The size of one BPF instruction in bytes.
pub const INSN_SIZE: usize = 8;

/// One function of the object: an entry program or a `.text` subprogram.
#[derive(Debug, Clone)]
pub struct ProgramSpec {
    /// Function name.
    pub name: String,
    /// ELF section name, without the `?` no-autoload mark.
    pub section: String,
    /// ELF section index.
    pub sec_idx: usize,
    /// Offset of the first instruction in the section, in instructions.
    pub sec_insn_off: usize,
    /// The raw instructions (8 bytes each, object byte order) of this function only.
    pub insns: Vec<u8>,
    /// Whether `load()` loads it (`false` for `SEC("?...")`).
    pub autoload: bool,
    /// Whether it should be attached by skeleton auto-attach.
    pub autoattach: bool,
    /// A global or weak symbol (not `static`).
    pub sym_global: bool,
    /// Global with hidden/internal visibility: its BTF FUNC is turned static at load.
    pub mark_btf_static: bool,
    /// True for functions in `.text`.
    pub is_subprog: bool,
    /// The `SEC()` family, when the section name is recognised.
    pub sec_def: Option<SecDef>,
    /// `enum bpf_prog_type` (0 = unspec when the section is unknown).
    pub prog_type: u32,
    /// `enum bpf_attach_type`.
    pub expected_attach_type: u32,
    /// `BPF_F_*` load flags set by the user (the family's flags are added at load).
    pub prog_flags: u32,
    /// Relocations against this function's instructions, sorted by instruction.
    pub relocs: Vec<Reloc>,
    /// Attach target set by the user (`bpf_program__set_attach_target`), overriding the one
    /// written in the section name: a kernel function (`"do_unlinkat"`, `"module:func"`).
    pub attach_target: Option<String>,
    /// Verifier log level for this program (0: a log only on failure); the object's level is OR-ed in.
    pub log_level: u32,
    /// Kernel BTF id of the attach target once known (struct_ops programs get it from their map).
    pub attach_btf_id: u32,
}

impl ProgramSpec {
    /// The number of instructions of this function.
    pub fn insn_cnt(&self) -> usize {
        self.insns.len() / INSN_SIZE
    }

    /// Whether instruction `insn_idx` (section-relative) belongs to this function.
    pub fn contains(&self, sec_idx: usize, insn_idx: usize) -> bool {
        sec_idx == self.sec_idx
            && insn_idx >= self.sec_insn_off
            && insn_idx < self.sec_insn_off + self.insn_cnt()
    }
}

/// Collects every function of every executable section, sorted by (section, offset) like libbpf.
pub fn collect(elf: &Elf, defs: &SecDefs) -> Result<Vec<ProgramSpec>> {
    let mut progs = Vec::new();
    for (sec_idx, sec) in elf.sections.iter().enumerate() {
        if sec.kind != SecKind::Code {
            continue;
        }
        let is_text = elf.text_shndx == Some(sec_idx);
        for sym in &elf.symbols {
            if sym.shndx as usize != sec_idx || sym.typ != elf::STT_FUNC {
                continue;
            }
            let off = sym.value as usize;
            let size = sym.size as usize;
            let end = off
                .checked_add(size)
                .filter(|&e| e <= sec.data.len())
                .ok_or_else(|| {
                    Error::malformed(format!(
                        "sec '{}': program at offset {off} crosses section boundary",
                        sec.name
                    ))
                })?;
            if !is_text && sym.bind == elf::STB_LOCAL {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    format!(
                        "sec '{}': program '{}' is static and not supported",
                        sec.name, sym.name
                    ),
                ));
            }
            if size == 0 || size % INSN_SIZE != 0 || off % INSN_SIZE != 0 {
                return Err(Error::malformed(format!(
                    "sec '{}': corrupted program '{}', offset {off}, size {size}",
                    sec.name, sym.name
                )));
            }
            let (autoload, section) = match sec.name.strip_prefix('?') {
                Some(rest) => (false, rest.to_string()),
                None => (true, sec.name.clone()),
            };
            let sym_global = sym.bind != elf::STB_LOCAL;
            let mark_btf_static = sym_global
                && (sym.visibility == elf::STV_HIDDEN || sym.visibility == elf::STV_INTERNAL);
            let sec_def = if is_text {
                None
            } else {
                defs.find(&section).cloned()
            };
            crate::log::debug(format_args!(
                "sec '{}': found program '{}' at insn offset {} ({off} bytes), code size {} insns ({size} bytes)",
                sec.name,
                sym.name,
                off / INSN_SIZE,
                size / INSN_SIZE
            ));
            progs.push(ProgramSpec {
                name: sym.name.clone(),
                section,
                sec_idx,
                sec_insn_off: off / INSN_SIZE,
                insns: sec.data[off..end].to_vec(),
                autoload,
                autoattach: true,
                sym_global,
                mark_btf_static,
                is_subprog: is_text,
                prog_type: sec_def.as_ref().map_or(0, |d| d.prog_type),
                expected_attach_type: sec_def.as_ref().map_or(0, |d| d.expected_attach_type),
                sec_def,
                prog_flags: 0,
                relocs: Vec::new(),
                attach_target: None,
                attach_btf_id: 0,
                log_level: 0,
            });
        }
    }
    progs.sort_by_key(|p| (p.sec_idx, p.sec_insn_off));
    for p in &progs {
        if !p.is_subprog && p.sec_def.is_none() {
            crate::log::debug(format_args!(
                "prog '{}': unrecognized ELF section name '{}'",
                p.name, p.section
            ));
        }
    }
    Ok(progs)
}

/// The function that contains instruction `insn_idx` of section `sec_idx` (libbpf's
/// `find_prog_by_sec_insn`); `progs` must be sorted by (section, offset).
pub fn find_by_sec_insn(progs: &[ProgramSpec], sec_idx: usize, insn_idx: usize) -> Option<usize> {
    let pos = progs.partition_point(|p| (p.sec_idx, p.sec_insn_off) <= (sec_idx, insn_idx));
    let idx = pos.checked_sub(1)?;
    progs
        .get(idx)
        .filter(|p| p.contains(sec_idx, insn_idx))
        .map(|_| idx)
}
