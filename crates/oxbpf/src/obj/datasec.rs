//! Global data sections (`.data*`, `.rodata*`, `.bss*`) as libbpf's internal array maps.

use super::elf::{Elf, SecKind};
use super::maps::{MapKind, MapSpec};

/// One internal map per non-empty global data section, in section order (libbpf's
/// `bpf_object__init_global_data_maps`).
pub fn global_data_maps(elf: &Elf, obj_name: &str) -> Vec<MapSpec> {
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
    maps
}
