//! The BTF type model: [`Type`], a view of one type id's encoded words, its kind-specific data decoded
//! into plain Rust values on access.
//!
//! Values are decoded (bit offsets split from bitfield sizes, linkage as an enum, enum values widened to
//! 64 bits) but nothing is lost: encoding a type gives back the same words.

use std::fmt;

pub use super::buf::{CompositeBuf, DatasecBuf, EnumBuf, FuncProtoBuf, TypeBuf, TypeKindBuf};
pub use super::list::{EnumValues, List, ListItem, ListIter, Members, Params, VarSecInfos};

/// A BTF type id. Id 0 is `void`; in split BTF the ids continue after the base's.
pub type TypeId = u32;

/// The BTF kind numbers of the UAPI (`BTF_KIND_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    /// `void` (id 0 only).
    Void = 0,
    /// An integer, `bool` or `char`.
    Int = 1,
    /// A pointer.
    Ptr = 2,
    /// An array.
    Array = 3,
    /// A struct.
    Struct = 4,
    /// A union.
    Union = 5,
    /// An enum with 32-bit values.
    Enum = 6,
    /// A forward declaration of a struct or union.
    Fwd = 7,
    /// A typedef.
    Typedef = 8,
    /// The `volatile` modifier.
    Volatile = 9,
    /// The `const` modifier.
    Const = 10,
    /// The `restrict` modifier.
    Restrict = 11,
    /// A function (name, linkage and prototype).
    Func = 12,
    /// A function prototype.
    FuncProto = 13,
    /// A global or static variable.
    Var = 14,
    /// A data section (`.data`, `.bss`, `.rodata`, `.maps`, ...) listing its variables.
    Datasec = 15,
    /// A floating point type.
    Float = 16,
    /// A `btf_decl_tag` attribute on a declaration.
    DeclTag = 17,
    /// A `btf_type_tag` attribute on a pointee type.
    TypeTag = 18,
    /// An enum with 64-bit values.
    Enum64 = 19,
}

impl Kind {
    /// The kind with UAPI number `n`, if it is one this crate knows.
    pub fn from_u32(n: u32) -> Option<Kind> {
        use Kind::*;
        Some(match n {
            0 => Void,
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => Datasec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            _ => return None,
        })
    }

    /// The upper-case name bpftool and the kernel print (`STRUCT`, `FUNC_PROTO`, ...).
    pub fn name(self) -> &'static str {
        use Kind::*;
        match self {
            Void => "UNKN",
            Int => "INT",
            Ptr => "PTR",
            Array => "ARRAY",
            Struct => "STRUCT",
            Union => "UNION",
            Enum => "ENUM",
            Fwd => "FWD",
            Typedef => "TYPEDEF",
            Volatile => "VOLATILE",
            Const => "CONST",
            Restrict => "RESTRICT",
            Func => "FUNC",
            FuncProto => "FUNC_PROTO",
            Var => "VAR",
            Datasec => "DATASEC",
            Float => "FLOAT",
            DeclTag => "DECL_TAG",
            TypeTag => "TYPE_TAG",
            Enum64 => "ENUM64",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One BTF type, read from the encoded type section: its name (an offset into the string section, 0
/// when anonymous) and its kind's data. A cheap `Copy` view: fixed fields are decoded, lists
/// ([`Members`], [`EnumValues`], [`Params`], [`VarSecInfos`]) are read on access. The owned, editable
/// form is [`TypeBuf`] ([`Type::to_buf`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Type<'a> {
    /// Offset of the name in the string section; 0 for anonymous types.
    pub name_off: u32,
    /// The kind and its data.
    pub kind: TypeKind<'a>,
}

impl<'a> Type<'a> {
    /// The `void` type (id 0).
    pub const VOID: Type<'static> = Type {
        name_off: 0,
        kind: TypeKind::Void,
    };

    /// This type's kind number.
    #[inline]
    pub fn btf_kind(&self) -> Kind {
        self.kind.kind()
    }

    /// The type this one refers to, for kinds with a single referenced type (PTR, TYPEDEF, modifiers,
    /// FUNC, VAR, DECL_TAG, TYPE_TAG, ARRAY's element).
    #[inline]
    pub fn target(&self) -> Option<TypeId> {
        match self.kind {
            TypeKind::Ptr(t)
            | TypeKind::Typedef(t)
            | TypeKind::Volatile(t)
            | TypeKind::Const(t)
            | TypeKind::Restrict(t) => Some(t),
            TypeKind::Func(f) => Some(f.proto),
            TypeKind::Var(v) => Some(v.type_id),
            TypeKind::DeclTag(d) => Some(d.target),
            TypeKind::TypeTag(t) => Some(t.target),
            TypeKind::Array(a) => Some(a.elem_type),
            _ => None,
        }
    }

    /// The size field, for kinds that have one (INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT).
    #[inline]
    pub fn size(&self) -> Option<u32> {
        match self.kind {
            TypeKind::Int(i) => Some(i.size),
            TypeKind::Struct(c) | TypeKind::Union(c) => Some(c.size),
            TypeKind::Enum(e) | TypeKind::Enum64(e) => Some(e.size),
            TypeKind::Datasec(d) => Some(d.size),
            TypeKind::Float(s) => Some(s),
            _ => None,
        }
    }

    /// True for `const`, `volatile`, `restrict` and type tags: kinds that qualify another type.
    #[inline]
    pub fn is_modifier(&self) -> bool {
        matches!(
            self.kind,
            TypeKind::Volatile(_)
                | TypeKind::Const(_)
                | TypeKind::Restrict(_)
                | TypeKind::TypeTag(_)
        )
    }

    /// True for STRUCT and UNION.
    #[inline]
    pub fn is_composite(&self) -> bool {
        matches!(self.kind, TypeKind::Struct(_) | TypeKind::Union(_))
    }

    /// The members of a STRUCT or UNION (empty for other kinds).
    #[inline]
    pub fn members(&self) -> Members<'a> {
        match self.kind {
            TypeKind::Struct(c) | TypeKind::Union(c) => c.members,
            _ => List::EMPTY,
        }
    }

