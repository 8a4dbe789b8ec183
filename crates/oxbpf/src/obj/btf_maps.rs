//! BTF-defined maps (`SEC(".maps")`): `__uint`/`__type`/`__array` fields of each variable of the
//! `.maps` DATASEC, inner map definitions, and initial slots of map-in-map and prog-array maps from
//! `.rel.maps` (libbpf's `parse_btf_map_def`, `bpf_object__init_user_btf_map(s)` and
//! `bpf_object__collect_map_relos`).

use super::elf::{Elf, SecKind};
use super::maps::{self, MapSpec, Pinning};
use super::programs::ProgramSpec;
use crate::btf::{Btf, Kind, Linkage, Member, TypeId, TypeKind};
use crate::error::{Error, ErrorKind, Result};

/// `LIBBPF_PIN_BY_NAME`.
const PIN_BY_NAME: u32 = 1;

fn inval(map: &str, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("map '{map}': {msg}"))
}

fn kind_name(btf: &Btf, id: TypeId) -> &'static str {
    btf.type_by_id(id)
        .map(|t| t.btf_kind().name())
        .unwrap_or("unknown")
}

/// `__uint(name, N)`: a pointer to an array of N elements.
fn field_int(map: &str, btf: &Btf, m: &Member) -> Result<u32> {
    let name = btf.str_at(m.name_off).unwrap_or("?");
    let (_, t) = btf.skip_mods_and_typedefs(m.type_id)?;
    let TypeKind::Ptr(target) = t.kind else {
        return Err(inval(
            map,
            format!("attr '{name}': expected PTR, got {}.", t.btf_kind().name()),
        ));
    };
    let arr = btf
        .type_by_id(target)
        .map_err(|_| inval(map, format!("attr '{name}': type [{target}] not found.")))?;
    match arr.kind {
        TypeKind::Array(a) => Ok(a.nelems),
        _ => Err(inval(
            map,
            format!(
                "attr '{name}': expected ARRAY, got {}.",
                arr.btf_kind().name()
            ),
        )),
    }
}

/// `__ulong(name, N)`: either `__uint` or a one-value enum.
fn field_long(map: &str, btf: &Btf, m: &Member) -> Result<u64> {
    let name = btf.str_at(m.name_off).unwrap_or("?");
    let (_, t) = btf.skip_mods_and_typedefs(m.type_id)?;
    match &t.kind {
        TypeKind::Ptr(_) => field_int(map, btf, m).map(u64::from),
        TypeKind::Enum(e) | TypeKind::Enum64(e) => {
            if e.values.len() != 1 {
                return Err(inval(map, format!("attr '{name}': invalid __ulong")));
            }
            let v = e.values.first().map_or(0, |v| v.value);
            Ok(if t.btf_kind() == Kind::Enum {
                v & 0xffff_ffff
            } else {
                v
            })
        }
        _ => Err(inval(
            map,
            format!(
                "attr '{name}': expected ENUM or ENUM64, got {}.",
                t.btf_kind().name()
            ),
        )),
    }
}

/// A map definition as read from BTF.
#[derive(Debug, Clone, Default)]
struct Def {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    numa_node: u32,
    map_extra: u64,
    key_type_id: TypeId,
    value_type_id: TypeId,
    pinning: u32,
    inner: Option<Box<Def>>,
}

fn ptr_target_size(map: &str, btf: &Btf, what: &str, id: TypeId) -> Result<(TypeId, u32)> {
    let t = btf
        .type_by_id(id)
        .map_err(|_| inval(map, format!("{what} type [{id}] not found.")))?;
    let TypeKind::Ptr(target) = t.kind else {
        return Err(inval(
            map,
            format!("{what} spec is not PTR: {}.", t.btf_kind().name()),
        ));
    };
    let size = btf.resolve_size(target).map_err(|e| {
        inval(
            map,
            format!("can't determine {what} size for type [{target}]: {e}."),
        )
    })?;
    Ok((target, size))
}

fn set_size(map: &str, what: &str, slot: &mut u32, sz: u32) -> Result<()> {
    if *slot != 0 && *slot != sz {
        return Err(inval(
            map,
            format!("conflicting {what} size {} != {sz}.", *slot),
        ));
    }
    *slot = sz;
    Ok(())
}

