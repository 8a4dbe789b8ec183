//! Unit tests of the C dumper on hand-built BTF.

use super::*;
use crate::btf::Linkage;

fn dump_all(b: &Btf) -> String {
    let mut d = CDumper::new(b);
    for id in 1..b.len() as TypeId {
        d.dump_type(id).unwrap();
    }
    d.take_output()
}

#[test]
fn bitfields_padding_and_packed() {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, INT_SIGNED).unwrap();
    let uchar = b.add_int("unsigned char", 1, 0).unwrap();
    let long = b.add_int("long", 8, INT_SIGNED).unwrap();
    // struct bf { int a: 3; int b: 5; /* gap */ long c; };
    b.add_struct(
        "bf",
        16,
        &[("a", int, 0, 3), ("b", int, 3, 5), ("c", long, 64, 0)],
    );
    // A packed struct: a long at offset 1.
    b.add_struct("pk", 9, &[("x", uchar, 0, 0), ("y", long, 8, 0)]);
    // Trailing padding: `long: 0` aligns to 8, then `int: 32` fills the rest.
    b.add_struct("tail", 12, &[("x", int, 0, 0)]);
    let out = dump_all(&b);
    assert!(
        out.contains("struct bf {\n\tint a: 3;\n\tint b: 5;\n\tlong c;\n};\n\n"),
        "{out}"
    );
    assert!(
        out.contains("struct pk {\n\tunsigned char x;\n\tlong y;\n} __attribute__((packed));\n\n"),
        "{out}"
    );
    assert!(
        out.contains("struct tail {\n\tint x;\n\tlong: 0;\n\tint: 32;\n};\n\n"),
        "{out}"
    );
}

#[test]
fn anonymous_members_arrays_and_function_pointers() {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, INT_SIGNED).unwrap();
    let chr = b.add_int("char", 1, INT_CHAR).unwrap();
    let arr = b.add_array(chr, int, 16);
    let arr2 = b.add_array(arr, int, 2);
    let cchr = b.add_const(chr);
    let pcchr = b.add_ptr(cchr);
    let proto = b.add_func_proto(int, &[("name", pcchr), ("", 0)]);
    let fptr = b.add_ptr(proto);
    let anon_u = b.add_union("", 4, &[("i", int, 0, 0), ("c", chr, 0, 0)]);
    let cb = b.add_typedef("cb_t", fptr);
    b.add_struct(
        "s",
        56,
        &[
            ("", anon_u, 0, 0),
            ("names", arr2, 32, 0),
            ("cb", fptr, 320, 0),
            ("cb2", cb, 384, 0),
        ],
    );
    let out = dump_all(&b);
    let want = "struct s {\n\tunion {\n\t\tint i;\n\t\tchar c;\n\t};\n\tchar names[2][16];\n\
                \tint (*cb)(const char *name, ...);\n\tcb_t cb2;\n};\n\n";
    assert!(
        out.contains("typedef int (*cb_t)(const char *name, ...);\n\n"),
        "{out}"
    );
    assert!(out.contains(want), "{out}");
    // The typedef is defined before the struct that uses it.
    assert!(out.find("typedef int (*cb_t)").unwrap() < out.find("struct s {").unwrap());
}

#[test]
fn forward_declarations_and_dependency_order() {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, INT_SIGNED).unwrap();
    // struct a { struct b *pb; }; struct b { struct a a; int x; };  -> b needs a defined first,
    // a needs only a forward declaration of b.
    let a_id = b.add_struct("a", 8, &[("pb", 0, 0, 0)]);
    let b_id = b.add_struct("b", 16, &[("a", a_id, 0, 0), ("x", int, 64, 0)]);
    let pb = b.add_ptr(b_id);
    let pb_name = b.add_string("pb");
    b.update_type(a_id, |t| {
        t.kind = TypeKindBuf::Struct(CompositeBuf {
            size: 8,
            bitfield_encoding: false,
            members: vec![Member {
                name_off: pb_name,
                type_id: pb,
                bit_offset: 0,
                bitfield_size: 0,
            }],
        })
    })
    .unwrap();
    let fwd = b.add_fwd("opaque", FwdKind::Union);
    let pf = b.add_ptr(fwd);
    b.add_var("v", pf, Linkage::Global);
    let out = dump_all(&b);
    assert_eq!(
        out,
        "struct b;\n\nstruct a {\n\tstruct b *pb;\n};\n\nstruct b {\n\tstruct a a;\n\tint x;\n};\n\nunion opaque;\n\n",
    );
}

