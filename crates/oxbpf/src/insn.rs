//! BPF instructions and opcodes (ISA v1–v4).
//!
//! [`Insn`] is the kernel's 8-byte `struct bpf_insn`: `code`, `dst_reg:4`/`src_reg:4`, `off`, `imm`.
//! A 64-bit immediate load (`BPF_LD | BPF_IMM | BPF_DW`) takes two slots. The opcode constants follow the
//! kernel's names (`BPF_ALU64`, `BPF_JEQ`, ...), and the small builder functions at the bottom
//! ([`Insn::mov64_imm`], [`Insn::ld_map_fd`], [`Insn::call_helper`], [`Insn::exit`], ...) are enough to
//! write test programs and feature probes without a compiler. Pure: no syscalls.

use bytemuck::{Pod, Zeroable};

// Instruction classes (low 3 bits of `code`).
/// Class: load from immediate / legacy packet loads.
pub const BPF_LD: u8 = 0x00;
/// Class: load from memory into register.
pub const BPF_LDX: u8 = 0x01;
/// Class: store immediate to memory.
pub const BPF_ST: u8 = 0x02;
/// Class: store register to memory (also atomics).
pub const BPF_STX: u8 = 0x03;
/// Class: 32-bit arithmetic.
pub const BPF_ALU: u8 = 0x04;
/// Class: 64-bit jumps.
pub const BPF_JMP: u8 = 0x05;
/// Class: 32-bit jumps.
pub const BPF_JMP32: u8 = 0x06;
/// Class: 64-bit arithmetic.
pub const BPF_ALU64: u8 = 0x07;

// Size modifiers (bits 3-4) for load/store.
/// Size: 32 bits.
pub const BPF_W: u8 = 0x00;
/// Size: 16 bits.
pub const BPF_H: u8 = 0x08;
/// Size: 8 bits.
pub const BPF_B: u8 = 0x10;
/// Size: 64 bits.
pub const BPF_DW: u8 = 0x18;

// Mode modifiers (bits 5-7) for load/store.
/// Mode: immediate (64-bit immediate load).
pub const BPF_IMM: u8 = 0x00;
/// Mode: legacy absolute packet load.
pub const BPF_ABS: u8 = 0x20;
/// Mode: legacy indirect packet load.
pub const BPF_IND: u8 = 0x40;
/// Mode: regular memory access.
pub const BPF_MEM: u8 = 0x60;
/// Mode: sign-extending load (v4).
pub const BPF_MEMSX: u8 = 0x80;
/// Mode: atomic operation (class STX).
pub const BPF_ATOMIC: u8 = 0xc0;

// Source operand (bit 3) for ALU and JMP.
/// Source: the 32-bit immediate.
pub const BPF_K: u8 = 0x00;
/// Source: the source register.
pub const BPF_X: u8 = 0x08;

// ALU operations (bits 4-7).
/// ALU: add.
pub const BPF_ADD: u8 = 0x00;
/// ALU: subtract.
pub const BPF_SUB: u8 = 0x10;
/// ALU: multiply.
pub const BPF_MUL: u8 = 0x20;
/// ALU: divide (off=1: signed, v4).
pub const BPF_DIV: u8 = 0x30;
/// ALU: or.
pub const BPF_OR: u8 = 0x40;
/// ALU: and.
pub const BPF_AND: u8 = 0x50;
/// ALU: shift left.
pub const BPF_LSH: u8 = 0x60;
/// ALU: logical shift right.
pub const BPF_RSH: u8 = 0x70;
/// ALU: negate.
pub const BPF_NEG: u8 = 0x80;
/// ALU: modulo (off=1: signed, v4).
pub const BPF_MOD: u8 = 0x90;
/// ALU: xor.
pub const BPF_XOR: u8 = 0xa0;
/// ALU: move (off=8/16/32: sign-extending move, v4; addr_space_cast with off=0, imm=1<<16|...).
pub const BPF_MOV: u8 = 0xb0;
/// ALU: arithmetic shift right.
pub const BPF_ARSH: u8 = 0xc0;
/// ALU: byte swap (`BPF_ALU`: to LE/BE; `BPF_ALU64`: unconditional bswap, v4).
pub const BPF_END: u8 = 0xd0;
/// Byte-swap source flag: convert to little endian.
pub const BPF_TO_LE: u8 = 0x00;
/// Byte-swap source flag: convert to big endian.
pub const BPF_TO_BE: u8 = 0x08;

