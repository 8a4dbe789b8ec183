//! Following types: skip modifiers and typedefs, sizes, alignments, typed accessors.
//!
//! Every walk is bounded ([`MAX_RESOLVE_DEPTH`]) so a type loop is an error, never a hang.

use super::types::*;
use super::Btf;
use crate::error::{Error, Result};

/// How many links a resolution follows before it calls the chain a loop (libbpf uses 32).
pub const MAX_RESOLVE_DEPTH: usize = 32;

fn too_deep(id: TypeId) -> Error {
    Error::malformed(format!(
        "BTF type [{id}]: reference chain longer than {MAX_RESOLVE_DEPTH} (type loop?)"
    ))
}

impl Btf {
    /// Follows const/volatile/restrict/type tags and typedefs from `id` to the first other type.
    pub fn skip_mods_and_typedefs(&self, id: TypeId) -> Result<(TypeId, Type<'_>)> {
        self.skip_while(id, |t| {
            t.is_modifier() || matches!(t.kind, TypeKind::Typedef(_))
        })
    }

    /// Follows const/volatile/restrict/type tags (not typedefs) from `id`.
    pub fn skip_mods(&self, id: TypeId) -> Result<(TypeId, Type<'_>)> {
        self.skip_while(id, |t| t.is_modifier())
    }

    fn skip_while(
        &self,
        mut id: TypeId,
        skip: impl Fn(&Type<'_>) -> bool,
    ) -> Result<(TypeId, Type<'_>)> {
        for _ in 0..=MAX_RESOLVE_DEPTH {
            let t = self.type_by_id(id)?;
            if !skip(&t) {
                return Ok((id, t));
            }
            id = t.target().unwrap_or(0);
        }
        Err(too_deep(id))
    }

    /// Follows typedefs, modifiers, VARs and DECL_TAGs to the underlying type (libbpf's
    /// `btf__resolve_type`).
    pub fn resolve_type(&self, id: TypeId) -> Result<TypeId> {
        let start = id;
        self.skip_while(id, |t| {
            t.is_modifier()
                || matches!(
                    t.kind,
                    TypeKind::Typedef(_) | TypeKind::Var(_) | TypeKind::DeclTag(_)
                )
        })
        .map(|(id, _)| id)
        .map_err(|e| e.context(format!("resolve type [{start}]")))
    }

    /// The size in bytes of type `id` (libbpf's `btf__resolve_size`): arrays multiply, pointers are
    /// [`pointer_size`](Btf::pointer_size), modifiers/typedefs/VARs are followed. `void`, functions and
    /// forward declarations have no size.
    pub fn resolve_size(&self, id: TypeId) -> Result<u32> {
        let mut cur = id;
        let mut mult: u64 = 1;
        for _ in 0..MAX_RESOLVE_DEPTH {
            let t = self.type_by_id(cur)?;
            let size = match &t.kind {
                TypeKind::Ptr(_) => self.pointer_size(),
                TypeKind::Array(a) => {
                    mult = mult
                        .checked_mul(a.nelems as u64)
                        .filter(|&m| m <= u32::MAX as u64)
                        .ok_or_else(|| {
                            Error::invalid(format!("BTF type [{id}]: size overflows 32 bits"))
                        })?;
                    cur = a.elem_type;
                    continue;
                }
                TypeKind::Void | TypeKind::Fwd(_) | TypeKind::Func(_) | TypeKind::FuncProto(_) => {
                    return Err(Error::invalid(format!(
                        "BTF type [{id}]: reaches [{cur}] {}, which has no size",
                        t.btf_kind()
                    )))
                }
                _ => match t.size() {
                    Some(s) => s,
                    None => {
                        cur = t.target().unwrap_or(0);
                        continue;
                    }
                },
            };
            let total = size as u64 * mult;
            return u32::try_from(total).map_err(|_| {
                Error::invalid(format!("BTF type [{id}]: size {total} overflows 32 bits"))
            });
        }
        Err(too_deep(id))
    }

    /// The alignment in bytes of type `id` (libbpf's `btf__align_of`); 1 for structs that must be packed.
    pub fn align_of(&self, id: TypeId) -> Result<u32> {
        self.align_of_depth(id, 0)
    }

    fn align_of_depth(&self, id: TypeId, depth: usize) -> Result<u32> {
        if depth > MAX_RESOLVE_DEPTH {
            return Err(too_deep(id));
        }
        let t = self.type_by_id(id)?;
        match &t.kind {
            TypeKind::Int(Int { size, .. })
            | TypeKind::Enum(Enum { size, .. })
            | TypeKind::Enum64(Enum { size, .. })
            | TypeKind::Float(size) => Ok(self.pointer_size().min(*size)),
            TypeKind::Ptr(_) => Ok(self.pointer_size()),
            TypeKind::Typedef(n)
            | TypeKind::Volatile(n)
            | TypeKind::Const(n)
            | TypeKind::Restrict(n)
            | TypeKind::TypeTag(TypeTag { target: n, .. }) => self.align_of_depth(*n, depth + 1),
            TypeKind::Array(a) => self.align_of_depth(a.elem_type, depth + 1),
            TypeKind::Struct(c) | TypeKind::Union(c) => {
                let mut max_align = 1;
                for m in &c.members {
                    let a = self.align_of_depth(m.type_id, depth + 1)?;
                    if a == 0 {
                        return Err(Error::invalid(format!(
                            "BTF type [{id}]: member of zero alignment"
                        )));
                    }
                    max_align = max_align.max(a);
                    if m.bitfield_size == 0 && m.bit_offset % (8 * a) != 0 {
                        return Ok(1);
                    }
                }
                if c.size % max_align != 0 {
                    return Ok(1);
                }
                Ok(max_align)
            }
            _ => Err(Error::invalid(format!(
                "BTF type [{id}]: {} has no alignment",
                t.btf_kind()
            ))),
        }
    }

    /// A member's bit offset and bitfield size (0 when not a bitfield), whatever the encoding: with the
    /// `kind_flag` encoding they come from the member; otherwise a bitfield's width is in its INT type
    /// (legacy encoding, INT `offset` added to the bit offset).
    pub fn member_bits(&self, m: &Member) -> (u32, u32) {
        if m.bitfield_size != 0 {
            return (m.bit_offset, m.bitfield_size as u32);
        }
        if let Ok((_, t)) = self.skip_mods_and_typedefs(m.type_id) {
            if let TypeKind::Int(i) = &t.kind {
                if i.offset != 0 || (i.bits as u32) < i.size.saturating_mul(8) {
                    return (m.bit_offset + i.offset as u32, i.bits as u32);
                }
            }
        }
        (m.bit_offset, 0)
    }

    /// The array data of type `id` after skipping modifiers and typedefs.
    pub fn array_info(&self, id: TypeId) -> Result<Array> {
        match self.skip_mods_and_typedefs(id)?.1.kind {
            TypeKind::Array(a) => Ok(a),
            k => Err(Error::invalid(format!(
                "BTF type [{id}] is {}, not an array",
                k.kind()
            ))),
        }
    }

    /// The composite (struct or union) data of type `id` after skipping modifiers and typedefs.
    pub fn composite(&self, id: TypeId) -> Result<Composite<'_>> {
        match self.skip_mods_and_typedefs(id)?.1.kind {
            TypeKind::Struct(c) | TypeKind::Union(c) => Ok(c),
            k => Err(Error::invalid(format!(
                "BTF type [{id}] is {}, not a struct or union",
                k.kind()
            ))),
        }
    }