fn parse_def(map: &str, btf: &Btf, def_id: TypeId, is_inner: bool) -> Result<Def> {
    let members = btf.type_by_id(def_id)?.members().to_vec();
    let mut d = Def::default();
    let n = members.len();
    for (i, m) in members.iter().enumerate() {
        let name = btf
            .str_at(m.name_off)
            .map_err(|_| inval(map, format!("invalid field #{i}.")))?;
        match name {
            "type" => d.map_type = field_int(map, btf, m)?,
            "max_entries" => d.max_entries = field_int(map, btf, m)?,
            "map_flags" => d.map_flags = field_int(map, btf, m)?,
            "numa_node" => d.numa_node = field_int(map, btf, m)?,
            "key_size" => {
                let sz = field_int(map, btf, m)?;
                set_size(map, "key", &mut d.key_size, sz)?;
            }
            "key" => {
                let (id, sz) = ptr_target_size(map, btf, "key", m.type_id)?;
                set_size(map, "key", &mut d.key_size, sz)?;
                d.key_type_id = id;
            }
            "value_size" => {
                let sz = field_int(map, btf, m)?;
                set_size(map, "value", &mut d.value_size, sz)?;
            }
            "value" => {
                let (id, sz) = ptr_target_size(map, btf, "value", m.type_id)?;
                set_size(map, "value", &mut d.value_size, sz)?;
                d.value_type_id = id;
            }
            "values" => {
                let in_map = matches!(
                    d.map_type,
                    maps::MAP_TYPE_ARRAY_OF_MAPS | maps::MAP_TYPE_HASH_OF_MAPS
                );
                let prog_array = d.map_type == maps::MAP_TYPE_PROG_ARRAY;
                let desc = if in_map {
                    "map-in-map inner"
                } else {
                    "prog-array value"
                };
                if is_inner {
                    return Err(Error::new(
                        ErrorKind::NotSupported,
                        format!("map '{map}': multi-level inner maps not supported."),
                    ));
                }
                if i != n - 1 {
                    return Err(inval(map, format!("'{name}' member should be last.")));
                }
                if !in_map && !prog_array {
                    return Err(Error::new(
                        ErrorKind::NotSupported,
                        format!("map '{map}': should be map-in-map or prog-array."),
                    ));
                }
                set_size(map, "value", &mut d.value_size, 4)?;
                let t = btf
                    .type_by_id(m.type_id)
                    .map_err(|_| inval(map, format!("{desc} type [{}] not found.", m.type_id)))?;
                let elem = match t.kind {
                    TypeKind::Array(a) if a.nelems == 0 => a.elem_type,
                    _ => {
                        return Err(inval(
                            map,
                            format!("{desc} spec is not a zero-sized array."),
                        ))
                    }
                };
                let (_, pt) = btf.skip_mods_and_typedefs(elem)?;
                let TypeKind::Ptr(target) = pt.kind else {
                    return Err(inval(
                        map,
                        format!("{desc} def is of unexpected kind {}.", pt.btf_kind().name()),
                    ));
                };
                let (inner_id, it) = btf.skip_mods_and_typedefs(target)?;
                if prog_array {
                    if it.btf_kind() != Kind::FuncProto {
                        return Err(inval(
                            map,
                            format!(
                                "prog-array value def is of unexpected kind {}.",
                                it.btf_kind().name()
                            ),
                        ));
                    }
                    continue;
                }
                if it.btf_kind() != Kind::Struct {
                    return Err(inval(
                        map,
                        format!(
                            "map-in-map inner def is of unexpected kind {}.",
                            it.btf_kind().name()
                        ),
                    ));
                }
                let inner = parse_def(&format!("{map}.inner"), btf, inner_id, true)?;
                d.inner = Some(Box::new(inner));
            }
            "pinning" => {
                if is_inner {
                    return Err(inval(map, "inner def can't be pinned."));
                }
                let v = field_int(map, btf, m)?;
                if v > PIN_BY_NAME {
                    return Err(inval(map, format!("invalid pinning value {v}.")));
                }
                d.pinning = v;
            }
            "map_extra" => d.map_extra = field_long(map, btf, m)?,
            other => {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    format!("map '{map}': unknown field '{other}'."),
                ));
            }
        }
    }
    if d.map_type == 0 {
        return Err(inval(map, "map type isn't specified."));
    }
    Ok(d)
}

/// libbpf's `adjust_ringbuf_sz`: round a ring buffer size up to a power-of-2 number of pages.
pub fn adjust_ringbuf_size(sz: u32, page_size: u32) -> u32 {
    if sz == 0 || page_size == 0 {
        return sz;
    }
    if sz % page_size == 0 && (sz / page_size).is_power_of_two() {
        return sz;
    }
    let mut mul: u32 = 1;
    while mul <= u32::MAX / page_size {
        if mul * page_size > sz {
            return mul * page_size;
        }
        mul = match mul.checked_mul(2) {
            Some(m) => m,
            None => break,
        };
    }
    sz
}

