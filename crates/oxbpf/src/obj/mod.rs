//! ELF → [`ObjectSpec`]: programs by `SEC()`, maps, global data, externs, BTF. Pure: no syscalls.
//!
//! [`ObjectSpec::parse`] follows libbpf's `bpf_object_open`: collect ELF sections and programs,
//! externs, maps (BTF-defined, then global data, then `.kconfig`), the programs' `SEC()`
//! families, and finally the relocations of every code section.

pub mod btf_maps;
pub mod datasec;
pub mod elf;
pub mod externs;
pub mod maps;
pub mod programs;
pub mod relocs;
pub mod resize;
pub mod sections;
pub mod struct_ops;

use crate::btf::{Btf, BtfExt};
use crate::error::{Error, Result};
pub use externs::ExternSpec;
pub use maps::{MapKind, MapSpec};
pub use programs::ProgramSpec;
pub use sections::{SecDef, SecDefs, SecFlags};

/// Options for opening an object.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Overrides the object name (default: the file name up to its first `.`).
    pub object_name: Option<String>,
    /// Custom `SEC()` handlers.
    pub sec_defs: SecDefs,
    /// Root directory for maps pinned by name (`LIBBPF_PIN_BY_NAME`); default `/sys/fs/bpf`.
    pub pin_root_path: Option<std::path::PathBuf>,
    /// Page size used to round ring buffer sizes (default 4096).
    pub page_size: Option<u32>,
}

/// A parsed BPF object: everything `load()` needs, before any kernel object exists.
#[derive(Debug, Clone)]
pub struct ObjectSpec {
    /// Object name (at most 15 characters, as libbpf keeps it).
    pub name: String,
    /// `license` section contents (up to the first NUL, at most 63 bytes).
    pub license: String,
    /// `version` section value, when present.
    pub kern_version: Option<u32>,
    /// Entry programs and `.text` subprograms, sorted by (section, offset).
    pub programs: Vec<ProgramSpec>,
    /// Maps: BTF-defined ones, then global data, then `.kconfig`.
    pub maps: Vec<MapSpec>,
    /// Extern symbols, sorted like libbpf (`.kconfig` by alignment/size/name, then `.ksyms`).
    pub externs: Vec<ExternSpec>,
    /// The object's BTF, already adjusted as libbpf adjusts it at open (DATASEC sizes and
    /// offsets, extern sections); `None` when the object has none (or it is corrupt and unneeded).
    pub btf: Option<Btf>,
    /// The object's `.BTF.ext`, when present and valid.
    pub btf_ext: Option<BtfExt>,
    /// Index of the `.kconfig` map in `maps`.
    pub kconfig_map_idx: Option<usize>,
    /// Index of the arena map in `maps`.
    pub arena_map_idx: Option<usize>,
    /// Initial contents of `__arena` globals (`.addr_space.1`), placed at the end of the arena.
    pub arena_data: Option<Vec<u8>>,
    /// The ELF tables (sections, symbols), kept for later stages.
    pub elf: elf::Elf,
}

/// libbpf's object name for a path: the file name up to its first `.`, within 15 characters.
pub fn object_name_from_path(path: &std::path::Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = file.split('.').next().unwrap_or("");
    truncate_name(stem)
}

