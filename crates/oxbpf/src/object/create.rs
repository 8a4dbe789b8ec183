//! Creating an object's maps (libbpf's `bpf_object__create_map` and friends): reuse of pinned
//! maps, inner maps, BTF with a retry without it, global data contents, map-in-map, prog-array
//! and struct_ops values.

use super::{Map, Program};
use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::map::{MapHandle, MapType};
use crate::obj::maps::{self as objmaps, MapKind, Pinning};
use crate::obj::MapSpec;
use crate::sys::bpf::{self as sysbpf, MapCreateOpts};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// The number of possible CPUs, for perf event arrays sized 0.
fn nr_cpus() -> Result<u32> {
    crate::map::possible_cpus().map(|n| n as u32)
}

/// Creates (or reuses a pinned) map; returns the handle and whether it was reused.
pub(super) fn create_map(m: &MapSpec, btf_fd: Option<&OwnedFd>) -> Result<(MapHandle, bool)> {
    if let (Pinning::ByName, Some(path)) = (m.pinning, &m.pin_path) {
        match MapHandle::from_pinned_path(path) {
            Ok(h) => {
                let compatible = h.map_type().map(|t| t.as_u32()) == Some(m.map_type)
                    && h.key_size() == m.key_size
                    && h.value_size() == m.value_size
                    && h.max_entries() == m.max_entries
                    && h.map_flags() == m.map_flags;
                if !compatible {
                    return Err(Error::invalid(format!(
                        "couldn't reuse pinned map at '{}': parameter mismatch",
                        path.display()
                    )));
                }
                return Ok((h, true));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e.context(format!("couldn't retrieve pinned map '{}'", path.display())))
            }
        }
    }
    let mut max_entries = m.max_entries;
    if m.map_type == objmaps::MAP_TYPE_PERF_EVENT_ARRAY && max_entries == 0 {
        max_entries = nr_cpus()?;
    }
    let inner = match &m.inner {
        Some(inner) if m.is_map_in_map() => Some(
            create_map(inner, btf_fd)
                .map_err(|e| e.context("failed to create inner map"))?
                .0,
        ),
        _ => None,
    };
    let no_btf_types = matches!(
        m.map_type,
        4 | 7 | 8 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 22 | 23 | 25 | 33
    );
    let mut opts = MapCreateOpts {
        map_flags: m.map_flags,
        inner_map_fd: inner.as_ref().map(|h| h.as_fd()),
        numa_node: (m.map_flags & sysbpf::BPF_F_NUMA_NODE != 0).then_some(m.numa_node),
        map_extra: m.map_extra,
        ..Default::default()
    };
    if let Some(fd) = btf_fd {
        if !no_btf_types {
            opts.btf_fd = Some(fd.as_fd());
            opts.btf_key_type_id = m.btf_key_type_id;
            opts.btf_value_type_id = m.btf_value_type_id;
        }
    }
    if m.map_type == crate::obj::struct_ops::MAP_TYPE_STRUCT_OPS {
        opts.btf_vmlinux_value_type_id = m.btf_vmlinux_value_type_id;
        opts.btf_value_type_id = 0;
    }
    let map_type = MapType::from_u32(m.map_type).unwrap_or(MapType::Unspec);
    let raw_create = |opts: &MapCreateOpts<'_>| -> Result<MapHandle> {
        if MapType::from_u32(m.map_type).is_some() {
            MapHandle::create(
                map_type,
                Some(&m.name),
                m.key_size,
                m.value_size,
                max_entries,
                opts,
            )
        } else {
            let fd = sysbpf::map_create(
                m.map_type,
                Some(&m.name),
                m.key_size,
                m.value_size,
                max_entries,
                opts,
            )?;
            MapHandle::from_fd(fd)
        }
    };
    match raw_create(&opts) {
        Ok(h) => Ok((h, false)),
        Err(e) if opts.btf_key_type_id != 0 || opts.btf_value_type_id != 0 => {
            crate::log::warn(format_args!(
                "Error in bpf_create_map_xattr({}): {e}. Retrying without BTF.",
                m.name
            ));
            opts.btf_fd = None;
            opts.btf_key_type_id = 0;
            opts.btf_value_type_id = 0;
            raw_create(&opts).map(|h| (h, false))
        }
        Err(e) => Err(e),
    }
}

