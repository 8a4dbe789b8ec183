//! BTF types → Rust `#[repr(C)]` definitions with the exact C layout.
//!
//! Every struct gets explicit `__pad_N: [u8; n]` fields where C has padding (so no byte is
//! uninitialised and the types can be `bytemuck::Pod`), bitfields become the bytes holding them plus
//! a typed getter and setter per named field (`bitfields.rs`), enums
//! become transparent newtypes over their integer with one associated constant per enumerator (so an
//! unknown value read from the kernel is still a valid value), pointers become `u64` (BPF pointers are
//! 8 bytes), `bool` becomes `u8`. Offsets that Rust's `repr(C)` cannot reproduce make the struct
//! `packed`. Each definition is followed by compile-time assertions of its size and field offsets.

use std::collections::{HashMap, HashSet};

use oxbpf::btf::{Btf, Composite, Endian, Enum, TypeId, TypeKind};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::bitfields::{self, BitValue, Bitfield};

/// Error text for the generator (it names the type and the rule).
pub type GenError = String;

/// A Rust identifier for `name`: keywords become raw identifiers (`r#type`), the few that cannot
/// be raw get a trailing `_`, other characters the language refuses become `_`.
pub fn ident(name: &str) -> Ident {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if matches!(s.as_str(), "self" | "Self" | "super" | "crate" | "_") {
        s.push('_');
    }
    if syn::parse_str::<Ident>(&s).is_ok() {
        Ident::new(&s, Span::call_site())
    } else {
        Ident::new_raw(&s, Span::call_site())
    }
}

/// One field of a generated struct: name, Rust type, byte offset, byte size, Rust alignment.
struct Field {
    name: Ident,
    ty: TokenStream,
    offset: usize,
    size: usize,
    align: usize,
}

/// A composite laid out: its fields (padding included), its Rust alignment (1 when packed), and the
/// named bitfields that get accessors.
struct Layout {
    fields: Vec<Field>,
    align: usize,
    packed: bool,
    bitfields: Vec<Bitfield>,
}

/// The Rust integer type of `size` bytes (4 for sizes without one, as C enums default to).
fn int_repr(size: u32, signed: bool) -> TokenStream {
    match (size, signed) {
        (1, true) => quote!(i8),
        (1, false) => quote!(u8),
        (2, true) => quote!(i16),
        (2, false) => quote!(u16),
        (8, true) => quote!(i64),
        (8, false) => quote!(u64),
        (_, true) => quote!(i32),
        (_, false) => quote!(u32),
    }
}

/// Generates Rust definitions for BTF types on demand (each type once, under a unique name).
pub struct TypeGen<'a> {
    btf: &'a Btf,
    names: HashMap<TypeId, String>,
    taken: HashSet<String>,
    queue: Vec<TypeId>,
    done: HashSet<TypeId>,
    items: Vec<TokenStream>,
    /// Rust alignment of generated composite types (1 when packed).
    aligns: HashMap<TypeId, usize>,
}

impl<'a> TypeGen<'a> {
    /// A generator over `btf`.
    pub fn new(btf: &'a Btf) -> TypeGen<'a> {
        TypeGen {
            btf,
            names: HashMap::new(),
            taken: HashSet::new(),
            queue: Vec::new(),
            done: HashSet::new(),
            items: Vec::new(),
            aligns: HashMap::new(),
        }
    }

    fn ty(&self, id: TypeId) -> Result<oxbpf::btf::Type<'a>, GenError> {
        self.btf
            .type_by_id(id)
            .map_err(|e| format!("BTF type [{id}]: {e}"))
    }

    fn btf_name(&self, id: TypeId) -> String {
        self.btf
            .type_by_id(id)
            .ok()
            .and_then(|t| self.btf.type_name(t).ok())
            .unwrap_or("")
            .to_string()
    }

    /// Strips typedefs and qualifiers; also returns the innermost typedef name seen (for naming
    /// anonymous structs declared as `typedef struct { ... } name;`).
    fn resolve(&self, mut id: TypeId) -> Result<(TypeId, Option<String>), GenError> {
        let mut typedef = None;
        for _ in 0..64 {
            let t = self.ty(id)?;
            match &t.kind {
                TypeKind::Typedef(next) => {
                    typedef = Some(self.btf_name(id));
                    id = *next;
                }
                TypeKind::Const(next)
                | TypeKind::Volatile(next)
                | TypeKind::Restrict(next)
                | TypeKind::TypeTag(oxbpf::btf::TypeTag { target: next, .. }) => id = *next,
                _ => return Ok((id, typedef)),
            }
        }
        Err(format!("BTF type [{id}]: typedef/modifier chain too deep"))
    }

