//! Resolving one relocation: match the local spec against every candidate, compute the local and
//! target values, insist that all matching candidates agree, and prune the candidates that did
//! not match (libbpf's `bpf_core_calc_relo_insn` and `bpf_core_calc_relo`).

use super::candidates::Candidate;
use super::enum_reloc::calc_enumval;
use super::field::calc_field;
use super::matching::{spec_match, Mismatch};
use super::spec::Spec;
use super::type_reloc::calc_type;
use super::KindClass;
use crate::btf::{Btf, TypeId, TypeKind, INT_SIGNED};
use crate::error::{Error, Result};

/// The outcome of resolving one relocation, before the instruction is patched
/// (libbpf's `bpf_core_relo_res`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resolution {
    /// The value the compiler put in the instruction (from the local BTF).
    pub orig_val: u64,
    /// The value for the target kernel.
    pub new_val: u64,
    /// The instruction must be poisoned: the field or enumerator does not exist in the target.
    pub poison: bool,
    /// The instruction's current value must equal `orig_val`.
    pub validate: bool,
    /// The load/store size would have to change in a way that changes the value read (signed or
    /// non-integer fields): a memory instruction is poisoned instead.
    pub fail_memsz_adjust: bool,
    /// Local load size (FIELD_BYTE_OFFSET of non-bitfields), else 0.
    pub orig_sz: u32,
    /// Target load size, else 0.
    pub new_sz: u32,
    /// Local field type behind `orig_sz`.
    pub orig_type_id: TypeId,
    /// Target field type behind `new_sz`.
    pub new_type_id: TypeId,
}

/// True when resizing a load from the local to the target field type keeps the value: pointers,
/// and integers that are not plain signed.
fn memsz_adjust_ok(local: &Btf, lid: TypeId, targ: &Btf, tid: TypeId) -> bool {
    let (Ok(l), Ok(t)) = (local.type_by_id(lid), targ.type_by_id(tid)) else {
        return false;
    };
    match (&l.kind, &t.kind) {
        (TypeKind::Ptr(_), TypeKind::Ptr(_)) => true,
        (TypeKind::Int(a), TypeKind::Int(b)) => {
            a.encoding != INT_SIGNED && b.encoding != INT_SIGNED
        }
        _ => false,
    }
}

/// Computes local and target values for one relocation; `targ` is `None` when nothing matched.
pub fn calc_relo(
    prog: &str,
    insn_idx: usize,
    local: &Spec<'_>,
    targ: Option<&Spec<'_>>,
) -> Result<Resolution> {
    let kind = local.kind;
    let mut res = Resolution {
        validate: true,
        ..Resolution::default()
    };
    match KindClass::of(kind) {
        KindClass::Field => {
            let l = calc_field(prog, kind, insn_idx, Some(local))?
                .ok_or_else(|| Error::invalid("CO-RE: local field spec missing"))?;
            (res.orig_val, res.orig_sz, res.orig_type_id, res.validate) =
                (l.val, l.mem_sz, l.type_id, l.validate);
            match calc_field(prog, kind, insn_idx, targ)? {
                None => res.poison = true,
                Some(t) => {
                    (res.new_val, res.new_sz, res.new_type_id) = (t.val, t.mem_sz, t.type_id);
                    if res.orig_sz != res.new_sz {
                        let targ_btf = targ.map_or(local.btf, |t| t.btf);
                        res.fail_memsz_adjust = !memsz_adjust_ok(
                            local.btf,
                            res.orig_type_id,
                            targ_btf,
                            res.new_type_id,
                        );
                    }
                }
            }
        }
        KindClass::Type => {
            (res.orig_val, res.validate) = calc_type(kind, Some(local))?;
            res.new_val = calc_type(kind, targ)?.0;
        }
        KindClass::Enumval => {
            res.orig_val = calc_enumval(kind, Some(local))?
                .ok_or_else(|| Error::invalid("CO-RE: local enumerator spec missing"))?;
            match calc_enumval(kind, targ)? {
                None => res.poison = true,
                Some(v) => res.new_val = v,
            }
        }
    }
    Ok(res)
}

/// What resolving one relocation found.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The values to patch.
    pub res: Resolution,
    /// The first matching candidate, if any.
    pub target: Option<Candidate<'a>>,
    /// Why the first candidate did not match, when none did.
    pub mismatch: Option<Mismatch>,
    /// How many candidates were tried.
    pub candidates: usize,
}

/// Resolves `local` against `cands`, keeping in `cands` only the candidates that matched (when any
/// did), as libbpf does with its per-object candidate cache.
pub fn resolve<'a>(
    prog: &str,
    relo_idx: usize,
    insn_idx: usize,
    local: &Spec<'_>,
    cands: &mut Vec<Candidate<'a>>,
) -> Result<Resolved<'a>> {
    // The first match: its values and its bit offset (which every other match must share).
    let mut first: Option<(Resolution, u32, Candidate<'a>)> = None;
    let mut mismatch = None;
    let mut kept = Vec::new();
    let tried = cands.len();
    for (i, c) in cands.iter().enumerate() {
        let m = spec_match(local, c.target.btf(), c.id).map_err(|e| {
            e.context(format!(
                "prog '{prog}': relo #{relo_idx}: error matching candidate #{i} [{}] in {}",
                c.id,
                c.target.name()
            ))
        })?;
        let cand_spec = match m {
            Ok(s) => s,
            Err(why) => {
                mismatch.get_or_insert(why);
                continue;
            }
        };
        let cand_res = calc_relo(prog, insn_idx, local, Some(&cand_spec))?;
        match &first {
            None => first = Some((cand_res, cand_spec.bit_offset, *c)),
            Some((res, bit_offset, _)) => {
                if cand_spec.bit_offset != *bit_offset {
                    return Err(Error::invalid(format!(
                        "prog '{prog}': relo #{relo_idx}: field offset ambiguity: {} != {bit_offset}",
                        cand_spec.bit_offset
                    )));
                }
                if cand_res.poison != res.poison || cand_res.new_val != res.new_val {
                    let word = |p: bool| if p { "failure" } else { "success" };
                    return Err(Error::invalid(format!(
                        "prog '{prog}': relo #{relo_idx}: relocation decision ambiguity: {} {} != {} {}",
                        word(cand_res.poison),
                        cand_res.new_val,
                        word(res.poison),
                        res.new_val
                    )));
                }
            }
        }
        kept.push(*c);
    }
    if !kept.is_empty() {
        *cands = kept;
    }
    Ok(match first {
        Some((res, _, c)) => Resolved {
            res,
            target: Some(c),
            mismatch: None,
            candidates: tried,
        },
        None => Resolved {
            res: calc_relo(prog, insn_idx, local, None)?,
            target: None,
            mismatch,
            candidates: tried,
        },
    })
}
