//! `struct_ops` maps: each variable of a `.struct_ops` / `.struct_ops.link` section (a `?` prefix
//! means no autocreate) becomes a `BPF_MAP_TYPE_STRUCT_OPS` map whose function-pointer members
//! name programs (from `.rel.struct_ops*`); at load its value is laid out in the kernel's
//! `struct bpf_struct_ops_<name>` (libbpf's `init_struct_ops_maps`,
//! `bpf_object__collect_st_ops_relos` and `bpf_map__init_kern_struct_ops`).

use super::elf::{Elf, SecKind};
use super::externs::essential_name;
use super::maps::MapSpec;
use super::programs::{find_by_sec_insn, ProgramSpec};
use crate::btf::{Btf, Kind, TypeId, TypeKind};
use crate::error::{Error, ErrorKind, Result};

/// `BPF_MAP_TYPE_STRUCT_OPS`.
pub const MAP_TYPE_STRUCT_OPS: u32 = 26;
/// `BPF_F_LINK`: the struct_ops map is attached through a link.
pub const F_LINK: u32 = 1 << 13;
/// `BPF_PROG_TYPE_STRUCT_OPS`.
const PROG_TYPE_STRUCT_OPS: u32 = 27;

/// What a struct_ops map holds besides its map definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructOpsSpec {
    /// The struct type in the object's BTF (e.g. `struct tcp_congestion_ops`).
    pub type_id: TypeId,
    /// The variable's bytes in the object's layout (function pointers zero).
    pub data: Vec<u8>,
    /// Per member of the struct: the program its function pointer names.
    pub progs: Vec<Option<String>>,
}

/// The kernel-side layout of a struct_ops map value, computed at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernStructOps {
    /// `struct bpf_struct_ops_<name>` id in the kernel BTF (the map's `btf_vmlinux_value_type_id`).
    pub vtype_id: TypeId,
    /// `struct <name>` id in the kernel BTF (the programs' `attach_btf_id`).
    pub type_id: TypeId,
    /// The map value in the kernel's layout, function pointers still zero.
    pub vdata: Vec<u8>,
    /// (program name, byte offset in `vdata`) for each function pointer to fill with a prog fd.
    pub func_slots: Vec<(String, usize)>,
}

/// One map per variable of every struct_ops section, in section order.
pub fn collect(elf: &Elf, btf: &Btf) -> Result<Vec<MapSpec>> {
    let mut out = Vec::new();
    for (shndx, sec) in elf.sections.iter().enumerate() {
        if sec.kind != SecKind::StructOps {
            continue;
        }
        let ds_id = btf
            .types()
            .find(|(_, t)| {
                t.btf_kind() == Kind::Datasec && btf.type_name(*t).ok() == Some(sec.name.as_str())
            })
            .map(|(id, _)| id)
            .ok_or_else(|| {
                Error::invalid(format!("struct_ops init: DATASEC {} not found", sec.name))
            })?;
        let TypeKind::Datasec(ds) = &btf.type_by_id(ds_id)?.kind else {
            continue;
        };
        let (autocreate, plain) = match sec.name.strip_prefix('?') {
            Some(rest) => (false, rest),
            None => (true, sec.name.as_str()),
        };
        for vsi in &ds.vars {
            let var_name = btf.name_of(vsi.type_id)?.to_string();
            let type_id = btf.resolve_type(vsi.type_id).map_err(|_| {
                Error::invalid(format!(
                    "struct_ops init: Cannot resolve var type_id {} in DATASEC {}",
                    vsi.type_id, sec.name
                ))
            })?;
            let t = btf.type_by_id(type_id)?;
            let tname = btf.type_name(t).unwrap_or("");
            if tname.is_empty() {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    "struct_ops init: anonymous type is not supported",
                ));
            }
            let TypeKind::Struct(c) = &t.kind else {
                return Err(Error::invalid(format!(
                    "struct_ops init: {tname} is not a struct"
                )));
            };
            let start = vsi.offset as usize;
            let data = sec
                .data
                .get(start..start + c.size as usize)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "struct_ops init: var {var_name} is beyond the end of DATASEC {}",
                        sec.name
                    ))
                })?
                .to_vec();
            let mut m = MapSpec::user(var_name);
            m.sec_idx = Some(shndx);
            m.sec_offset = u64::from(vsi.offset);
            m.btf_value_type_id = type_id;
            m.autocreate = autocreate;
            m.map_type = MAP_TYPE_STRUCT_OPS;
            m.key_size = 4;
            m.value_size = c.size;
            m.max_entries = 1;
            m.map_flags = if plain == ".struct_ops.link" {
                F_LINK
            } else {
                0
            };
            m.struct_ops = Some(StructOpsSpec {
                type_id,
                data,
                progs: vec![None; c.members.len()],
            });
            out.push(m);
        }
    }
    Ok(out)
}

