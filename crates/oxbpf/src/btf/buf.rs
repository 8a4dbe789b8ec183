//! [`TypeBuf`]: an owned, editable BTF type, the input of [`Btf::add_type`](super::Btf::add_type)
//! and [`Btf::set_type`](super::Btf::set_type), and its encoding into type-section words.

use super::types::*;

/// An owned BTF type: what [`Type`] views, with its lists in `Vec`s so they can be edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeBuf {
    /// Offset of the name in the string section; 0 for anonymous types.
    pub name_off: u32,
    /// The kind and its data.
    pub kind: TypeKindBuf,
}

impl TypeBuf {
    /// A type with name offset `name_off` and data `kind`.
    pub fn new(name_off: u32, kind: TypeKindBuf) -> TypeBuf {
        TypeBuf { name_off, kind }
    }

    /// This type's kind number.
    pub fn btf_kind(&self) -> Kind {
        use TypeKindBuf as K;
        match &self.kind {
            K::Void => Kind::Void,
            K::Int(_) => Kind::Int,
            K::Ptr(_) => Kind::Ptr,
            K::Array(_) => Kind::Array,
            K::Struct(_) => Kind::Struct,
            K::Union(_) => Kind::Union,
            K::Enum(_) => Kind::Enum,
            K::Fwd(_) => Kind::Fwd,
            K::Typedef(_) => Kind::Typedef,
            K::Volatile(_) => Kind::Volatile,
            K::Const(_) => Kind::Const,
            K::Restrict(_) => Kind::Restrict,
            K::Func(_) => Kind::Func,
            K::FuncProto(_) => Kind::FuncProto,
            K::Var(_) => Kind::Var,
            K::Datasec(_) => Kind::Datasec,
            K::Float(_) => Kind::Float,
            K::DeclTag(_) => Kind::DeclTag,
            K::TypeTag(_) => Kind::TypeTag,
            K::Enum64(_) => Kind::Enum64,
        }
    }

    /// The members of a STRUCT or UNION, for editing (`None` for other kinds).
    pub fn members_mut(&mut self) -> Option<&mut Vec<Member>> {
        match &mut self.kind {
            TypeKindBuf::Struct(c) | TypeKindBuf::Union(c) => Some(&mut c.members),
            _ => None,
        }
    }

    /// Appends this type's encoding (native byte order) to `out`. Lists longer than BTF's 16-bit
    /// `vlen` keep their first 65535 entries.
    pub(crate) fn encode(&self, out: &mut Vec<u32>) {
        use TypeKindBuf as K;
        let (flag, vlen, size_type) = match &self.kind {
            K::Void | K::Array(_) => (false, 0, 0),
            K::Int(i) => (false, 0, i.size),
            K::Ptr(t) | K::Typedef(t) | K::Volatile(t) | K::Const(t) | K::Restrict(t) => {
                (false, 0, *t)
            }
            K::Struct(c) | K::Union(c) => (c.bitfield_encoding, c.members.len(), c.size),
            K::Enum(e) | K::Enum64(e) => (e.signed, e.values.len(), e.size),
            K::Fwd(k) => (*k == FwdKind::Union, 0, 0),
            K::Func(f) => (false, f.linkage as usize, f.proto),
            K::FuncProto(p) => (false, p.params.len(), p.ret),
            K::Var(v) => (false, 0, v.type_id),
            K::Datasec(d) => (false, d.vars.len(), d.size),
            K::Float(s) => (false, 0, *s),
            K::DeclTag(d) => (d.attr, 0, d.target),
            K::TypeTag(t) => (t.attr, 0, t.target),
        };
        let vlen = vlen.min(0xffff);
        out.push(self.name_off);
        out.push(((flag as u32) << 31) | ((self.btf_kind() as u32) << 24) | vlen as u32);
        out.push(size_type);
        match &self.kind {
            K::Int(i) => out.push(
                ((i.encoding as u32 & 0xf) << 24) | ((i.offset as u32) << 16) | i.bits as u32,
            ),
            K::Array(a) => out.extend([a.elem_type, a.index_type, a.nelems]),
            K::Struct(c) | K::Union(c) => {
                for m in c.members.iter().take(vlen) {
                    let off = if c.bitfield_encoding {
                        ((m.bitfield_size as u32) << 24) | (m.bit_offset & 0x00ff_ffff)
                    } else {
                        m.bit_offset
                    };
                    out.extend([m.name_off, m.type_id, off]);
                }
            }
            K::Enum(e) => {
                for v in e.values.iter().take(vlen) {
                    out.extend([v.name_off, v.value as u32]);
                }
            }
            K::Enum64(e) => {
                for v in e.values.iter().take(vlen) {
                    out.extend([v.name_off, v.value as u32, (v.value >> 32) as u32]);
                }
            }
            K::FuncProto(p) => {
                for prm in p.params.iter().take(vlen) {
                    out.extend([prm.name_off, prm.type_id]);
                }
            }
            K::Var(v) => out.push(v.linkage as u32),
            K::Datasec(d) => {
                for v in d.vars.iter().take(vlen) {
                    out.extend([v.type_id, v.offset, v.size]);
                }
            }
            K::DeclTag(d) => out.push(d.component_idx as u32),
            _ => {}
        }
    }
}

impl From<Type<'_>> for TypeBuf {
    fn from(t: Type<'_>) -> TypeBuf {
        t.to_buf()
    }
}

/// The owned kind-specific data of a [`TypeBuf`]; see [`TypeKind`] for the variants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum TypeKindBuf {
    Void,
    Int(Int),
    Ptr(TypeId),
    Array(Array),
    Struct(CompositeBuf),
    Union(CompositeBuf),
    Enum(EnumBuf),
    Fwd(FwdKind),
    Typedef(TypeId),
    Volatile(TypeId),
    Const(TypeId),
    Restrict(TypeId),
    Func(Func),
    FuncProto(FuncProtoBuf),
    Var(Var),
    Datasec(DatasecBuf),
    Float(u32),
    DeclTag(DeclTag),
    TypeTag(TypeTag),
    Enum64(EnumBuf),
}

/// An owned struct or union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositeBuf {
    /// Size in bytes.
    pub size: u32,
    /// The `kind_flag`: member offsets carry a bitfield size in their top 8 bits.
    pub bitfield_encoding: bool,
    /// The members in declaration order.
    pub members: Vec<Member>,
}

/// An owned ENUM or ENUM64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumBuf {
    /// Size in bytes (1, 2, 4 or 8).
    pub size: u32,
    /// The `kind_flag`: values are signed.
    pub signed: bool,
    /// The enumerators.
    pub values: Vec<EnumValue>,
}

/// An owned function prototype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncProtoBuf {
    /// The return type (0 = void).
    pub ret: TypeId,
    /// The parameters; a last parameter with type 0 and no name marks a variadic function.
    pub params: Vec<Param>,
}

/// An owned data section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasecBuf {
    /// Section size in bytes.
    pub size: u32,
    /// Variables (VAR or FUNC for `.ksyms`) with their offsets and sizes.
    pub vars: Vec<VarSecInfo>,
}