    /// The `kind_flag` bit of the encoded `info` word.
    pub fn kind_flag(&self) -> bool {
        match self.kind {
            TypeKind::Struct(c) | TypeKind::Union(c) => c.bitfield_encoding,
            TypeKind::Enum(e) | TypeKind::Enum64(e) => e.signed,
            TypeKind::Fwd(k) => k == FwdKind::Union,
            TypeKind::DeclTag(d) => d.attr,
            TypeKind::TypeTag(t) => t.attr,
            _ => false,
        }
    }

    /// The `vlen` field of the encoded `info` word.
    pub fn vlen(&self) -> usize {
        match self.kind {
            TypeKind::Struct(c) | TypeKind::Union(c) => c.members.len(),
            TypeKind::Enum(e) | TypeKind::Enum64(e) => e.values.len(),
            TypeKind::FuncProto(p) => p.params.len(),
            TypeKind::Datasec(d) => d.vars.len(),
            TypeKind::Func(f) => f.linkage as usize,
            _ => 0,
        }
    }

    /// An owned, editable copy (for [`Btf::set_type`](super::Btf::set_type)).
    pub fn to_buf(&self) -> TypeBuf {
        let kind = match self.kind {
            TypeKind::Void => TypeKindBuf::Void,
            TypeKind::Int(i) => TypeKindBuf::Int(i),
            TypeKind::Ptr(t) => TypeKindBuf::Ptr(t),
            TypeKind::Array(a) => TypeKindBuf::Array(a),
            TypeKind::Struct(c) => TypeKindBuf::Struct(c.to_buf()),
            TypeKind::Union(c) => TypeKindBuf::Union(c.to_buf()),
            TypeKind::Enum(e) => TypeKindBuf::Enum(e.to_buf()),
            TypeKind::Fwd(k) => TypeKindBuf::Fwd(k),
            TypeKind::Typedef(t) => TypeKindBuf::Typedef(t),
            TypeKind::Volatile(t) => TypeKindBuf::Volatile(t),
            TypeKind::Const(t) => TypeKindBuf::Const(t),
            TypeKind::Restrict(t) => TypeKindBuf::Restrict(t),
            TypeKind::Func(f) => TypeKindBuf::Func(f),
            TypeKind::FuncProto(p) => TypeKindBuf::FuncProto(FuncProtoBuf {
                ret: p.ret,
                params: p.params.to_vec(),
            }),
            TypeKind::Var(v) => TypeKindBuf::Var(v),
            TypeKind::Datasec(d) => TypeKindBuf::Datasec(DatasecBuf {
                size: d.size,
                vars: d.vars.to_vec(),
            }),
            TypeKind::Float(s) => TypeKindBuf::Float(s),
            TypeKind::DeclTag(d) => TypeKindBuf::DeclTag(d),
            TypeKind::TypeTag(t) => TypeKindBuf::TypeTag(t),
            TypeKind::Enum64(e) => TypeKindBuf::Enum64(e.to_buf()),
        };
        TypeBuf {
            name_off: self.name_off,
            kind,
        }
    }
}

impl PartialEq<TypeBuf> for Type<'_> {
    fn eq(&self, other: &TypeBuf) -> bool {
        self.to_buf() == *other
    }
}

