//! Pure relocation: subprogram calls, map and global data references, externs, CO-RE.

pub mod calls;
pub mod core;
pub mod data;

use crate::btf::{Btf, CoreRelo};
use crate::error::{Error, ErrorKind, Result};

/// One CO-RE relocation to apply to a function's instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreReloAt {
    /// Index of the record within its `.BTF.ext` section (libbpf's "relo #N" in messages).
    pub relo_idx: usize,
    /// Instruction index within the function (not the section).
    pub insn_idx: usize,
    /// The record (its `insn_off` is still section-relative, in bytes).
    pub relo: CoreRelo,
}

/// The CO-RE hook: applies `relos` to the instructions of function `prog_name` (raw 8-byte
/// instructions, function-relative), resolving types of `local` (the object's BTF) against
/// `target` (vmlinux, or the `btf_custom_path` override). Called for every autoloaded function
/// (subprograms included) before subprogram calls are linked, exactly where libbpf's
/// `bpf_object__relocate_core` runs. Implemented by `reloc::core` (issue: CO-RE).
pub fn apply_core_relos(
    prog_name: &str,
    insns: &mut [u8],
    relos: &[CoreReloAt],
    local: &Btf,
    target: &Btf,
) -> Result<()> {
    let _ = (insns, local, target);
    if relos.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::NotSupported,
        format!(
            "prog '{prog_name}': {} CO-RE relocation(s): CO-RE is not implemented yet",
            relos.len()
        ),
    ))
}

/// Byte-level access to raw instructions (8 bytes each, host byte order, little-endian register
/// nibbles), until the shared instruction type is used here.
pub(crate) mod insn {
    use crate::obj::programs::INSN_SIZE;

    /// `BPF_JMP | BPF_CALL`.
    pub const CALL: u8 = 0x85;
    /// `BPF_LD | BPF_IMM | BPF_DW`.
    pub const LD_IMM64: u8 = 0x18;
    /// `BPF_PSEUDO_MAP_FD`.
    pub const PSEUDO_MAP_FD: u8 = 1;
    /// `BPF_PSEUDO_MAP_VALUE`.
    pub const PSEUDO_MAP_VALUE: u8 = 2;
    /// `BPF_PSEUDO_BTF_ID`.
    pub const PSEUDO_BTF_ID: u8 = 3;
    /// `BPF_PSEUDO_FUNC`.
    pub const PSEUDO_FUNC: u8 = 4;
    /// `BPF_PSEUDO_CALL`.
    pub const PSEUDO_CALL: u8 = 1;
    /// `BPF_PSEUDO_KFUNC_CALL`.
    pub const PSEUDO_KFUNC_CALL: u8 = 2;

    fn at(insns: &[u8], i: usize) -> Option<&[u8]> {
        insns.get(i * INSN_SIZE..i * INSN_SIZE + INSN_SIZE)
    }

    /// Opcode of instruction `i` (0 past the end).
    pub fn code(insns: &[u8], i: usize) -> u8 {
        at(insns, i).map_or(0, |b| b[0])
    }

    /// Source register of instruction `i`.
    pub fn src_reg(insns: &[u8], i: usize) -> u8 {
        at(insns, i).map_or(0, |b| b[1] >> 4)
    }

    /// Destination register of instruction `i`.
    pub fn dst_reg(insns: &[u8], i: usize) -> u8 {
        at(insns, i).map_or(0, |b| b[1] & 0xf)
    }

    /// Offset field of instruction `i`.
    pub fn off(insns: &[u8], i: usize) -> i16 {
        at(insns, i).map_or(0, |b| i16::from_ne_bytes([b[2], b[3]]))
    }

    /// Immediate of instruction `i`.
    pub fn imm(insns: &[u8], i: usize) -> i32 {
        at(insns, i).map_or(0, |b| i32::from_ne_bytes([b[4], b[5], b[6], b[7]]))
    }

    /// Sets the immediate of instruction `i` (no-op past the end).
    pub fn set_imm(insns: &mut [u8], i: usize, v: i32) {
        if let Some(b) = insns.get_mut(i * INSN_SIZE + 4..i * INSN_SIZE + 8) {
            b.copy_from_slice(&v.to_ne_bytes());
        }
    }

    /// Sets the offset field of instruction `i`.
    pub fn set_off(insns: &mut [u8], i: usize, v: i16) {
        if let Some(b) = insns.get_mut(i * INSN_SIZE + 2..i * INSN_SIZE + 4) {
            b.copy_from_slice(&v.to_ne_bytes());
        }
    }

    /// Sets the source register of instruction `i`.
    pub fn set_src_reg(insns: &mut [u8], i: usize, reg: u8) {
        if let Some(b) = insns.get_mut(i * INSN_SIZE + 1) {
            *b = (*b & 0x0f) | (reg << 4);
        }
    }

    /// Sets the opcode of instruction `i`.
    pub fn set_code(insns: &mut [u8], i: usize, code: u8) {
        if let Some(b) = insns.get_mut(i * INSN_SIZE) {
            *b = code;
        }
    }

    /// A call of a BPF subprogram (libbpf's `insn_is_subprog_call`).
    pub fn is_subprog_call(insns: &[u8], i: usize) -> bool {
        code(insns, i) == CALL
            && src_reg(insns, i) == PSEUDO_CALL
            && dst_reg(insns, i) == 0
            && off(insns, i) == 0
    }

    /// An `ld_imm64` of a subprogram address.
    pub fn is_pseudo_func(insns: &[u8], i: usize) -> bool {
        code(insns, i) == LD_IMM64 && src_reg(insns, i) == PSEUDO_FUNC
    }
}