    /// Reserves a unique Rust name for composite or enum type `id`.
    fn name_for(&mut self, id: TypeId, hint: Option<&str>) -> String {
        if let Some(n) = self.names.get(&id) {
            return n.clone();
        }
        let base = match self.btf_name(id) {
            n if !n.is_empty() => n,
            _ => hint.map_or_else(|| format!("__anon_{id}"), str::to_string),
        };
        let mut name = ident(&base)
            .to_string()
            .trim_start_matches("r#")
            .to_string();
        let mut n = 1;
        while self.taken.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        self.taken.insert(name.clone());
        self.names.insert(id, name.clone());
        self.queue.push(id);
        name
    }

    /// Whether `name` already names a generated type (or a reserved definition).
    pub fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    /// Reserves `name` for a definition made outside this generator (e.g. a DATASEC struct).
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_string());
    }

    /// The size in bytes of type `id`.
    pub fn size_of(&self, id: TypeId) -> Result<usize, GenError> {
        let (id, _) = self.resolve(id)?;
        let t = self.ty(id)?;
        Ok(match &t.kind {
            TypeKind::Void | TypeKind::FuncProto(_) | TypeKind::Func(_) | TypeKind::Fwd(_) => 0,
            TypeKind::Ptr(_) => 8,
            TypeKind::Array(a) => self.size_of(a.elem_type)? * a.nelems as usize,
            TypeKind::Var(v) => self.size_of(v.type_id)?,
            _ => t.size().unwrap_or(0) as usize,
        })
    }

    /// The Rust type of a value of BTF type `id` and its Rust alignment; composite and enum types
    /// are queued for definition. `hint` names an anonymous composite.
    pub fn type_ref(
        &mut self,
        id: TypeId,
        hint: Option<&str>,
    ) -> Result<(TokenStream, usize), GenError> {
        let (rid, typedef) = self.resolve(id)?;
        let t = self.ty(rid)?;
        Ok(match &t.kind {
            TypeKind::Void => (quote!(()), 1),
            TypeKind::Int(i) => {
                // `bool` and plain `char` read best as bytes (strings as `[u8; N]`).
                let bool_or_char =
                    i.is_bool() || i.is_char() || (i.size == 1 && self.btf_name(rid) == "char");
                let ty = match (i.size, i.is_signed() && !bool_or_char) {
                    (1, true) => quote!(i8),
                    (1, false) => quote!(u8),
                    (2, true) => quote!(i16),
                    (2, false) => quote!(u16),
                    (4, true) => quote!(i32),
                    (4, false) => quote!(u32),
                    (8, true) => quote!(i64),
                    (8, false) => quote!(u64),
                    (16, true) => quote!(i128),
                    (16, false) => quote!(u128),
                    (n, _) => {
                        let n = n as usize;
                        return Ok((quote!([u8; #n]), 1));
                    }
                };
                (ty, i.size as usize)
            }
            TypeKind::Float(4) => (quote!(f32), 4),
            TypeKind::Float(8) => (quote!(f64), 8),
            TypeKind::Float(n) => {
                let n = *n as usize;
                (quote!([u8; #n]), 1)
            }
            TypeKind::Ptr(_) => (quote!(u64), 8),
            TypeKind::Array(a) => {
                let (elem, align) = self.type_ref(a.elem_type, hint)?;
                let n = a.nelems as usize;
                (quote!([#elem; #n]), align)
            }
            TypeKind::Struct(_) | TypeKind::Union(_) | TypeKind::Enum(_) | TypeKind::Enum64(_) => {
                let hint = typedef.as_deref().or(hint);
                let name = format_ident!("{}", self.name_for(rid, hint));
                let align = self.align_of(rid)?;
                (quote!(#name), align)
            }
            TypeKind::Fwd(_) | TypeKind::FuncProto(_) | TypeKind::Func(_) => (quote!([u8; 0]), 1),
            other => {
                return Err(format!(
                    "BTF type [{rid}]: a {} cannot be a value",
                    other.kind().name()
                ))
            }
        })
    }

    /// The Rust alignment of the generated definition of composite or enum `id`.
    fn align_of(&mut self, id: TypeId) -> Result<usize, GenError> {
        if let Some(a) = self.aligns.get(&id) {
            return Ok(*a);
        }
        let t = self.ty(id)?;
        let a = match &t.kind {
            TypeKind::Enum(e) | TypeKind::Enum64(e) => e.size as usize,
            TypeKind::Struct(_) | TypeKind::Union(_) => {
                // Computed by laying the type out (without emitting it twice).
                self.layout(id)?.align
            }
            _ => 1,
        };
        self.aligns.insert(id, a);
        Ok(a)
    }

    /// Lays out composite `id`: its fields and its Rust alignment (1 when it must be packed).
    fn layout(&mut self, id: TypeId) -> Result<Layout, GenError> {
        let t = self.ty(id)?;
        let (c, is_union): (&Composite, bool) = match &t.kind {
            TypeKind::Struct(c) => (c, false),
            TypeKind::Union(c) => (c, true),
            _ => return Err(format!("BTF type [{id}]: not a struct or union")),
        };
        let owner = self.btf_name(id);
        let size = c.size as usize;
        let mut fields: Vec<Field> = Vec::new();
        let mut bitfields = Vec::new();
        let mut used = HashSet::new();
        let mut anon = 0;
        // Pending bitfield bytes [start, end).
        let mut bits: Option<(usize, usize)> = None;
        let mut cursor = 0usize;
        let flush_bits =
            |bits: &mut Option<(usize, usize)>, fields: &mut Vec<Field>, cursor: &mut usize| {
                if let Some((s, e)) = bits.take() {
                    let s = s.max(*cursor);
                    if e > s {
                        fields.push(Field {
                            name: format_ident!("__bitfield_{}", s),
                            ty: {
                                let n = e - s;
                                quote!([u8; #n])
                            },
                            offset: s,
                            size: e - s,
                            align: 1,
                        });
                        *cursor = e;
                    }
                }
            };
        for m in &c.members {
            let mname = self.btf.str_at(m.name_off).unwrap_or("").to_string();
            let (mrid, _) = self.resolve(m.type_id)?;
            let msize = self.size_of(m.type_id)?;
            let legacy_bits = match &self.ty(mrid)?.kind {
                TypeKind::Int(i) => (i.bits as usize != i.size as usize * 8) || i.offset != 0,
                _ => false,
            };
            let is_bitfield = m.bitfield_size != 0 || m.bit_offset % 8 != 0 || legacy_bits;
            if is_bitfield {
                // Both encodings: the width from the member (kind_flag) or from its INT type, whose
                // own offset adds to the member's (legacy).
                let (bit_off, width) = match self.btf.member_bits(&m) {
                    (off, 0) => (off, msize as u32 * 8),
                    bits => bits,
                };
                if !mname.is_empty() {
                    if let Some(value) = self.bit_value(m.type_id, width)? {
                        bitfields.push(Bitfield {
                            name: mname.clone(),
                            bit_offset: bit_off,
                            width,
                            value,
                        });
                    }
                }
                let width = width as usize;
                let start = bit_off as usize / 8;
                let end = (bit_off as usize + width).div_ceil(8).min(size);
                if is_union {
                    // A union's bitfield overlays its start; the raw bytes field covers it.
                    continue;
                }
                bits = Some(match bits {
                    Some((s, e)) => (s.min(start), e.max(end)),
                    None => (start, end),
                });
                continue;
            }
            let off = m.bit_offset as usize / 8;
            if !is_union {
                flush_bits(&mut bits, &mut fields, &mut cursor);
                if off < cursor {
                    return Err(format!(
                        "struct '{owner}' [{id}]: member '{mname}' at byte {off} overlaps the previous one (ends at {cursor})"
                    ));
                }
            }
            let fname = if mname.is_empty() {
                anon += 1;
                format!("__anon_{anon}")
            } else {
                mname.clone()
            };
            let hint = format!(
                "{}__{}",
                if owner.is_empty() {
                    format!("__anon_{id}")
                } else {
                    owner.clone()
                },
                fname.trim_start_matches('_')
            );
            let (ty, align) = self.type_ref(m.type_id, Some(&hint))?;
            let mut fid = ident(&fname);
            while !used.insert(fid.to_string()) {
                fid = format_ident!("{}_", fid.to_string().trim_start_matches("r#"));
            }
            fields.push(Field {
                name: fid,
                ty,
                offset: off,
                size: msize,
                align,
            });
            if !is_union {
                cursor = off + msize;
            }
        }
        if !is_union {
            flush_bits(&mut bits, &mut fields, &mut cursor);
        }
        // Padding: between fields and at the tail.
        let mut out = Vec::new();
        let mut at = 0usize;
        if is_union {
            out = fields;
            if out.iter().all(|f| f.size < size) || out.is_empty() {
                out.push(Field {
                    name: format_ident!("__raw"),
                    ty: quote!([u8; #size]),
                    offset: 0,
                    size,
                    align: 1,
                });
            }
        } else {
            for f in fields {
                if f.offset > at {
                    let n = f.offset - at;
                    out.push(Field {
                        name: format_ident!("__pad_{}", at),
                        ty: quote!([u8; #n]),
                        offset: at,
                        size: n,
                        align: 1,
                    });
                }
                at = f.offset + f.size;
                out.push(f);
            }
            if size > at {
                let n = size - at;
                out.push(Field {
                    name: format_ident!("__pad_{}", at),
                    ty: quote!([u8; #n]),
                    offset: at,
                    size: n,
                    align: 1,
                });
            }
        }
        let max_align = out.iter().map(|f| f.align).max().unwrap_or(1);
        let natural = out.iter().all(|f| f.offset % f.align == 0) && size % max_align == 0;
        let align = if natural { max_align } else { 1 };
        Ok(Layout {
            fields: out,
            align,
            packed: !natural,
            bitfields,
        })
    }

    /// What the accessors of a `width`-bit bitfield of type `id` take and return; `None` for types
    /// that get no accessor (wider than 64 bits, or neither integer nor enum).
    fn bit_value(&mut self, id: TypeId, width: u32) -> Result<Option<BitValue>, GenError> {
        if width == 0 || width > 64 {
            return Ok(None);
        }
        let (rid, _) = self.resolve(id)?;
        Ok(match &self.ty(rid)?.kind {
            TypeKind::Int(i) if i.size <= 8 => {
                if i.is_bool() {
                    Some(BitValue::Bool)
                } else {
                    let plain = i.is_char() || (i.size == 1 && self.btf_name(rid) == "char");
                    let signed = i.is_signed() && !plain;
                    Some(BitValue::Int {
                        ty: int_repr(i.size, signed),
                        signed,
                    })
                }
            }
            TypeKind::Enum(e) | TypeKind::Enum64(e) if e.size <= 8 => {
                let (size, signed) = (e.size, e.signed);
                let (ty, _) = self.type_ref(id, None)?;
                Some(BitValue::Enum {
                    ty,
                    repr: int_repr(size, signed),
                    signed,
                })
            }
            _ => None,
        })
    }

    fn emit_composite(&mut self, id: TypeId) -> Result<TokenStream, GenError> {
        let name = format_ident!("{}", self.names[&id]);
        let is_union = matches!(self.ty(id)?.kind, TypeKind::Union(_));
        let size = self.size_of(id)?;
        let Layout {
            fields,
            packed,
            bitfields,
            ..
        } = self.layout(id)?;
        let accessors = bitfields::accessors(&name, &bitfields, self.btf.endian() == Endian::Big);
        let repr = if packed {
            quote!(#[repr(C, packed)])
        } else {
            quote!(#[repr(C)])
        };
        let decls = fields.iter().map(|f| {
            let (n, t) = (&f.name, &f.ty);
            quote!(pub #n: #t,)
        });
        let doc = format!(
            "`{} {}` ({size} bytes).",
            if is_union { "union" } else { "struct" },
            self.btf_name(id)
        );
        let asserts = fields.iter().filter(|_| !is_union).map(|f| {
            let (n, o) = (&f.name, f.offset);
            quote!(assert!(::core::mem::offset_of!(#name, #n) == #o);)
        });
        let head = if is_union {
            quote! {
                #[doc = #doc]
                #[derive(Clone, Copy)]
                #repr
                pub union #name { #(#decls)* }
                impl ::core::fmt::Debug for #name {
                    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.debug_struct(stringify!(#name)).finish_non_exhaustive()
                    }
                }
            }
        } else {
            quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, Copy)]
                #repr
                pub struct #name { #(#decls)* }
            }
        };
        Ok(quote! {
            #head
            #accessors
            impl Default for #name {
                fn default() -> Self { ::oxbpf::skel::bytemuck::Zeroable::zeroed() }
            }
            // SAFETY: repr(C) with every byte in a field (padding is explicit), all fields plain
            // data; the size and offsets are asserted below.
            unsafe impl ::oxbpf::skel::bytemuck::Zeroable for #name {}
            // SAFETY: as above.
            unsafe impl ::oxbpf::skel::bytemuck::Pod for #name {}
            const _: () = {
                assert!(::core::mem::size_of::<#name>() == #size);
                #(#asserts)*
            };
        })
    }

    fn emit_enum(&mut self, id: TypeId, e: &Enum) -> TokenStream {
        let name = format_ident!("{}", self.names[&id]);
        let repr = int_repr(e.size, e.signed);
        let mut seen = HashSet::new();
        let mut consts = Vec::new();
        let mut arms = Vec::new();
        for v in &e.values {
            let vname = self.btf.str_at(v.name_off).unwrap_or("").to_string();
            let cid = ident(&vname);
            if !seen.insert(cid.to_string()) {
                continue;
            }
            let lit = match (e.size, e.signed) {
                (8, true) => proc_macro2::Literal::i64_unsuffixed(v.value as i64),
                (8, false) => proc_macro2::Literal::u64_unsuffixed(v.value),
                (_, true) => proc_macro2::Literal::i64_unsuffixed(v.value as u32 as i32 as i64),
                (_, false) => proc_macro2::Literal::u64_unsuffixed(v.value & 0xffff_ffff),
            };
            consts
                .push(quote!(#[allow(missing_docs)] pub const #cid: #name = #name(#lit as #repr);));
            arms.push(quote!(if *self == Self::#cid { return f.write_str(#vname); }));
        }
        let doc = format!(
            " `enum {}`: one constant per enumerator.",
            self.btf_name(id)
        );
        quote! {
            #[doc = #doc]
            #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
            #[repr(transparent)]
            pub struct #name(pub #repr);
            #[allow(non_upper_case_globals)]
            impl #name { #(#consts)* }
            impl ::core::fmt::Debug for #name {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    #(#arms)*
                    write!(f, "{}({})", stringify!(#name), self.0)
                }
            }
            // SAFETY: a transparent wrapper of an integer.
            unsafe impl ::oxbpf::skel::bytemuck::Zeroable for #name {}
            // SAFETY: as above.
            unsafe impl ::oxbpf::skel::bytemuck::Pod for #name {}
        }
    }

    /// A struct for a DATASEC named `rust_name`: its variables at their offsets, padded to `size`.
    pub fn datasec(
        &mut self,
        rust_name: &str,
        section: &str,
        vars: &[(String, TypeId, usize)],
        size: usize,
    ) -> Result<TokenStream, GenError> {
        let name = format_ident!("{}", rust_name);
        let mut fields = Vec::new();
        let mut at = 0usize;
        let mut used = HashSet::new();
        for (vname, tid, off) in vars {
            let off = *off;
            if off < at {
                return Err(format!(
                    "section '{section}': variable '{vname}' at {off} overlaps the previous one"
                ));
            }
            if off > at {
                let n = off - at;
                let p = format_ident!("__pad_{}", at);
                fields.push((p, quote!([u8; #n]), at, 1usize));
            }
            let (ty, align) = self.type_ref(*tid, Some(&format!("{rust_name}__{vname}")))?;
            let sz = self.size_of(*tid)?;
            let id = ident(vname);
            if !used.insert(id.to_string()) {
                continue;
            }
            fields.push((id, ty, off, align));
            at = off + sz;
        }
        // The section's size rounded up to the fields' alignment (at most 8, which the runtime's
        // buffers and mappings cover), with the tail padding explicit.
        let max_align = fields.iter().map(|f| f.3).max().unwrap_or(1).min(8);
        let size = size.next_multiple_of(max_align).max(at);
        if size > at {
            let n = size - at;
            let p = format_ident!("__pad_{}", at);
            fields.push((p, quote!([u8; #n]), at, 1));
        }
        let natural = fields.iter().all(|f| f.2 % f.3 == 0) && size % max_align == 0;
        let repr = if natural {
            quote!(#[repr(C)])
        } else {
            quote!(#[repr(C, packed)])
        };
        let decls = fields.iter().map(|(n, t, _, _)| quote!(pub #n: #t,));
        let asserts = fields
            .iter()
            .map(|(n, _, o, _)| quote!(assert!(::core::mem::offset_of!(#name, #n) == #o);));
        let doc = format!(" The variables of `{section}` at their offsets ({size} bytes).");
        Ok(quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, Copy)]
            #repr
            pub struct #name { #(#decls)* }
            // SAFETY: repr(C), padding explicit, plain-data fields; layout asserted below.
            unsafe impl ::oxbpf::skel::bytemuck::Zeroable for #name {}
            // SAFETY: as above.
            unsafe impl ::oxbpf::skel::bytemuck::Pod for #name {}
            const _: () = {
                assert!(::core::mem::size_of::<#name>() == #size);
                #(#asserts)*
            };
        })
    }

    /// Queues every struct, union and enum of the BTF that has a name, directly or through a typedef
    /// (`typedef struct { ... } event_t;` is generated as `event_t`), as libbpf-cargo does: the
    /// object's BTF is already trimmed by clang to the types its code mentions, and user space
    /// wants the same ones C sees. Types already named keep their names; the rest follow in id order.
    pub fn add_named_types(&mut self) -> Result<(), GenError> {
        let btf = self.btf;
        for (id, t) in btf.types() {
            let wanted = match &t.kind {
                TypeKind::Struct(_)
                | TypeKind::Union(_)
                | TypeKind::Enum(_)
                | TypeKind::Enum64(_) => !self.btf_name(id).is_empty(),
                TypeKind::Typedef(_) => {
                    let (rid, _) = self.resolve(id)?;
                    self.btf_name(rid).is_empty()
                        && matches!(
                            self.ty(rid)?.kind,
                            TypeKind::Struct(_)
                                | TypeKind::Union(_)
                                | TypeKind::Enum(_)
                                | TypeKind::Enum64(_)
                        )
                }
                _ => false,
            };
            if wanted {
                self.type_ref(id, None)?;
            }
        }
        Ok(())
    }

    /// Defines every queued type (and what they pull in); returns the definitions.
    pub fn finish(mut self) -> Result<Vec<TokenStream>, GenError> {
        while let Some(id) = self.queue.pop() {
            if !self.done.insert(id) {
                continue;
            }
            let t = self.ty(id)?;
            let item = match &t.kind {
                TypeKind::Enum(e) | TypeKind::Enum64(e) => self.emit_enum(id, e),
                _ => self.emit_composite(id)?,
            };
            self.items.push(item);
        }
        Ok(self.items)
    }

    /// The Rust name given to type `id`, if it was generated.
    pub fn name_of(&self, id: TypeId) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxbpf::btf::{Int, TypeBuf, TypeKindBuf, INT_BOOL, INT_SIGNED};

    /// The generated items for every struct of `btf` named in `names`, as one string without spaces.
    fn generated(btf: &Btf, names: &[&str]) -> String {
        let mut tg = TypeGen::new(btf);
        for n in names {
            let id = btf.find_by_name(n).unwrap();
            tg.type_ref(id, None).unwrap();
        }
        let items = tg.finish().unwrap();
        quote!(#(#items)*).to_string().replace(' ', "")
    }

    fn getter(name: &str, ty: &str, off: u32, width: u32, signed: bool, order: &str) -> String {
        format!(
            "pubfn{name}(&self)->{ty}{{::oxbpf::skel::bitfield::get(::oxbpf::skel::bytemuck::bytes_of(self),{off}u32,{width}u32,{signed},::oxbpf::skel::bitfield::Order::{order})"
        )
    }

    #[test]
    fn kind_flag_bitfields_get_typed_accessors() {
        let mut btf = Btf::new();
        let u32_ = btf.add_int("unsigned int", 4, 0).unwrap();
        let s32 = btf.add_int("int", 4, INT_SIGNED).unwrap();
        let b = btf.add_int("_Bool", 1, INT_BOOL).unwrap();
        let u64_ = btf.add_int("unsigned long long", 8, 0).unwrap();
        let e = btf.add_enum("mode", 4, true, &[("M_A", -1), ("M_B", 2)]);
        btf.add_struct(
            "kf",
            16,
            &[
                ("a", u32_, 0, 3),
                ("b", s32, 3, 5),
                ("", u32_, 8, 4), // unnamed padding bitfield: no accessor
                ("m", e, 12, 3),
                ("f", b, 15, 1),
                ("w", u64_, 30, 60),
            ],
        );
        let out = generated(&btf, &["kf"]);
        assert!(
            out.contains(&getter("a", "u32", 0, 3, false, "Little")),
            "{out}"
        );
        assert!(
            out.contains(&getter("b", "i32", 3, 5, true, "Little")),
            "{out}"
        );
        assert!(out.contains(
            "pubfnm(&self)->mode{mode(::oxbpf::skel::bitfield::get(::oxbpf::skel::bytemuck::bytes_of(self),12u32,3u32,true,"
        ));
        assert!(out.contains(&getter("f", "bool", 15, 1, false, "Little")));
        assert!(out.contains(&getter("w", "u64", 30, 60, false, "Little")));
        assert!(out.contains("pubfnset_b(&mutself,v:i32)"));
        assert!(out.contains("pubfnset_m(&mutself,v:mode)"));
        assert!(out.contains("v.0asu64"));
        // Opaque storage for bytes 0..12 (the last field ends at bit 90).
        assert!(out.contains("pub__bitfield_0:[u8;12usize]"), "{out}");
        assert_eq!(out.matches("pubfnset_").count(), 5);
    }

    #[test]
    fn legacy_encoding_takes_width_and_offset_from_the_int() {
        let mut btf = Btf::new();
        let name = btf.add_string("int");
        let int5 = btf.add_type(TypeBuf::new(
            name,
            TypeKindBuf::Int(Int {
                size: 4,
                encoding: INT_SIGNED,
                offset: 0,
                bits: 5,
            }),
        ));
        let name = btf.add_string("unsigned int");
        let int4_at2 = btf.add_type(TypeBuf::new(
            name,
            TypeKindBuf::Int(Int {
                size: 4,
                encoding: 0,
                offset: 2,
                bits: 4,
            }),
        ));
        let id = btf.add_struct("legacy", 4, &[("x", int5, 3, 0), ("y", int4_at2, 8, 0)]);
        assert!(!btf.composite(id).unwrap().bitfield_encoding);
        let out = generated(&btf, &["legacy"]);
        assert!(
            out.contains(&getter("x", "i32", 3, 5, true, "Little")),
            "{out}"
        );
        assert!(
            out.contains(&getter("y", "u32", 10, 4, false, "Little")),
            "{out}"
        );
    }

    #[test]
    fn big_endian_objects_number_bits_from_the_top() {
        let mut btf = Btf::new();
        btf.set_endian(Endian::Big);
        let u16_ = btf.add_int("unsigned short", 2, 0).unwrap();
        btf.add_struct("be", 2, &[("idx", u16_, 0, 12), ("scale", u16_, 12, 4)]);
        let out = generated(&btf, &["be"]);
        assert!(
            out.contains(&getter("idx", "u16", 0, 12, false, "Big")),
            "{out}"
        );
        assert!(out.contains(&getter("scale", "u16", 12, 4, false, "Big")));
    }

    #[test]
    fn union_bitfields_and_keyword_names() {
        let mut btf = Btf::new();
        let u8_ = btf.add_int("unsigned char", 1, 0).unwrap();
        let u32_ = btf.add_int("unsigned int", 4, 0).unwrap();
        btf.add_union("un", 4, &[("raw", u32_, 0, 0), ("type", u8_, 2, 3)]);
        let out = generated(&btf, &["un"]);
        assert!(
            out.contains(&getter("r#type", "u8", 2, 3, false, "Little")),
            "{out}"
        );
        assert!(out.contains("pubfnset_type(&mutself,v:u8)"));
    }
}
