//! The malformed-input corpus: real fixture objects corrupted in one precise way each (truncated
//! ELF, section table out of the file, absurd BTF sizes and counts, bad string offsets, type
//! loops, bad `.BTF.ext` record sizes, relocations outside their section or naming no symbol,
//! `.maps` definitions of the wrong kind). Each must fail with a clear error that names the
//! place (object, section, map, type id) and the rule broken; never a panic, and nothing left
//! open or mapped ([`oxbpf_tests::leak_check`]).

use object::read::elf::FileHeader;
use object::{Object as _, ObjectSection, ObjectSymbol};
use oxbpf::btf::{Btf, Kind, Type, TypeId, TypeKindBuf};
use oxbpf::Object;
use oxbpf_tests::fixture;

fn bytes(name: &str) -> Vec<u8> {
    // Under the lock every leak check holds: the file's fd must not show up in another test's count.
    let _serial = oxbpf_tests::serial();
    std::fs::read(fixture(name)).unwrap()
}

/// File offset and size of section `name`.
fn section(data: &[u8], name: &str) -> (usize, usize) {
    let f = object::File::parse(data).unwrap();
    let s = f.section_by_name(name).unwrap();
    let (off, size) = s.file_range().unwrap();
    (off as usize, size as usize)
}

fn put_u32(data: &mut [u8], at: usize, v: u32) {
    data[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(data: &mut [u8], at: usize, v: u64) {
    data[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Rewrites the object's `.BTF` after `edit` (which must keep the encoded size).
fn edit_btf(data: &mut [u8], edit: impl FnOnce(&mut Btf)) {
    let (off, size) = section(data, ".BTF");
    let mut btf = Btf::parse(&data[off..off + size]).unwrap();
    edit(&mut btf);
    let new = btf.to_bytes();
    assert_eq!(new.len(), size, "the edit keeps .BTF's size");
    data[off..off + size].copy_from_slice(&new);
}

/// Opens `data`, which must fail; returns the error text. Checks nothing leaks.
fn open_err(name: &str, data: &[u8]) -> String {
    oxbpf_tests::leak_check(|| match Object::open_memory(name, data) {
        Ok(_) => panic!("{name}: corrupted object opened"),
        Err(e) => format!("{e:#}"),
    })
}

#[track_caller]
fn assert_has(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "error lacks {p:?}: {err}");
    }
}

/// The id of the first type satisfying `f`.
fn find(btf: &Btf, f: impl Fn(&Btf, TypeId, Type<'_>) -> bool) -> TypeId {
    (1..btf.len() as TypeId)
        .find(|&id| f(btf, id, btf.type_by_id(id).unwrap()))
        .unwrap()
}

/// The id of the struct type that defines map `map` in `.maps`.
fn map_def_struct(btf: &Btf, map: &str) -> TypeId {
    let var = find(btf, |b, _, t| {
        t.btf_kind() == Kind::Var && b.str_at(t.name_off).ok() == Some(map)
    });
    btf.skip_mods_and_typedefs(btf.type_by_id(var).unwrap().target().unwrap())
        .unwrap()
        .0
}

/// Points the single referenced type of `id` (PTR, TYPEDEF, VAR, ...) at `to`.
fn retarget(btf: &mut Btf, id: TypeId, to: TypeId) {
    let mut t = btf.type_by_id(id).unwrap().to_buf();
    match &mut t.kind {
        TypeKindBuf::Ptr(x)
        | TypeKindBuf::Typedef(x)
        | TypeKindBuf::Volatile(x)
        | TypeKindBuf::Const(x)
        | TypeKindBuf::Restrict(x) => *x = to,
        TypeKindBuf::Var(v) => v.type_id = to,
        _ => panic!("cannot retarget {:?}", t.btf_kind()),
    }
    btf.set_type(id, t).unwrap();
}

#[test]
fn truncated_elf_is_named() {
    let b = bytes("maps");
    for cut in [0, 4, 16, 63, 64, b.len() / 2, b.len() - 1] {
        let e = open_err("maps", &b[..cut]);
        let rule = if cut < 64 {
            "elf: not a 64-bit ELF file"
        } else {
            "elf: section headers: Invalid ELF section header offset/size/alignment"
        };
        assert_has(&e, &["object 'maps'", rule]);
    }
}

#[test]
fn section_table_outside_the_file() {
    let mut b = bytes("maps");
    let len = b.len() as u64;
    put_u64(&mut b, 0x28, len + 4096); // e_shoff
    let e = open_err("maps", &b);
    assert_has(
        &e,
        &["object 'maps': elf: section headers: Invalid ELF section header offset"],
    );
}

#[test]
fn section_data_outside_the_file() {
    let mut b = bytes("maps");
    let hdr = object::elf::FileHeader64::<object::Endianness>::parse(&*b).unwrap();
    let endian = hdr.endian().unwrap();
    let shoff = hdr.e_shoff(endian) as usize;
    let (idx, _) = hdr
        .sections(endian, &*b)
        .unwrap()
        .section_by_name(endian, b".BTF")
        .unwrap();
    // sh_offset of .BTF far past the end.
    put_u64(&mut b, shoff + idx.0 * 64 + 24, 1 << 40);
    let e = open_err("maps", &b);
    assert_has(
        &e,
        &[&format!(
            "object 'maps': elf: section #{} '.BTF': data out of bounds",
            idx.0
        )],
    );
}

#[test]
fn btf_type_section_of_absurd_size() {
    let mut b = bytes("maps");
    let (off, _) = section(&b, ".BTF");
    put_u32(&mut b, off + 12, 0xffff_fff0); // btf_header.type_len
    let e = open_err("maps", &b);
    assert_has(
        &e,
        &[
            "object 'maps': BTF is required, but is missing or corrupted",
            "BTF: type section 0+4294967280 overlaps the string section",
        ],
    );
}

#[test]
fn btf_string_offset_out_of_range() {
    let mut b = bytes("maps");
    let (off, _) = section(&b, ".BTF");
    // The first type's name_off (right after the 24-byte header) points far past the strings.
    put_u32(&mut b, off + 24, 0x00ff_ffff);
    let e = open_err("maps", &b);
    assert_has(
        &e,
        &["BTF type [1] PTR: type name offset 16777215 outside the string section"],
    );
}

#[test]
fn btf_huge_member_count() {
    let mut b = bytes("maps");
    let (off, _) = section(&b, ".BTF");
    let btf = Btf::parse(&b[off..off + section(&b, ".BTF").1]).unwrap();
    let id = map_def_struct(&btf, "counts");
    // Walk the raw type section to the struct's info word and set vlen to 0xffff.
    let type_off = off + 24 + u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
    let mut at = type_off;
    for i in 1..id {
        at += raw_type_size(&b[at..]).unwrap_or_else(|| panic!("type {i}"));
    }
    let info = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap());
    put_u32(&mut b, at + 4, info | 0xffff);
    let e = open_err("maps", &b);
    assert_has(
        &e,
        &[
            "object 'maps': BTF is required, but is missing or corrupted",
            &format!(
                "BTF type [{id}] at offset {}: truncated member list",
                at - off
            ),
        ],
    );
}

/// Encoded size of the raw BTF type at the start of `b` (enough kinds for the fixtures).
fn raw_type_size(b: &[u8]) -> Option<usize> {
    let info = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
    let vlen = (info & 0xffff) as usize;
    let kind = (info >> 24) & 0x1f;
    Some(
        12 + match kind {
            1 => 4,             // INT
            3 => 12,            // ARRAY
            4 | 5 => 12 * vlen, // STRUCT, UNION
            6 => 8 * vlen,      // ENUM
            13 => 8 * vlen,     // FUNC_PROTO
            14 => 4,            // VAR
            15 => 12 * vlen,    // DATASEC
            17 => 4,            // DECL_TAG
            19 => 12 * vlen,    // ENUM64
            _ => 0,             // PTR, FWD, TYPEDEF, modifiers, FUNC, FLOAT, TYPE_TAG
        },
    )
}

#[test]
fn btf_type_loop_in_a_map_key() {
    let mut b = bytes("maps");
    let mut key_ptr: TypeId = 0;
    edit_btf(&mut b, |btf| {
        let def = map_def_struct(btf, "counts");
        let (key, _) = btf.find_member(def, "key").unwrap().unwrap();
        // key: PTR -> TYPEDEF u32 becomes PTR -> TYPEDEF -> itself: the key size cannot resolve.
        key_ptr = btf.type_by_id(key.type_id).unwrap().target().unwrap();
        retarget(btf, key_ptr, key_ptr);
    });
    let e = open_err("maps", &b);
    // The u32 typedef is shared, so the first map using it (in `.maps` order) is the one named.
    assert_has(
        &e,
        &[
            "object 'maps': map '",
            &format!("can't determine key size for type [{key_ptr}]"),
            "reference chain longer than 32 (type loop?)",
        ],
    );
}

#[test]
fn map_attr_of_the_wrong_kind() {
    let mut b = bytes("maps");
    edit_btf(&mut b, |btf| {
        let def = map_def_struct(btf, "counts");
        let int = find(btf, |_, _, t| t.btf_kind() == Kind::Int);
        btf.update_type(def, |t| {
            let TypeKindBuf::Struct(c) = &mut t.kind else {
                panic!("map def is a struct");
            };
            // `type` is the first member of the fixture's map definitions.
            c.members[0].type_id = int;
        })
        .unwrap();
    });
    let e = open_err("maps", &b);
    assert_has(
        &e,
        &["map 'counts'", "attr 'type'", "expected PTR, got INT."],
    );
}

#[test]
fn map_definition_that_is_not_a_struct() {
    let mut b = bytes("maps");
    edit_btf(&mut b, |btf| {
        let var = find(btf, |b, _, t| {
            t.btf_kind() == Kind::Var && b.str_at(t.name_off).ok() == Some("counts")
        });
        let int = find(btf, |_, _, t| t.btf_kind() == Kind::Int);
        retarget(btf, var, int);
    });
    let e = open_err("maps", &b);
    assert_has(&e, &["object 'maps': map 'counts': unexpected def kind"]);
}

/// Like libbpf, a bad `.BTF.ext` is reported and ignored (the object opens without line and func
/// info); the parser's error says what is wrong.
fn btf_ext_is_ignored_with(data: &[u8], expected: &str) {
    let (off, size) = section(data, ".BTF");
    let btf = Btf::parse(&data[off..off + size]).unwrap();
    let (off, size) = section(data, ".BTF.ext");
    let e = oxbpf::btf::BtfExt::parse(&data[off..off + size], &btf).unwrap_err();
    assert_has(&e.to_string(), &[expected]);
    oxbpf_tests::leak_check(|| {
        let open = Object::open_memory("maps", data).expect("a bad .BTF.ext is ignored");
        assert!(open.spec().program("handle_exit").is_some() || !open.spec().programs.is_empty());
    });
}

#[test]
fn btf_ext_record_size_too_small() {
    let mut b = bytes("maps");
    let (off, _) = section(&b, ".BTF.ext");
    let hdr_len = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as usize;
    let func_info_off = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
    put_u32(&mut b, off + hdr_len + func_info_off, 3); // func_info rec_size
    btf_ext_is_ignored_with(
        &b,
        "BTF.ext: func_info record size 3 at offset 32 invalid (minimum 8, multiple of 4)",
    );
}

#[test]
fn btf_ext_record_count_past_the_section() {
    let mut b = bytes("maps");
    let (off, _) = section(&b, ".BTF.ext");
    let hdr_len = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as usize;
    let line_info_off = u32::from_le_bytes(b[off + 16..off + 20].try_into().unwrap()) as usize;
    // The first line_info section's num_info (after rec_size and sec_name_off).
    put_u32(&mut b, off + hdr_len + line_info_off + 8, 0x0fff_ffff);
    btf_ext_is_ignored_with(
        &b,
        "BTF.ext: line_info section at offset 88: 268435455 records of 16 bytes run past the part end",
    );
}

/// File offset of the first `Elf64_Rel` of the relocation section for `target`.
fn first_rel(data: &[u8], target: &str) -> usize {
    section(data, &format!(".rel{target}")).0
}

#[test]
fn relocation_outside_its_section() {
    let mut b = bytes("maps");
    let at = first_rel(&b, "raw_tp/sys_enter");
    put_u64(&mut b, at, 0x10_0000); // r_offset far past the program
    let e = open_err("maps", &b);
    assert_has(
        &e,
        &["object 'maps': sec '.relraw_tp/sys_enter': invalid offset 0x100000 for relo #0"],
    );
}

#[test]
fn relocation_naming_no_symbol() {
    let mut b = bytes("maps");
    let at = first_rel(&b, "raw_tp/sys_enter");
    let info = u64::from_le_bytes(b[at + 8..at + 16].try_into().unwrap());
    put_u64(&mut b, at + 8, (0xffffu64 << 32) | (info & 0xffff_ffff)); // symbol #65535
    let e = open_err("maps", &b);
    assert_has(
        &e,
        &["object 'maps': sec '.relraw_tp/sys_enter': symbol #65535 not found for relo #0"],
    );
}

#[test]
fn symbol_in_no_section() {
    let mut b = bytes("maps");
    let (symtab, size) = section(&b, ".symtab");
    let f = object::File::parse(&*b).unwrap();
    let idx = f
        .symbols()
        .find(|s| s.name() == Ok("counts"))
        .map(|s| s.index().0)
        .unwrap();
    drop(f);
    assert!(idx * 24 < size);
    // st_shndx of map `counts`'s symbol: a section that does not exist.
    b[symtab + idx * 24 + 6..symtab + idx * 24 + 8].copy_from_slice(&0xfeffu16.to_le_bytes());
    let e = open_err("maps", &b);
    assert_has(
        &e,
        &[
            "object 'maps'",
            "sec '.rel.text'",
            &format!("corrupted symbol #{idx} pointing to invalid section #65279 for relo #0"),
        ],
    );
}