// Jump operations (bits 4-7).
/// Jump: unconditional (`JMP32|JA` uses imm as the offset, v4).
pub const BPF_JA: u8 = 0x00;
/// Jump if equal.
pub const BPF_JEQ: u8 = 0x10;
/// Jump if greater (unsigned).
pub const BPF_JGT: u8 = 0x20;
/// Jump if greater or equal (unsigned).
pub const BPF_JGE: u8 = 0x30;
/// Jump if `dst & src`.
pub const BPF_JSET: u8 = 0x40;
/// Jump if not equal.
pub const BPF_JNE: u8 = 0x50;
/// Jump if greater (signed).
pub const BPF_JSGT: u8 = 0x60;
/// Jump if greater or equal (signed).
pub const BPF_JSGE: u8 = 0x70;
/// Function call (helper, subprogram or kfunc).
pub const BPF_CALL: u8 = 0x80;
/// Return from program or subprogram.
pub const BPF_EXIT: u8 = 0x90;
/// Jump if less (unsigned).
pub const BPF_JLT: u8 = 0xa0;
/// Jump if less or equal (unsigned).
pub const BPF_JLE: u8 = 0xb0;
/// Jump if less (signed).
pub const BPF_JSLT: u8 = 0xc0;
/// Jump if less or equal (signed).
pub const BPF_JSLE: u8 = 0xd0;
/// Conditional pseudo-jump (`may_goto`, with `src == 0`).
pub const BPF_JCOND: u8 = 0xe0;

// Atomic operations (imm of a BPF_STX|BPF_ATOMIC insn).
/// Atomic: return the old value (combined with an op).
pub const BPF_FETCH: i32 = 0x01;
/// Atomic: exchange.
pub const BPF_XCHG: i32 = 0xe0 | BPF_FETCH;
/// Atomic: compare and exchange (compares with R0).
pub const BPF_CMPXCHG: i32 = 0xf0 | BPF_FETCH;
/// Atomic: load-acquire.
pub const BPF_LOAD_ACQ: i32 = 0x100;
/// Atomic: store-release.
pub const BPF_STORE_REL: i32 = 0x110;

// Pseudo source registers.
/// `ld_imm64` src: imm is a map fd.
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
/// `ld_imm64` src: imm is a map fd, imm of the second slot an offset into its value.
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// `ld_imm64` src: imm is a kernel BTF id of a variable (ksym).
pub const BPF_PSEUDO_BTF_ID: u8 = 3;
/// `ld_imm64` src: imm is a pc-relative subprogram offset (callback).
pub const BPF_PSEUDO_FUNC: u8 = 4;
/// `ld_imm64` src: imm is an index into `fd_array`.
pub const BPF_PSEUDO_MAP_IDX: u8 = 5;
/// `ld_imm64` src: map index plus value offset.
pub const BPF_PSEUDO_MAP_IDX_VALUE: u8 = 6;
/// `call` src: imm is a pc-relative subprogram offset.
pub const BPF_PSEUDO_CALL: u8 = 1;
/// `call` src: imm is a kernel BTF id of a kfunc (off: index of its module BTF in `fd_array`).
pub const BPF_PSEUDO_KFUNC_CALL: u8 = 2;

/// Register numbers.
pub mod reg {
    /// Return value, helper result.
    pub const R0: u8 = 0;
    /// First argument; the context on entry.
    pub const R1: u8 = 1;
    /// Second argument.
    pub const R2: u8 = 2;
    /// Third argument.
    pub const R3: u8 = 3;
    /// Fourth argument.
    pub const R4: u8 = 4;
    /// Fifth argument.
    pub const R5: u8 = 5;
    /// Callee-saved.
    pub const R6: u8 = 6;
    /// Callee-saved.
    pub const R7: u8 = 7;
    /// Callee-saved.
    pub const R8: u8 = 8;
    /// Callee-saved.
    pub const R9: u8 = 9;
    /// Frame pointer (read only).
    pub const R10: u8 = 10;
}

