//! Matching a local spec against one candidate target type (libbpf's `bpf_core_spec_match`):
//! find each named member by name (looking through anonymous members), check the field types are
//! compatible, check array indexes against the target's bounds, and compute the target's raw
//! path and bit offset.

use super::compat::{fields_are_compat, types_are_compat, types_match};
use super::names::essential_name;
use super::spec::{is_flex_arr, Accessor, Spec, SPEC_MAX_LEN};
use super::KindClass;
use crate::btf::{Btf, CoreReloKind, TypeId, TypeKind};
use crate::error::{Error, Result};

/// Why a candidate did not match; used to explain failed relocations in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// The candidate type is not compatible (type-based relocations).
    Type,
    /// The candidate is not an enum.
    NotEnum,
    /// The enum has no enumerator of that name.
    NoEnumerator,
    /// Local accessor `acc` names a member the target struct does not have.
    NoMember {
        /// Index of the local accessor.
        acc: usize,
    },
    /// The member exists but its type is not compatible.
    IncompatibleMember {
        /// Index of the local accessor.
        acc: usize,
    },
    /// The target has no struct/union (or array) where the local path has one.
    NotComposite {
        /// Index of the local accessor.
        acc: usize,
    },
    /// The target array is shorter than the local index.
    OutOfBounds {
        /// Index of the local accessor.
        acc: usize,
        /// The target array's length.
        nelems: u32,
    },
}

enum Member {
    Found,
    Absent,
    Incompatible,
}

fn too_deep() -> Error {
    Error::invalid(format!(
        "CO-RE: target access path longer than {SPEC_MAX_LEN}"
    ))
}

fn match_member<'t>(
    local: &Btf,
    lacc: &Accessor<'_>,
    targ: &'t Btf,
    targ_id: TypeId,
    ts: &mut Spec<'t>,
    next: &mut TypeId,
) -> Result<Member> {
    let (targ_id, tt) = targ.skip_mods_and_typedefs(targ_id)?;
    if !tt.is_composite() {
        return Ok(Member::Absent);
    }
    let lt = local.type_by_id(lacc.type_id)?;
    let lm = lt
        .members()
        .get(lacc.idx as usize)
        .ok_or_else(|| Error::invalid(format!("CO-RE: bad local member #{}", lacc.idx)))?;
    let lname = local.str_at(lm.name_off)?;
    let mut incompatible = false;
    for (i, m) in tt.members().iter().enumerate() {
        if ts.raw.len() == SPEC_MAX_LEN {
            return Err(too_deep());
        }
        ts.bit_offset = ts.bit_offset.wrapping_add(m.bit_offset);
        ts.raw.push(i as i32);
        let tname = targ.str_at(m.name_off).unwrap_or("");
        if tname.is_empty() {
            match match_member(local, lacc, targ, m.type_id, ts, next)? {
                Member::Found => return Ok(Member::Found),
                Member::Incompatible => incompatible = true,
                Member::Absent => {}
            }
        } else if tname == lname {
            ts.acc.push(Accessor {
                type_id: targ_id,
                idx: i as i32,
                name: Some(tname),
            });
            *next = m.type_id;
            if fields_are_compat(local, lm.type_id, targ, m.type_id)? {
                return Ok(Member::Found);
            }
            ts.acc.pop();
            // libbpf leaves the speculative raw step and bit offset in place here; the spec is
            // discarded anyway.
            return Ok(Member::Incompatible);
        }
        ts.bit_offset = ts.bit_offset.wrapping_sub(m.bit_offset);
        ts.raw.pop();
    }
    Ok(if incompatible {
        Member::Incompatible
    } else {
        Member::Absent
    })
}

/// Matches `local` against candidate `targ_id` of `targ`: `Ok(Ok(spec))` with the target spec when
/// it matches, `Ok(Err(why))` when it does not, `Err` when the BTF is broken.
pub fn spec_match<'t>(
    local: &Spec<'_>,
    targ: &'t Btf,
    targ_id: TypeId,
) -> Result<std::result::Result<Spec<'t>, Mismatch>> {
    let mut ts = Spec::empty(targ, targ_id, local.kind);
    match KindClass::of(local.kind) {
        KindClass::Type => {
            let ok = if local.kind == CoreReloKind::TypeMatches {
                types_match(local.btf, local.root_type_id, targ, targ_id)?
            } else {
                types_are_compat(local.btf, local.root_type_id, targ, targ_id)?
            };
            Ok(if ok { Ok(ts) } else { Err(Mismatch::Type) })
        }
        KindClass::Enumval => {
            let (tid, tt) = targ.skip_mods_and_typedefs(targ_id)?;
            let (TypeKind::Enum(e) | TypeKind::Enum64(e)) = &tt.kind else {
                return Ok(Err(Mismatch::NotEnum));
            };
            let lname = essential_name(local.acc.first().and_then(|a| a.name).unwrap_or(""));
            for (i, v) in e.values.iter().enumerate() {
                let tname = targ.str_at(v.name_off).unwrap_or("");
                if essential_name(tname) == lname {
                    ts.acc.push(Accessor {
                        type_id: tid,
                        idx: i as i32,
                        name: Some(tname),
                    });
                    ts.raw.push(i as i32);
                    return Ok(Ok(ts));
                }
            }
            Ok(Err(Mismatch::NoEnumerator))
        }
        KindClass::Field => {
            let mut targ_id = targ_id;
            for (i, la) in local.acc.iter().enumerate() {
                let (tid, tt) = targ.skip_mods_and_typedefs(targ_id)?;
                targ_id = tid;
                if la.name.is_some() {
                    let mut next = targ_id;
                    match match_member(local.btf, la, targ, targ_id, &mut ts, &mut next)? {
                        Member::Found => targ_id = next,
                        Member::Absent if !tt.is_composite() => {
                            return Ok(Err(Mismatch::NotComposite { acc: i }))
                        }
                        Member::Absent => return Ok(Err(Mismatch::NoMember { acc: i })),
                        Member::Incompatible => {
                            return Ok(Err(Mismatch::IncompatibleMember { acc: i }))
                        }
                    }
                    continue;
                }
                if i > 0 {
                    let TypeKind::Array(a) = &tt.kind else {
                        return Ok(Err(Mismatch::NotComposite { acc: i }));
                    };
                    let flex = is_flex_arr(targ, ts.acc.last(), a.nelems);
                    if !flex && la.idx as u32 >= a.nelems {
                        return Ok(Err(Mismatch::OutOfBounds {
                            acc: i,
                            nelems: a.nelems,
                        }));
                    }
                    targ_id = targ.skip_mods_and_typedefs(a.elem_type)?.0;
                }
                if ts.raw.len() == SPEC_MAX_LEN {
                    return Err(too_deep());
                }
                ts.acc.push(Accessor {
                    type_id: targ_id,
                    idx: la.idx,
                    name: None,
                });
                ts.raw.push(la.idx);
                let sz = targ.resolve_size(targ_id)? as i64;
                ts.bit_offset = ts.bit_offset.wrapping_add((la.idx as i64 * sz * 8) as u32);
            }
            Ok(Ok(ts))
        }
    }
}
