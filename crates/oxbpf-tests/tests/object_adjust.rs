//! Adjusting an opened object before load: attach target, pinning by name with reuse, reuse of an
//! existing map, autoload, and clean-up of pins when a load fails.

use oxbpf::btf::Kind;
use oxbpf::obj::maps::Pinning;
use oxbpf::Object;
use oxbpf_tests::fixture;

fn root() -> bool {
    if !oxbpf_tests::is_root() {
        oxbpf_tests::skip("not root: cannot load BPF programs");
        return false;
    }
    true
}

#[test]
fn set_attach_target_overrides_the_section() {
    if !root() {
        return;
    }
    let mut open = Object::open_file(fixture("obj_sections")).unwrap();
    for p in open.spec_mut().programs.iter_mut() {
        p.autoload = p.name == "p_tp_btf";
    }
    open.set_attach_target("p_tp_btf", "sys_enter").unwrap();
    let obj = open.load().unwrap();
    let info = obj.program("p_tp_btf").unwrap().info().unwrap();
    let vmlinux = oxbpf::kernel::vmlinux::vmlinux_btf().unwrap();
    let want = vmlinux.find_by_name_kind("btf_trace_sys_enter", Kind::Typedef);
    if oxbpf_tests::kernel_at_least(6, 0) {
        assert_eq!(Some(info.attach_btf_id), want);
    } else {
        // bpf_prog_info reports attach_btf_id from 6.0 on; older kernels leave it 0 (the tp_btf
        // program loaded, so the kernel took the target).
        assert!(want.is_some());
        assert_eq!(info.attach_btf_id, 0);
    }
    assert!(
        obj.program("p_socket").unwrap().handle().is_none(),
        "autoload off: not loaded"
    );
}

#[test]
fn pin_by_name_then_reuse_and_unpin_on_failure() {
    if !root() {
        return;
    }
    let dir = std::path::PathBuf::from(format!("/sys/fs/bpf/oxbpf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pin = dir.join("counts");
    let open_pinned = || {
        let mut open = Object::open_file(fixture("maps")).unwrap();
        let m = open.map_mut("counts").unwrap();
        m.pinning = Pinning::ByName;
        m.pin_path = Some(pin.clone());
        open
    };
    let first = open_pinned().load().unwrap();
    assert!(pin.exists());
    let id1 = first.map("counts").unwrap().handle().unwrap().id().unwrap();
    let second = open_pinned().load().unwrap();
    let id2 = second
        .map("counts")
        .unwrap()
        .handle()
        .unwrap()
        .id()
        .unwrap();
    assert_eq!(id1, id2, "the pinned map is reused");
    drop((first, second));
    std::fs::remove_file(&pin).unwrap();

    // A load that fails after pinning removes the pin it made.
    let mut bad = open_pinned();
    bad.map_mut("events").unwrap().max_entries = 12345; // not a power-of-2 number of pages
    let e = bad.load().unwrap_err();
    assert!(e.to_string().contains("map 'events'"), "{e}");
    assert!(!pin.exists(), "pin left behind by a failed load");
    std::fs::remove_dir(&dir).unwrap();
}

#[test]
fn reuse_an_existing_map() {
    if !root() {
        return;
    }
    let donor = Object::open_file(fixture("maps")).unwrap().load().unwrap();
    let counts = donor
        .map("counts")
        .unwrap()
        .handle()
        .unwrap()
        .try_clone()
        .unwrap();
    let id = counts.id().unwrap();
    let mut open = Object::open_file(fixture("maps")).unwrap();
    open.reuse_map("counts", counts).unwrap();
    let obj = open.load().unwrap();
    assert_eq!(
        obj.map("counts").unwrap().handle().unwrap().id().unwrap(),
        id
    );
    let ids = obj
        .program("on_exit_write")
        .unwrap()
        .handle()
        .unwrap()
        .map_ids()
        .unwrap();
    assert!(ids.contains(&id), "program uses the reused map");
}

#[test]
fn module_btfs_are_split_on_vmlinux() {
    if !root() {
        return;
    }
    let vmlinux = oxbpf::kernel::vmlinux::vmlinux_btf().unwrap();
    let mods = oxbpf::kernel::module_btf::module_btfs().unwrap();
    // This host may have no module BTF at all; every one found must continue vmlinux's ids.
    for m in mods.iter() {
        assert_eq!(
            m.btf.first_id() as usize,
            vmlinux.len(),
            "module '{}'",
            m.name
        );
        assert!(!m.name.is_empty() && m.name != "vmlinux");
        // Read by id (BPF_BTF_GET_FD_BY_ID + info), it is the module's BTF as sysfs shows it.
        let sysfs = std::fs::read(format!("/sys/kernel/btf/{}", m.name)).unwrap();
        assert_eq!(m.btf.to_bytes(), sysfs, "module '{}'", m.name);
    }
    println!(
        "{} module BTFs, each equal to its /sys/kernel/btf file",
        mods.len()
    );
}

#[test]
fn per_program_log_level_keeps_the_verifier_log() {
    if !root() {
        return;
    }
    let mut open = Object::open_file(fixture("minimal")).unwrap();
    open.program_mut("handle_write").unwrap().log_level = 2;
    let obj = open.load().unwrap();
    let log = obj.program("handle_write").unwrap().log().unwrap();
    assert!(log.contains("processed"), "{log}");
}

/// Initial values are reachable before load as bytes and as a typed view, and a custom data
/// section ending in an array can be resized with its BTF: the kernel takes the map with its BTF
/// value type (a DATASEC whose size disagreed with the value size would be refused).
#[test]
fn resize_global_data_and_typed_initial_values() {
    if !root() {
        return;
    }
    let before = oxbpf_tests::open_fds();
    {
        let mut open = Object::open_file(fixture("obj_resize")).unwrap();
        let slots = open
            .spec()
            .maps
            .iter()
            .find(|m| m.real_name == ".data.slots")
            .unwrap()
            .name
            .clone();
        let rodata = open
            .spec()
            .maps
            .iter()
            .find(|m| m.real_name == ".rodata")
            .unwrap()
            .name
            .clone();
        assert_eq!(
            open.initial_value_mut(&slots).unwrap(),
            &[3, 0, 0, 0, 7, 0, 0, 0]
        );
        *open.initial_value_as::<i32>(&rodata).unwrap() = 5;
        assert!(open.initial_value_as::<[u64; 4]>(&rodata).is_err());
        open.set_value_size(&slots, 4 + 4 * 64).unwrap();
        let data = open.initial_value_mut(&slots).unwrap();
        assert_eq!(data.len(), 260);
        data[8] = 9; // slots[1]
        let obj = open.load().unwrap();
        let m = obj.map(&slots).unwrap();
        let info = m.handle().unwrap().info().unwrap();
        assert_eq!(info.value_size, 260);
        assert_ne!(info.btf_value_type_id, 0, "created without its BTF DATASEC");
        let data = m.data().unwrap();
        assert_eq!(data.len(), 260);
        assert_eq!(&data[..12], &[3, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0]);
        assert_eq!(
            obj.map(&rodata).unwrap().data().unwrap(),
            &5i32.to_ne_bytes()
        );
        assert!(obj.program("resize_slots").unwrap().handle().is_some());
    }
    assert_eq!(oxbpf_tests::open_fds(), before, "fd leak");
}
