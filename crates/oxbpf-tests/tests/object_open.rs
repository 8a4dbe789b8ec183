//! Opening fixtures (pure, no root): programs, sections, subprograms, global data maps, relocations.

use oxbpf::obj::relocs::RelocKind;
use oxbpf::obj::{MapKind, ObjectSpec, OpenOptions};
use oxbpf_tests::fixture;

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

#[test]
fn minimal_programs_and_globals() {
    let spec = open("minimal");
    assert_eq!(spec.name, "minimal");
    assert_eq!(spec.license, "Dual BSD/GPL");
    let progs: Vec<_> = spec.entry_programs().collect();
    assert_eq!(progs.len(), 1);
    let p = progs[0];
    assert_eq!(p.name, "handle_write");
    assert_eq!(p.section, "tp/syscalls/sys_enter_write");
    assert_eq!(p.sec_def.as_ref().unwrap().prog_type_name(), "tracepoint");
    assert!(p.autoload);
    let names: Vec<_> = spec.maps.iter().map(|m| m.name.as_str()).collect();
    assert!(names.contains(&"minimal.rodata"), "{names:?}");
    assert!(names.contains(&"minimal.bss"), "{names:?}");
    let ro = spec.map("minimal.rodata").unwrap();
    assert_eq!(ro.kind, MapKind::Rodata);
    assert_eq!(ro.real_name, ".rodata");
    // target_pid and hits are referenced through ld_imm64 data relocations.
    let data_relocs = p
        .relocs
        .iter()
        .filter(|r| matches!(r.kind, RelocKind::Data { .. }))
        .count();
    assert!(data_relocs >= 2, "{:?}", p.relocs);
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
