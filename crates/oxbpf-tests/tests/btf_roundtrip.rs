//! BTF parse → encode round-trips byte for byte on every fixture object's `.BTF` and on the running
//! kernel's BTF, and every fixture's `.BTF.ext` parses with its section names resolved.

use object::{Object, ObjectSection};
use oxbpf::btf::{Btf, BtfExt, TypeKind};

fn section<'a>(file: &'a object::File<'a>, name: &str) -> Option<&'a [u8]> {
    file.section_by_name(name).and_then(|s| s.data().ok())
}

#[test]
fn fixture_btf_round_trips() {
    let mut checked = 0;
    for name in oxbpf_tests::fixture_names() {
        for set in oxbpf_tests::header_sets() {
            let path = oxbpf_tests::fixture_with(name, set);
            let bytes = std::fs::read(&path).unwrap();
            let file = object::File::parse(&*bytes).unwrap();
            let data =
                section(&file, ".BTF").unwrap_or_else(|| panic!("{}: no .BTF", path.display()));
            let btf = Btf::parse(data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                btf.to_bytes(),
                data,
                "{}: .BTF does not round-trip",
                path.display()
            );
            // Every name resolves and every type has a resolvable kind.
            for (_, t) in btf.types() {
                btf.type_name(t).unwrap();
            }
            // Objects always describe their sections with DATASECs (".maps" here, where maps exist).
            assert!(btf
                .types()
                .any(|(_, t)| matches!(t.kind, TypeKind::Datasec(_) | TypeKind::Func(_))));
            if let Some(ext) = section(&file, ".BTF.ext") {
                let ext =
                    BtfExt::parse(ext, &btf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(ext.func_info_rec_size >= 8 && !ext.func_info.is_empty());
                for sec in &ext.func_info {
                    assert!(
                        file.section_by_name(&sec.name).is_some(),
                        "no ELF section {}",
                        sec.name
                    );
                    for fi in &sec.records {
                        assert!(matches!(
                            btf.type_by_id(fi.type_id).unwrap().kind,
                            TypeKind::Func(_)
                        ));
                    }
                }
                for sec in &ext.line_info {
                    for li in &sec.records {
                        btf.str_at(li.file_name_off).unwrap();
                        btf.str_at(li.line_off).unwrap();
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no fixtures");
}

#[test]
fn kernel_btf_round_trips() {
    let Ok(vmlinux) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        oxbpf_tests::skip("no /sys/kernel/btf/vmlinux");
        return;
    };
    let base = std::sync::Arc::new(Btf::parse(&vmlinux).unwrap());
    assert_eq!(base.to_bytes(), vmlinux);
    for entry in std::fs::read_dir("/sys/kernel/btf").unwrap().flatten() {
        if entry.file_name() == "vmlinux" {
            continue;
        }
        let data = std::fs::read(entry.path()).unwrap();
        let module = Btf::parse_split(&data, base.clone()).unwrap();
        assert_eq!(module.to_bytes(), data, "{}", entry.path().display());
    }
}
