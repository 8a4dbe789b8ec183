//! The name → type ids index, built on first lookup.
//!
//! Layout: every named type's id, sorted by (hash of its name, name, id), with the hashes in a parallel
//! array. A lookup hashes the name, binary-searches the hash run and narrows it to the ids whose name is
//! equal, so the answer is a contiguous, id-ordered slice. Building it is one pass plus one sort of
//! 12-byte keys, which keeps vmlinux (126k types) in the low milliseconds.

use super::{Btf, Kind, TypeId};

#[derive(Debug, Clone, Default)]
pub(crate) struct NameIndex {
    hashes: Vec<u64>,
    ids: Vec<TypeId>,
}

/// A small, fast non-cryptographic hash of a name (FxHash-style mixing, 8 bytes at a time).
#[inline]
fn hash_name(name: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = name.len() as u64;
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    // Final avalanche so that the high bits (which dominate the sort order) depend on every byte.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// A `Hasher` using [`hash_name`]'s mixing, for internal maps keyed by names and ids.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = self.0.rotate_left(5) ^ hash_name(bytes);
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u8(&mut self, n: u8) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl NameIndex {
    pub(crate) fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 8 + self.ids.capacity() * 4
    }

    fn build(btf: &Btf) -> NameIndex {
        let mut keys: Vec<(u64, TypeId)> = Vec::with_capacity(btf.types.len());
        let (words, offs) = btf.types.raw();
        for (i, &off) in offs.iter().enumerate() {
            let name_off = words.get(off as usize).copied().unwrap_or(0);
            if name_off == 0 {
                continue;
            }
            if let Some(name) = btf.str_bytes(name_off) {
                keys.push((hash_name(name), btf.start_id + i as TypeId));
            }
        }
        keys.sort_unstable();
        // Within a run of equal hashes, order by name so equal names are adjacent (collisions are rare).
        let mut i = 0;
        while i < keys.len() {
            let mut j = i + 1;
            while j < keys.len() && keys[j].0 == keys[i].0 {
                j += 1;
            }
            if j - i > 1 {
                let name = |id: TypeId| btf.str_bytes(btf.name_off_of(id)?);
                let first = name(keys[i].1);
                if keys[i + 1..j].iter().any(|k| name(k.1) != first) {
                    keys[i..j].sort_by(|a, b| name(a.1).cmp(&name(b.1)).then(a.1.cmp(&b.1)));
                }
            }
            i = j;
        }
        let (hashes, ids) = keys.into_iter().unzip();
        NameIndex { hashes, ids }
    }

    fn lookup<'a>(&'a self, btf: &Btf, name: &str) -> &'a [TypeId] {
        let h = hash_name(name.as_bytes());
        let lo = self.hashes.partition_point(|&x| x < h);
        let hi = lo + self.hashes[lo..].partition_point(|&x| x == h);
        let run = &self.ids[lo..hi];
        let is = |id: &TypeId| {
            btf.name_off_of(*id).and_then(|o| btf.str_bytes(o)) == Some(name.as_bytes())
        };
        let Some(a) = run.iter().position(is) else {
            return &[];
        };
        let b = run[a..]
            .iter()
            .position(|id| !is(id))
            .map_or(run.len(), |n| a + n);
        &run[a..b]
    }
}

impl Btf {
    fn name_index(&self) -> &NameIndex {
        self.index.get_or_init(|| NameIndex::build(self))
    }

    /// Builds the name index now (it is otherwise built on the first lookup by name).
    pub fn build_index(&self) {
        self.name_index();
    }

    /// The ids of this BTF's own types named `name`, in id order. For split BTF the base's types are not
    /// included (search the base separately, as CO-RE does with vmlinux and module BTF).
    pub fn ids_by_name(&self, name: &str) -> &[TypeId] {
        if name.is_empty() {
            return &[];
        }
        self.name_index().lookup(self, name)
    }

    /// The first type named `name` of kind `kind`, searching the base first (libbpf's
    /// `btf__find_by_name_kind`). `name` "void" with kind `Void` gives id 0.
    pub fn find_by_name_kind(&self, name: &str, kind: Kind) -> Option<TypeId> {
        if kind == Kind::Void && name == "void" {
            return Some(0);
        }
        if let Some(b) = &self.base {
            if let Some(id) = b.find_by_name_kind(name, kind) {
                return Some(id);
            }
        }
        self.ids_by_name(name)
            .iter()
            .copied()
            .find(|&id| self.type_by_id(id).is_ok_and(|t| t.btf_kind() == kind))
    }

    /// The first type named `name` of any kind, searching the base first (libbpf's `btf__find_by_name`).
    pub fn find_by_name(&self, name: &str) -> Option<TypeId> {
        if name == "void" {
            return Some(0);
        }
        if let Some(b) = &self.base {
            if let Some(id) = b.find_by_name(name) {
                return Some(id);
            }
        }
        self.ids_by_name(name).first().copied()
    }
}
