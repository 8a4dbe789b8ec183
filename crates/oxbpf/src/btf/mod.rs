//! BTF: parse, index, write, sanitize and dump the BPF Type Format. Pure: no syscalls.
//!
//! [`Btf`] owns an editable type table and its string section. Types stay in their encoded form
//! (the type section's words plus one offset per id, as libbpf keeps them) and are read through
//! cheap `Copy` views: [`Type`], whose [`TypeKind`] is matchable per kind and whose lists
//! ([`Members`], [`EnumValues`], [`Params`], [`VarSecInfos`]) decode entry by entry. Edits take an
//! owned [`TypeBuf`] ([`Btf::add_type`], [`Btf::set_type`], [`Btf::update_type`]). It parses raw
//! bytes ([`Btf::parse`], [`Btf::parse_split`] for module BTF on a vmlinux base), answers by id
//! ([`Btf::type_by_id`]) and by name ([`Btf::ids_by_name`], [`Btf::find_by_name_kind`], backed by an
//! index built on first use), resolves sizes and alignments, and encodes back to bytes
//! ([`Btf::to_bytes`]). [`BtfExt`] parses `.BTF.ext` (func_info, line_info, CO-RE relocations).
//!
//! ```no_run
//! # fn main() -> oxbpf::Result<()> {
//! use oxbpf::btf::{Btf, Kind};
//! let bytes = std::fs::read("/sys/kernel/btf/vmlinux")?;
//! let btf = Btf::parse(&bytes)?;
//! let id = btf.find_by_name_kind("task_struct", Kind::Struct).expect("task_struct");
//! println!("task_struct is {} bytes", btf.resolve_size(id)?);
//! # Ok(()) }
//! ```

mod buf;
mod dump_c;
mod dump_raw;
mod ext;
mod index;
mod list;
mod parse;
mod resolve;
mod sanitize;
mod store;
mod strtab;
mod types;
mod write;

pub use dump_c::CDumper;
pub use ext::{BtfExt, CoreRelo, CoreReloKind, ExtSection, FuncInfo, LineInfo};
pub use parse::{BTF_HEADER_LEN, BTF_MAGIC, BTF_MAX_NAME_OFFSET, BTF_MAX_TYPE, BTF_VERSION};
pub use sanitize::BtfFeatures;
pub use types::*;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};
use index::NameIndex;
use store::TypeStore;
use strtab::StrTab;

/// Byte order of encoded BTF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Little endian (x86, arm64, ...).
    Little,
    /// Big endian (s390x, ...).
    Big,
}

impl Endian {
    /// The byte order of the machine running this code.
    pub const fn native() -> Endian {
        if cfg!(target_endian = "big") {
            Endian::Big
        } else {
            Endian::Little
        }
    }
}

/// A BTF type table with its strings; standalone, or split on a base (module BTF on vmlinux).
///
/// Type ids run from 0 (`void`) to [`len`](Btf::len)` - 1`; in split BTF the ids below
/// [`first_id`](Btf::first_id) belong to the base. Types are kept encoded, as in the type section,
/// and read through [`Type`] views ([`Btf::type_by_id`]). The table is editable ([`Btf::set_type`],
/// [`Btf::update_type`], [`Btf::add_type`], taking [`TypeBuf`]s) and encodes back to bytes with
/// [`Btf::to_bytes`].
#[derive(Debug, Clone)]
pub struct Btf {
    base: Option<Arc<Btf>>,
    /// Id of `types[0]`: 1 for standalone BTF, the base's `len()` for split BTF.
    start_id: TypeId,
    /// String offsets below this belong to the base.
    start_str_off: u32,
    types: TypeStore,
    strings: StrTab,
    endian: Endian,
    /// Header bytes past the 24 known ones (kept for byte-identical re-encoding).
    hdr_extra: Vec<u8>,
    index: OnceLock<NameIndex>,
    ptr_size: OnceLock<u32>,
    /// Lazily built string → offset map used when adding strings.
    str_dedup: Option<HashMap<Box<[u8]>, u32>>,
    /// Strings added by scanning the section, before [`Btf::str_dedup`] pays off.
    str_scans: u32,
}

// Base BTF is shared between threads (`Arc<Btf>`), so `Btf` must stay `Send + Sync`.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Btf>();
};

impl Default for Btf {
    fn default() -> Self {
        Btf::new()
    }
}

