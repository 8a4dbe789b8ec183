//! Loading fixtures with oxbpf: same verdicts and kernel tags as libbpf 1.7, no fd leaks.

use oxbpf_tests::{fixture, parity};

fn parity_of(name: &str) {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let p = parity::assert_tag_parity(&fixture(name));
    println!("{name}: {:#?}", p.oxbpf);
}

#[test]
fn tag_parity_minimal() {
    parity_of("minimal");
}

#[test]
fn tag_parity_maps() {
    parity_of("maps");
}

#[test]
fn tag_parity_subprogs() {
    parity_of("obj_subprogs");
}

#[test]
fn tag_parity_globals() {
    parity_of("obj_globals");
}

#[test]
fn tag_parity_kconfig() {
    parity_of("obj_kconfig");
}

#[test]
fn tag_parity_ksyms() {
    parity_of("obj_ksyms");
}

#[test]
fn tag_parity_with_a_rejected_program() {
    parity_of("obj_reject");
}

#[test]
fn verifier_failure_names_program_reason_and_source_line() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let err = oxbpf::Object::open_file(fixture("obj_reject"))
        .unwrap()
        .load()
        .unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind(), oxbpf::ErrorKind::Verifier, "{msg}");
    assert!(msg.contains("prog 'rejected'"), "{msg}");
    // The summary names the C line of the rejected instruction.
    assert!(msg.contains("obj_reject.bpf.c:"), "{msg}");
    assert!(msg.contains("sink += buf[i]"), "{msg}");
    assert!(
        err.verifier_log().is_some_and(|l| l.contains("processed")),
        "{err:?}"
    );
    println!("{msg}");
}

#[test]
fn global_data_is_mmapped_and_rodata_frozen() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let mut open = oxbpf::Object::open_file(fixture("obj_globals")).unwrap();
    let ro = open.spec().map("obj_glob.rodata").unwrap().data.clone();
    let mut new_ro = ro.clone();
    new_ro[0] = 42; // ro_cfg is the first .rodata variable
    open.set_initial_value("obj_glob.rodata", &new_ro).unwrap();
    let mut obj = open.load().unwrap();
    let ro_map = obj.map("obj_glob.rodata").unwrap();
    assert_eq!(ro_map.data().unwrap()[0], 42);
    let data = obj.map_mut("obj_glob.data").unwrap();
    let d = data.data_mut().unwrap().unwrap();
    d[0] = 7;
    let h = obj.map("obj_glob.data").unwrap().handle().unwrap();
    let v = h
        .lookup(&0u32.to_ne_bytes(), oxbpf::map::MapFlags::ANY)
        .unwrap()
        .unwrap();
    assert_eq!(v[0], 7, "mmapped .data writes reach the map");
    let frozen = obj.map("obj_glob.rodata").unwrap().handle().unwrap();
    assert!(
        frozen
            .update(&0u32.to_ne_bytes(), &new_ro, oxbpf::map::MapFlags::ANY)
            .is_err(),
        ".rodata is frozen"
    );
}

#[test]
fn tag_parity_every_sec_family() {
    parity_of("obj_sections");
}

#[test]
fn tag_parity_struct_ops() {
    parity_of("attach_struct_ops");
}

#[test]
fn struct_ops_value_carries_program_fds() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let obj = match oxbpf::Object::open_file(fixture("attach_struct_ops"))
        .unwrap()
        .load()
    {
        Ok(obj) => obj,
        // The fixture's maps are in `.struct_ops.link` (BPF_F_LINK), which struct_ops maps take
        // from 6.4 on; libbpf fails the same way before.
        Err(e)
            if !oxbpf_tests::kernel_at_least(6, 4)
                && e.errno() == Some(libc::EINVAL)
                && e.to_string().contains("(struct_ops): BPF_MAP_CREATE") =>
        {
            return oxbpf_tests::skip(format!("struct_ops links need 6.4: {e}"));
        }
        Err(e) => panic!("{e:#}"),
    };
    let m = obj.map("oxcc").unwrap();
    assert_eq!(m.spec().map_flags, oxbpf::obj::struct_ops::F_LINK);
    assert!(m.spec().btf_vmlinux_value_type_id != 0);
    let v = m.struct_ops_value().unwrap();
    assert_eq!(v.len(), m.spec().value_size as usize);
    // Every struct_ops program is loaded with its member index as expected attach type.
    for p in obj.programs() {
        assert!(p.handle().is_some(), "{} not loaded", p.name());
    }
    // The name member was copied into the kernel layout.
    assert!(v.windows(8).any(|w| w == b"oxbpf_cc"));
}

