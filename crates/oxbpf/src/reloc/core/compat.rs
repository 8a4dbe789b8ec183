//! Type compatibility rules of CO-RE: which target types may stand in for a local one.
//!
//! Three relations, each libbpf's:
//! - [`kind_core_compat`]: same kind, or both enums (ENUM and ENUM64 interchange);
//! - [`types_are_compat`]: for type-based relocations (TYPE_EXISTS, TYPE_SIZE, TYPE_ID_TARGET),
//!   loose (names ignored below the root, sizes ignored);
//! - [`fields_are_compat`]: for a field found by name, the local and target field types;
//! - [`types_match`]: for TYPE_MATCHES, strict (member names, int sizes and signedness, enum
//!   names, array lengths, function signatures).
//!
//! `Err` means the BTF is broken (bad id, type loop); `Ok(false)` means "not compatible".

use super::names::essential_name;
use crate::btf::{Btf, Kind, Type, TypeId, TypeKind, INT_SIGNED};
use crate::error::{Error, Result};

/// Recursion budget for nested function prototypes and members, as libbpf's.
const MAX_LEVEL: i32 = 32;
/// How many links one walk follows before it calls the chain a loop, as libbpf's.
const MAX_DEPTH: i32 = 32;

fn is_any_enum(t: &Type) -> bool {
    matches!(t.kind, TypeKind::Enum(_) | TypeKind::Enum64(_))
}

/// Same kind, or ENUM against ENUM64 (libbpf's `btf_kind_core_compat`).
pub fn kind_core_compat(a: &Type, b: &Type) -> bool {
    a.btf_kind() == b.btf_kind() || (is_any_enum(a) && is_any_enum(b))
}

fn int_offset(t: &Type) -> u8 {
    match &t.kind {
        TypeKind::Int(i) => i.offset,
        _ => 0,
    }
}

fn loop_error(local_id: TypeId, targ_id: TypeId) -> Error {
    Error::invalid(format!(
        "CO-RE: type chain of local [{local_id}] / target [{targ_id}] too deep (loop?)"
    ))
}

fn name_of<'b>(btf: &'b Btf, t: &Type) -> &'b str {
    btf.str_at(t.name_off).unwrap_or("")
}

/// Whether target type `targ_id` can stand in for local type `local_id` in a type-based
/// relocation (libbpf's `bpf_core_types_are_compat`); the root names were matched by the caller.
pub fn types_are_compat(
    local: &Btf,
    local_id: TypeId,
    targ: &Btf,
    targ_id: TypeId,
) -> Result<bool> {
    types_are_compat_level(local, local_id, targ, targ_id, MAX_LEVEL)
}

fn types_are_compat_level(
    local: &Btf,
    mut local_id: TypeId,
    targ: &Btf,
    mut targ_id: TypeId,
    level: i32,
) -> Result<bool> {
    if !kind_core_compat(&local.type_by_id(local_id)?, &targ.type_by_id(targ_id)?) {
        return Ok(false);
    }
    for _ in 0..MAX_DEPTH {
        let (lid, lt) = local.skip_mods_and_typedefs(local_id)?;
        let (tid, tt) = targ.skip_mods_and_typedefs(targ_id)?;
        (local_id, targ_id) = (lid, tid);
        if !kind_core_compat(&lt, &tt) {
            return Ok(false);
        }
        match (&lt.kind, &tt.kind) {
            (
                TypeKind::Void
                | TypeKind::Struct(_)
                | TypeKind::Union(_)
                | TypeKind::Enum(_)
                | TypeKind::Fwd(_)
                | TypeKind::Enum64(_),
                _,
            ) => return Ok(true),
            (TypeKind::Int(_), _) => return Ok(int_offset(&lt) == 0 && int_offset(&tt) == 0),
            (TypeKind::Ptr(l), TypeKind::Ptr(t)) => (local_id, targ_id) = (*l, *t),
            (TypeKind::Array(l), TypeKind::Array(t)) => {
                (local_id, targ_id) = (l.elem_type, t.elem_type)
            }
            (TypeKind::FuncProto(lp), TypeKind::FuncProto(tp)) => {
                if lp.params.len() != tp.params.len() {
                    return Ok(false);
                }
                for (l, t) in lp.params.iter().zip(&tp.params) {
                    if level <= 0 {
                        return Err(loop_error(local_id, targ_id));
                    }
                    let l = local.skip_mods_and_typedefs(l.type_id)?.0;
                    let t = targ.skip_mods_and_typedefs(t.type_id)?.0;
                    if !types_are_compat_level(local, l, targ, t, level - 1)? {
                        return Ok(false);
                    }
                }
                local_id = local.skip_mods_and_typedefs(lp.ret)?.0;
                targ_id = targ.skip_mods_and_typedefs(tp.ret)?.0;
            }
            _ => {
                log::warn!(
                    "unexpected kind {} relocated, local [{local_id}], target [{targ_id}]",
                    lt.btf_kind().name().to_ascii_lowercase()
                );
                return Ok(false);
            }
        }
    }
    Err(loop_error(local_id, targ_id))
}

