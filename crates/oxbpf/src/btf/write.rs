//! Building BTF programmatically and encoding it back to bytes.
//!
//! Encoding is the exact inverse of parsing: a parsed `Btf` re-encodes to the same bytes (header,
//! types, strings), as long as its sections were laid out the canonical way (types right after the
//! header, strings right after the types), which is what compilers and the kernel produce.

use std::collections::HashMap;

use super::parse::BTF_MAGIC;
use super::types::*;
use super::{Btf, Endian};
use crate::error::{Error, Result};

struct Out {
    buf: Vec<u8>,
    endian: Endian,
}

impl Out {
    #[inline]
    fn u32(&mut self, v: u32) {
        match self.endian {
            Endian::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
        }
    }
    fn words(&mut self, words: &[u32]) {
        match self.endian {
            Endian::Little => words
                .iter()
                .for_each(|w| self.buf.extend_from_slice(&w.to_le_bytes())),
            Endian::Big => words
                .iter()
                .for_each(|w| self.buf.extend_from_slice(&w.to_be_bytes())),
        }
    }
    fn u16(&mut self, v: u16) {
        match self.endian {
            Endian::Little => self.buf.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => self.buf.extend_from_slice(&v.to_be_bytes()),
        }
    }
}

/// How many strings [`Btf::add_string`] adds by scanning before it builds a dedup map.
const STR_SCANS_BEFORE_MAP: u32 = 16;

impl Btf {
    /// Encodes this BTF's own types and strings (not the base's) in its byte order
    /// ([`Btf::endian`]). Lists longer than BTF's 16-bit `vlen` (65535 members, enumerators,
    /// parameters or section variables) cannot be encoded: keep edited types within that limit.
    pub fn to_bytes(&self) -> Vec<u8> {
        let type_len = self.types.encoded_len();
        let hdr_len = 24 + self.hdr_extra.len();
        let mut o = Out {
            buf: Vec::with_capacity(hdr_len + type_len + self.strings.len()),
            endian: self.endian,
        };
        o.u16(BTF_MAGIC);
        o.buf.push(super::BTF_VERSION);
        o.buf.push(0);
        o.u32(hdr_len as u32);
        o.u32(0);
        o.u32(type_len as u32);
        o.u32(type_len as u32);
        o.u32(self.strings.len() as u32);
        o.buf.extend_from_slice(&self.hdr_extra);
        match self.types.contiguous_words() {
            Some(words) => o.words(words),
            None => (0..self.types.len()).for_each(|i| o.words(self.types.words_of(i))),
        }
        o.buf.extend_from_slice(self.strings.bytes());
        o.buf
    }

    /// Adds `s` to the string section (reusing an existing identical string) and returns its offset.
    /// The empty string is offset 0.
    pub fn add_string(&mut self, s: &str) -> u32 {
        if s.is_empty() && self.base.is_none() {
            return 0;
        }
        if let Some(b) = &self.base {
            if let Some(off) = b.find_string(s) {
                return off;
            }
        }
        let start = self.start_str_off;
        // A few strings (the `.ksyms` dummy variable, a renamed section) are cheaper found by one
        // scan of the section each than by hashing all of it; past that the map pays off.
        if self.str_dedup.is_none() && self.str_scans < STR_SCANS_BEFORE_MAP {
            self.str_scans += 1;
            if let Some(off) = self.own_string(s) {
                return off;
            }
            let off = start + self.strings.len() as u32;
            self.strings.push_str(s);
            return off;
        }
        let strings = self.strings.bytes();
        let dedup = self.str_dedup.get_or_insert_with(|| {
            let mut m = HashMap::new();
            let mut off = 0usize;
            for chunk in strings.split(|&b| b == 0) {
                m.entry(chunk.into()).or_insert(start + off as u32);
                off += chunk.len() + 1;
            }
            m
        });
        if let Some(&off) = dedup.get(s.as_bytes()) {
            return off;
        }
        let off = start + self.strings.len() as u32;
        self.strings.push_str(s);
        dedup.insert(s.as_bytes().into(), off);
        off
    }

