//! [`TypeStore`]: a BTF type table kept in its encoded form, as libbpf and cilium/ebpf keep it.
//!
//! The type section's words (native byte order) plus one word index per type id. A lookup decodes
//! the 3-word header and the kind's fixed data into a [`Type`] view; lists stay in the words. Edits
//! re-encode: in place when the new encoding has the same length, else appended at the end with the
//! type's index re-pointed (the old words become garbage, dropped by [`TypeStore::compact`]).
//!
//! Parsing validates every type's layout once, so decoding never fails; it still reads through
//! bounds-checked accessors only, so not even words written by hand could make it panic.

use super::types::*;

/// Words after the 3-word header: the kind's fixed data and the size of one list entry.
#[inline]
pub(crate) fn layout(kind: u32) -> (usize, usize) {
    match kind {
        1 | 14 | 17 => (1, 0), // INT, VAR, DECL_TAG
        3 => (3, 0),           // ARRAY
        4 | 5 | 15 | 19 => (0, 3),
        6 | 13 => (0, 2),
        _ => (0, 0),
    }
}

/// The encoded length in words of a type whose `info` word is `info`.
#[inline]
pub(crate) fn encoded_words(info: u32) -> usize {
    let (fixed, stride) = layout((info >> 24) & 0x1f);
    3 + fixed + stride * (info & 0xffff) as usize
}

/// Decodes the type at word `off` of `words`. Never fails: absent words read as 0 and an unknown
/// kind reads as `void` (parsing rejects both, so they only show up in hand-made words).
#[inline]
pub(crate) fn decode(words: &[u32], off: usize) -> Type<'_> {
    let Some(&[name_off, info, st]) = words.get(off..off + 3) else {
        return Type::VOID;
    };
    let rest = words.get(off + 3..).unwrap_or(&[]);
    let w = |i: usize| rest.get(i).copied().unwrap_or(0);
    let vlen = (info & 0xffff) as usize;
    let flag = info >> 31 != 0;
    let kind_n = (info >> 24) & 0x1f;
    let list = |stride: usize| rest.get(..stride * vlen).unwrap_or(&[]);
    let linkage = |n: u32| Linkage::from_u32(n).unwrap_or(Linkage::Static);
    let kind = match kind_n {
        1 => {
            let v = w(0);
            TypeKind::Int(Int {
                size: st,
                encoding: ((v >> 24) & 0xf) as u8,
                offset: ((v >> 16) & 0xff) as u8,
                bits: (v & 0xff) as u8,
            })
        }
        2 => TypeKind::Ptr(st),
        3 => TypeKind::Array(Array {
            elem_type: w(0),
            index_type: w(1),
            nelems: w(2),
        }),
        4 | 5 => {
            let c = Composite {
                size: st,
                bitfield_encoding: flag,
                members: List::new(list(3), 3, flag),
            };
            if kind_n == 4 {
                TypeKind::Struct(c)
            } else {
                TypeKind::Union(c)
            }
        }
        6 | 19 => {
            let stride = if kind_n == 6 { 2 } else { 3 };
            let e = Enum {
                size: st,
                signed: flag,
                values: List::new(list(stride), stride, flag),
            };
            if kind_n == 6 {
                TypeKind::Enum(e)
            } else {
                TypeKind::Enum64(e)
            }
        }
        7 => TypeKind::Fwd(if flag {
            FwdKind::Union
        } else {
            FwdKind::Struct
        }),
        8 => TypeKind::Typedef(st),
        9 => TypeKind::Volatile(st),
        10 => TypeKind::Const(st),
        11 => TypeKind::Restrict(st),
        12 => TypeKind::Func(Func {
            proto: st,
            linkage: linkage(vlen as u32),
        }),
        13 => TypeKind::FuncProto(FuncProto {
            ret: st,
            params: List::new(list(2), 2, false),
        }),
        14 => TypeKind::Var(Var {
            type_id: st,
            linkage: linkage(w(0)),
        }),
        15 => TypeKind::Datasec(Datasec {
            size: st,
            vars: List::new(list(3), 3, false),
        }),
        16 => TypeKind::Float(st),
        17 => TypeKind::DeclTag(DeclTag {
            target: st,
            component_idx: w(0) as i32,
            attr: flag,
        }),
        18 => TypeKind::TypeTag(TypeTag {
            target: st,
            attr: flag,
        }),
        _ => TypeKind::Void,
    };
    Type { name_off, kind }
}

/// Encoded types plus one word index per type.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypeStore {
    words: Vec<u32>,
    offs: Vec<u32>,
    /// Words no type points at any more (left behind by edits that changed a type's length).
    garbage: usize,
}

impl TypeStore {
    /// A store over already validated `words` whose types start at `offs`, in order and back to back.
    pub fn from_parts(words: Vec<u32>, offs: Vec<u32>) -> TypeStore {
        TypeStore {
            words,
            offs,
            garbage: 0,
        }
    }

    /// The words and the word index of each type.
    pub fn raw(&self) -> (&[u32], &[u32]) {
        (&self.words, &self.offs)
    }

    /// The kind of type `i` (header only, nothing else decoded).
    #[inline]
    pub fn kind(&self, i: usize) -> Option<Kind> {
        let off = *self.offs.get(i)? as usize;
        let info = self.words.get(off + 1).copied().unwrap_or(0);
        Kind::from_u32((info >> 24) & 0x1f)
    }