#[test]
fn enums_signed_64_and_duplicate_names() {
    let mut b = Btf::new();
    b.add_enum("e", 4, true, &[("A", -1), ("B", 2)]);
    b.add_enum("", 4, false, &[("A", 7)]);
    b.add_enum64("big", 8, false, &[("HUGE", 1 << 40)]);
    b.add_enum("small", 1, false, &[("S", 1)]);
    b.add_struct("dup", 4, &[]);
    b.add_struct("dup", 8, &[]);
    let out = dump_all(&b);
    assert!(
        out.contains("enum e {\n\tA = -1,\n\tB = 2,\n};\n\n"),
        "{out}"
    );
    assert!(out.contains("enum {\n\tA___2 = 7,\n};\n\n"), "{out}");
    assert!(
        out.contains("enum big {\n\tHUGE = 1099511627776ULL,\n};\n\n"),
        "{out}"
    );
    assert!(out.contains("} __attribute__((mode(byte)));"), "{out}");
    assert!(
        out.contains("struct dup {\n\tint: 32;\n};\n\nstruct dup___2 {\n\tlong: 64;\n};\n\n"),
        "{out}"
    );
}

#[test]
fn inline_anonymous_nesting_is_bounded() {
    // Each anonymous union holds the next one twice: written inline, 2^24 copies of the
    // innermost member from 25 types.
    let mut b = Btf::new();
    let mut inner = b.add_int("int", 4, 0).unwrap();
    for _ in 0..24 {
        inner = b.add_union("", 4, &[("a", inner, 0, 0), ("b", inner, 0, 0)]);
    }
    let top = b.add_struct("top", 4, &[("x", inner, 0, 0)]);
    let mut d = CDumper::new(&b);
    d.set_output_limit(1 << 20);
    let e = d.dump_type(top).unwrap_err();
    assert!(
        e.to_string().contains("C output exceeds 1048576 bytes"),
        "{e}"
    );
    assert!(d.output().len() < 2 << 20, "{}", d.output().len());
}

#[test]
fn total_padding_is_bounded() {
    // Found by the btf_dump fuzz target: members each just under the per-gap limit apart add
    // up to hundreds of MiB of filler from a few hundred bytes of BTF.
    let mut b = Btf::new();
    let int = b.add_int("int", 4, 0).unwrap();
    let step = (MAX_PADDING_BITS - 64) as u32;
    let names: Vec<String> = (0..16).map(|i| format!("m{i}")).collect();
    let members: Vec<(&str, TypeId, u32, u8)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), int, i as u32 * step, 0))
        .collect();
    let s = b.add_struct("spread", 16 * step / 8, &members);
    let mut d = CDumper::new(&b);
    let e = d.dump_type(s).unwrap_err();
    assert!(e.to_string().contains("total padding budget"), "{e}");
    assert!(d.output().len() < 16 << 20, "{} bytes", d.output().len());
}

#[test]
fn huge_padding_gap_is_an_error_not_gigabytes() {
    // Found by the btf_parse fuzz target: a 256 MiB struct with no members.
    let mut b = Btf::new();
    let s = b.add_struct("huge", 1 << 28, &[]);
    let e = CDumper::new(&b).dump_type(s).unwrap_err();
    assert!(e.to_string().contains("too large to dump"), "{e}");
    // A gap just under the limit still dumps.
    let ok = b.add_struct("big", 1 << 20, &[]);
    let mut d = CDumper::new(&b);
    d.dump_type(ok).unwrap();
    assert_eq!(
        d.output().lines().filter(|l| *l == "\tlong: 64;").count(),
        (1 << 20) / 8
    );
}

#[test]
fn loops_are_errors_not_hangs() {
    let mut b = Btf::new();
    let p1 = b.add_ptr(2);
    let _p2 = b.add_ptr(p1);
    let td = b.add_typedef("t", p1);
    let mut d = CDumper::new(&b);
    let e = d.dump_type(td).unwrap_err();
    assert!(e.to_string().contains("loop"), "{e}");
    // An anonymous struct containing itself.
    let mut b = Btf::new();
    b.add_struct("", 4, &[("x", 1, 0, 0)]);
    let td = b.add_typedef("t", 1);
    assert!(CDumper::new(&b).dump_type(td).is_err());
}

#[test]
fn anonymous_member_of_a_named_type_keeps_its_tag() {
    // 7.x kernels (built with -fms-extensions): `union { struct tree; struct head rcu; };`. As
    // libbpf and bpftool do, the member is spelled with its tag only, which compilers read as
    // a member under -fms-extensions (and as declaring nothing otherwise).
    let mut b = Btf::new();
    let int = b.add_int("int", 4, INT_SIGNED).unwrap();
    let tree = b.add_struct("tree", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]);
    let head = b.add_struct("head", 4, &[("x", int, 0, 0)]);
    let u = b.add_union("", 8, &[("", tree, 0, 0), ("rcu", head, 0, 0)]);
    let outer = b.add_struct("outer", 12, &[("n", int, 0, 0), ("", u, 32, 0)]);
    let mut d = CDumper::new(&b);
    d.dump_type(outer).unwrap();
    let out = d.take_output();
    assert!(
        out.contains(
            "struct outer {\n\tint n;\n\tunion {\n\t\tstruct tree;\n\t\tstruct head rcu;\n\t};\n};\n"
        ),
        "{out}"
    );
    // The named type itself is defined before its use.
    assert!(out.find("struct tree {").unwrap() < out.find("struct outer {").unwrap());
}