    /// The enumerators of ENUM or ENUM64 type `id` as (name, value) pairs, signed values sign-extended.
    pub fn enum_values(&self, id: TypeId) -> Result<Vec<(&str, i64)>> {
        match self.skip_mods_and_typedefs(id)?.1.kind {
            TypeKind::Enum(e) | TypeKind::Enum64(e) => e
                .values
                .iter()
                .map(|v| Ok((self.str_at(v.name_off)?, v.as_i64())))
                .collect(),
            k => Err(Error::invalid(format!(
                "BTF type [{id}] is {}, not an enum",
                k.kind()
            ))),
        }
    }

    /// The prototype of FUNC or FUNC_PROTO type `id`.
    pub fn func_proto(&self, id: TypeId) -> Result<FuncProto<'_>> {
        let mut t = self.type_by_id(id)?;
        if let TypeKind::Func(f) = t.kind {
            t = self.type_by_id(f.proto)?;
        }
        match t.kind {
            TypeKind::FuncProto(p) => Ok(p),
            k => Err(Error::invalid(format!(
                "BTF type [{id}] is {}, not a function",
                k.kind()
            ))),
        }
    }

    /// Finds member `name` of composite `id`, looking inside anonymous struct/union members too.
    /// Returns the member and its bit offset from the start of `id`.
    pub fn find_member(&self, id: TypeId, name: &str) -> Result<Option<(Member, u32)>> {
        self.find_member_depth(id, name, 0)
    }

    fn find_member_depth(
        &self,
        id: TypeId,
        name: &str,
        depth: usize,
    ) -> Result<Option<(Member, u32)>> {
        if depth > MAX_RESOLVE_DEPTH {
            return Err(too_deep(id));
        }
        let c = self.composite(id)?;
        for m in &c.members {
            if m.name_off == 0 {
                if let Ok((_, t)) = self.skip_mods_and_typedefs(m.type_id) {
                    if t.is_composite() {
                        if let Some((inner, off)) =
                            self.find_member_depth(m.type_id, name, depth + 1)?
                        {
                            return Ok(Some((inner, m.bit_offset + off)));
                        }
                    }
                }
            } else if self.str_bytes(m.name_off) == Some(name.as_bytes()) {
                return Ok(Some((m, m.bit_offset)));
            }
        }
        Ok(None)
    }
}