    /// The offset of an existing string equal to `s` in this BTF or its base (slow path: a scan, or
    /// the dedup map when one is built).
    fn find_string(&self, s: &str) -> Option<u32> {
        if let Some(b) = &self.base {
            if let Some(off) = b.find_string(s) {
                return Some(off);
            }
        }
        if let Some(m) = &self.str_dedup {
            return m.get(s.as_bytes()).copied();
        }
        self.own_string(s)
    }

    /// The offset of the first string equal to `s` in this BTF's own section, by a scan.
    fn own_string(&self, s: &str) -> Option<u32> {
        let mut off = 0usize;
        for chunk in self.strings.bytes().split(|&b| b == 0) {
            if chunk == s.as_bytes() {
                return Some(self.start_str_off + off as u32);
            }
            off += chunk.len() + 1;
        }
        None
    }

    fn named(&mut self, name: &str, kind: TypeKindBuf) -> TypeId {
        let name_off = self.add_string(name);
        self.add_type(TypeBuf { name_off, kind })
    }

    /// Adds an INT of `size` bytes with `encoding` bits ([`INT_SIGNED`], [`INT_CHAR`], [`INT_BOOL`]).
    pub fn add_int(&mut self, name: &str, size: u32, encoding: u8) -> Result<TypeId> {
        if !matches!(size, 1 | 2 | 4 | 8 | 16) {
            return Err(Error::invalid(format!(
                "BTF INT '{name}': size {size} not 1, 2, 4, 8 or 16"
            )));
        }
        Ok(self.named(
            name,
            TypeKindBuf::Int(Int {
                size,
                encoding,
                offset: 0,
                bits: (size * 8) as u8,
            }),
        ))
    }

    /// Adds a FLOAT of `size` bytes.
    pub fn add_float(&mut self, name: &str, size: u32) -> TypeId {
        self.named(name, TypeKindBuf::Float(size))
    }

    /// Adds a pointer to `target`.
    pub fn add_ptr(&mut self, target: TypeId) -> TypeId {
        self.add_type(TypeBuf::new(0, TypeKindBuf::Ptr(target)))
    }

    /// Adds an array of `nelems` `elem_type`s indexed by `index_type`.
    pub fn add_array(&mut self, elem_type: TypeId, index_type: TypeId, nelems: u32) -> TypeId {
        self.add_type(TypeBuf::new(
            0,
            TypeKindBuf::Array(Array {
                elem_type,
                index_type,
                nelems,
            }),
        ))
    }

    /// Adds a struct of `size` bytes. Members are (name, type, bit offset, bitfield size); any nonzero
    /// bitfield size switches the struct to the `kind_flag` encoding.
    pub fn add_struct(
        &mut self,
        name: &str,
        size: u32,
        members: &[(&str, TypeId, u32, u8)],
    ) -> TypeId {
        let c = self.build_composite(size, members);
        self.named(name, TypeKindBuf::Struct(c))
    }

    /// Adds a union; see [`Btf::add_struct`].
    pub fn add_union(
        &mut self,
        name: &str,
        size: u32,
        members: &[(&str, TypeId, u32, u8)],
    ) -> TypeId {
        let c = self.build_composite(size, members);
        self.named(name, TypeKindBuf::Union(c))
    }

    fn build_composite(&mut self, size: u32, members: &[(&str, TypeId, u32, u8)]) -> CompositeBuf {
        let bitfield_encoding = members.iter().any(|m| m.3 != 0);
        let members = members
            .iter()
            .map(|&(n, t, off, bits)| Member {
                name_off: self.add_string(n),
                type_id: t,
                bit_offset: off,
                bitfield_size: bits,
            })
            .collect();
        CompositeBuf {
            size,
            bitfield_encoding,
            members,
        }
    }

