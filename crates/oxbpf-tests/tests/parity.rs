//! Tag parity: every fixture loads under oxbpf with the same verdict, tag and xlated length as libbpf.

use oxbpf_tests::{fixture, libbpf_ref, parity};

#[test]
fn libbpf_reference_loads_minimal() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let v = libbpf_ref::load(&fixture("minimal")).unwrap();
    assert_eq!(v.len(), 1);
    assert!(v[0].loaded, "{v:?}");
    assert_eq!(v[0].section, "tp/syscalls/sys_enter_write");
    assert!(v[0].xlated_len.unwrap() > 0);
}

/// Fixtures left out of the all-fixtures parity run, with the reason. Empty: every fixture is in.
const EXCLUDED: &[(&str, &str)] = &[];

#[test]
fn tag_parity_all_fixtures() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    for name in oxbpf_tests::fixture_names() {
        if let Some((_, why)) = EXCLUDED.iter().find(|(n, _)| *n == name) {
            println!("excluded {name}: {why}");
            continue;
        }
        parity::assert_tag_parity(&fixture(name));
    }
    // The header-compatibility fixtures, built with libbpf's headers and with ours: both builds load
    // under oxbpf exactly as under libbpf (verdict, tag and xlated length).
    for name in oxbpf_tests::header_fixture_names() {
        for headers in ["libbpf", "oxbpf"] {
            parity::assert_tag_parity(&oxbpf_tests::fixture_with(name, headers));
        }
    }
}

/// Third-party objects: the clang-built BPF objects Debian's xdp-tools, xdp-tests and libxdp ship.
const THIRD_PARTY_DIRS: &[&str] = &["/usr/lib/x86_64-linux-gnu/bpf", "/usr/libexec/xdp-tools"];

#[test]
fn tag_parity_debian_xdp_tools_objects() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let mut objs: Vec<_> = THIRD_PARTY_DIRS
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    objs.sort();
    assert!(
        objs.len() >= 15,
        "xdp-tools objects missing ({} found): scripts/setup.sh installs xdp-tools and xdp-tests",
        objs.len()
    );
    let mut programs = 0;
    for obj in &objs {
        programs += parity::assert_tag_parity(obj).libbpf.len();
    }
    println!(
        "tag parity on {} Debian xdp-tools objects, {programs} programs",
        objs.len()
    );
    assert!(programs >= objs.len());
}
