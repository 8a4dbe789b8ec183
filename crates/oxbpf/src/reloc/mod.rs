//! Pure relocation: subprogram calls, map and global data references, externs, CO-RE.

pub mod arg_ctx;
pub mod calls;
pub mod core;
pub mod data;

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
