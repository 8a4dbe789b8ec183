//! Map definitions: BTF-defined maps from `.maps` and libbpf's internal maps (global data,
//! `.kconfig`), with libbpf's naming.

/// `BPF_OBJ_NAME_LEN`: kernel object names hold 15 characters and a NUL.
pub const OBJ_NAME_LEN: usize = 16;

/// `BPF_F_RDONLY_PROG`.
pub const F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_MMAPABLE`.
pub const F_MMAPABLE: u32 = 1 << 10;
/// `BPF_MAP_TYPE_ARRAY`.
pub const MAP_TYPE_ARRAY: u32 = 2;
/// `BPF_MAP_TYPE_PROG_ARRAY`.
pub const MAP_TYPE_PROG_ARRAY: u32 = 3;
/// `BPF_MAP_TYPE_ARRAY_OF_MAPS`.
pub const MAP_TYPE_ARRAY_OF_MAPS: u32 = 12;
/// `BPF_MAP_TYPE_HASH_OF_MAPS`.
pub const MAP_TYPE_HASH_OF_MAPS: u32 = 13;
/// `BPF_MAP_TYPE_RINGBUF`.
pub const MAP_TYPE_RINGBUF: u32 = 27;
/// `BPF_MAP_TYPE_USER_RINGBUF`.
pub const MAP_TYPE_USER_RINGBUF: u32 = 31;
/// `BPF_MAP_TYPE_ARENA`.
pub const MAP_TYPE_ARENA: u32 = 33;
/// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
pub const MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
/// `BPF_MAP_TYPE_STRUCT_OPS`.
pub const MAP_TYPE_STRUCT_OPS: u32 = 26;

/// Where a map comes from (libbpf's `enum libbpf_map_type`, plus user maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapKind {
    /// A map the user declared in `.maps`.
    User,
    /// `.data` / `.data.*` globals.
    Data,
    /// `.bss` / `.bss.*` globals.
    Bss,
    /// `.rodata` / `.rodata.*` constants (frozen after load).
    Rodata,
    /// `.kconfig` externs (frozen after load).
    Kconfig,
}

impl MapKind {
    /// Whether this is an internal (global data) map.
    pub fn is_internal(self) -> bool {
        self != MapKind::User
    }
}

/// How a map is pinned (`LIBBPF_PIN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pinning {
    /// Not pinned.
    #[default]
    None,
    /// Pinned under the pin root by its name; reused when already there.
    ByName,
}

/// One map, before it exists in the kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct MapSpec {
    /// Name as libbpf reports it (for internal maps: the kernel name, e.g. `minimal.rodata`).
    pub name: String,
    /// For internal maps, the ELF section name (`.rodata`); for user maps, the name.
    pub real_name: String,
    /// Origin.
    pub kind: MapKind,
    /// The ELF section it was defined in.
    pub sec_idx: Option<usize>,
    /// Offset of its definition within the section (user maps).
    pub sec_offset: u64,
    /// Index of its VAR in the `.maps` DATASEC (user maps).
    pub btf_var_idx: usize,
    /// `enum bpf_map_type`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum entries.
    pub max_entries: u32,
    /// `BPF_F_*` map flags.
    pub map_flags: u32,
    /// NUMA node (with `BPF_F_NUMA_NODE`).
    pub numa_node: u32,
    /// `map_extra` (bloom filter hashes, arena address).
    pub map_extra: u64,
    /// Pinning.
    pub pinning: Pinning,
    /// Pin path (set by `LIBBPF_PIN_BY_NAME` with a pin root, or by the user).
    pub pin_path: Option<std::path::PathBuf>,
    /// BTF id of the key type in the object's BTF (0 = none).
    pub btf_key_type_id: u32,
    /// BTF id of the value type in the object's BTF (0 = none).
    pub btf_value_type_id: u32,
    /// BTF id of the value type in vmlinux BTF (struct_ops).
    pub btf_vmlinux_value_type_id: u32,
    /// The inner map definition of a map-in-map.
    pub inner: Option<Box<MapSpec>>,
    /// Initial slots of a map-in-map (map names) or prog array (program names), by index.
    pub init_slots: Vec<Option<String>>,
    /// Initial contents of an internal map (`value_size` bytes).
    pub data: Vec<u8>,
    /// Whether `load()` creates it.
    pub autocreate: bool,
    /// For struct_ops maps: the struct and the programs its function pointers name.
    pub struct_ops: Option<super::struct_ops::StructOpsSpec>,
}