fn fill(spec: &mut MapSpec, d: &Def, page_size: u32) {
    spec.map_type = d.map_type;
    spec.key_size = d.key_size;
    spec.value_size = d.value_size;
    spec.max_entries = d.max_entries;
    spec.map_flags = d.map_flags;
    spec.map_extra = d.map_extra;
    spec.numa_node = d.numa_node;
    spec.btf_key_type_id = d.key_type_id;
    spec.btf_value_type_id = d.value_type_id;
    if matches!(
        d.map_type,
        maps::MAP_TYPE_RINGBUF | maps::MAP_TYPE_USER_RINGBUF
    ) {
        spec.max_entries = adjust_ringbuf_size(spec.max_entries, page_size);
    }
}

/// The id of the `.maps` DATASEC.
pub fn maps_datasec(btf: &Btf) -> Option<TypeId> {
    btf.types()
        .find(|(_, t)| {
            t.btf_kind() == Kind::Datasec && btf.type_name(*t).is_ok_and(|n| n == ".maps")
        })
        .map(|(id, _)| id)
}

/// Every map of the `.maps` section, in DATASEC order. `page_size` sizes ring buffers; `pin_root`
/// (default `/sys/fs/bpf`) gives `LIBBPF_PIN_BY_NAME` maps their pin path.
pub fn collect(
    elf: &Elf,
    btf: &Btf,
    page_size: u32,
    pin_root: Option<&std::path::Path>,
) -> Result<Vec<MapSpec>> {
    let Some(shndx) = elf.maps_shndx else {
        return Ok(Vec::new());
    };
    let sec_size = elf.sections.get(shndx).map_or(0, |s| s.data.len()) as u64;
    let sec_id = maps_datasec(btf).ok_or_else(|| Error::not_found("DATASEC '.maps' not found."))?;
    let TypeKind::Datasec(ds) = &btf.type_by_id(sec_id)?.kind else {
        return Err(not_datasec());
    };
    let mut out = Vec::new();
    for (var_idx, vi) in ds.vars.iter().enumerate() {
        let var = btf.type_by_id(vi.type_id)?;
        let name = btf.type_name(var).unwrap_or("");
        if name.is_empty() {
            return Err(Error::invalid(format!("map #{var_idx}: empty name.")));
        }
        if u64::from(vi.offset) + u64::from(vi.size) > sec_size {
            return Err(inval(name, "BTF data is corrupted."));
        }
        let TypeKind::Var(v) = var.kind else {
            return Err(inval(
                name,
                format!("unexpected var kind {}.", var.btf_kind().name()),
            ));
        };
        if v.linkage != Linkage::Global {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!(
                    "map '{name}': unsupported map linkage {}.",
                    v.linkage.name()
                ),
            ));
        }
        let (def_id, def) = btf.skip_mods_and_typedefs(v.type_id)?;
        if def.btf_kind() != Kind::Struct {
            return Err(inval(
                name,
                format!("unexpected def kind {}.", kind_name(btf, vi.type_id)),
            ));
        }
        if def.size().unwrap_or(0) > vi.size {
            return Err(inval(name, "invalid def size."));
        }
        let d = parse_def(name, btf, def_id, false)?;
        let mut spec = MapSpec::user(name);
        spec.sec_idx = Some(shndx);
        spec.sec_offset = u64::from(vi.offset);
        spec.btf_var_idx = var_idx;
        fill(&mut spec, &d, page_size);
        if d.pinning == PIN_BY_NAME {
            spec.pinning = Pinning::ByName;
            let root = pin_root.unwrap_or("/sys/fs/bpf".as_ref());
            spec.pin_path = Some(root.join(name));
        }
        if let Some(inner) = &d.inner {
            let mut im = MapSpec::user(format!("{name}.inner"));
            im.sec_idx = Some(shndx);
            fill(&mut im, inner, page_size);
            spec.inner = Some(Box::new(im));
        }
        crate::log::debug(format_args!(
            "map '{name}': at sec_idx {shndx}, offset {}.",
            vi.offset
        ));
        out.push(spec);
    }
    Ok(out)
}

fn not_datasec() -> Error {
    Error::malformed("'.maps' is not a DATASEC")
}

