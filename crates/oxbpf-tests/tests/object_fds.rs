//! No fd leaks across open, load, drop and failed loads (its own test binary: fd counts are per process).

use oxbpf_tests::fixture;

#[test]
fn load_and_drop_leaks_no_fds() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    // Warm the per-process caches (vmlinux BTF, kconfig, kallsyms) outside the measured window.
    let _ = oxbpf::Object::open_file(fixture("obj_ksyms"))
        .unwrap()
        .load();
    let before = oxbpf_tests::open_fds();
    for name in [
        "minimal",
        "maps",
        "obj_subprogs",
        "obj_globals",
        "obj_kconfig",
    ] {
        let obj = oxbpf::Object::open_file(fixture(name))
            .unwrap()
            .load()
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(obj
            .programs()
            .iter()
            .all(|p| p.handle().is_some() || p.name() == "not_autoloaded"));
        drop(obj);
    }
    // A failing load (typed ksym the kernel cannot resolve) releases what it created.
    let err = oxbpf::Object::open_file(fixture("obj_ksyms"))
        .unwrap()
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("typed_var"), "{err}");
    let err = oxbpf::Object::open_file(fixture("obj_reject"))
        .unwrap()
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("rejected"), "{err}");
    assert_eq!(oxbpf_tests::open_fds(), before, "fd leak");
}