fn is_func_ptr(btf: &Btf, id: TypeId) -> bool {
    let Ok((_, t)) = btf.skip_mods_and_typedefs(id) else {
        return false;
    };
    let TypeKind::Ptr(target) = t.kind else {
        return false;
    };
    btf.skip_mods_and_typedefs(target)
        .is_ok_and(|(_, t)| t.btf_kind() == Kind::FuncProto)
}

/// Records which program each function pointer of each struct_ops map names.
pub fn collect_relos(
    elf: &Elf,
    btf: &Btf,
    maps: &mut [MapSpec],
    progs: &[ProgramSpec],
) -> Result<()> {
    for (idx, sec) in elf.sections.iter().enumerate() {
        if sec.kind != SecKind::Rel || elf.sec_kind(sec.info as usize) != SecKind::StructOps {
            continue;
        }
        let target = sec.info as usize;
        for (i, rel) in elf.rels(idx)?.into_iter().enumerate() {
            let sym = elf.symbols.get(rel.sym as usize).ok_or_else(|| {
                Error::malformed(format!("struct_ops reloc: symbol {:x} not found", rel.sym))
            })?;
            let map = maps
                .iter_mut()
                .find(|m| {
                    m.map_type == MAP_TYPE_STRUCT_OPS
                        && m.sec_idx == Some(target)
                        && m.sec_offset <= rel.offset
                        && rel.offset - m.sec_offset < u64::from(m.value_size)
                })
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "struct_ops reloc: cannot find map at rel->r_offset {}",
                        rel.offset
                    ))
                })?;
            let moff = rel.offset - map.sec_offset;
            let name = map.name.clone();
            if sym.shndx >= object::elf::SHN_LORESERVE {
                return Err(Error::malformed(format!(
                    "struct_ops reloc {}: rel->r_offset {} shdr_idx {} unsupported non-static function",
                    name, rel.offset, sym.shndx
                )));
            }
            if sym.value % 8 != 0 {
                return Err(Error::malformed(format!(
                    "struct_ops reloc {}: invalid target program offset {}",
                    name, sym.value
                )));
            }
            let st = map
                .struct_ops
                .as_mut()
                .ok_or_else(|| Error::invalid("struct_ops map without struct_ops data"))?;
            let members = btf.type_by_id(st.type_id)?.members().to_vec();
            let (member_idx, member) = members
                .iter()
                .enumerate()
                .find(|(_, m)| u64::from(btf.member_bits(m).0) == moff * 8)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "struct_ops reloc {}: cannot find member at moff {moff}",
                        name
                    ))
                })?;
            let mname = btf.str_at(member.name_off).unwrap_or("?");
            if !is_func_ptr(btf, member.type_id) {
                return Err(Error::invalid(format!(
                    "struct_ops reloc {}: cannot relocate non func ptr {mname}",
                    name
                )));
            }
            let p = find_by_sec_insn(progs, sym.shndx as usize, (sym.value / 8) as usize)
                .map(|k| &progs[k])
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "struct_ops reloc {}: cannot find prog at shdr_idx {} to relocate func ptr {mname}",
                        name, sym.shndx
                    ))
                })?;
            if p.prog_type != PROG_TYPE_STRUCT_OPS {
                return Err(Error::invalid(format!(
                    "struct_ops reloc {}: prog {} is not struct_ops BPF program",
                    name, p.name
                )));
            }
            st.progs[member_idx] = Some(p.name.clone());
            crate::log::debug(format_args!(
                "struct_ops reloc #{i} {}: member {mname} -> prog {}",
                name, p.name
            ));
        }
    }
    Ok(())
}

