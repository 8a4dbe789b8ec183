//! Map operations beyond single elements: batches, freeze, pinning on bpffs, info and ids, struct_ops.

mod sys_util;

use std::os::fd::AsFd;

use oxbpf::map::{map_ids, MapFlags, MapHandle, MapType};
use oxbpf::sys::bpf::{BatchOpts, MapCreateOpts};
use oxbpf::ErrorKind;
use sys_util::{root, FdGuard};

fn hash(n: u32) -> MapHandle {
    MapHandle::create(
        MapType::Hash,
        Some("batch"),
        4,
        8,
        n,
        &MapCreateOpts::default(),
    )
    .unwrap()
}

#[test]
fn batch_update_lookup_delete() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let m = hash(128);
    let keys: Vec<u8> = (0..100u32).flat_map(|k| k.to_ne_bytes()).collect();
    let values: Vec<u8> = (0..100u64).flat_map(|v| (v * 3).to_ne_bytes()).collect();
    assert_eq!(
        m.update_batch(&keys, &values, &BatchOpts::default())
            .unwrap(),
        100
    );
    // Fetch in chunks smaller than the map, so several calls and the position token are exercised.
    let mut all = m.lookup_batch(7, &BatchOpts::default()).unwrap();
    all.sort();
    assert_eq!(all.len(), 100);
    for (k, v) in &all {
        let k = u32::from_ne_bytes(k[..].try_into().unwrap());
        assert_eq!(
            u64::from_ne_bytes(v[..].try_into().unwrap()),
            u64::from(k) * 3
        );
    }
    // One element per call: hash buckets holding two or more elements make the kernel answer ENOSPC,
    // and the batch grows until the bucket fits.
    assert_eq!(m.lookup_batch(1, &BatchOpts::default()).unwrap().len(), 100);
    let del: Vec<u8> = (0..10u32).flat_map(|k| k.to_ne_bytes()).collect();
    assert_eq!(m.delete_batch(&del, &BatchOpts::default()).unwrap(), 10);
    assert_eq!(m.keys().count(), 90);
    let drained = m
        .lookup_and_delete_batch(16, &BatchOpts::default())
        .unwrap();
    assert_eq!(drained.len(), 90);
    assert_eq!(m.keys().count(), 0);
    // Sizes are checked before the syscall.
    assert_eq!(
        m.update_batch(&keys[..7], &values, &BatchOpts::default())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );

    // Arrays batch too (4-byte position token).
    let a = MapHandle::create(
        MapType::Array,
        Some("batch_arr"),
        4,
        4,
        10,
        &MapCreateOpts::default(),
    )
    .unwrap();
    let ks: Vec<u8> = (0..10u32).flat_map(|k| k.to_ne_bytes()).collect();
    let vs: Vec<u8> = (0..10u32).flat_map(|v| (v + 1).to_ne_bytes()).collect();
    a.update_batch(&ks, &vs, &BatchOpts::default()).unwrap();
    let got = a.lookup_batch(3, &BatchOpts::default()).unwrap();
    assert_eq!(got.len(), 10);
    assert_eq!(got[9].1, 10u32.to_ne_bytes());
}

#[test]
fn percpu_batch() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let cpus = oxbpf::map::possible_cpus().unwrap();
    let m = MapHandle::create(
        MapType::PercpuHash,
        Some("pcpu_batch"),
        4,
        4,
        8,
        &MapCreateOpts::default(),
    )
    .unwrap();
    let keys: Vec<u8> = (0..4u32).flat_map(|k| k.to_ne_bytes()).collect();
    // Per-CPU values: each of the 4 elements has `cpus` slots of 8 bytes.
    let values: Vec<u8> = (0..4 * cpus as u64).flat_map(|v| v.to_ne_bytes()).collect();
    m.update_batch(&keys, &values, &BatchOpts::default())
        .unwrap();
    let got = m.lookup_batch(2, &BatchOpts::default()).unwrap();
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|(_, v)| v.len() == 8 * cpus));
}

