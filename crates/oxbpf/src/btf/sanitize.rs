//! Downgrading BTF for kernels that lack newer kinds, as libbpf does before `BPF_BTF_LOAD`.
//!
//! Each unsupported kind is rewritten in place into an older kind of the same encoded size, so type
//! ids and every offset stay valid: VAR and DECL_TAG become a 1-byte INT, DATASEC a STRUCT,
//! FUNC_PROTO an ENUM, FUNC a TYPEDEF (or a static FUNC), FLOAT an empty STRUCT, TYPE_TAG a CONST,
//! ENUM64 a UNION of a placeholder INT, and signed ENUMs lose their sign flag. Sanitize a clone:
//! CO-RE and the loader still need the original.

use super::types::*;
use super::Btf;
use crate::error::Result;

/// Which BTF features the target kernel supports (the results of the BTF feature probes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfFeatures {
    /// FUNC and FUNC_PROTO (kernel 5.0).
    pub func: bool,
    /// FUNC with global linkage (5.6).
    pub func_global: bool,
    /// VAR and DATASEC (5.2).
    pub datasec: bool,
    /// DATASEC names starting with `?` (6.x).
    pub qmark_datasec: bool,
    /// FLOAT (5.13).
    pub float: bool,
    /// DECL_TAG (5.16).
    pub decl_tag: bool,
    /// TYPE_TAG (5.17).
    pub type_tag: bool,
    /// ENUM64 and signed enums (6.0).
    pub enum64: bool,
}

impl BtfFeatures {
    /// Every feature supported: sanitizing changes nothing.
    pub const ALL: BtfFeatures = BtfFeatures {
        func: true,
        func_global: true,
        datasec: true,
        qmark_datasec: true,
        float: true,
        decl_tag: true,
        type_tag: true,
        enum64: true,
    };

    /// No BTF feature beyond the basic kinds.
    pub const NONE: BtfFeatures = BtfFeatures {
        func: false,
        func_global: false,
        datasec: false,
        qmark_datasec: false,
        float: false,
        decl_tag: false,
        type_tag: false,
        enum64: false,
    };

    /// True when some feature is missing, so BTF must be sanitized before loading.
    pub fn needs_sanitization(&self) -> bool {
        *self != BtfFeatures::ALL
    }
}

impl Default for BtfFeatures {
    fn default() -> Self {
        BtfFeatures::ALL
    }
}

/// Replaces `.` and `?` (or only a leading `?`) in a DATASEC name with `_`, in the string table
/// itself, so every user of that string offset sees the new name (as libbpf does).
fn sanitize_name(btf: &mut Btf, off: u32, leading_only: bool) {
    let Some(old) = btf.str_bytes(off) else {
        return;
    };
    let new: Vec<u8> = old
        .iter()
        .enumerate()
        .map(|(i, &c)| match c {
            b'?' if i == 0 || !leading_only => b'_',
            b'.' if !leading_only => b'_',
            c => c,
        })
        .collect();
    if new != old {
        btf.overwrite_str(off, &new);
    }
}