fn truncate_name(name: &str) -> String {
    let mut end = name.len().min(maps::OBJ_NAME_LEN - 1);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

impl ObjectSpec {
    /// Parses an object from its bytes. `name` is the object name (see [`object_name_from_path`]).
    pub fn parse(data: &[u8], name: &str, opts: &OpenOptions) -> Result<ObjectSpec> {
        Self::from_elf(elf::Elf::parse(data)?, name, opts)
    }

    /// As [`ObjectSpec::parse`], freeing `data` as soon as the ELF layer has copied what it keeps,
    /// before BTF is parsed: the peak memory of an open is then below glibc's trim threshold, so
    /// repeated opens do not grow and shrink the heap (and fault its pages in) every time.
    pub(crate) fn parse_owned(data: Vec<u8>, name: &str, opts: &OpenOptions) -> Result<ObjectSpec> {
        let elf = elf::Elf::parse(&data)?;
        drop(data);
        Self::from_elf(elf, name, opts)
    }

    fn from_elf(elf: elf::Elf, name: &str, opts: &OpenOptions) -> Result<ObjectSpec> {
        let name = truncate_name(opts.object_name.as_deref().unwrap_or(name));
        let mut license = String::new();
        let mut kern_version = None;
        let mut btf_data = None;
        let mut btf_ext_data = None;
        for sec in &elf.sections {
            match sec.kind {
                elf::SecKind::License => {
                    let end = sec
                        .data
                        .iter()
                        .position(|&b| b == 0)
                        .unwrap_or(sec.data.len())
                        .min(63);
                    license = String::from_utf8_lossy(&sec.data[..end]).into_owned();
                }
                elf::SecKind::Version => {
                    let bytes: [u8; 4] =
                        sec.data.as_slice().try_into().map_err(|_| {
                            Error::malformed(format!("invalid kver section in {name}"))
                        })?;
                    let v = u32::from_ne_bytes(bytes);
                    kern_version = Some(if elf.native_endian { v } else { v.swap_bytes() });
                }
                elf::SecKind::Btf => btf_data = Some(sec.data.as_slice()),
                elf::SecKind::BtfExt => btf_ext_data = Some(sec.data.as_slice()),
                _ => {}
            }
        }
        let mut programs = programs::collect(&elf, &opts.sec_defs)?;
        if elf.legacy_maps_shndx.is_some() {
            return Err(Error::new(
                crate::ErrorKind::NotSupported,
                "elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+",
            ));
        }

        let needs_btf = elf.maps_shndx.is_some()
            || elf
                .sections
                .iter()
                .any(|s| s.kind == elf::SecKind::StructOps)
            || elf
                .symbols
                .iter()
                .any(|s| s.is_extern() && !s.name.is_empty());
        let mut btf = match btf_data.map(Btf::parse) {
            Some(Ok(mut b)) => {
                b.set_pointer_size(8);
                Some(b)
            }
            Some(Err(e)) if needs_btf => {
                return Err(e.context("BTF is required, but is missing or corrupted"))
            }
            Some(Err(e)) => {
                crate::log::warn(format_args!("Error loading ELF section .BTF: {e}."));
                None
            }
            None if needs_btf => {
                return Err(Error::malformed(
                    "BTF is required, but is missing or corrupted.",
                ))
            }
            None => None,
        };
        let btf_ext = match (btf_ext_data, &btf) {
            (Some(data), Some(b)) => match BtfExt::parse(data, b) {
                Ok(x) => Some(x),
                Err(e) => {
                    crate::log::warn(format_args!(
                        "Error loading ELF section .BTF.ext: {e}. Ignored and continue."
                    ));
                    None
                }
            },
            _ => None,
        };

        let externs = externs::collect(&elf, btf.as_mut())?;
        if let Some(b) = btf.as_mut() {
            datasec::fixup_btf(&elf, b)?;
        }

        let page_size = opts.page_size.unwrap_or(4096);
        let mut maps = match &btf {
            Some(b) => btf_maps::collect(&elf, b, page_size, opts.pin_root_path.as_deref())?,
            None => Vec::new(),
        };
        let arenas: Vec<usize> = maps
            .iter()
            .enumerate()
            .filter(|(_, m)| m.map_type == maps::MAP_TYPE_ARENA)
            .map(|(i, _)| i)
            .collect();
        if let [first, second, ..] = arenas[..] {
            return Err(Error::invalid(format!(
                "map '{}': only single ARENA map is supported (map '{}' is also ARENA)",
                maps[second].name, maps[first].name
            )));
        }
        let arena_map_idx = arenas.first().copied();
        let arena_data = elf
            .arena_shndx
            .and_then(|i| elf.sections.get(i))
            .map(|s| s.data.clone());
        match (arena_map_idx, &arena_data) {
            (None, Some(_)) => {
                return Err(Error::not_found(
                    "elf: sec '.addr_space.1': to use global __arena variables the ARENA map should be explicitly declared in SEC(\".maps\")",
                ))
            }
            (Some(i), Some(d)) => {
                let page = u64::from(page_size);
                let mmap_sz = page * u64::from(maps[i].max_entries);
                let alloc = (d.len() as u64).div_ceil(page) * page;
                if alloc > mmap_sz {
                    return Err(Error::invalid(format!(
                        "elf: sec '.addr_space.1': declared ARENA map size ({mmap_sz}) is too small to hold global __arena variables of size {}",
                        d.len()
                    )));
                }
            }
            _ => {}
        }
        maps.extend(datasec::global_data_maps(&elf, &name)?);
        let kconfig_size = externs
            .iter()
            .rev()
            .find_map(|e| e.kcfg)
            .map(|k| k.data_off + k.size);
        let kconfig_map_idx = kconfig_size.map(|size| {
            maps.push(MapSpec::internal(
                &name,
                MapKind::Kconfig,
                ".kconfig",
                Some(elf.symtab_shndx),
                None,
                size as usize,
            ));
            maps.len() - 1
        });
        if let Some(b) = &btf {
            maps.extend(struct_ops::collect(&elf, b)?);
        }
        if let Some(b) = &btf {
            datasec::fill_btf_info(b, &mut maps);
        }

        let ctx = relocs::RelocCtx {
            elf: &elf,
            maps: &maps,
            externs: &externs,
            arena_map_idx,
        };
        relocs::collect(&ctx, &mut programs)?;
        if let Some(b) = &btf {
            btf_maps::collect_map_relos(&elf, b, &mut maps, &programs)?;
            struct_ops::collect_relos(&elf, b, &mut maps, &programs)?;
        }

        Ok(ObjectSpec {
            name,
            license,
            kern_version,
            programs,
            maps,
            externs,
            btf,
            btf_ext,
            kconfig_map_idx,
            arena_map_idx,
            arena_data,
            elf,
        })
    }

    /// Entry programs (not `.text` subprograms), in object order.
    pub fn entry_programs(&self) -> impl Iterator<Item = &ProgramSpec> {
        self.programs.iter().filter(|p| !p.is_subprog)
    }

    /// The entry program named `name`.
    pub fn program(&self, name: &str) -> Option<&ProgramSpec> {
        self.entry_programs().find(|p| p.name == name)
    }

    /// The map named `name`.
    pub fn map(&self, name: &str) -> Option<&MapSpec> {
        self.maps.iter().find(|m| m.name == name)
    }
}
