//! `oxbpf btf dump id N`: kernel BTF objects by id dump as their files do, and as bpftool dumps them.

use std::process::Command;

use oxbpf::sys::info::list_btf;

mod util;

use util::oxbpf_ok;

fn root() -> bool {
    util::root_or_skip("cannot open BTF objects by id")
}

#[test]
fn kernel_btf_by_id_equals_its_sysfs_file() {
    if !root() {
        return;
    }
    let objs = list_btf().unwrap();
    let vmlinux = objs
        .iter()
        .find(|o| o.name == "vmlinux")
        .expect("vmlinux BTF object");
    let id = vmlinux.id.to_string();
    for format in ["c", "raw"] {
        let by_id = oxbpf_ok(&["btf", "dump", "id", &id, "format", format]);
        let by_file = oxbpf_ok(&[
            "btf",
            "dump",
            "file",
            "/sys/kernel/btf/vmlinux",
            "format",
            format,
        ]);
        assert!(
            by_id == by_file,
            "vmlinux by id differs from its file ({format})"
        );
    }
    assert!(oxbpf_ok(&["btf", "dump", "id", &format!("{:#x}", vmlinux.id)]).starts_with("[1] "));
    // The library call behind it.
    let btf = oxbpf::kernel::btf_object::load_btf_by_id(vmlinux.id, None).unwrap();
    let file = oxbpf::btf::Btf::parse(&std::fs::read("/sys/kernel/btf/vmlinux").unwrap()).unwrap();
    assert_eq!(btf.len(), file.len());
    assert!(btf.base().is_none());
    // A module's BTF by id is split on vmlinux, as its sysfs file is (when the kernel has modules).
    match objs.iter().find(|o| o.kernel_btf && o.name != "vmlinux") {
        Some(m) => {
            let by_id = oxbpf_ok(&["btf", "dump", "id", &m.id.to_string(), "format", "raw"]);
            let path = format!("/sys/kernel/btf/{}", m.name);
            let by_file = oxbpf_ok(&["btf", "dump", "file", &path, "format", "raw"]);
            assert!(
                by_id == by_file,
                "module {} by id differs from {path}",
                m.name
            );
            assert!(
                !by_id.starts_with("[1] "),
                "module BTF ids continue vmlinux's"
            );
        }
        None => println!("SKIP: no module BTF on this kernel (split BTF by id not exercised)"),
    }
}

#[test]
fn program_btf_by_id_dumps_its_types_as_bpftool_does() {
    if !root() {
        return;
    }
    let before = oxbpf_tests::open_fds();
    {
        let obj = oxbpf::Object::open_file(oxbpf_tests::fixture("skel_types"))
            .unwrap()
            .load()
            .unwrap();
        let info = obj.program("fill").unwrap().info().unwrap();
        assert_ne!(info.btf_id, 0, "the program carries its object's BTF");
        let id = info.btf_id.to_string();
        let c = oxbpf_ok(&["btf", "dump", "id", &id, "format", "c"]);
        for def in [
            "struct skel_value {",
            "struct skel_bits {",
            "enum skel_kind {",
            "\tu32 lo: 4;",
        ] {
            assert!(c.contains(def), "missing `{def}` in:\n{c}");
        }
        let ours = oxbpf_ok(&["btf", "dump", "id", &id, "format", "raw"]);
        let theirs = util::stdout_of(
            Command::new("bpftool").args(["btf", "dump", "id", &id, "format", "raw"]),
        );
        assert_eq!(ours, theirs);
        assert!(ours.contains("STRUCT 'skel_bits'"));
        // And the default format is raw, as in bpftool.
        assert_eq!(oxbpf_ok(&["btf", "dump", "id", &id]), ours);
    }
    assert_eq!(oxbpf_tests::open_fds(), before, "fd leak");
}

#[test]
fn bad_ids_are_clear_errors() {
    for (id, want) in [
        ("abc", "can't parse 'abc' as a BTF object id"),
        ("4294967295", "BTF object #4294967295"),
    ] {
        let out = util::oxbpf()
            .args(["btf", "dump", "id", id])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(want), "{id}: {err}");
    }
}