/// Whether a target field of type `targ_id` can stand in for a local field of type `local_id`
/// (libbpf's `bpf_core_fields_are_compat`): any two structs/unions, any pointers and floats,
/// ints without legacy bit offsets, same-named (or anonymous) enums and forward declarations,
/// arrays of compatible elements.
pub fn fields_are_compat(
    local: &Btf,
    local_id: TypeId,
    targ: &Btf,
    targ_id: TypeId,
) -> Result<bool> {
    let (mut local_id, mut targ_id) = (local_id, targ_id);
    for _ in 0..MAX_DEPTH {
        let (_, lt) = local.skip_mods_and_typedefs(local_id)?;
        let (_, tt) = targ.skip_mods_and_typedefs(targ_id)?;
        if lt.is_composite() && tt.is_composite() {
            return Ok(true);
        }
        if !kind_core_compat(&lt, &tt) {
            return Ok(false);
        }
        match (&lt.kind, &tt.kind) {
            (TypeKind::Ptr(_) | TypeKind::Float(_), _) => return Ok(true),
            (TypeKind::Fwd(_) | TypeKind::Enum(_) | TypeKind::Enum64(_), _) => {
                let (ln, tn) = (
                    essential_name(name_of(local, &lt)),
                    essential_name(name_of(targ, &tt)),
                );
                return Ok(ln.is_empty() || tn.is_empty() || ln == tn);
            }
            (TypeKind::Int(_), _) => return Ok(int_offset(&lt) == 0 && int_offset(&tt) == 0),
            (TypeKind::Array(l), TypeKind::Array(t)) => {
                (local_id, targ_id) = (l.elem_type, t.elem_type)
            }
            _ => return Ok(false),
        }
    }
    Err(loop_error(local_id, targ_id))
}

/// Names match for TYPE_MATCHES: an anonymous target matches only an anonymous local, otherwise
/// the essential names are equal.
fn names_match(local: &Btf, local_off: u32, targ: &Btf, targ_off: u32) -> bool {
    let ln = local.str_at(local_off).unwrap_or("");
    let tn = targ.str_at(targ_off).unwrap_or("");
    if tn.is_empty() {
        return ln.is_empty();
    }
    essential_name(ln) == essential_name(tn)
}

/// Whether target type `targ_id` matches local type `local_id` (libbpf's `bpf_core_types_match`);
/// the caller matched the root names.
pub fn types_match(local: &Btf, local_id: TypeId, targ: &Btf, targ_id: TypeId) -> Result<bool> {
    types_match_level(local, local_id, targ, targ_id, false, MAX_LEVEL)
}

fn enums_match(local: &Btf, lt: &Type, targ: &Btf, tt: &Type) -> bool {
    let (TypeKind::Enum(le) | TypeKind::Enum64(le), TypeKind::Enum(te) | TypeKind::Enum64(te)) =
        (&lt.kind, &tt.kind)
    else {
        return false;
    };
    le.size == te.size
        && le.values.len() <= te.values.len()
        && le.values.iter().all(|l| {
            te.values
                .iter()
                .any(|t| names_match(local, l.name_off, targ, t.name_off))
        })
}