    /// The number of types.
    #[inline]
    pub fn len(&self) -> usize {
        self.offs.len()
    }

    /// Type `i` (0-based within this store).
    #[inline]
    pub fn get(&self, i: usize) -> Option<Type<'_>> {
        let off = *self.offs.get(i)? as usize;
        Some(decode(&self.words, off))
    }

    /// The encoded words of type `i`.
    pub fn words_of(&self, i: usize) -> &[u32] {
        let Some(&off) = self.offs.get(i) else {
            return &[];
        };
        let off = off as usize;
        let info = self.words.get(off + 1).copied().unwrap_or(0);
        let end = (off + encoded_words(info)).min(self.words.len());
        self.words.get(off..end).unwrap_or(&[])
    }

    /// Every type's view in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Type<'_>> + '_ {
        self.offs
            .iter()
            .map(move |&off| decode(&self.words, off as usize))
    }

    /// Appends `ty`; returns its index.
    pub fn push(&mut self, ty: &TypeBuf) -> usize {
        self.offs.push(self.words.len() as u32);
        ty.encode(&mut self.words);
        self.offs.len() - 1
    }

    /// Replaces type `i` with `ty`; false when `i` is out of range.
    pub fn set(&mut self, i: usize, ty: &TypeBuf) -> bool {
        let Some(&off) = self.offs.get(i) else {
            return false;
        };
        let old_len = self.words_of(i).len();
        let mut enc = Vec::with_capacity(old_len);
        ty.encode(&mut enc);
        let off = off as usize;
        match self.words.get_mut(off..off + enc.len()) {
            Some(dst) if enc.len() == old_len => dst.copy_from_slice(&enc),
            _ => {
                self.offs[i] = self.words.len() as u32;
                self.words.extend_from_slice(&enc);
                self.garbage += old_len;
                if self.garbage > self.words.len() / 2 {
                    self.compact();
                }
            }
        }
        true
    }

    /// Drops the garbage: lays the types out back to back in id order again.
    pub fn compact(&mut self) {
        if self.garbage == 0 {
            return;
        }
        let mut words = Vec::with_capacity(self.words.len() - self.garbage);
        let mut offs = Vec::with_capacity(self.offs.len());
        for i in 0..self.offs.len() {
            offs.push(words.len() as u32);
            words.extend_from_slice(self.words_of(i));
        }
        *self = TypeStore::from_parts(words, offs);
    }

    /// The whole type section, when it is laid out back to back in id order (no garbage).
    pub fn contiguous_words(&self) -> Option<&[u32]> {
        (self.garbage == 0).then_some(&self.words[..])
    }

    /// The encoded length of all types in bytes.
    pub fn encoded_len(&self) -> usize {
        (self.words.len() - self.garbage) * 4
    }

    /// Heap bytes held (for memory accounting in benches and tests).
    pub fn heap_bytes(&self) -> usize {
        (self.words.capacity() + self.offs.capacity()) * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(size: u32) -> TypeBuf {
        TypeBuf::new(
            0,
            TypeKindBuf::Int(Int {
                size,
                encoding: 0,
                offset: 0,
                bits: (size * 8) as u8,
            }),
        )
    }

    fn strukt(n: usize) -> TypeBuf {
        TypeBuf::new(
            0,
            TypeKindBuf::Struct(CompositeBuf {
                size: 4 * n as u32,
                bitfield_encoding: false,
                members: (0..n as u32)
                    .map(|i| Member {
                        name_off: 0,
                        type_id: 1,
                        bit_offset: 32 * i,
                        bitfield_size: 0,
                    })
                    .collect(),
            }),
        )
    }

    #[test]
    fn edits_in_place_and_by_append_then_compact() {
        let mut s = TypeStore::default();
        s.push(&int(4));
        s.push(&strukt(2));
        s.push(&int(8));
        let before = s.contiguous_words().unwrap().to_vec();
        // Same length: in place.
        s.set(0, &int(2));
        assert_eq!(s.contiguous_words().unwrap().len(), before.len());
        assert_eq!(s.get(0).unwrap().size(), Some(2));
        // Longer: appended, the old words become garbage until compacted.
        s.set(1, &strukt(5));
        assert!(s.contiguous_words().is_none());
        assert_eq!(s.get(1).unwrap().members().len(), 5);
        assert_eq!(s.encoded_len(), (4 + 18 + 4) * 4);
        let views: Vec<TypeBuf> = s.iter().map(|t| t.to_buf()).collect();
        s.compact();
        assert_eq!(s.contiguous_words().unwrap().len(), 4 + 18 + 4);
        let after: Vec<TypeBuf> = s.iter().map(|t| t.to_buf()).collect();
        assert_eq!(views, after);
        assert_eq!(after[1], strukt(5));
        assert!(!s.set(3, &int(1)));
    }

    #[test]
    fn decode_of_short_or_odd_words_does_not_panic() {
        // A STRUCT claiming 100 members in 4 words, an unknown kind, and nothing at all.
        let words = [0, 4 << 24 | 100, 8, 0];
        assert!(decode(&words, 0).members().is_empty());
        assert_eq!(decode(&[0, 31 << 24, 0], 0).btf_kind(), Kind::Void);
        assert_eq!(decode(&[], 5).btf_kind(), Kind::Void);
    }
}