impl Btf {
    /// Rewrites this BTF's own types so a kernel with only `features` accepts it (libbpf's
    /// `bpf_object__sanitize_btf`). Returns whether anything changed.
    pub fn sanitize(&mut self, features: &BtfFeatures) -> Result<bool> {
        if !features.needs_sanitization() {
            return Ok(false);
        }
        let f = features;
        let mut changed = false;
        let mut enum64_placeholder: Option<TypeId> = None;
        let mut id = self.first_id();
        while (id as usize) < self.len() {
            let t = self.type_by_id(id)?.to_buf();
            let new = match &t.kind {
                TypeKindBuf::Var(_) if !f.datasec => Some(placeholder_int(t.name_off)),
                TypeKindBuf::DeclTag(_) if !f.decl_tag => Some(placeholder_int(t.name_off)),
                TypeKindBuf::Datasec(d) if !f.datasec => {
                    sanitize_name(self, t.name_off, false);
                    let members = d
                        .vars
                        .iter()
                        .map(|v| Member {
                            name_off: self
                                .type_by_id(v.type_id)
                                .map(|vt| vt.name_off)
                                .unwrap_or(0),
                            type_id: v.type_id,
                            bit_offset: v.offset.wrapping_mul(8),
                            bitfield_size: 0,
                        })
                        .collect();
                    let c = CompositeBuf {
                        size: d.size,
                        bitfield_encoding: false,
                        members,
                    };
                    Some(TypeBuf::new(t.name_off, TypeKindBuf::Struct(c)))
                }
                TypeKindBuf::Datasec(_)
                    if !f.qmark_datasec
                        && self
                            .str_bytes(t.name_off)
                            .is_some_and(|n| n.starts_with(b"?")) =>
                {
                    sanitize_name(self, t.name_off, true);
                    changed = true;
                    None
                }
                TypeKindBuf::FuncProto(p) if !f.func => {
                    let values = p
                        .params
                        .iter()
                        .map(|prm| EnumValue {
                            name_off: prm.name_off,
                            value: prm.type_id as u64,
                        })
                        .collect();
                    Some(TypeBuf::new(
                        t.name_off,
                        TypeKindBuf::Enum(EnumBuf {
                            size: 4,
                            signed: false,
                            values,
                        }),
                    ))
                }
                TypeKindBuf::Func(func) if !f.func => {
                    Some(TypeBuf::new(t.name_off, TypeKindBuf::Typedef(func.proto)))
                }
                TypeKindBuf::Func(func) if !f.func_global && func.linkage != Linkage::Static => {
                    Some(TypeBuf::new(
                        t.name_off,
                        TypeKindBuf::Func(Func {
                            proto: func.proto,
                            linkage: Linkage::Static,
                        }),
                    ))
                }
                TypeKindBuf::Float(size) if !f.float => Some(TypeBuf::new(
                    0,
                    TypeKindBuf::Struct(CompositeBuf {
                        size: *size,
                        bitfield_encoding: false,
                        members: Vec::new(),
                    }),
                )),
                TypeKindBuf::TypeTag(tt) if !f.type_tag => {
                    Some(TypeBuf::new(0, TypeKindBuf::Const(tt.target)))
                }
                TypeKindBuf::Enum(e) if !f.enum64 && e.signed => {
                    let values = e
                        .values
                        .iter()
                        .map(|v| EnumValue {
                            value: v.value as u32 as u64,
                            ..*v
                        })
                        .collect();
                    Some(TypeBuf::new(
                        t.name_off,
                        TypeKindBuf::Enum(EnumBuf {
                            size: e.size,
                            signed: false,
                            values,
                        }),
                    ))
                }
                TypeKindBuf::Enum64(e) if !f.enum64 => {
                    let ph = match enum64_placeholder {
                        Some(ph) => ph,
                        None => {
                            let ph = self.add_int("enum64_placeholder", 1, 0)?;
                            enum64_placeholder = Some(ph);
                            ph
                        }
                    };
                    let members = e
                        .values
                        .iter()
                        .map(|v| Member {
                            name_off: v.name_off,
                            type_id: ph,
                            bit_offset: 0,
                            bitfield_size: 0,
                        })
                        .collect();
                    let c = CompositeBuf {
                        size: e.size,
                        bitfield_encoding: false,
                        members,
                    };
                    Some(TypeBuf::new(t.name_off, TypeKindBuf::Union(c)))
                }
                _ => None,
            };
            if let Some(new) = new {
                self.set_type(id, new)?;
                changed = true;
            }
            id += 1;
        }
        Ok(changed)
    }
}