fn composites_match(
    local: &Btf,
    lt: &Type,
    targ: &Btf,
    tt: &Type,
    behind_ptr: bool,
    level: i32,
) -> Result<bool> {
    let (lm, tm) = (lt.members(), tt.members());
    if lm.len() > tm.len() {
        return Ok(false);
    }
    for l in lm {
        let mut matched = false;
        for t in tm {
            if !names_match(local, l.name_off, targ, t.name_off) {
                continue;
            }
            if types_match_level(local, l.type_id, targ, t.type_id, behind_ptr, level - 1)? {
                matched = true;
                break;
            }
        }
        if !matched {
            return Ok(false);
        }
    }
    Ok(true)
}

fn types_match_level(
    local: &Btf,
    mut local_id: TypeId,
    targ: &Btf,
    mut targ_id: TypeId,
    mut behind_ptr: bool,
    level: i32,
) -> Result<bool> {
    if level <= 0 {
        return Err(loop_error(local_id, targ_id));
    }
    for _ in 0..MAX_DEPTH {
        let (lid, lt) = local.skip_mods_and_typedefs(local_id)?;
        let (tid, tt) = targ.skip_mods_and_typedefs(targ_id)?;
        (local_id, targ_id) = (lid, tid);
        if !names_match(local, lt.name_off, targ, tt.name_off) {
            return Ok(false);
        }
        let (lk, tk) = (lt.btf_kind(), tt.btf_kind());
        match &lt.kind {
            TypeKind::Void => return Ok(tk == Kind::Void),
            TypeKind::Fwd(_) => {
                let lf = lt.kind_flag();
                return Ok(if lk == tk {
                    lf == tt.kind_flag()
                } else {
                    behind_ptr && ((tk == Kind::Struct && !lf) || (tk == Kind::Union && lf))
                });
            }
            TypeKind::Enum(_) | TypeKind::Enum64(_) => {
                return Ok(is_any_enum(&tt) && enums_match(local, &lt, targ, &tt))
            }
            TypeKind::Struct(_) | TypeKind::Union(_) => {
                if behind_ptr {
                    if lk == tk {
                        return Ok(true);
                    }
                    return Ok(tk == Kind::Fwd && (lk == Kind::Union) == tt.kind_flag());
                }
                if lk != tk {
                    return Ok(false);
                }
                return composites_match(local, &lt, targ, &tt, behind_ptr, level);
            }
            TypeKind::Int(li) => {
                let TypeKind::Int(ti) = &tt.kind else {
                    return Ok(false);
                };
                return Ok(
                    li.size == ti.size && (li.encoding & INT_SIGNED) == (ti.encoding & INT_SIGNED)
                );
            }
            TypeKind::Ptr(l) => {
                let TypeKind::Ptr(t) = &tt.kind else {
                    return Ok(false);
                };
                behind_ptr = true;
                (local_id, targ_id) = (*l, *t);
            }
            TypeKind::Array(l) => {
                let TypeKind::Array(t) = &tt.kind else {
                    return Ok(false);
                };
                if l.nelems != t.nelems {
                    return Ok(false);
                }
                (local_id, targ_id) = (l.elem_type, t.elem_type);
            }
            TypeKind::FuncProto(lp) => {
                let TypeKind::FuncProto(tp) = &tt.kind else {
                    return Ok(false);
                };
                if lp.params.len() != tp.params.len() {
                    return Ok(false);
                }
                for (l, t) in lp.params.iter().zip(&tp.params) {
                    if !types_match_level(local, l.type_id, targ, t.type_id, behind_ptr, level - 1)?
                    {
                        return Ok(false);
                    }
                }
                (local_id, targ_id) = (lp.ret, tp.ret);
            }
            _ => {
                log::warn!(
                    "unexpected kind {} relocated, local [{local_id}], target [{targ_id}]",
                    lk.name().to_ascii_lowercase()
                );
                return Ok(false);
            }
        }
    }
    Err(loop_error(local_id, targ_id))
}
