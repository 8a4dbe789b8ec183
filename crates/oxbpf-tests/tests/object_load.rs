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