/// The kind-specific data of a [`Type`]: one variant per BTF kind, lists as views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind<'a> {
    /// `void`; only type id 0.
    Void,
    /// `BTF_KIND_INT`.
    Int(Int),
    /// `BTF_KIND_PTR` to the given type.
    Ptr(TypeId),
    /// `BTF_KIND_ARRAY`.
    Array(Array),
    /// `BTF_KIND_STRUCT`.
    Struct(Composite<'a>),
    /// `BTF_KIND_UNION`.
    Union(Composite<'a>),
    /// `BTF_KIND_ENUM` (32-bit values).
    Enum(Enum<'a>),
    /// `BTF_KIND_FWD`: a forward declaration of a struct or a union.
    Fwd(FwdKind),
    /// `BTF_KIND_TYPEDEF` of the given type.
    Typedef(TypeId),
    /// `BTF_KIND_VOLATILE` of the given type.
    Volatile(TypeId),
    /// `BTF_KIND_CONST` of the given type.
    Const(TypeId),
    /// `BTF_KIND_RESTRICT` of the given type.
    Restrict(TypeId),
    /// `BTF_KIND_FUNC`.
    Func(Func),
    /// `BTF_KIND_FUNC_PROTO`.
    FuncProto(FuncProto<'a>),
    /// `BTF_KIND_VAR`.
    Var(Var),
    /// `BTF_KIND_DATASEC`.
    Datasec(Datasec<'a>),
    /// `BTF_KIND_FLOAT` of the given size in bytes.
    Float(u32),
    /// `BTF_KIND_DECL_TAG`.
    DeclTag(DeclTag),
    /// `BTF_KIND_TYPE_TAG`.
    TypeTag(TypeTag),
    /// `BTF_KIND_ENUM64` (64-bit values).
    Enum64(Enum<'a>),
}

impl TypeKind<'_> {
    /// The kind number of this data.
    #[inline]
    pub fn kind(&self) -> Kind {
        match self {
            TypeKind::Void => Kind::Void,
            TypeKind::Int(_) => Kind::Int,
            TypeKind::Ptr(_) => Kind::Ptr,
            TypeKind::Array(_) => Kind::Array,
            TypeKind::Struct(_) => Kind::Struct,
            TypeKind::Union(_) => Kind::Union,
            TypeKind::Enum(_) => Kind::Enum,
            TypeKind::Fwd(_) => Kind::Fwd,
            TypeKind::Typedef(_) => Kind::Typedef,
            TypeKind::Volatile(_) => Kind::Volatile,
            TypeKind::Const(_) => Kind::Const,
            TypeKind::Restrict(_) => Kind::Restrict,
            TypeKind::Func(_) => Kind::Func,
            TypeKind::FuncProto(_) => Kind::FuncProto,
            TypeKind::Var(_) => Kind::Var,
            TypeKind::Datasec(_) => Kind::Datasec,
            TypeKind::Float(_) => Kind::Float,
            TypeKind::DeclTag(_) => Kind::DeclTag,
            TypeKind::TypeTag(_) => Kind::TypeTag,
            TypeKind::Enum64(_) => Kind::Enum64,
        }
    }
}

/// `BTF_INT_SIGNED`: the integer is signed.
pub const INT_SIGNED: u8 = 1 << 0;
/// `BTF_INT_CHAR`: the integer is a `char`.
pub const INT_CHAR: u8 = 1 << 1;
/// `BTF_INT_BOOL`: the integer is a `bool`.
pub const INT_BOOL: u8 = 1 << 2;

/// An integer type: `size` bytes holding `bits` bits starting at bit `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int {
    /// Size in bytes.
    pub size: u32,
    /// `INT_SIGNED`, `INT_CHAR`, `INT_BOOL` bits (4 bits wide).
    pub encoding: u8,
    /// Bit offset of the value inside the storage (legacy bitfield encoding).
    pub offset: u8,
    /// Number of value bits.
    pub bits: u8,
}

impl Int {
    /// True when signed.
    pub fn is_signed(&self) -> bool {
        self.encoding & INT_SIGNED != 0
    }
    /// True for `char` types.
    pub fn is_char(&self) -> bool {
        self.encoding & INT_CHAR != 0
    }
    /// True for `bool`.
    pub fn is_bool(&self) -> bool {
        self.encoding & INT_BOOL != 0
    }
}

/// An array of `nelems` elements of `elem_type`, indexed by `index_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Array {
    /// The element type.
    pub elem_type: TypeId,
    /// The index type (an INT, usually `int` or `__ARRAY_SIZE_TYPE__`).
    pub index_type: TypeId,
    /// Number of elements (0 for flexible arrays).
    pub nelems: u32,
}

/// A struct or union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Composite<'a> {
    /// Size in bytes.
    pub size: u32,
    /// The `kind_flag`: member offsets carry a bitfield size in their top 8 bits.
    pub bitfield_encoding: bool,
    /// The members in declaration order.
    pub members: Members<'a>,
}

impl Composite<'_> {
    /// An owned copy.
    pub fn to_buf(&self) -> CompositeBuf {
        CompositeBuf {
            size: self.size,
            bitfield_encoding: self.bitfield_encoding,
            members: self.members.to_vec(),
        }
    }
}

