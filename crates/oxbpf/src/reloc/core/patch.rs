//! Patching the relocated instruction (libbpf's `bpf_core_patch_insn`): the immediate of an ALU
//! instruction or of a 64-bit immediate load, or the offset (and if needed the size) of a
//! load/store, each only after checking that the instruction holds the value the compiler was
//! expected to put there.

use super::poison::poison_insn;
use super::resolve::Resolution;
use crate::error::{Error, Result};
use crate::insn::{
    Insn, BPF_ALU, BPF_ALU64, BPF_B, BPF_DW, BPF_H, BPF_K, BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_W,
};

/// What patching did to the instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patched {
    /// The value (and maybe the memory size) was rewritten.
    Value,
    /// The instruction was replaced by the poison call; `memsz` when the cause is a load/store
    /// whose size cannot be adjusted safely rather than a missing field.
    Poisoned {
        /// Poisoned because of an unsafe memory size change.
        memsz: bool,
    },
}

fn size_bytes(code: u8) -> i32 {
    match code & 0x18 {
        BPF_DW => 8,
        BPF_W => 4,
        BPF_H => 2,
        BPF_B => 1,
        _ => -1,
    }
}

fn bpf_size(bytes: u32) -> Option<u8> {
    Some(match bytes {
        8 => BPF_DW,
        4 => BPF_W,
        2 => BPF_H,
        1 => BPF_B,
        _ => return None,
    })
}

fn poison_at(insns: &mut [Insn], idx: usize) -> Result<()> {
    let is_ld64 = insns[idx].is_ld_imm64();
    if is_ld64 {
        let second = insns
            .get_mut(idx + 1)
            .ok_or_else(|| Error::invalid("CO-RE: ld_imm64 without its second half".to_string()))?;
        poison_insn(second);
    }
    poison_insn(&mut insns[idx]);
    Ok(())
}

/// Patches instruction `idx` of `insns` with `res`. Errors use libbpf's wording.
pub fn patch_insn(
    prog: &str,
    insns: &mut [Insn],
    idx: usize,
    relo_idx: usize,
    res: &Resolution,
) -> Result<Patched> {
    patch_insn_labelled(prog, insns, idx, idx, relo_idx, res)
}

/// [`patch_insn`] on a window of the function: `at` indexes `insns`, `label` is the instruction's
/// index in the function, for messages.
pub fn patch_insn_labelled(
    prog: &str,
    insns: &mut [Insn],
    at: usize,
    label: usize,
    relo_idx: usize,
    res: &Resolution,
) -> Result<Patched> {
    let idx = at;
    let n = insns.len();
    let insn = *insns.get(idx).ok_or_else(|| {
        Error::invalid(format!(
            "prog '{prog}': relo #{relo_idx}: insn #{label} out of range ({n} instructions)"
        ))
    })?;
    if res.poison {
        poison_at(insns, idx)?;
        return Ok(Patched::Poisoned { memsz: false });
    }
    let (orig, new) = (res.orig_val, res.new_val);
    let fail = |what: String| {
        Err(Error::invalid(format!(
            "prog '{prog}': relo #{relo_idx}: {what}"
        )))
    };
    match insn.class() {
        BPF_ALU | BPF_ALU64 => {
            if insn.code & 0x08 != BPF_K {
                return fail(format!("insn #{label} (ALU/ALU64) uses a register source"));
            }
            if res.validate && insn.imm as i64 as u64 != orig {
                return fail(format!(
                    "unexpected insn #{label} (ALU/ALU64) value: got {}, exp {orig} -> {new}",
                    insn.imm as u32
                ));
            }
            insns[idx].imm = new as i32;
        }
        BPF_LDX | BPF_ST | BPF_STX => {
            if res.validate && insn.off as i64 as u64 != orig {
                return fail(format!(
                    "unexpected insn #{label} (LDX/ST/STX) value: got {}, exp {orig} -> {new}",
                    insn.off as i32 as u32
                ));
            }
            if new > i16::MAX as u64 {
                return Err(Error::new(
                    crate::ErrorKind::InvalidInput,
                    format!("prog '{prog}': relo #{relo_idx}: insn #{label} (LDX/ST/STX) value too big: {new}"),
                ));
            }
            if res.fail_memsz_adjust {
                log::warn!(
                    "prog '{prog}': relo #{relo_idx}: insn #{label} (LDX/ST/STX) accesses field incorrectly. \
                     Make sure you are accessing pointers, unsigned integers, or fields of matching type and size."
                );
                poison_at(insns, idx)?;
                return Ok(Patched::Poisoned { memsz: true });
            }
            insns[idx].off = new as i16;
            if res.new_sz != res.orig_sz {
                let have = size_bytes(insn.code);
                if have != res.orig_sz as i32 {
                    return fail(format!(
                        "insn #{label} (LDX/ST/STX) unexpected mem size: got {have}, exp {}",
                        res.orig_sz
                    ));
                }
                let Some(sz) = bpf_size(res.new_sz) else {
                    return fail(format!(
                        "insn #{label} (LDX/ST/STX) invalid new mem size: {}",
                        res.new_sz
                    ));
                };
                insns[idx].code = (insn.code & 0xe0) | sz | insn.class();
            }
        }
        BPF_LD => {
            let next = insns.get(idx + 1).copied();
            let ok = insn.is_ld_imm64()
                && insn.src() == 0
                && insn.off == 0
                && next.is_some_and(|n| n.code == 0 && n.dst() == 0 && n.src() == 0 && n.off == 0);
            let Some(next) = next.filter(|_| ok) else {
                return fail(format!("insn #{label} (LDIMM64) has unexpected form"));
            };
            let imm = insn.imm as u32 as u64 | ((next.imm as u32 as u64) << 32);
            if res.validate && imm != orig {
                return fail(format!(
                    "unexpected insn #{label} (LDIMM64) value: got {imm}, exp {orig} -> {new}"
                ));
            }
            insns[idx].imm = new as i32;
            insns[idx + 1].imm = (new >> 32) as i32;
        }
        _ => {
            return fail(format!(
                "trying to relocate unrecognized insn #{label}, code:{:#x}, src:{:#x}, dst:{:#x}, off:{:#x}, imm:{:#x}",
                insn.code,
                insn.src(),
                insn.dst(),
                insn.off,
                insn.imm
            ))
        }
    }
    Ok(Patched::Value)
}