impl MapSpec {
    /// An empty user map named `name`.
    pub fn user(name: impl Into<String>) -> Self {
        let name = name.into();
        MapSpec {
            real_name: name.clone(),
            name,
            kind: MapKind::User,
            sec_idx: None,
            sec_offset: 0,
            btf_var_idx: 0,
            map_type: 0,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            map_flags: 0,
            numa_node: 0,
            map_extra: 0,
            pinning: Pinning::None,
            pin_path: None,
            btf_key_type_id: 0,
            btf_value_type_id: 0,
            btf_vmlinux_value_type_id: 0,
            inner: None,
            init_slots: Vec::new(),
            data: Vec::new(),
            autocreate: true,
            struct_ops: None,
        }
    }

    /// An internal map for global data section `real_name` of object `obj_name`, holding `data`
    /// (`None` for `.bss`, zero-filled), of `size` bytes (libbpf's `bpf_object__init_internal_map`
    /// without BTF: no `BPF_F_MMAPABLE` yet, see [`MapSpec::set_mmapable`]).
    pub fn internal(
        obj_name: &str,
        kind: MapKind,
        real_name: &str,
        sec_idx: Option<usize>,
        data: Option<&[u8]>,
        size: usize,
    ) -> Self {
        let mut m = MapSpec::user(internal_map_name(obj_name, real_name));
        m.real_name = real_name.to_string();
        m.kind = kind;
        m.sec_idx = sec_idx;
        m.map_type = MAP_TYPE_ARRAY;
        m.key_size = 4;
        m.value_size = size as u32;
        m.max_entries = 1;
        m.map_flags = if matches!(kind, MapKind::Rodata | MapKind::Kconfig) {
            F_RDONLY_PROG
        } else {
            0
        };
        m.data = match data {
            Some(d) => d.to_vec(),
            None => vec![0; size],
        };
        m.data.resize(size, 0);
        m
    }

    /// Adds `BPF_F_MMAPABLE` (libbpf does so when the DATASEC has a non-static variable).
    pub fn set_mmapable(&mut self) {
        self.map_flags |= F_MMAPABLE;
    }

    /// Whether this is a map-in-map type.
    pub fn is_map_in_map(&self) -> bool {
        matches!(
            self.map_type,
            MAP_TYPE_ARRAY_OF_MAPS | MAP_TYPE_HASH_OF_MAPS
        )
    }
}

/// libbpf's `internal_map_name`: the object name's prefix plus the section name, within 15
/// characters, the section name getting at least 7; `.data.foo`-style custom sections keep only
/// their own name; characters the kernel refuses become `_`.
pub fn internal_map_name(obj_name: &str, real_name: &str) -> String {
    let max = OBJ_NAME_LEN - 1;
    let sfx_len = real_name.len().max(7).min(max);
    let custom = real_name.get(1..).is_some_and(|r| r.contains('.'));
    let pfx_len = if custom {
        0
    } else {
        (max - sfx_len).min(obj_name.len())
    };
    let mut name: Vec<u8> = Vec::with_capacity(max);
    name.extend(obj_name.bytes().take(pfx_len));
    name.extend(real_name.bytes().take(sfx_len));
    name.truncate(max);
    name.iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
                b as char
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_names_like_libbpf() {
        assert_eq!(
            internal_map_name("my_object_name", ".rodata"),
            "my_objec.rodata"
        );
        assert_eq!(internal_map_name("my_object_name", ".bss"), "my_objec.bss");
        assert_eq!(
            internal_map_name("my_object_name", ".kconfig"),
            "my_obje.kconfig"
        );
        assert_eq!(internal_map_name("minimal", ".rodata"), "minimal.rodata");
        assert_eq!(internal_map_name("maps", ".data.custom"), ".data.custom");
        assert_eq!(
            internal_map_name("maps", ".rodata.abracadabra"),
            ".rodata.abracad"
        );
        assert_eq!(internal_map_name("a-b", ".bss"), "a_b.bss");
    }
}