/// A member of a struct or union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Name offset; 0 for anonymous members (embedded anonymous structs/unions).
    pub name_off: u32,
    /// The member's type.
    pub type_id: TypeId,
    /// Offset in bits from the start of the struct.
    pub bit_offset: u32,
    /// Bitfield width in bits; 0 when the member is not a bitfield or the struct does not use the
    /// `kind_flag` encoding (then a bitfield's width lives in its INT type).
    pub bitfield_size: u8,
}

/// Whether a forward declaration names a struct or a union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FwdKind {
    /// `struct name;`
    Struct,
    /// `union name;`
    Union,
}

/// An enum (ENUM or ENUM64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enum<'a> {
    /// Size in bytes (1, 2, 4 or 8).
    pub size: u32,
    /// The `kind_flag`: values are signed.
    pub signed: bool,
    /// The enumerators.
    pub values: EnumValues<'a>,
}

impl Enum<'_> {
    /// An owned copy.
    pub fn to_buf(&self) -> EnumBuf {
        EnumBuf {
            size: self.size,
            signed: self.signed,
            values: self.values.to_vec(),
        }
    }
}

/// One enumerator. `value` holds the raw bits: for 32-bit ENUM the low 32 bits are the encoded value
/// (sign-extended when the enum is signed, zero-extended otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue {
    /// Name offset.
    pub name_off: u32,
    /// The value's bits.
    pub value: u64,
}

impl EnumValue {
    /// The value as a signed 64-bit number.
    pub fn as_i64(&self) -> i64 {
        self.value as i64
    }
}

/// Function and variable linkage (`BTF_FUNC_STATIC`, `BTF_FUNC_GLOBAL`, `BTF_FUNC_EXTERN`; the same
/// numbers for `BTF_VAR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Linkage {
    /// Static (file-local).
    Static = 0,
    /// Global (visible outside).
    Global = 1,
    /// Extern (defined elsewhere).
    Extern = 2,
}

impl Linkage {
    /// The linkage with number `n`.
    pub fn from_u32(n: u32) -> Option<Linkage> {
        match n {
            0 => Some(Linkage::Static),
            1 => Some(Linkage::Global),
            2 => Some(Linkage::Extern),
            _ => None,
        }
    }

    /// `static`, `global` or `extern`, as bpftool prints it.
    pub fn name(self) -> &'static str {
        match self {
            Linkage::Static => "static",
            Linkage::Global => "global",
            Linkage::Extern => "extern",
        }
    }
}

/// A function: its prototype and linkage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Func {
    /// The FUNC_PROTO type.
    pub proto: TypeId,
    /// The linkage (encoded in `vlen`).
    pub linkage: Linkage,
}

/// A function prototype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncProto<'a> {
    /// The return type (0 = void).
    pub ret: TypeId,
    /// The parameters; a last parameter with type 0 and no name marks a variadic function.
    pub params: Params<'a>,
}

impl FuncProto<'_> {
    /// True when the last parameter is the `...` marker.
    pub fn is_variadic(&self) -> bool {
        self.params
            .last()
            .is_some_and(|p| p.type_id == 0 && p.name_off == 0)
    }
}

/// A function parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Name offset (0 when unnamed).
    pub name_off: u32,
    /// The parameter's type (0 for the variadic marker).
    pub type_id: TypeId,
}

/// A variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    /// The variable's type.
    pub type_id: TypeId,
    /// Its linkage.
    pub linkage: Linkage,
}

/// A data section and the variables it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datasec<'a> {
    /// Section size in bytes (0 in objects until the loader fixes it up).
    pub size: u32,
    /// Variables (VAR or FUNC for `.ksyms`) with their offsets and sizes.
    pub vars: VarSecInfos<'a>,
}

/// One entry of a DATASEC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecInfo {
    /// The VAR (or FUNC) type.
    pub type_id: TypeId,
    /// Offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// A declaration tag: `__attribute__((btf_decl_tag("...")))`; the type's name is the tag text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclTag {
    /// The tagged type (STRUCT, UNION, VAR, FUNC, TYPEDEF).
    pub target: TypeId,
    /// -1 for the type itself, else the member or parameter index.
    pub component_idx: i32,
    /// The `kind_flag`: the tag is a plain attribute rather than a `btf_decl_tag`.
    pub attr: bool,
}

/// A type tag: `__attribute__((btf_type_tag("...")))`; the type's name is the tag text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeTag {
    /// The tagged type.
    pub target: TypeId,
    /// The `kind_flag`: the tag is a plain attribute rather than a `btf_type_tag`.
    pub attr: bool,
}