/// Sets the initial contents of a global data map, freezes `.rodata`/`.kconfig`, and maps
/// mmapable ones into memory.
pub(super) fn populate_internal(map: &mut Map) -> Result<()> {
    let Some(h) = &map.handle else { return Ok(()) };
    let name = map.spec.name.clone();
    h.update(
        &0u32.to_ne_bytes(),
        &map.spec.data,
        crate::map::MapFlags::ANY,
    )
    .with_context(|| format!("map '{name}': failed to set initial contents"))?;
    if matches!(map.spec.kind, MapKind::Rodata | MapKind::Kconfig) {
        h.freeze()
            .with_context(|| format!("map '{name}': failed to freeze as read-only"))?;
    }
    if map.spec.map_flags & objmaps::F_MMAPABLE != 0 {
        let writable = map.spec.map_flags & objmaps::F_RDONLY_PROG == 0;
        map.mmap = Some(
            h.mmap(writable)
                .with_context(|| format!("map '{name}': failed to re-mmap() contents"))?,
        );
    }
    Ok(())
}

pub(super) fn init_map_in_map_slots(map: &Map, created: &[Map], specs: &[MapSpec]) -> Result<()> {
    let Some(h) = &map.handle else { return Ok(()) };
    for (slot, target) in map.spec.init_slots.iter().enumerate() {
        let Some(target) = target else { continue };
        let idx = specs.iter().position(|m| &m.name == target);
        let fd = idx
            .and_then(|i| created.get(i))
            .and_then(|m| m.handle.as_ref())
            .map(|t| t.as_fd().as_raw_fd())
            .ok_or_else(|| {
                Error::not_found(format!(
                    "map '{}': slot [{slot}] map '{target}' is not created",
                    map.spec.name
                ))
            })?;
        h.update(
            &(slot as u32).to_ne_bytes(),
            &fd.to_ne_bytes(),
            crate::map::MapFlags::ANY,
        )
        .with_context(|| {
            format!(
                "map '{}': failed to initialize slot [{slot}] to map '{target}' fd={fd}",
                map.spec.name
            )
        })?;
    }
    Ok(())
}

/// libbpf's `bpf_map_prepare_vdata`: each struct_ops function pointer gets its program's fd.
pub(super) fn fill_struct_ops_values(
    maps: &mut [Map],
    kern: &[Option<crate::obj::struct_ops::KernStructOps>],
    progs: &[Program],
) {
    for (m, k) in maps.iter_mut().zip(kern) {
        let Some(k) = k else { continue };
        let mut v = k.vdata.clone();
        for (pname, off) in &k.func_slots {
            let Some(h) = progs
                .iter()
                .find(|p| &p.name == pname)
                .and_then(|p| p.handle.as_ref())
            else {
                continue;
            };
            let fd = h.as_fd().as_raw_fd() as u64;
            if let Some(slot) = v.get_mut(*off..*off + 8) {
                slot.copy_from_slice(&fd.to_ne_bytes());
            }
        }
        m.struct_ops_value = Some(v);
    }
}

pub(super) fn init_prog_array_slots(maps: &mut [Map], progs: &[Program]) -> Result<()> {
    for map in maps
        .iter()
        .filter(|m| m.spec.map_type == objmaps::MAP_TYPE_PROG_ARRAY)
    {
        let Some(h) = &map.handle else { continue };
        for (slot, target) in map.spec.init_slots.iter().enumerate() {
            let Some(target) = target else { continue };
            // As libbpf: a slot naming a program that was not loaded fails the load.
            let Some(ph) = progs
                .iter()
                .find(|p| &p.name == target)
                .and_then(|p| p.handle.as_ref())
            else {
                return Err(Error::from_errno("BPF_MAP_UPDATE_ELEM", libc::EBADF).context(format!(
                    "map '{}': failed to initialize slot [{slot}] to prog '{target}': program not loaded",
                    map.spec.name
                )));
            };
            let fd = ph.as_fd().as_raw_fd();
            h.update(
                &(slot as u32).to_ne_bytes(),
                &fd.to_ne_bytes(),
                crate::map::MapFlags::ANY,
            )
            .with_context(|| {
                format!(
                    "map '{}': failed to initialize slot [{slot}] to prog '{target}' fd={fd}",
                    map.spec.name
                )
            })?;
        }
    }
    Ok(())
}