/// One BPF instruction: the kernel's `struct bpf_insn` (little-endian register nibbles on LE hosts).
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct Insn {
    /// Opcode: class | size/op | mode/source.
    pub code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high nibble (on little-endian hosts).
    pub regs: u8,
    /// Signed offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

/// The size of one instruction in bytes.
pub const INSN_SIZE: usize = 8;

impl Insn {
    /// An instruction from its fields.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn {
            code,
            regs: Self::pack_regs(dst, src),
            off,
            imm,
        }
    }

    #[cfg(target_endian = "little")]
    const fn pack_regs(dst: u8, src: u8) -> u8 {
        (dst & 0x0f) | ((src & 0x0f) << 4)
    }
    #[cfg(target_endian = "big")]
    const fn pack_regs(dst: u8, src: u8) -> u8 {
        ((dst & 0x0f) << 4) | (src & 0x0f)
    }

    /// The destination register.
    pub const fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0x0f
        } else {
            self.regs >> 4
        }
    }

    /// The source register (or pseudo-source marker).
    pub const fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0x0f
        }
    }

    /// Sets the destination register.
    pub fn set_dst(&mut self, dst: u8) {
        self.regs = Self::pack_regs(dst, self.src());
    }

    /// Sets the source register.
    pub fn set_src(&mut self, src: u8) {
        self.regs = Self::pack_regs(self.dst(), src);
    }

    /// The instruction class (`code & 7`).
    pub const fn class(&self) -> u8 {
        self.code & 0x07
    }

    /// The operation bits (`code & 0xf0`): `BPF_ADD`, `BPF_JEQ`, ... for ALU and jump classes.
    pub const fn op(&self) -> u8 {
        self.code & 0xf0
    }

    /// The size bits (`code & 0x18`): `BPF_W`, `BPF_H`, `BPF_B`, `BPF_DW` for loads and stores.
    pub const fn size(&self) -> u8 {
        self.code & 0x18
    }

    /// The mode bits (`code & 0xe0`): `BPF_IMM`, `BPF_MEM`, `BPF_MEMSX`, `BPF_ATOMIC`, ...
    pub const fn mode(&self) -> u8 {
        self.code & 0xe0
    }

    /// The source bit (`code & 0x08`): `BPF_K` or `BPF_X` for ALU and jump classes.
    pub const fn source(&self) -> u8 {
        self.code & 0x08
    }

    /// The width in bytes of a load/store's memory access (1, 2, 4 or 8).
    pub const fn access_bytes(&self) -> u32 {
        match self.size() {
            BPF_B => 1,
            BPF_H => 2,
            BPF_W => 4,
            _ => 8,
        }
    }

    /// The instruction from 8 bytes in host byte order.
    pub fn from_bytes(b: [u8; INSN_SIZE]) -> Self {
        bytemuck::cast(b)
    }

    /// The 8 bytes of the instruction in host byte order.
    pub fn to_bytes(self) -> [u8; INSN_SIZE] {
        bytemuck::cast(self)
    }

    /// Instructions from a byte slice (host byte order); `None` if the length is not a multiple of 8.
    pub fn slice_from_bytes(b: &[u8]) -> Option<Vec<Insn>> {
        if b.len() % INSN_SIZE != 0 {
            return None;
        }
        Some(
            b.chunks_exact(INSN_SIZE)
                .map(|c| {
                    let mut a = [0u8; INSN_SIZE];
                    a.copy_from_slice(c);
                    Insn::from_bytes(a)
                })
                .collect(),
        )
    }

    /// The bytes of a run of instructions.
    pub fn slice_as_bytes(insns: &[Insn]) -> &[u8] {
        bytemuck::cast_slice(insns)
    }

    /// True for the first slot of a 64-bit immediate load (`BPF_LD | BPF_IMM | BPF_DW`).
    pub const fn is_ld_imm64(&self) -> bool {
        self.code == BPF_LD | BPF_IMM | BPF_DW
    }

    /// True for `call` (helper, subprogram or kfunc).
    pub const fn is_call(&self) -> bool {
        self.code == BPF_JMP | BPF_CALL
    }

    /// True for a call to another BPF function in the same program (`src == BPF_PSEUDO_CALL`).
    pub const fn is_pseudo_call(&self) -> bool {
        self.is_call() && self.src() == BPF_PSEUDO_CALL
    }

    /// True for a kfunc call (`src == BPF_PSEUDO_KFUNC_CALL`).
    pub const fn is_kfunc_call(&self) -> bool {
        self.is_call() && self.src() == BPF_PSEUDO_KFUNC_CALL
    }

    /// True for a helper call (`src == 0`).
    pub const fn is_helper_call(&self) -> bool {
        self.is_call() && self.src() == 0
    }

    /// True for an `ld_imm64` that loads a subprogram address (`src == BPF_PSEUDO_FUNC`).
    pub const fn is_pseudo_func(&self) -> bool {
        self.is_ld_imm64() && self.src() == BPF_PSEUDO_FUNC
    }

    /// True for `exit`.
    pub const fn is_exit(&self) -> bool {
        self.code == BPF_JMP | BPF_EXIT
    }

    /// True for a (conditional or unconditional) jump with a pc-relative offset, excluding call/exit.
    pub const fn is_jump(&self) -> bool {
        let class = self.class();
        let op = self.code & 0xf0;
        (class == BPF_JMP || class == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT
    }

    // ---- builder ----

    /// `dst = imm` (64-bit, sign-extended).
    pub const fn mov64_imm(dst: u8, imm: i32) -> Self {
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
    }

    /// `dst = src` (64-bit).
    pub const fn mov64_reg(dst: u8, src: u8) -> Self {
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
    }

    /// `dst = (u32) imm`.
    pub const fn mov32_imm(dst: u8, imm: i32) -> Self {
        Insn::new(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm)
    }

    /// `dst = (u32) src`.
    pub const fn mov32_reg(dst: u8, src: u8) -> Self {
        Insn::new(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
    }

    /// 64-bit ALU op with an immediate (`op` is `BPF_ADD`, `BPF_SUB`, ...).
    pub const fn alu64_imm(op: u8, dst: u8, imm: i32) -> Self {
        Insn::new(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm)
    }

    /// 64-bit ALU op with a register.
    pub const fn alu64_reg(op: u8, dst: u8, src: u8) -> Self {
        Insn::new(BPF_ALU64 | op | BPF_X, dst, src, 0, 0)
    }

    /// 32-bit ALU op with an immediate.
    pub const fn alu32_imm(op: u8, dst: u8, imm: i32) -> Self {
        Insn::new(BPF_ALU | op | BPF_K, dst, 0, 0, imm)
    }

    /// 32-bit ALU op with a register.
    pub const fn alu32_reg(op: u8, dst: u8, src: u8) -> Self {
        Insn::new(BPF_ALU | op | BPF_X, dst, src, 0, 0)
    }

    /// `dst = imm64`: two slots.
    pub const fn ld_imm64(dst: u8, imm: u64) -> [Self; 2] {
        Self::ld_imm64_raw(dst, 0, imm as u32 as i32, (imm >> 32) as u32 as i32)
    }

    /// A 64-bit immediate load with a pseudo source and both halves given: two slots.
    pub const fn ld_imm64_raw(dst: u8, src: u8, imm_lo: i32, imm_hi: i32) -> [Self; 2] {
        [
            Insn::new(BPF_LD | BPF_IMM | BPF_DW, dst, src, 0, imm_lo),
            Insn::new(0, 0, 0, 0, imm_hi),
        ]
    }

    /// `dst = map` (`BPF_PSEUDO_MAP_FD`): two slots, `fd` is the map's raw descriptor number.
    pub const fn ld_map_fd(dst: u8, fd: i32) -> [Self; 2] {
        Self::ld_imm64_raw(dst, BPF_PSEUDO_MAP_FD, fd, 0)
    }

    /// `dst = &map_value[off]` (`BPF_PSEUDO_MAP_VALUE`): two slots.
    pub const fn ld_map_value(dst: u8, fd: i32, off: i32) -> [Self; 2] {
        Self::ld_imm64_raw(dst, BPF_PSEUDO_MAP_VALUE, fd, off)
    }

    /// `dst = *(size *)(src + off)` (`size` is `BPF_B`/`BPF_H`/`BPF_W`/`BPF_DW`).
    pub const fn ldx_mem(size: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(BPF_LDX | size | BPF_MEM, dst, src, off, 0)
    }

    /// `dst = *(signed size *)(src + off)` (v4 sign-extending load).
    pub const fn ldx_memsx(size: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(BPF_LDX | size | BPF_MEMSX, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = src`.
    pub const fn stx_mem(size: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(BPF_STX | size | BPF_MEM, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = imm`.
    pub const fn st_mem(size: u8, dst: u8, off: i16, imm: i32) -> Self {
        Insn::new(BPF_ST | size | BPF_MEM, dst, 0, off, imm)
    }

    /// Atomic `op` (`BPF_ADD`, `BPF_ADD | BPF_FETCH`, `BPF_XCHG`, `BPF_CMPXCHG`, ...) on
    /// `*(size *)(dst + off)` with `src` (`size` is `BPF_W` or `BPF_DW`).
    pub const fn atomic(size: u8, op: i32, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(BPF_STX | size | BPF_ATOMIC, dst, src, off, op)
    }

    /// `if dst <op> imm goto pc + off` (64-bit compare).
    pub const fn jmp_imm(op: u8, dst: u8, imm: i32, off: i16) -> Self {
        Insn::new(BPF_JMP | op | BPF_K, dst, 0, off, imm)
    }

    /// `if dst <op> src goto pc + off` (64-bit compare).
    pub const fn jmp_reg(op: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(BPF_JMP | op | BPF_X, dst, src, off, 0)
    }

    /// `if (u32) dst <op> imm goto pc + off`.
    pub const fn jmp32_imm(op: u8, dst: u8, imm: i32, off: i16) -> Self {
        Insn::new(BPF_JMP32 | op | BPF_K, dst, 0, off, imm)
    }

    /// `if (u32) dst <op> (u32) src goto pc + off`.
    pub const fn jmp32_reg(op: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(BPF_JMP32 | op | BPF_X, dst, src, off, 0)
    }

    /// `goto pc + off`.
    pub const fn ja(off: i16) -> Self {
        Insn::new(BPF_JMP | BPF_JA, 0, 0, off, 0)
    }

    /// `call helper#id`.
    pub const fn call_helper(id: i32) -> Self {
        Insn::new(BPF_JMP | BPF_CALL, 0, 0, 0, id)
    }

    /// `call pc + imm + 1` (a BPF-to-BPF call).
    pub const fn call_pseudo(imm: i32) -> Self {
        Insn::new(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, imm)
    }

    /// `call kfunc` by kernel BTF id; `off` indexes `fd_array` for a module's BTF (0 = vmlinux).
    pub const fn call_kfunc(btf_id: i32, off: i16) -> Self {
        Insn::new(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, off, btf_id)
    }

    /// `dst = (s8/s16/s32) src`, sign-extended to 64 bits (v4 `movsx`; `bits` is 8, 16 or 32).
    pub const fn movsx64(dst: u8, src: u8, bits: i16) -> Self {
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, bits, 0)
    }

    /// Signed 64-bit divide (`op` `BPF_DIV`) or modulo (`BPF_MOD`) by an immediate (v4).
    pub const fn alu64_signed_imm(op: u8, dst: u8, imm: i32) -> Self {
        Insn::new(BPF_ALU64 | op | BPF_K, dst, 0, 1, imm)
    }

    /// Byte order conversion of the low `bits` (16, 32, 64) of `dst` to big or little endian.
    pub const fn endian(to_be: bool, dst: u8, bits: i32) -> Self {
        Insn::new(
            BPF_ALU | BPF_END | if to_be { BPF_TO_BE } else { BPF_TO_LE },
            dst,
            0,
            0,
            bits,
        )
    }

    /// Unconditional byte swap of the low `bits` (16, 32, 64) of `dst` (v4 `bswap`).
    pub const fn bswap(dst: u8, bits: i32) -> Self {
        Insn::new(BPF_ALU64 | BPF_END, dst, 0, 0, bits)
    }

    /// Legacy packet load `r0 = ntoh(*(size *)(skb->data + imm))`.
    pub const fn ld_abs(size: u8, imm: i32) -> Self {
        Insn::new(BPF_LD | size | BPF_ABS, 0, 0, 0, imm)
    }

    /// Legacy packet load `r0 = ntoh(*(size *)(skb->data + src + imm))`.
    pub const fn ld_ind(size: u8, src: u8, imm: i32) -> Self {
        Insn::new(BPF_LD | size | BPF_IND, 0, src, 0, imm)
    }

    /// `dst = load_acquire((size *)(src + off))`.
    pub const fn load_acquire(size: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(BPF_STX | size | BPF_ATOMIC, dst, src, off, BPF_LOAD_ACQ)
    }

    /// `store_release((size *)(dst + off), src)`.
    pub const fn store_release(size: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(BPF_STX | size | BPF_ATOMIC, dst, src, off, BPF_STORE_REL)
    }

    /// `gotol pc + imm` (v4 long jump: the offset is in `imm`).
    pub const fn ja32(imm: i32) -> Self {
        Insn::new(BPF_JMP32 | BPF_JA, 0, 0, 0, imm)
    }

    /// `exit`.
    pub const fn exit() -> Self {
        Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
    }
}

impl std::fmt::Debug for Insn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Insn {{ code: {:#04x}, dst: r{}, src: {}, off: {}, imm: {} }}",
            self.code,
            self.dst(),
            self.src(),
            self.off,
            self.imm
        )
    }
}

#[cfg(test)]
mod tests {
    use super::reg::*;
    use super::*;

    #[test]
    fn encodes_like_the_kernel() {
        // r0 = 0; exit — the bytes clang emits for `return 0`.
        assert_eq!(
            Insn::mov64_imm(R0, 0).to_bytes(),
            [0xb7, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(Insn::exit().to_bytes(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        // r1 = map fd 5: 18 11 00 00 05 00 00 00 | 00 ...
        let [a, b] = Insn::ld_map_fd(R1, 5);
        assert_eq!(a.to_bytes(), [0x18, 0x11, 0, 0, 5, 0, 0, 0]);
        assert_eq!(b.to_bytes(), [0; 8]);
        assert!(a.is_ld_imm64());
        assert_eq!(a.src(), BPF_PSEUDO_MAP_FD);
        // *(u32 *)(r10 - 4) = r1: 63 1a fc ff 00 00 00 00
        assert_eq!(
            Insn::stx_mem(BPF_W, R10, R1, -4).to_bytes(),
            [0x63, 0x1a, 0xfc, 0xff, 0, 0, 0, 0]
        );
        // lock *(u64 *)(r1 + 0) += r2: db 21 00 00 00 00 00 00
        assert_eq!(
            Insn::atomic(BPF_DW, BPF_ADD as i32, R1, R2, 0).to_bytes(),
            [0xdb, 0x21, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn round_trips_and_classifies() {
        let i = Insn::call_helper(1);
        assert!(i.is_call() && i.is_helper_call() && !i.is_pseudo_call());
        assert_eq!(Insn::from_bytes(i.to_bytes()), i);
        let p = Insn::call_pseudo(3);
        assert!(p.is_pseudo_call());
        assert!(Insn::call_kfunc(100, 0).is_kfunc_call());
        assert!(Insn::jmp_imm(BPF_JEQ, R0, 0, 2).is_jump());
        assert!(!Insn::exit().is_jump());
        let mut m = Insn::mov64_reg(R1, R2);
        m.set_dst(R3);
        assert_eq!((m.dst(), m.src()), (R3, R2));
        let v = Insn::slice_from_bytes(Insn::slice_as_bytes(&[i, p])).unwrap();
        assert_eq!(v, vec![i, p]);
        assert!(Insn::slice_from_bytes(&[0; 7]).is_none());
        let l = Insn::ldx_mem(BPF_H, R1, R2, 6);
        assert_eq!(
            (l.class(), l.size(), l.mode(), l.access_bytes()),
            (BPF_LDX, BPF_H, BPF_MEM, 2)
        );
        let a = Insn::alu64_imm(BPF_XOR, R1, 1);
        assert_eq!((a.class(), a.op(), a.source()), (BPF_ALU64, BPF_XOR, BPF_K));
        // be16 r1: dc 01 00 00 10 00 00 00; bswap64 r1: d7 01 00 00 40 00 00 00
        assert_eq!(
            Insn::endian(true, R1, 16).to_bytes(),
            [0xdc, 1, 0, 0, 16, 0, 0, 0]
        );
        assert_eq!(Insn::bswap(R1, 64).to_bytes(), [0xd7, 1, 0, 0, 64, 0, 0, 0]);
        // r1 = (s8) r2: bf 21 08 00 ...
        assert_eq!(
            Insn::movsx64(R1, R2, 8).to_bytes(),
            [0xbf, 0x21, 8, 0, 0, 0, 0, 0]
        );
        assert!(Insn::ja32(5).is_jump());
        let [lo, hi] = Insn::ld_imm64(R0, 0x1122_3344_5566_7788);
        assert_eq!((lo.imm as u32, hi.imm as u32), (0x5566_7788, 0x1122_3344));
    }
}