/// Lays out struct_ops map `map` in the kernel's value type (from `kern`, vmlinux BTF) and tells
/// each referenced program its `attach_btf_id` and member index (`expected_attach_type`).
/// Programs named by members the kernel lacks get autoload off, as in libbpf.
pub fn init_kern(
    map: &mut MapSpec,
    btf: &Btf,
    kern: &Btf,
    progs: &mut [ProgramSpec],
) -> Result<KernStructOps> {
    let name = map.name.clone();
    let st = map
        .struct_ops
        .as_mut()
        .ok_or_else(|| Error::invalid(format!("map '{name}' is not struct_ops")))?;
    let local_t = btf.type_by_id(st.type_id)?;
    let tname = essential_name(btf.type_name(local_t)?).to_string();
    let stname = format!("bpf_struct_ops_{tname}");
    let not_found = |n: &str| {
        Error::not_found(format!(
            "struct_ops init_kern: struct {n} is not found in kernel BTF"
        ))
    };
    let vtype_id = kern
        .find_by_name_kind(&stname, Kind::Struct)
        .ok_or_else(|| not_found(&stname))?;
    let type_id = kern
        .find_by_name_kind(&tname, Kind::Struct)
        .ok_or_else(|| not_found(&tname))?;
    let vtype = kern.type_by_id(vtype_id)?;
    let data_member = vtype
        .members()
        .iter()
        .find(|m| m.type_id == type_id)
        .ok_or_else(|| {
            Error::invalid(format!(
                "struct_ops init_kern: struct {tname} data is not found in struct {stname}"
            ))
        })?;
    let kern_data_off = (kern.member_bits(&data_member).0 / 8) as usize;
    let mut vdata = vec![0u8; vtype.size().unwrap_or(0) as usize];
    let kern_members = kern.type_by_id(type_id)?.members().to_vec();
    let mut func_slots = Vec::new();
    for (i, member) in local_t.members().iter().enumerate() {
        let mname = btf.str_at(member.name_off)?;
        let (bit_off, bitfield) = btf.member_bits(&member);
        let moff = (bit_off / 8) as usize;
        let msize = btf.resolve_size(member.type_id).map_err(|e| {
            e.context(format!(
                "struct_ops init_kern {}: failed to resolve the size of member {mname}",
                name
            ))
        })? as usize;
        let mdata = st.data.get(moff..moff + msize).unwrap_or(&[]);
        let Some((kidx, kmember)) = kern_members
            .iter()
            .enumerate()
            .find(|(_, km)| kern.str_at(km.name_off).ok() == Some(mname))
        else {
            if mdata.iter().any(|&b| b != 0) {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    format!(
                        "struct_ops init_kern {}: Cannot find member {mname} in kernel BTF",
                        name
                    ),
                ));
            }
            if let Some(pname) = st.progs[i].take() {
                if let Some(p) = progs.iter_mut().find(|p| p.name == pname) {
                    p.autoload = false;
                }
            }
            continue;
        };
        let (kbit_off, kbitfield) = kern.member_bits(kmember);
        if bitfield != 0 || kbitfield != 0 {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!(
                    "struct_ops init_kern {}: bitfield {mname} is not supported",
                    name
                ),
            ));
        }
        let kern_moff = kern_data_off + (kbit_off / 8) as usize;
        let (_, mtype) = btf.skip_mods_and_typedefs(member.type_id)?;
        let (kmtype_id, kmtype) = kern.skip_mods_and_typedefs(kmember.type_id)?;
        if mtype.btf_kind() != kmtype.btf_kind() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!(
                    "struct_ops init_kern {}: Unmatched member type {mname}",
                    name
                ),
            ));
        }
        if let TypeKind::Ptr(_) = mtype.kind {
            let Some(pname) = &st.progs[i] else { continue };
            let kt = kmtype.target().unwrap_or(0);
            if kern
                .skip_mods_and_typedefs(kt)
                .map(|(_, t)| t.btf_kind())
                .ok()
                != Some(Kind::FuncProto)
            {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    format!(
                        "struct_ops init_kern {}: kernel member {mname} is not a func ptr",
                        name
                    ),
                ));
            }
            let p = progs.iter_mut().find(|p| &p.name == pname).ok_or_else(|| {
                Error::new(
                    ErrorKind::NotSupported,
                    format!(
                        "struct_ops init_kern {}: member {mname} is not a struct_ops program",
                        name
                    ),
                )
            })?;
            if p.attach_btf_id == 0 {
                p.attach_btf_id = type_id;
                p.expected_attach_type = kidx as u32;
            }
            if p.attach_btf_id != type_id || p.expected_attach_type != kidx as u32 {
                return Err(Error::invalid(format!(
                    "struct_ops init_kern {} func ptr {mname}: invalid reuse of prog {}",
                    name, p.name
                )));
            }
            func_slots.push((pname.clone(), kern_moff));
            let _ = kmtype_id;
            continue;
        }
        let kmsize = kern.resolve_size(kmtype_id).ok().map(|s| s as usize);
        if kmsize != Some(msize) {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!("struct_ops init_kern {}: Error in size of member {mname}: {msize} != {kmsize:?}(kernel)", name),
            ));
        }
        if let Some(dst) = vdata.get_mut(kern_moff..kern_moff + msize) {
            dst.copy_from_slice(mdata);
        }
    }
    Ok(KernStructOps {
        vtype_id,
        type_id,
        vdata,
        func_slots,
    })
}

/// libbpf's `bpf_object_adjust_struct_ops_autoload`: a struct_ops program referenced by some
/// struct_ops map loads only if one of those maps is created.
pub fn adjust_autoload(maps: &[MapSpec], progs: &mut [ProgramSpec]) {
    for p in progs
        .iter_mut()
        .filter(|p| p.prog_type == PROG_TYPE_STRUCT_OPS)
    {
        let mut uses = 0;
        let mut load = false;
        for m in maps {
            let Some(st) = &m.struct_ops else { continue };
            for slot in st.progs.iter().flatten() {
                if *slot == p.name {
                    uses += 1;
                    load |= m.autocreate;
                }
            }
        }
        if uses > 0 {
            p.autoload = load;
        }
    }
}
