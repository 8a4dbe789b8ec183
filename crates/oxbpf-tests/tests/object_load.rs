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