impl Btf {
    /// Empty standalone BTF (only `void`), native byte order.
    pub fn new() -> Btf {
        Btf::from_parts(
            None,
            TypeStore::default(),
            vec![0],
            Endian::native(),
            Vec::new(),
            1,
            0,
        )
    }

    /// Empty split BTF on top of `base`.
    pub fn new_split(base: Arc<Btf>) -> Btf {
        let (start_id, start_str_off) = (base.len() as TypeId, base.strings_end());
        Btf::from_parts(
            Some(base),
            TypeStore::default(),
            Vec::new(),
            Endian::native(),
            Vec::new(),
            start_id,
            start_str_off,
        )
    }

    pub(crate) fn from_parts(
        base: Option<Arc<Btf>>,
        types: TypeStore,
        strings: Vec<u8>,
        endian: Endian,
        hdr_extra: Vec<u8>,
        start_id: TypeId,
        start_str_off: u32,
    ) -> Btf {
        Btf {
            base,
            start_id,
            start_str_off,
            types,
            strings: StrTab::new(strings),
            endian,
            hdr_extra,
            index: OnceLock::new(),
            ptr_size: OnceLock::new(),
            str_dedup: None,
            str_scans: 0,
        }
    }

    /// The base BTF of split BTF.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    /// The byte order this BTF was parsed from (and is encoded in).
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// Sets the byte order used by [`Btf::to_bytes`].
    pub fn set_endian(&mut self, endian: Endian) {
        self.endian = endian;
    }