/// Records initial slots of map-in-map and prog-array maps from `.rel.maps`.
pub fn collect_map_relos(
    elf: &Elf,
    btf: &Btf,
    maps: &mut [MapSpec],
    progs: &[ProgramSpec],
) -> Result<()> {
    let Some(shndx) = elf.maps_shndx else {
        return Ok(());
    };
    let Some(rel_idx) = elf
        .sections
        .iter()
        .position(|s| s.kind == SecKind::Rel && s.info as usize == shndx)
    else {
        return Ok(());
    };
    let sec_id = maps_datasec(btf)
        .ok_or_else(|| Error::invalid("'.maps' has relocations but no DATASEC"))?;
    let TypeKind::Datasec(ds) = &btf.type_by_id(sec_id)?.kind else {
        return Err(not_datasec());
    };
    for (i, rel) in elf.rels(rel_idx)?.into_iter().enumerate() {
        let sym = elf.symbols.get(rel.sym as usize).ok_or_else(|| {
            Error::malformed(format!(".maps relo #{i}: symbol {:x} not found", rel.sym))
        })?;
        let name = if sym.name.is_empty() {
            "<?>"
        } else {
            sym.name.as_str()
        };
        let found = maps.iter().position(|m| {
            m.sec_idx == Some(shndx)
                && ds.vars.get(m.btf_var_idx).is_some_and(|vi| {
                    u64::from(vi.offset) <= rel.offset
                        && rel.offset + 8 <= u64::from(vi.offset) + u64::from(vi.size)
                })
        });
        let midx = found.ok_or_else(|| {
            Error::invalid(format!(
                ".maps relo #{i}: cannot find map '{name}' at rel->r_offset {}",
                rel.offset
            ))
        })?;
        let map = &maps[midx];
        let is_map_in_map = map.is_map_in_map();
        let is_prog_array = map.map_type == maps::MAP_TYPE_PROG_ARRAY;
        if is_map_in_map {
            if sym.shndx as usize != shndx {
                return Err(Error::malformed(format!(
                    ".maps relo #{i}: '{name}' isn't a BTF-defined map"
                )));
            }
            if map.map_type == maps::MAP_TYPE_HASH_OF_MAPS && map.key_size != 4 {
                return Err(Error::invalid(format!(
                    ".maps relo #{i}: hash-of-maps '{}' should have key size 4.",
                    map.name
                )));
            }
            if !maps.iter().any(|m| m.name == name) {
                return Err(Error::not_found(format!(
                    ".maps relo #{i}: '{name}' isn't a valid map reference"
                )));
            }
        } else if is_prog_array {
            let p = progs
                .iter()
                .find(|p| !p.is_subprog && p.name == name)
                .ok_or_else(|| {
                    Error::not_found(format!(
                        ".maps relo #{i}: '{name}' isn't a valid program reference"
                    ))
                })?;
            if p.sec_idx != sym.shndx as usize || (p.sec_insn_off * 8) as u64 != sym.value {
                return Err(Error::malformed(format!(
                    ".maps relo #{i}: '{name}' isn't an entry-point program"
                )));
            }
        } else {
            return Err(Error::invalid(format!(
                ".maps relo #{i}: map '{}' can't have initial values",
                map.name
            )));
        }
        let vi = ds
            .vars
            .get(map.btf_var_idx)
            .ok_or_else(|| Error::invalid(format!("map '{}': no DATASEC entry", map.name)))?;
        let var = btf.type_by_id(vi.type_id)?;
        let def_id = var.target().unwrap_or(0);
        let (_, def) = btf.skip_mods_and_typedefs(def_id)?;
        let last = def
            .members()
            .last()
            .ok_or_else(|| Error::invalid(format!("map '{}': empty definition", map.name)))?;
        if btf.str_at(last.name_off).unwrap_or("") != "values" {
            return Err(Error::invalid(format!(
                "map '{}': last member is not 'values'",
                map.name
            )));
        }
        let moff = u64::from(btf.member_bits(&last).0 / 8);
        let rel_off = rel.offset - u64::from(vi.offset);
        if rel_off < moff || (rel_off - moff) % 8 != 0 {
            return Err(Error::invalid(format!(
                ".maps relo #{i}: bad slot offset {rel_off} in map '{}'",
                map.name
            )));
        }
        let slot = ((rel_off - moff) / 8) as usize;
        let map = &mut maps[midx];
        if slot >= map.init_slots.len() {
            map.init_slots.resize(slot + 1, None);
        }
        map.init_slots[slot] = Some(name.to_string());
        crate::log::debug(format_args!(
            ".maps relo #{i}: map '{}' slot [{slot}] points to {} '{name}'",
            map.name,
            if is_map_in_map { "map" } else { "prog" }
        ));
    }
    Ok(())
}
