//! Opening fixtures (pure, no root): programs, sections, subprograms, maps of every kind, externs,
//! relocations — compared with what libbpf 1.7 reports after `bpf_object__open`.

use oxbpf::obj::relocs::RelocKind;
use oxbpf::obj::{MapKind, ObjectSpec, OpenOptions};
use oxbpf_tests::fixture;
use std::ffi::{CStr, CString};

fn open(name: &str) -> ObjectSpec {
    let path = fixture(name);
    let bytes = std::fs::read(&path).unwrap();
    ObjectSpec::parse(
        &bytes,
        &oxbpf::obj::object_name_from_path(&path),
        &OpenOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (name, type, key size, value size, max entries, flags) of every map, and (name, section,
/// type, attach type, autoload) of every program, as libbpf sees them after open.
#[allow(clippy::type_complexity)]
fn libbpf_view(
    name: &str,
) -> (
    Vec<(String, u32, u32, u32, u32, u32)>,
    Vec<(String, String, u32, u32, bool)>,
) {
    let c = CString::new(fixture(name).to_string_lossy().as_bytes()).unwrap();
    let cs = |p: *const std::os::raw::c_char| {
        // SAFETY: libbpf returns NUL-terminated names owned by the object, open while this runs.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    };
    // SAFETY: valid path, default options; every pointer below comes from this live object.
    unsafe {
        let obj = libbpf_sys::bpf_object__open_file(c.as_ptr(), std::ptr::null());
        assert!(!obj.is_null(), "libbpf cannot open {name}");
        let mut maps = Vec::new();
        let mut m = libbpf_sys::bpf_object__next_map(obj, std::ptr::null());
        while !m.is_null() {
            maps.push((
                cs(libbpf_sys::bpf_map__name(m)),
                libbpf_sys::bpf_map__type(m),
                libbpf_sys::bpf_map__key_size(m),
                libbpf_sys::bpf_map__value_size(m),
                libbpf_sys::bpf_map__max_entries(m),
                libbpf_sys::bpf_map__map_flags(m),
            ));
            m = libbpf_sys::bpf_object__next_map(obj, m);
        }
        let mut progs = Vec::new();
        let mut p = libbpf_sys::bpf_object__next_program(obj, std::ptr::null_mut());
        while !p.is_null() {
            progs.push((
                cs(libbpf_sys::bpf_program__name(p)),
                cs(libbpf_sys::bpf_program__section_name(p)),
                libbpf_sys::bpf_program__type(p),
                libbpf_sys::bpf_program__expected_attach_type(p),
                libbpf_sys::bpf_program__autoload(p),
            ));
            p = libbpf_sys::bpf_object__next_program(obj, p);
        }
        libbpf_sys::bpf_object__close(obj);
        (maps, progs)
    }
}

#[test]
fn every_fixture_opens_like_libbpf() {
    for name in oxbpf_tests::fixture_names() {
        let spec = open(name);
        let (lmaps, lprogs) = libbpf_view(name);
        let maps: Vec<_> = spec
            .maps
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    m.map_type,
                    m.key_size,
                    m.value_size,
                    m.max_entries,
                    m.map_flags,
                )
            })
            .collect();
        assert_eq!(maps, lmaps, "{name}: maps differ");
        let progs: Vec<_> = spec
            .entry_programs()
            .map(|p| {
                (
                    p.name.clone(),
                    p.section.clone(),
                    p.prog_type,
                    p.expected_attach_type,
                    p.autoload,
                )
            })
            .collect();
        assert_eq!(progs, lprogs, "{name}: programs differ");
    }
}

#[test]
fn minimal_programs_and_globals() {
    let spec = open("minimal");
    assert_eq!(spec.name, "minimal");
    assert_eq!(spec.license, "Dual BSD/GPL");
    let p = spec.program("handle_write").unwrap();
    assert_eq!(p.section, "tp/syscalls/sys_enter_write");
    assert_eq!(p.sec_def.as_ref().unwrap().prog_type_name(), "tracepoint");
    let ro = spec.map("minimal.rodata").unwrap();
    assert_eq!(ro.kind, MapKind::Rodata);
    assert_eq!(ro.real_name, ".rodata");
    assert!(ro.btf_value_type_id != 0);
    let data_relocs = p
        .relocs
        .iter()
        .filter(|r| matches!(r.kind, RelocKind::Data { .. }))
        .count();
    assert!(data_relocs >= 2, "{:?}", p.relocs);
}

#[test]
fn map_in_map_initial_slots_and_inner_definition() {
    let spec = open("maps");
    let outer = spec.map("outer").unwrap();
    assert_eq!(
        outer.init_slots,
        vec![
            Some("inner_a".to_string()),
            None,
            Some("inner_b".to_string())
        ]
    );
    let inner = outer.inner.as_ref().unwrap();
    assert_eq!(inner.name, "outer.inner");
    assert_eq!(
        (
            inner.map_type,
            inner.key_size,
            inner.value_size,
            inner.max_entries
        ),
        (2, 4, 4, 1)
    );
    assert_eq!(spec.map("events").unwrap().max_entries, 256 * 1024);
}

#[test]
fn subprograms_and_no_autoload() {
    let spec = open("obj_subprogs");
    let subs: Vec<_> = spec
        .programs
        .iter()
        .filter(|p| p.is_subprog)
        .map(|p| p.name.as_str())
        .collect();
    for s in ["leaf", "mid_a", "mid_b", "global_helper", "loop_cb"] {
        assert!(subs.contains(&s), "{s} missing from {subs:?}");
    }
    assert!(!spec.program("not_autoloaded").unwrap().autoload);
    let with_loop = spec.program("with_loop").unwrap();
    assert!(with_loop
        .relocs
        .iter()
        .any(|r| matches!(r.kind, RelocKind::SubprogAddr { .. })));
}

#[test]
fn kconfig_externs_laid_out_like_libbpf() {
    let spec = open("obj_kconfig");
    let names: Vec<_> = spec.externs.iter().map(|e| e.name.as_str()).collect();
    // Sorted by descending alignment, then size, then name.
    assert_eq!(names[0], "CONFIG_OXBPF_DOES_NOT_EXIST");
    let kc = spec.map("obj_kco.kconfig").unwrap();
    assert_eq!(kc.kind, MapKind::Kconfig);
    let last = spec
        .externs
        .iter()
        .filter_map(|e| e.kcfg)
        .map(|k| k.data_off + k.size)
        .max()
        .unwrap();
    assert_eq!(kc.value_size, last);
}

#[test]
fn ksym_externs() {
    let spec = open("obj_ksyms");
    let kf = spec
        .externs
        .iter()
        .find(|e| e.name == "bpf_task_from_pid")
        .unwrap();
    assert!(kf.is_func);
    let typeless = spec.externs.iter().find(|e| e.name == "_stext").unwrap();
    assert_eq!(typeless.ksym_type_id, 0);
    assert!(
        spec.externs
            .iter()
            .find(|e| e.name == "oxbpf_missing_kfunc")
            .unwrap()
            .is_weak
    );
}

#[test]
fn truncated_and_foreign_input_is_an_error() {
    let bytes = std::fs::read(fixture("minimal")).unwrap();
    for cut in [0, 10, 64, bytes.len() / 2] {
        let r = ObjectSpec::parse(&bytes[..cut], "x", &OpenOptions::default());
        assert!(r.is_err(), "cut at {cut} parsed");
    }
    let mut wrong = bytes.clone();
    wrong[18] = 62; // e_machine = EM_X86_64
    let e = ObjectSpec::parse(&wrong, "x", &OpenOptions::default()).unwrap_err();
    assert!(e.to_string().contains("EM_BPF"), "{e}");
}

#[test]
fn opening_a_file_skips_dwarf_but_sees_the_same_object() {
    // open_file reads only the sections the parser looks at (no .debug_*); the result must be
    // exactly what parsing the whole file gives.
    for name in oxbpf_tests::fixture_names() {
        let path = oxbpf_tests::fixture(name);
        let from_file = oxbpf::Object::open_file(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let stem = oxbpf::obj::object_name_from_path(&path);
        let from_memory = oxbpf::Object::open_memory(&stem, &bytes).unwrap();
        assert_eq!(
            format!("{:?}", from_file.spec()),
            format!("{:?}", from_memory.spec()),
            "{name}"
        );
    }
}

#[test]
fn damaged_files_open_as_their_bytes_parse() {
    // open_file lays the sections out again; on damaged files it must still agree with parsing
    // the same bytes from memory: same success, same kind of error, never a panic.
    let path = oxbpf_tests::fixture("core_read");
    let good = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut variants: Vec<Vec<u8>> = [0, 10, 63, 64, 2000, good.len() / 2, good.len() - 1]
        .iter()
        .map(|&n| good[..n].to_vec())
        .collect();
    // Layouts the compact read must leave to the parser: no section table (e_shoff 0), a
    // misaligned one, and an empty section placed past the end of the file.
    let shoff = u64::from_le_bytes(good[40..48].try_into().unwrap());
    for bad_shoff in [0, shoff + 4] {
        let mut v = good.clone();
        v[40..48].copy_from_slice(&bad_shoff.to_le_bytes());
        variants.push(v);
    }
    {
        use object::{Object as _, ObjectSection as _};
        let file = object::File::parse(&good[..]).unwrap();
        let license = file.section_by_name("license").unwrap().index().0;
        let at = shoff as usize + 64 * license;
        let mut v = good.clone();
        v[at + 24..at + 32].copy_from_slice(&(good.len() as u64 + 4096).to_le_bytes());
        v[at + 32..at + 40].copy_from_slice(&0u64.to_le_bytes());
        variants.push(v);
    }
    // Byte flips spread over the file (header, section table, BTF, code, DWARF).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut v = good.clone();
        let at = if x.is_multiple_of(3) {
            (x >> 8) as usize % 64
        } else {
            (x >> 8) as usize % v.len()
        };
        v[at] ^= (x >> 40) as u8 | 1;
        variants.push(v);
    }
    for (i, bytes) in variants.iter().enumerate() {
        let file = dir.path().join(format!("v{i}.bpf.o"));
        std::fs::write(&file, bytes).unwrap();
        let stem = oxbpf::obj::object_name_from_path(&file);
        let from_file = oxbpf::Object::open_file(&file);
        let from_memory = oxbpf::Object::open_memory(&stem, bytes);
        match (from_file, from_memory) {
            (Ok(f), Ok(m)) => assert_eq!(
                format!("{:?}", f.spec()),
                format!("{:?}", m.spec()),
                "variant {i}"
            ),
            (Err(f), Err(m)) => assert_eq!(f.kind(), m.kind(), "variant {i}: {f} / {m}"),
            (f, m) => panic!(
                "variant {i}: file {:?} but memory {:?}",
                f.err().map(|e| e.to_string()),
                m.err().map(|e| e.to_string())
            ),
        }
    }
}