    /// One past the last type id, counting `void` and the base's types (libbpf's `btf__type_cnt`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.start_id as usize + self.types.len()
    }

    /// The first type id owned by this BTF (1, or the first id after the base's).
    pub fn first_id(&self) -> TypeId {
        self.start_id
    }

    /// The type with id `id` (id 0 is `void`; ids below [`first_id`](Btf::first_id) come from the base).
    #[inline]
    pub fn type_by_id(&self, id: TypeId) -> Result<Type<'_>> {
        if id >= self.start_id {
            let (words, offs) = self.types.raw();
            return match offs.get((id - self.start_id) as usize) {
                Some(&off) => Ok(store::decode(words, off as usize)),
                None => Err(Error::not_found(format!(
                    "BTF type id {id} out of range (last is {})",
                    self.len() - 1
                ))),
            };
        }
        match &self.base {
            Some(b) => b.type_by_id(id),
            None if id == 0 => Ok(Type::VOID),
            None => Err(Error::not_found(format!("BTF type id {id} out of range"))),
        }
    }

    /// The name offset of own type `id`, read from its header alone.
    pub(crate) fn name_off_of(&self, id: TypeId) -> Option<u32> {
        let (words, offs) = self.types.raw();
        let off = *offs.get(id.checked_sub(self.start_id)? as usize)?;
        words.get(off as usize).copied()
    }

    /// The index of own type `id` in the store, or an error naming the editable range.
    fn own_index(&self, id: TypeId) -> Result<usize> {
        if id >= self.start_id && ((id - self.start_id) as usize) < self.types.len() {
            return Ok((id - self.start_id) as usize);
        }
        Err(Error::not_found(format!(
            "BTF type id {id} not editable (own ids are {}..{})",
            self.start_id,
            self.len()
        )))
    }

    /// Replaces type `id`. Only this BTF's own types (not the base's) are editable.
    pub fn set_type(&mut self, id: TypeId, ty: TypeBuf) -> Result<()> {
        let i = self.own_index(id)?;
        self.index = OnceLock::new();
        self.types.set(i, &ty);
        Ok(())
    }

    /// Edits type `id` through an owned copy: `f` changes it, then it replaces the original
    /// (copy-on-write; a same-length edit is re-encoded in place). Returns what `f` returns.
    pub fn update_type<R>(&mut self, id: TypeId, f: impl FnOnce(&mut TypeBuf) -> R) -> Result<R> {
        let i = self.own_index(id)?;
        let mut t = self.type_by_id(id)?.to_buf();
        let r = f(&mut t);
        self.index = OnceLock::new();
        self.types.set(i, &t);
        Ok(r)
    }

    /// Appends a type and returns its id.
    pub fn add_type(&mut self, ty: TypeBuf) -> TypeId {
        self.index = OnceLock::new();
        self.types.push(&ty);
        (self.len() - 1) as TypeId
    }

    /// This BTF's own types with their ids, in id order (not `void`, not the base's).
    pub fn types(&self) -> impl ExactSizeIterator<Item = (TypeId, Type<'_>)> + '_ {
        let start = self.start_id;
        self.types
            .iter()
            .enumerate()
            .map(move |(i, t)| (start + i as TypeId, t))
    }

    /// This BTF's own types of kind `kind` with their ids, in id order; other kinds are skipped
    /// on their header alone, so this is the cheap way to scan for, e.g., every DATASEC.
    pub fn types_of_kind(&self, kind: Kind) -> impl Iterator<Item = (TypeId, Type<'_>)> + '_ {
        let start = self.start_id;
        (0..self.types.len())
            .filter(move |&i| self.types.kind(i) == Some(kind))
            .filter_map(move |i| Some((start + i as TypeId, self.types.get(i)?)))
    }

    /// Every type id with its type, base first, excluding `void`.
    pub fn all_types(&self) -> Box<dyn Iterator<Item = (TypeId, Type<'_>)> + '_> {
        match &self.base {
            Some(b) => Box::new(b.all_types().chain(self.types())),
            None => Box::new(self.types()),
        }
    }

    /// Heap bytes held by the type table, the strings and the name index (not the base's).
    pub fn heap_bytes(&self) -> usize {
        self.types.heap_bytes()
            + self.strings.len()
            + self.index.get().map_or(0, NameIndex::heap_bytes)
    }

    /// The string at offset `off` of the string section (base strings first in split BTF).
    pub fn str_at(&self, off: u32) -> Result<&str> {
        if off < self.start_str_off {
            if let Some(b) = &self.base {
                return b.str_at(off);
            }
        }
        match self.strings.str_at((off - self.start_str_off) as usize) {
            Some(Ok(s)) => Ok(s),
            Some(Err(())) => Err(Error::malformed(format!(
                "BTF string at offset {off} is not UTF-8"
            ))),
            None => Err(Error::malformed(format!(
                "BTF string offset {off} outside the string section or unterminated"
            ))),
        }
    }

    /// The raw bytes of the string at `off` without the NUL, or `None` when out of range.
    pub(crate) fn str_bytes(&self, off: u32) -> Option<&[u8]> {
        if off < self.start_str_off {
            return self.base.as_ref()?.str_bytes(off);
        }
        self.strings.bytes_at((off - self.start_str_off) as usize)
    }

    /// Renames the string at `off` in place to `new`, which has the same length. Every type using
    /// that offset sees the new text. Strings of the base are left alone.
    pub(crate) fn overwrite_str(&mut self, off: u32, new: &[u8]) {
        if off < self.start_str_off || self.str_bytes(off).map(<[u8]>::len) != Some(new.len()) {
            return;
        }
        self.strings
            .overwrite((off - self.start_str_off) as usize, new);
        self.str_dedup = None;
        self.index = OnceLock::new();
    }

    /// The name of type `id` ("" for anonymous types).
    pub fn name_of(&self, id: TypeId) -> Result<&str> {
        self.str_at(self.type_by_id(id)?.name_off)
    }

    /// The name of `ty` ("" for anonymous types).
    pub fn type_name(&self, ty: Type<'_>) -> Result<&str> {
        self.str_at(ty.name_off)
    }

    /// This BTF's own string section (without the base's).
    pub fn strings(&self) -> &[u8] {
        self.strings.bytes()
    }

    /// One past the last string offset, counting the base's strings.
    pub fn strings_end(&self) -> u32 {
        self.start_str_off + self.strings.len() as u32
    }

    /// The pointer size of the target: 4 or 8, from the size of `long` (8 when there is no `long`).
    pub fn pointer_size(&self) -> u32 {
        *self.ptr_size.get_or_init(|| {
            if let Some(b) = &self.base {
                return b.pointer_size();
            }
            const LONGS: [&[u8]; 11] = [
                b"long",
                b"long int",
                b"int long",
                b"unsigned long",
                b"long unsigned",
                b"unsigned long int",
                b"unsigned int long",
                b"long unsigned int",
                b"long int unsigned",
                b"int unsigned long",
                b"int long unsigned",
            ];
            for (_, t) in self.types() {
                if let TypeKind::Int(i) = t.kind {
                    if (i.size == 4 || i.size == 8)
                        && self
                            .str_bytes(t.name_off)
                            .is_some_and(|n| LONGS.contains(&n))
                    {
                        return i.size;
                    }
                }
            }
            8
        })
    }

    /// Overrides the pointer size used by size and alignment resolution.
    pub fn set_pointer_size(&mut self, size: u32) {
        self.ptr_size = OnceLock::from(size);
    }
}