#[test]
fn tag_parity_every_map_definition_style() {
    parity_of("obj_map_defs");
}

#[test]
fn prog_array_and_hash_of_maps_initial_slots() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    use oxbpf::map::{MapFlags, MapType};
    let mut open = oxbpf::Object::open_file(fixture("obj_map_defs")).unwrap();
    if !oxbpf::kernel::features::probe_map_type(MapType::BloomFilter).unwrap() {
        // Bloom filters came in 5.16; what this test checks does not involve them, so on older
        // kernels the bloom map becomes a queue (the program only pushes to it).
        println!("no BPF_MAP_TYPE_BLOOM_FILTER (added in 5.16): 'bloom' loaded as a queue");
        let bloom = open.map_mut("bloom").unwrap();
        bloom.map_type = MapType::Queue.as_u32();
        bloom.map_extra = 0;
    }
    let obj = open.load().unwrap();
    let jump = obj.map("jump").unwrap().handle().unwrap();
    let prog_id = |name: &str| obj.program(name).unwrap().info().unwrap().id;
    let slot = |k: u32| {
        jump.lookup(&k.to_ne_bytes(), MapFlags::ANY)
            .unwrap()
            .map(|v| u32::from_ne_bytes(v[..4].try_into().unwrap()))
    };
    assert_eq!(slot(0), Some(prog_id("tail_a")));
    assert_eq!(slot(1), None);
    assert_eq!(slot(2), Some(prog_id("tail_b")));
    let hom = obj.map("hom").unwrap().handle().unwrap();
    let map_id = |name: &str| obj.map(name).unwrap().handle().unwrap().id().unwrap();
    let inner = |k: u32| {
        hom.lookup(&k.to_ne_bytes(), MapFlags::ANY)
            .unwrap()
            .map(|v| u32::from_ne_bytes(v[..4].try_into().unwrap()))
    };
    assert_eq!(inner(1), Some(map_id("leaf1")));
    assert_eq!(inner(3), Some(map_id("leaf0")));
    assert_eq!(inner(0), None);
    let perf = obj.map("perf").unwrap().handle().unwrap();
    assert_eq!(
        perf.max_entries() as usize,
        oxbpf::map::possible_cpus().unwrap()
    );
}

#[test]
fn tag_parity_exception_callback() {
    parity_of("obj_exceptions");
}

#[test]
fn tag_parity_arena_globals() {
    parity_of("obj_arena");
}

#[test]
fn arena_globals_are_initialised_and_updated() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    if !oxbpf::kernel::features::probe_map_type(oxbpf::map::MapType::Arena).unwrap() {
        return oxbpf_tests::skip("no BPF_MAP_TYPE_ARENA (added in 6.9)");
    }
    let obj = oxbpf::Object::open_file(fixture("obj_arena"))
        .unwrap()
        .load()
        .unwrap();
    let arena = obj.map("arena").unwrap();
    let data = arena.data().unwrap();
    let page = 4096;
    // The globals sit in the last page when the kernel takes full-range ld_imm64 offsets, else in
    // the first (as libbpf places them): counter (initialised to 5) then zeroed.
    use oxbpf::kernel::features::{kernel_supports, Feature};
    let at = if kernel_supports(Feature::Ldimm64FullRangeOff) {
        data.len() - page
    } else {
        0
    };
    assert_eq!(i32::from_ne_bytes(data[at..at + 4].try_into().unwrap()), 5);
    let p = obj.program("inc").unwrap().handle().unwrap();
    p.test_run(&[], &[], 0, 0, 0).unwrap(); // syscall programs take no repeat count
    let data = obj.map("arena").unwrap().data().unwrap();
    assert_eq!(i32::from_ne_bytes(data[at..at + 4].try_into().unwrap()), 6);
}