/// The 1-byte INT that stands in for a VAR or DECL_TAG (4 would be too big for a 1-byte variable).
fn placeholder_int(name_off: u32) -> TypeBuf {
    TypeBuf::new(
        name_off,
        TypeKindBuf::Int(Int {
            size: 1,
            encoding: 0,
            offset: 0,
            bits: 8,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BTF with one of every kind that sanitization touches.
    fn sample() -> Btf {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, INT_SIGNED).unwrap(); // 1
        let proto = b.add_func_proto(int, &[("a", int), ("b", int)]); // 2
        let func = b.add_func("f", proto, Linkage::Global); // 3
        let var = b.add_var("v", int, Linkage::Global); // 4
        b.add_datasec(
            ".data.x",
            8,
            vec![VarSecInfo {
                type_id: var,
                offset: 4,
                size: 4,
            }],
        ); // 5
        b.add_float("double", 8); // 6
        b.add_decl_tag("tag", func, -1); // 7
        b.add_type_tag("user", int); // 8
        b.add_enum("se", 4, true, &[("NEG", -1)]); // 9
        b.add_enum64("e64", 8, false, &[("BIG", 1 << 40), ("SMALL", 1)]); // 10
        b.add_datasec("?.struct_ops", 0, vec![]); // 11
        b
    }

    fn lens(b: &Btf) -> Vec<usize> {
        (0..b.types.len())
            .map(|i| b.types.words_of(i).len())
            .collect()
    }

    fn sanitized(f: BtfFeatures) -> (Btf, Btf) {
        let orig = sample();
        let mut s = orig.clone();
        assert_eq!(s.sanitize(&f).unwrap(), f.needs_sanitization());
        // Every rewrite keeps the encoded size of the type it replaces, so offsets stay valid.
        assert_eq!(lens(&orig), lens(&s)[..orig.types().len()]);
        // And the result still encodes and parses.
        let reparsed = Btf::parse(&s.to_bytes()).unwrap();
        assert_eq!(reparsed.len(), s.len());
        (orig, s)
    }

    fn without(change: impl Fn(&mut BtfFeatures)) -> BtfFeatures {
        let mut f = BtfFeatures::ALL;
        change(&mut f);
        f
    }

    #[test]
    fn all_features_change_nothing() {
        let (orig, s) = sanitized(BtfFeatures::ALL);
        assert_eq!(orig.to_bytes(), s.to_bytes());
    }

    #[test]
    fn no_datasec_turns_vars_into_ints_and_sections_into_structs() {
        let (_, s) = sanitized(without(|f| f.datasec = false));
        assert_eq!(
            s.type_by_id(4).unwrap().kind,
            TypeKind::Int(Int {
                size: 1,
                encoding: 0,
                offset: 0,
                bits: 8
            })
        );
        assert_eq!(s.name_of(4).unwrap(), "v");
        let t = s.type_by_id(5).unwrap();
        assert_eq!(s.type_name(t).unwrap(), "_data_x");
        let TypeKind::Struct(c) = &t.kind else {
            panic!("{t:?}")
        };
        assert_eq!((c.size, c.members.len()), (8, 1));
        assert_eq!(
            c.members.get(0).unwrap(),
            Member {
                name_off: s.type_by_id(4).unwrap().name_off,
                type_id: 4,
                bit_offset: 32,
                bitfield_size: 0
            }
        );
        // The `?` section is renamed by the DATASEC rule too.
        assert_eq!(s.name_of(11).unwrap(), "__struct_ops");
    }

    #[test]
    fn no_qmark_datasec_renames_only_the_leading_question_mark() {
        let (_, s) = sanitized(without(|f| f.qmark_datasec = false));
        assert_eq!(s.name_of(11).unwrap(), "_.struct_ops");
        assert!(matches!(
            s.type_by_id(11).unwrap().kind,
            TypeKind::Datasec(_)
        ));
        assert_eq!(s.name_of(5).unwrap(), ".data.x");
    }

    #[test]
    fn no_func_turns_protos_into_enums_and_funcs_into_typedefs() {
        let (_, s) = sanitized(without(|f| f.func = false));
        let TypeKind::Enum(e) = &s.type_by_id(2).unwrap().kind else {
            panic!()
        };
        assert_eq!(
            (e.size, e.values.len(), e.values.get(0).unwrap().value),
            (4, 2, 1)
        );
        assert_eq!(s.type_by_id(3).unwrap().kind, TypeKind::Typedef(2));
        assert_eq!(s.name_of(3).unwrap(), "f");
    }

    #[test]
    fn no_global_func_makes_funcs_static() {
        let (_, s) = sanitized(without(|f| f.func_global = false));
        assert_eq!(
            s.type_by_id(3).unwrap().kind,
            TypeKind::Func(Func {
                proto: 2,
                linkage: Linkage::Static
            })
        );
        assert!(matches!(
            s.type_by_id(2).unwrap().kind,
            TypeKind::FuncProto(_)
        ));
    }

    #[test]
    fn no_float_makes_anonymous_empty_structs() {
        let (_, s) = sanitized(without(|f| f.float = false));
        let t = s.type_by_id(6).unwrap();
        assert_eq!(t.name_off, 0);
        assert_eq!(
            t.to_buf().kind,
            TypeKindBuf::Struct(CompositeBuf {
                size: 8,
                bitfield_encoding: false,
                members: vec![]
            })
        );
    }

    #[test]
    fn no_decl_tag_makes_ints() {
        let (_, s) = sanitized(without(|f| f.decl_tag = false));
        assert!(matches!(
            s.type_by_id(7).unwrap().kind,
            TypeKind::Int(Int {
                size: 1,
                bits: 8,
                ..
            })
        ));
        assert_eq!(s.name_of(7).unwrap(), "tag");
    }

    #[test]
    fn no_type_tag_makes_anonymous_consts() {
        let (_, s) = sanitized(without(|f| f.type_tag = false));
        assert_eq!(s.type_by_id(8).unwrap().kind, TypeKind::Const(1));
    }

    #[test]
    fn no_enum64_unsigns_enums_and_makes_unions_of_a_placeholder() {
        let (orig, s) = sanitized(without(|f| f.enum64 = false));
        let TypeKind::Enum(e) = &s.type_by_id(9).unwrap().kind else {
            panic!()
        };
        assert!(!e.signed);
        assert_eq!(e.values.get(0).unwrap().value, 0xffff_ffff);
        let ph = orig.len() as TypeId;
        assert_eq!(s.len(), orig.len() + 1);
        assert_eq!(s.name_of(ph).unwrap(), "enum64_placeholder");
        let TypeKind::Union(c) = &s.type_by_id(10).unwrap().kind else {
            panic!()
        };
        assert_eq!(c.size, 8);
        assert!(c
            .members
            .iter()
            .all(|m| m.type_id == ph && m.bit_offset == 0));
        assert_eq!(s.name_of(10).unwrap(), "e64");
    }
}
