//! Bad input gives a clear error, never a panic: corrupted and truncated objects (property test on
//! `Object::open_memory`), legacy `maps` section, unknown section, missing BTF, map of size 0,
//! unresolvable extern.

use object::read::elf::{FileHeader, SectionHeader};
use oxbpf::Object;
use oxbpf_tests::fixture;
use proptest::prelude::*;

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// Points section `from`'s name at the string of `to_name_of` shifted by `skip` bytes: a cheap way
/// to rename a section without rewriting the string table.
fn rename_section(data: &mut [u8], from: &str, target: &str, skip: u32) {
    let hdr = object::elf::FileHeader64::<object::Endianness>::parse(&*data).unwrap();
    let e = hdr.endian().unwrap();
    let shoff = hdr.e_shoff(e) as usize;
    let secs = hdr.sections(e, &*data).unwrap();
    let (from_idx, _) = secs.section_by_name(e, from.as_bytes()).unwrap();
    let (_, to) = secs.section_by_name(e, target.as_bytes()).unwrap();
    let new_name = to.sh_name(e) + skip;
    let at = shoff + from_idx.0 * 64;
    data[at..at + 4].copy_from_slice(&new_name.to_le_bytes());
}

#[test]
fn legacy_maps_section_is_rejected_like_libbpf() {
    let mut b = bytes("maps");
    rename_section(&mut b, ".maps", ".maps", 1); // ".maps" -> "maps"
    let e = Object::open_memory("maps", &b).unwrap_err();
    assert_eq!(e.kind(), oxbpf::ErrorKind::NotSupported);
    assert!(
        e.to_string()
            .contains("legacy map definitions in 'maps' section are not supported by libbpf v1.0+"),
        "{e}"
    );
}

/// Makes function symbol `name` STB_LOCAL: a static program, which libbpf refuses outside `.text`.
fn make_static(data: &mut [u8], name: &str) {
    let hdr = object::elf::FileHeader64::<object::Endianness>::parse(&*data).unwrap();
    let e = hdr.endian().unwrap();
    let secs = hdr.sections(e, &*data).unwrap();
    let symtab = secs.symbols(e, &*data, object::elf::SHT_SYMTAB).unwrap();
    let (idx, _) = symtab
        .iter()
        .enumerate()
        .find(|(_, s)| symtab.symbol_name(e, s).unwrap() == name.as_bytes())
        .unwrap();
    let (_, sh) = secs.section_by_name(e, b".symtab").unwrap();
    let at = sh.sh_offset(e) as usize + idx * 24 + 4; // st_info
    data[at] = (object::elf::STB_LOCAL << 4) | object::elf::STT_FUNC;
}

/// cilium/ebpf's loader.o holds both a static program (section 4) and a legacy `maps` section
/// (section 16): libbpf reads sections in order and names the static program; so must we.
#[test]
fn first_refusal_in_section_order_wins_like_libbpf() {
    let mut b = bytes("maps");
    make_static(&mut b, "on_exit_write"); // section 6
    let e = Object::open_memory("maps", &b).unwrap_err();
    let msg =
        "sec 'tp/syscalls/sys_exit_write': program 'on_exit_write' is static and not supported";
    assert_eq!(e.kind(), oxbpf::ErrorKind::NotSupported);
    assert!(e.to_string().contains(msg), "{e}");
    rename_section(&mut b, ".maps", ".maps", 1); // section 9: ".maps" -> "maps"
    let e = Object::open_memory("maps", &b).unwrap_err();
    assert_eq!(e.kind(), oxbpf::ErrorKind::NotSupported);
    assert!(e.to_string().contains(msg), "{e}");
    // libbpf refuses it too (it prints the same line; its error is only the errno).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maps.o");
    std::fs::write(&path, &b).unwrap();
    let l = oxbpf_tests::libbpf_ref::load(&path).unwrap_err();
    assert!(l.contains("Operation not supported"), "{l}");
}

#[test]
fn missing_btf_for_btf_maps_is_an_error() {
    let mut b = bytes("maps");
    rename_section(&mut b, ".BTF", ".BTF.ext", 4); // ".BTF" -> ".ext": an unknown data section
    let e = Object::open_memory("maps", &b).unwrap_err();
    assert!(e.to_string().contains("BTF is required"), "{e}");
}

#[test]
fn unknown_section_opens_but_does_not_load() {
    let mut b = bytes("minimal");
    rename_section(
        &mut b,
        "tp/syscalls/sys_enter_write",
        "tp/syscalls/sys_enter_write",
        3,
    );
    let open = Object::open_memory("minimal", &b).unwrap();
    let p = open.spec().program("handle_write").unwrap();
    assert_eq!(p.section, "syscalls/sys_enter_write");
    assert!(p.sec_def.is_none());
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let e = open.load().unwrap_err();
    assert!(
        e.to_string()
            .contains("missing BPF prog type, check ELF section name 'syscalls/sys_enter_write'"),
        "{e}"
    );
}

#[test]
fn map_of_size_zero_names_the_map() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let mut open = Object::open_file(fixture("maps")).unwrap();
    open.map_mut("counts").unwrap().max_entries = 0;
    let e = open.load().unwrap_err();
    assert!(e.to_string().contains("map 'counts'"), "{e}");
    assert_eq!(e.errno(), Some(libc::EINVAL), "{e:?}");
}

#[test]
fn unresolvable_extern_is_named() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let mut open = Object::open_file(fixture("obj_kconfig")).unwrap();
    let ext = open
        .spec_mut()
        .externs
        .iter_mut()
        .find(|e| e.name == "CONFIG_OXBPF_DOES_NOT_EXIST")
        .unwrap();
    ext.is_weak = false;
    let e = open.load().unwrap_err();
    assert!(
        e.to_string()
            .contains("extern 'CONFIG_OXBPF_DOES_NOT_EXIST' (strong): not resolved"),
        "{e}"
    );
}

#[test]
fn kconfig_override_is_read_first() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let mut open = Object::open_file(fixture("obj_kconfig")).unwrap();
    open.set_kconfig("CONFIG_OXBPF_DOES_NOT_EXIST=0x1234\nCONFIG_HZ=77\n");
    let obj = open.load().unwrap();
    let kc = obj.map("obj_kco.kconfig").unwrap();
    let v = kc
        .handle()
        .unwrap()
        .lookup(&0u32.to_ne_bytes(), oxbpf::map::MapFlags::ANY)
        .unwrap()
        .unwrap();
    let off = |name: &str| obj_ext_off(name);
    assert_eq!(
        u64::from_ne_bytes(
            v[off("CONFIG_OXBPF_DOES_NOT_EXIST")..][..8]
                .try_into()
                .unwrap()
        ),
        0x1234
    );
    assert_eq!(
        i32::from_ne_bytes(v[off("CONFIG_HZ")..][..4].try_into().unwrap()),
        77
    );
}

fn obj_ext_off(name: &str) -> usize {
    let open = Object::open_file(fixture("obj_kconfig")).unwrap();
    open.spec()
        .externs
        .iter()
        .find(|e| e.name == name)
        .unwrap()
        .kcfg
        .unwrap()
        .data_off as usize
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer run.
    #[test]
    fn corrupted_objects_never_panic(
        which in 0usize..4,
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<proptest::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let name = ["minimal", "maps", "obj_subprogs", "obj_kconfig"][which];
        let mut b = bytes(name);
        for (i, v) in flips {
            let at = i.index(b.len());
            b[at] = v;
        }
        if truncate {
            b.truncate(cut.index(b.len()));
        }
        let _ = Object::open_memory(name, &b);
    }
}