    /// Adds an ENUM of `size` bytes (`signed` sets the kind_flag) with `values`.
    pub fn add_enum(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i64)],
    ) -> TypeId {
        let values = values
            .iter()
            .map(|&(n, v)| EnumValue {
                name_off: self.add_string(n),
                value: v as u64,
            })
            .collect();
        self.named(
            name,
            TypeKindBuf::Enum(EnumBuf {
                size,
                signed,
                values,
            }),
        )
    }

    /// Adds an ENUM64 of `size` bytes with `values`.
    pub fn add_enum64(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, u64)],
    ) -> TypeId {
        let values = values
            .iter()
            .map(|&(n, v)| EnumValue {
                name_off: self.add_string(n),
                value: v,
            })
            .collect();
        self.named(
            name,
            TypeKindBuf::Enum64(EnumBuf {
                size,
                signed,
                values,
            }),
        )
    }

    /// Adds a forward declaration of a struct or union.
    pub fn add_fwd(&mut self, name: &str, kind: FwdKind) -> TypeId {
        self.named(name, TypeKindBuf::Fwd(kind))
    }

    /// Adds a typedef.
    pub fn add_typedef(&mut self, name: &str, target: TypeId) -> TypeId {
        self.named(name, TypeKindBuf::Typedef(target))
    }

    /// Adds a `const` modifier.
    pub fn add_const(&mut self, target: TypeId) -> TypeId {
        self.add_type(TypeBuf::new(0, TypeKindBuf::Const(target)))
    }

    /// Adds a `volatile` modifier.
    pub fn add_volatile(&mut self, target: TypeId) -> TypeId {
        self.add_type(TypeBuf::new(0, TypeKindBuf::Volatile(target)))
    }

    /// Adds a `restrict` modifier.
    pub fn add_restrict(&mut self, target: TypeId) -> TypeId {
        self.add_type(TypeBuf::new(0, TypeKindBuf::Restrict(target)))
    }

    /// Adds a type tag named `tag` on `target`.
    pub fn add_type_tag(&mut self, tag: &str, target: TypeId) -> TypeId {
        self.named(
            tag,
            TypeKindBuf::TypeTag(TypeTag {
                target,
                attr: false,
            }),
        )
    }

    /// Adds a function prototype returning `ret` with `params` (name, type).
    pub fn add_func_proto(&mut self, ret: TypeId, params: &[(&str, TypeId)]) -> TypeId {
        let params = params
            .iter()
            .map(|&(n, t)| Param {
                name_off: self.add_string(n),
                type_id: t,
            })
            .collect();
        self.add_type(TypeBuf::new(
            0,
            TypeKindBuf::FuncProto(FuncProtoBuf { ret, params }),
        ))
    }

    /// Adds a function named `name` with prototype `proto`.
    pub fn add_func(&mut self, name: &str, proto: TypeId, linkage: Linkage) -> TypeId {
        self.named(name, TypeKindBuf::Func(Func { proto, linkage }))
    }

    /// Adds a variable.
    pub fn add_var(&mut self, name: &str, type_id: TypeId, linkage: Linkage) -> TypeId {
        self.named(name, TypeKindBuf::Var(Var { type_id, linkage }))
    }

    /// Adds a data section of `size` bytes with `vars`.
    pub fn add_datasec(&mut self, name: &str, size: u32, vars: Vec<VarSecInfo>) -> TypeId {
        self.named(name, TypeKindBuf::Datasec(DatasecBuf { size, vars }))
    }

    /// Adds a declaration tag named `tag` on `target` (component -1 = the type itself).
    pub fn add_decl_tag(&mut self, tag: &str, target: TypeId, component_idx: i32) -> TypeId {
        self.named(
            tag,
            TypeKindBuf::DeclTag(DeclTag {
                target,
                component_idx,
                attr: false,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_encode_parse_every_kind() {
        for endian in [Endian::Little, Endian::Big] {
            let mut b = Btf::new();
            b.set_endian(endian);
            let int = b.add_int("int", 4, INT_SIGNED).unwrap();
            let ptr = b.add_ptr(int);
            let arr = b.add_array(int, int, 4);
            let st = b.add_struct(
                "s",
                24,
                &[("a", int, 0, 0), ("b", ptr, 64, 0), ("c", arr, 128, 0)],
            );
            let un = b.add_union("u", 4, &[("x", int, 0, 3), ("y", int, 0, 5)]);
            let en = b.add_enum("e", 4, true, &[("A", -1), ("B", 2)]);
            let en64 = b.add_enum64("e64", 8, false, &[("C", 1 << 40)]);
            let fwd = b.add_fwd("f", FwdKind::Union);
            let td = b.add_typedef("t", st);
            let v = b.add_volatile(td);
            let c = b.add_const(v);
            let r = b.add_restrict(ptr);
            let proto = b.add_func_proto(int, &[("p", r), ("", 0)]);
            let func = b.add_func("fn", proto, Linkage::Global);
            let var = b.add_var("g", c, Linkage::Global);
            let ds = b.add_datasec(
                ".data",
                24,
                vec![VarSecInfo {
                    type_id: var,
                    offset: 0,
                    size: 24,
                }],
            );
            let fl = b.add_float("double", 8);
            let dt = b.add_decl_tag("tag", func, 0);
            let tt = b.add_type_tag("user", int);
            let bytes = b.to_bytes();
            let p = Btf::parse(&bytes).unwrap();
            assert_eq!(p.endian(), endian);
            assert_eq!(p.len(), b.len());
            for id in 1..p.len() as u32 {
                assert_eq!(
                    p.type_by_id(id).unwrap(),
                    b.type_by_id(id).unwrap(),
                    "type {id}"
                );
            }
            assert_eq!(p.to_bytes(), bytes);
            assert_eq!(p.find_by_name_kind("s", Kind::Struct), Some(st));
            assert_eq!(p.find_by_name_kind("u", Kind::Union), Some(un));
            assert_eq!(p.enum_values(en).unwrap(), vec![("A", -1), ("B", 2)]);
            assert_eq!(p.enum_values(en64).unwrap(), vec![("C", 1 << 40)]);
            assert_eq!(
                p.type_by_id(fwd).unwrap().kind,
                TypeKind::Fwd(FwdKind::Union)
            );
            assert_eq!(p.resolve_size(c).unwrap(), 24);
            assert_eq!(p.align_of(td).unwrap(), 8);
            assert!(p.func_proto(func).unwrap().is_variadic());
            assert_eq!(p.ids_by_name(".data"), &[ds]);
            assert_eq!(p.resolve_size(fl).unwrap(), 8);
            assert_eq!(p.name_of(dt).unwrap(), "tag");
            assert_eq!(p.name_of(tt).unwrap(), "user");
            let u = p.type_by_id(un).unwrap();
            assert_eq!(u.members().get(1).unwrap().bitfield_size, 5);
            assert_eq!(p.resolve_type(var).unwrap(), st);
        }
    }

    #[test]
    fn split_btf_builds_on_its_base() {
        let mut base = Btf::new();
        let int = base.add_int("int", 4, INT_SIGNED).unwrap();
        base.add_struct("base_s", 4, &[("x", int, 0, 0)]);
        let base = std::sync::Arc::new(Btf::parse(&base.to_bytes()).unwrap());

        let mut split = Btf::new_split(base.clone());
        assert_eq!(split.first_id() as usize, base.len());
        // "int" already exists in the base: reused, not added again.
        assert_eq!(
            split.add_string("int"),
            base.type_by_id(int).unwrap().name_off
        );
        let p = split.add_ptr(int);
        let s = split.add_struct("mod_s", 16, &[("x", int, 0, 0), ("p", p, 64, 0)]);
        assert_eq!(p as usize, base.len());
        let bytes = split.to_bytes();

        let parsed = Btf::parse_split(&bytes, base.clone()).unwrap();
        assert_eq!(parsed.to_bytes(), bytes);
        assert_eq!(parsed.find_by_name_kind("mod_s", Kind::Struct), Some(s));
        assert_eq!(parsed.find_by_name_kind("base_s", Kind::Struct), Some(2));
        assert_eq!(parsed.ids_by_name("base_s"), &[] as &[TypeId]);
        assert_eq!(parsed.resolve_size(s).unwrap(), 16);
        assert!(parsed
            .to_raw_listing()
            .unwrap()
            .starts_with(&format!("[{p}] PTR '(anon)' type_id={int}")));
        let c = parsed.to_c_header().unwrap();
        assert!(
            c.contains("struct base_s {") && c.contains("struct mod_s {\n\tint x;\n\tint *p;\n};"),
            "{c}"
        );
        // Split BTF without its base is rejected: its strings do not start with "".
        assert!(Btf::parse(&bytes).is_err());
    }
}
