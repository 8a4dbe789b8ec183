//! Global data sections (`.data*`, `.rodata*`, `.bss*`) as libbpf's internal array maps.

use super::elf::{Elf, SecKind};
use super::maps::{MapKind, MapSpec};

/// The largest global data section accepted (a map value; the kernel's own limits are lower).
pub const MAX_DATA_SECTION: u64 = 1 << 30;

/// One internal map per non-empty global data section, in section order (libbpf's
/// `bpf_object__init_global_data_maps`).
pub fn global_data_maps(elf: &Elf, obj_name: &str) -> Result<Vec<MapSpec>> {
    let mut maps = Vec::new();
    for (idx, sec) in elf.sections.iter().enumerate() {
        let kind = match sec.kind {
            SecKind::Data => MapKind::Data,
            SecKind::Rodata => MapKind::Rodata,
            SecKind::Bss => MapKind::Bss,
            _ => continue,
        };
        if sec.size == 0 {
            continue;
        }
        if sec.size > MAX_DATA_SECTION {
            return Err(Error::malformed(format!(
                "section '{}' (#{idx}) is {} bytes, more than a global data map can hold",
                sec.name, sec.size
            )));
        }
        let data = (kind != MapKind::Bss).then_some(sec.data.as_slice());
        let map = MapSpec::internal(
            obj_name,
            kind,
            &sec.name,
            Some(idx),
            data,
            sec.size as usize,
        );
        crate::log::debug(format_args!(
            "map '{}' (global data): at sec_idx {idx}, offset 0, flags {:x}.",
            map.name, map.map_flags
        ));
        maps.push(map);
    }
    Ok(maps)
}

use crate::btf::{Btf, Kind, Linkage, TypeKind, TypeKindBuf};
use crate::error::{Error, Result};

/// libbpf's `btf_fixup_datasec` on every DATASEC: fill in the section size and variable offsets
/// clang leaves as zero (from the ELF), turn hidden globals static, and sort variables by offset.
/// `.kconfig` and `.ksyms` were laid out by extern collection and are only sorted.
pub fn fixup_btf(elf: &Elf, btf: &mut Btf) -> Result<()> {
    let ids: Vec<_> = btf.types_of_kind(Kind::Datasec).map(|(id, _)| id).collect();
    for id in ids {
        let sec_name = btf.name_of(id)?.to_string();
        let TypeKindBuf::Datasec(mut ds) = btf.type_by_id(id)?.to_buf().kind else {
            continue;
        };
        if sec_name != ".kconfig" && sec_name != ".ksyms" {
            let mut fixup_offsets = false;
            if ds.size == 0 {
                let size = elf
                    .sections
                    .iter()
                    .find(|s| s.name == sec_name)
                    .map_or(0, |s| s.size);
                if size == 0 {
                    return Err(Error::not_found(format!(
                        "sec '{sec_name}': failed to determine size from ELF"
                    )));
                }
                ds.size = size as u32;
                fixup_offsets = true;
            }
            for vs in ds.vars.iter_mut() {
                let var = btf.type_by_id(vs.type_id)?;
                let TypeKind::Var(v) = var.kind else {
                    return Err(Error::invalid(format!(
                        "sec '{sec_name}': unexpected non-VAR type found"
                    )));
                };
                if v.linkage == Linkage::Static || v.linkage == Linkage::Extern {
                    continue;
                }
                let var_name = btf.type_name(var)?.to_string();
                let sym = elf
                    .symbols
                    .iter()
                    .find(|s| {
                        s.typ == object::elf::STT_OBJECT
                            && (s.bind == object::elf::STB_GLOBAL
                                || s.bind == object::elf::STB_WEAK)
                            && s.name == var_name
                    })
                    .ok_or_else(|| {
                        Error::not_found(format!(
                            "sec '{sec_name}': failed to find ELF symbol for VAR '{var_name}'"
                        ))
                    })?;
                if fixup_offsets {
                    vs.offset = sym.value as u32;
                }
                if sym.visibility == object::elf::STV_HIDDEN
                    || sym.visibility == object::elf::STV_INTERNAL
                {
                    btf.update_type(vs.type_id, |t| {
                        if let TypeKindBuf::Var(v) = &mut t.kind {
                            v.linkage = Linkage::Static;
                        }
                    })?;
                }
            }
        }
        ds.vars.sort_by_key(|v| v.offset);
        btf.update_type(id, |t| t.kind = TypeKindBuf::Datasec(ds))?;
    }
    Ok(())
}

/// Gives internal maps their BTF value type (the DATASEC of the same name) and `BPF_F_MMAPABLE`
/// when the section has a non-static variable (libbpf's `map_fill_btf_type_info` and
/// `map_is_mmapable`). Sections without a DATASEC (e.g. `.rodata.str1.1`) keep no BTF.
pub fn fill_btf_info(btf: &Btf, maps: &mut [MapSpec]) {
    for m in maps.iter_mut().filter(|m| m.kind.is_internal()) {
        // A linear scan of DATASECs beats building the name index for a handful of lookups.
        let found = btf
            .types_of_kind(Kind::Datasec)
            .find(|(_, t)| btf.type_name(*t).ok() == Some(m.real_name.as_str()));
        let Some((id, _)) = found else { continue };
        m.btf_key_type_id = 0;
        m.btf_value_type_id = id;
        let mmapable = match btf.type_by_id(id).map(|t| t.kind) {
            Ok(TypeKind::Datasec(ds)) => ds.vars.iter().any(|v| {
                matches!(btf.type_by_id(v.type_id).map(|t| t.kind), Ok(TypeKind::Var(var)) if var.linkage != Linkage::Static)
            }),
            _ => false,
        };
        if mmapable {
            m.set_mmapable();
        }
    }
}