#[test]
fn freeze_blocks_user_writes() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let m = MapHandle::create(
        MapType::Array,
        Some("frozen"),
        4,
        4,
        1,
        &MapCreateOpts::default(),
    )
    .unwrap();
    m.update_pod(&0u32, &5u32, MapFlags::ANY).unwrap();
    m.freeze().unwrap();
    let err = m.update_pod(&0u32, &6u32, MapFlags::ANY).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("BPF_MAP_UPDATE_ELEM"), "{err}");
    assert_eq!(
        m.lookup_pod::<u32, u32>(&0, MapFlags::ANY).unwrap(),
        Some(5)
    );
    // Freezing again: newer kernels refuse because a frozen map is no longer writable (EPERM);
    // older ones (5.10, 6.1) because it is already frozen (EBUSY).
    let again = m.freeze().unwrap_err().kind();
    if oxbpf_tests::kernel_at_least(6, 12) {
        assert_eq!(
            again,
            ErrorKind::PermissionDenied,
            "a frozen map is no longer writable"
        );
    } else {
        assert!(
            matches!(again, ErrorKind::PermissionDenied | ErrorKind::Busy),
            "a frozen map cannot be frozen again: {again:?}"
        );
    }
}

#[test]
fn pin_and_open_pinned() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let dir = sys_util::bpffs_tempdir();
    let path = dir.path().join("m");
    let id;
    {
        let m = hash(4);
        m.update_pod(&1u32, &2u64, MapFlags::ANY).unwrap();
        m.pin(&path).unwrap();
        id = m.id().unwrap();
        assert_eq!(m.pin(&path).unwrap_err().kind(), ErrorKind::AlreadyExists);
    }
    // The pin keeps the map alive after the last fd closed.
    let again = MapHandle::from_pinned_path(&path).unwrap();
    assert_eq!(again.id().unwrap(), id);
    assert_eq!(
        (again.key_size(), again.value_size(), again.max_entries()),
        (4, 8, 4)
    );
    assert_eq!(again.map_type(), Some(MapType::Hash));
    assert_eq!(again.name(), "batch");
    assert_eq!(
        again.lookup_pod::<u32, u64>(&1, MapFlags::ANY).unwrap(),
        Some(2)
    );
    std::fs::remove_file(&path).unwrap();
    let err = MapHandle::from_pinned_path(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("BPF_OBJ_GET"), "{err}");
}

#[test]
fn info_ids_and_reopen_by_id() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let m = MapHandle::create(
        MapType::LruHash,
        Some("a_long_map_name_cut_at_15"),
        8,
        16,
        32,
        &MapCreateOpts {
            map_flags: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let info = m.info().unwrap();
    assert_eq!(info.name, "a_long_map_name");
    assert_eq!(
        (info.key_size, info.value_size, info.max_entries),
        (8, 16, 32)
    );
    assert!(
        map_ids().unwrap().contains(&info.id),
        "the map is listed by id"
    );
    let listed = oxbpf::map::list_maps().unwrap();
    assert_eq!(listed.iter().find(|i| i.id == info.id), Some(&info));
    let by_id = MapHandle::from_id(info.id).unwrap();
    assert_eq!(by_id.info().unwrap(), info);
    let dup = m.try_clone().unwrap();
    assert_eq!(dup.id().unwrap(), info.id);
    assert_eq!(
        MapHandle::from_id(u32::MAX).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// Finds a vmlinux BTF type with bpftool (the BTF parser is another issue's): `(id, size)`.
fn vmlinux_struct(name: &str) -> Option<(u32, u32)> {
    let out = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let needle = format!("STRUCT '{name}' size=");
    let line = text.lines().find(|l| l.contains(&needle))?;
    let id = line
        .trim_start_matches('[')
        .split(']')
        .next()?
        .parse()
        .ok()?;
    let size = line
        .split("size=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((id, size))
}

#[test]
fn struct_ops_map() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let Some((id, size)) = vmlinux_struct("bpf_struct_ops_tcp_congestion_ops") else {
        return oxbpf_tests::skip(
            "struct_ops: no bpf_struct_ops_tcp_congestion_ops in vmlinux BTF (or no bpftool)",
        );
    };
    let btf = sys_util::int_btf();
    let o = MapCreateOpts {
        btf_fd: Some(btf.as_fd()),
        btf_vmlinux_value_type_id: id,
        ..Default::default()
    };
    let m = MapHandle::create(MapType::StructOps, Some("cc"), 4, size, 1, &o).unwrap();
    let info = m.info().unwrap();
    assert_eq!(info.btf_vmlinux_value_type_id, id);
    assert_eq!(info.value_size, size);
    // Before registration the value reads back zeroed (state INIT).
    let v = m
        .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
        .unwrap()
        .unwrap();
    assert_eq!(v.len(), size as usize);
    assert!(v.iter().all(|&b| b == 0));
    assert_eq!(m.keys().count(), 1);
}
