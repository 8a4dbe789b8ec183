//! Hand-built local/target BTF pairs, one rule per test.

use std::sync::Arc;

use super::*;
use crate::btf::{Btf, CoreRelo, CoreReloKind as K, FwdKind, TypeId, INT_SIGNED};
use crate::insn::{Insn, BPF_ADD, BPF_DW, BPF_MOV, BPF_W};

fn targets(t: Btf) -> CoreTargets {
    CoreTargets::new(Arc::new(TargetBtf::new("vmlinux", Arc::new(t))))
}

struct Local {
    btf: Btf,
}

impl Local {
    fn relo(&mut self, ty: TypeId, access: &str, kind: K) -> CoreRelo {
        CoreRelo {
            insn_off: 0,
            type_id: ty,
            access_str_off: self.btf.add_string(access),
            kind: kind as u32,
        }
    }
}

/// Runs one relocation on one instruction (two for ld_imm64).
fn run(local: &Btf, t: &CoreTargets, relo: &CoreRelo, insns: &mut [Insn]) -> Result<CoreOutcome> {
    CoreRelocator::new(local, t).relocate("p", insns, 0, relo, 0)
}

fn ints(b: &mut Btf) -> (TypeId, TypeId, TypeId, TypeId) {
    let int = b.add_int("int", 4, INT_SIGNED).unwrap();
    let uint = b.add_int("unsigned int", 4, 0).unwrap();
    let ulong = b.add_int("long unsigned int", 8, 0).unwrap();
    let long = b.add_int("long int", 8, INT_SIGNED).unwrap();
    (int, uint, ulong, long)
}

fn ldx(off: i16) -> Insn {
    Insn::ldx_mem(BPF_W, 1, 2, off)
}

#[test]
fn moved_field_offset_is_rewritten() {
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let s = l.add_struct("s", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]);
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    t.add_struct(
        "s",
        12,
        &[("x", tint, 0, 0), ("y", tint, 32, 0), ("b", tint, 64, 0)],
    );
    let t = targets(t);
    let mut l = Local { btf: l };
    let r = l.relo(s, "0:1", K::FieldByteOffset);
    let mut insns = [ldx(4)];
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0], ldx(8));
    assert!(!o.poisoned);
    assert_eq!((o.orig_val, o.new_val), (4, 8));
    assert_eq!(o.local_spec, "<byte_off> [5] struct s.b (0:1 @ offset 4)");
    // ALU form (BPF_CORE_READ computes addresses with rX += off).
    let mut insns = [Insn::alu64_imm(BPF_ADD, 1, 4)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm, 8);
}

#[test]
fn removed_or_renamed_field_poisons_and_says_why() {
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let s = l.add_struct(
        "inet_sock",
        8,
        &[("a", int, 0, 0), ("freebind", int, 32, 0)],
    );
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    t.add_struct(
        "inet_sock",
        8,
        &[("a", tint, 0, 0), ("free_bind", tint, 32, 0)],
    );
    let t = targets(t);
    let mut l = Local { btf: l };
    let r = l.relo(s, "0:1", K::FieldByteOffset);
    let mut insns = [ldx(4)];
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert!(o.poisoned);
    assert!(poison::is_poison(&insns[0]));
    let f = o.describe().unwrap();
    assert!(
        f.starts_with("struct inet_sock has no field freebind on this kernel"),
        "{f}"
    );
    assert!(f.contains("0:1 @ offset 4"), "{f}");
    // Existence is 0, not a poison.
    let r = l.relo(s, "0:1", K::FieldExists);
    let mut insns = [Insn::mov64_imm(0, 1)];
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert!(!o.poisoned);
    assert_eq!(insns[0], Insn::mov64_imm(0, 0));
    // A missing type: everything poisons, existence is 0.
    let mut l2 = Local { btf: Btf::new() };
    let (int, ..) = ints(&mut l2.btf);
    let gone = l2.btf.add_struct("gone", 4, &[("a", int, 0, 0)]);
    let r = l2.relo(gone, "0:0", K::FieldByteOffset);
    let mut insns = [ldx(0)];
    let o = run(&l2.btf, &t, &r, &mut insns).unwrap();
    assert!(o.poisoned);
    assert!(o
        .failure
        .unwrap()
        .starts_with("struct gone does not exist on this kernel"));
}

#[test]
fn poisoned_ld_imm64_poisons_both_halves() {
    let mut l = Btf::new();
    let e = l.add_enum("e", 4, false, &[("A", 1), ("GONE", 2)]);
    let mut t = Btf::new();
    t.add_enum("e", 4, false, &[("A", 1)]);
    let t = targets(t);
    let mut l = Local { btf: l };
    let r = l.relo(e, "1", K::EnumvalValue);
    let mut insns = Insn::ld_imm64(1, 2);
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert!(o.poisoned);
    assert!(poison::is_poison(&insns[0]) && poison::is_poison(&insns[1]));
    assert!(o
        .failure
        .unwrap()
        .starts_with("enum e has no value GONE on this kernel"));
}

#[test]
fn load_size_follows_unsigned_and_pointer_fields_only() {
    let mut l = Btf::new();
    let (int, uint, ..) = ints(&mut l);
    let s = l.add_struct("s", 8, &[("u", uint, 0, 0), ("i", int, 32, 0)]);
    let mut t = Btf::new();
    let (_, _, tulong, tlong) = ints(&mut t);
    t.add_struct("s", 16, &[("u", tulong, 0, 0), ("i", tlong, 64, 0)]);
    let t = targets(t);
    let mut l = Local { btf: l };
    let r = l.relo(s, "0:0", K::FieldByteOffset);
    let mut insns = [Insn::ldx_mem(BPF_W, 1, 2, 0)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0], Insn::ldx_mem(BPF_DW, 1, 2, 0));
    // Signed: resizing would change the value, so the load is poisoned...
    let r = l.relo(s, "0:1", K::FieldByteOffset);
    let mut insns = [Insn::ldx_mem(BPF_W, 1, 2, 4)];
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert!(o.poisoned && poison::is_poison(&insns[0]));
    assert!(o
        .failure
        .unwrap()
        .contains("changed size from 4 to 8 bytes"));
    // ...but an address computation is just patched.
    let mut insns = [Insn::alu64_imm(BPF_ADD, 1, 4)];
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert!(!o.poisoned && o.failure.is_none());
    assert_eq!(insns[0].imm, 8);
    // A load of the wrong size is an error.
    let r = l.relo(s, "0:0", K::FieldByteOffset);
    let mut insns = [Insn::ldx_mem(crate::insn::BPF_H, 1, 2, 0)];
    assert!(run(&l.btf, &t, &r, &mut insns).is_err());
}

#[test]
fn unexpected_original_value_is_an_error() {
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let s = l.add_struct("s", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]);
    let t = targets(l.clone());
    let mut l = Local { btf: l };
    let r = l.relo(s, "0:1", K::FieldByteOffset);
    let mut insns = [ldx(6)];
    let e = run(&l.btf, &t, &r, &mut insns).unwrap_err();
    assert!(
        e.to_string()
            .contains("unexpected insn #0 (LDX/ST/STX) value: got 6, exp 4 -> 4"),
        "{e}"
    );
    let mut insns = [Insn::alu64_reg(BPF_ADD, 1, 2)];
    assert!(run(&l.btf, &t, &r, &mut insns).is_err());
    let mut insns = [Insn::exit()];
    assert!(run(&l.btf, &t, &r, &mut insns).is_err());
}

#[test]
fn bitfields() {
    // local: struct b { unsigned int x:4 at bit 3; }, target: x:4 at bit 37 in a u64 storage.
    let mut l = Btf::new();
    let (_, uint, ..) = ints(&mut l);
    let b = l.add_struct("b", 4, &[("x", uint, 3, 4)]);
    let mut t = Btf::new();
    let (_, tuint, ..) = ints(&mut t);
    t.add_struct("b", 8, &[("pad", tuint, 0, 0), ("x", tuint, 37, 4)]);
    let t = targets(t);
    let mut l = Local { btf: l };
    let cases = [
        (K::FieldByteOffset, 0, 4),
        (K::FieldByteSize, 4, 4),
        (K::FieldLshiftU64, 64 - 7, 64 - (37 + 4 - 32)),
        (K::FieldRshiftU64, 60, 60),
        (K::FieldSigned, 0, 0),
        (K::FieldExists, 1, 1),
    ];
    for (kind, orig, new) in cases {
        let r = l.relo(b, "0:0", kind);
        let mut insns = [Insn::mov64_imm(1, orig)];
        let o = run(&l.btf, &t, &r, &mut insns).unwrap();
        assert_eq!(
            (o.orig_val, o.new_val, insns[0].imm),
            (orig as u64, new as u64, new),
            "{kind:?}"
        );
    }
    // A bitfield straddling two u32s is read with a u64 load.
    let mut t2 = Btf::new();
    let (_, tuint, ..) = ints(&mut t2);
    t2.add_struct("b", 8, &[("x", tuint, 30, 4)]);
    let t2 = targets(t2);
    let r = l.relo(b, "0:0", K::FieldByteSize);
    let mut insns = [Insn::mov64_imm(1, 4)];
    run(&l.btf, &t2, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm, 8);
    // Bitfield values are not validated (the compiler may disagree), except signedness.
    let r = l.relo(b, "0:0", K::FieldByteOffset);
    let mut insns = [Insn::mov64_imm(1, 99)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm, 4);
}

#[test]
fn flavors_match_by_essential_name() {
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let old = l.add_struct("task___old", 8, &[("state", int, 0, 0)]);
    let new = l.add_struct("task___new", 8, &[("__state", int, 32, 0)]);
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    t.add_struct("task", 16, &[("pid", tint, 0, 0), ("__state", tint, 64, 0)]);
    let t = targets(t);
    let mut l = Local { btf: l };
    let r = l.relo(old, "0:0", K::FieldExists);
    let mut insns = [Insn::mov64_imm(0, 1)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm, 0);
    let r = l.relo(new, "0:0", K::FieldByteOffset);
    let mut insns = [ldx(4)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].off, 8);
    // A flavored target name matches too.
    let mut t2 = Btf::new();
    let (tint, ..) = ints(&mut t2);
    t2.add_struct("task___2", 4, &[("state", tint, 0, 0)]);
    let t2 = targets(t2);
    let r = l.relo(old, "0:0", K::FieldExists);
    let mut insns = [Insn::mov64_imm(0, 1)];
    run(&l.btf, &t2, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm, 1);
}

#[test]
fn anonymous_members_are_searched() {
    // local: struct s { int a; union { int b; }; }
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let u = l.add_union("", 4, &[("b", int, 0, 0)]);
    let s = l.add_struct("s", 8, &[("a", int, 0, 0), ("", u, 32, 0)]);
    // target: struct s { int a; int pad; struct { int z; union { int b; }; }; }
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    let tu = t.add_union("", 4, &[("b", tint, 0, 0)]);
    let ts = t.add_struct("", 8, &[("z", tint, 0, 0), ("", tu, 32, 0)]);
    t.add_struct(
        "s",
        16,
        &[("a", tint, 0, 0), ("pad", tint, 32, 0), ("", ts, 64, 0)],
    );
    let t = targets(t);
    let mut l = Local { btf: l };
    let r = l.relo(s, "0:1:0", K::FieldByteOffset);
    let mut insns = [ldx(4)];
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].off, 12);
    assert_eq!(o.local_spec, "<byte_off> [6] struct s.b (0:1:0 @ offset 4)");
}

#[test]
fn arrays_and_flexible_arrays() {
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let arr = l.add_array(int, int, 4);
    let flex = l.add_array(int, int, 0);
    let s = l.add_struct(
        "s",
        20,
        &[("n", int, 0, 0), ("a", arr, 32, 0), ("f", flex, 160, 0)],
    );
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    let tarr = t.add_array(tint, tint, 2);
    let tflex = t.add_array(tint, tint, 0);
    t.add_struct(
        "s",
        20,
        &[
            ("n", tint, 0, 0),
            ("pad", tint, 32, 0),
            ("a", tarr, 64, 0),
            ("f", tflex, 128, 0),
        ],
    );
    let t = targets(t);
    let mut l = Local { btf: l };
    // s->a[1]: 4 + 4 → 8 + 4.
    let r = l.relo(s, "0:1:1", K::FieldByteOffset);
    let mut insns = [ldx(8)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].off, 12);
    // s->a[3] is out of the target's bounds: poisoned, and said so.
    let r = l.relo(s, "0:1:3", K::FieldByteOffset);
    let mut insns = [ldx(16)];
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert!(o.poisoned, "{o:?}");
    assert!(o.failure.unwrap().contains("out of bounds"));
    // s->f[5]: flexible array, any index.
    let r = l.relo(s, "0:2:5", K::FieldByteOffset);
    let mut insns = [ldx(40)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].off, 16 + 20);
    // Field size of the whole array, and of an element.
    let r = l.relo(s, "0:1", K::FieldByteSize);
    let mut insns = [Insn::mov64_imm(1, 16)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm, 8);
    // A local index past the local bound fails to parse.
    let r = l.relo(s, "0:1:4", K::FieldByteOffset);
    assert!(run(&l.btf, &t, &r, &mut [ldx(20)]).is_err());
    // p[1].n: pointer arithmetic on the root uses the target's size.
    let r = l.relo(s, "1:0", K::FieldByteOffset);
    let mut insns = [ldx(20)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].off, 20);
}

#[test]
fn enum_values_and_enum64() {
    let mut l = Btf::new();
    let e = l.add_enum("e", 4, true, &[("A", 1), ("B", -2)]);
    let e64 = l.add_enum64("e64", 8, false, &[("BIG", 1 << 40)]);
    let mut t = Btf::new();
    t.add_enum64("e", 8, true, &[("B___x", 7), ("A", 5)]);
    t.add_enum("e64", 4, false, &[("BIG", 0x8000_0000)]);
    let t = targets(t);
    let mut l = Local { btf: l };
    let r = l.relo(e, "1", K::EnumvalValue);
    let mut insns = Insn::ld_imm64(1, (-2i64) as u64);
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns, Insn::ld_imm64(1, 7));
    let r = l.relo(e, "0", K::EnumvalExists);
    let mut insns = [Insn::mov64_imm(1, 1)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm, 1);
    // 32-bit enumerator values widen with their sign, as libbpf's.
    let r = l.relo(e64, "0", K::EnumvalValue);
    let mut insns = Insn::ld_imm64(1, 1 << 40);
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(o.new_val, 0xffff_ffff_8000_0000);
    assert_eq!(
        o.local_spec,
        "<enumval_value> [2] enum64 e64::BIG = 1099511627776"
    );
}

#[test]
fn type_relocations() {
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let s = l.add_struct("s", 4, &[("a", int, 0, 0)]);
    let gone = l.add_struct("gone", 4, &[("a", int, 0, 0)]);
    let td = l.add_typedef("s_t", s);
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    let ts = t.add_struct("s", 24, &[("a", tint, 0, 0)]);
    t.add_typedef("s_t", ts);
    let t = targets(t);
    let mut l = Local { btf: l };
    let check = |l: &Local, r: &CoreRelo, insn: Insn, want: i32| {
        let mut insns = [insn];
        let o = run(&l.btf, &t, r, &mut insns).unwrap();
        assert!(!o.poisoned);
        assert_eq!(insns[0].imm, want, "{}", o.local_spec);
    };
    let r = l.relo(s, "0", K::TypeExists);
    check(&l, &r, Insn::mov64_imm(0, 1), 1);
    let r = l.relo(gone, "0", K::TypeExists);
    check(&l, &r, Insn::mov64_imm(0, 1), 0);
    let r = l.relo(s, "0", K::TypeSize);
    check(&l, &r, Insn::mov64_imm(0, 4), 24);
    let r = l.relo(td, "0", K::TypeSize);
    check(&l, &r, Insn::mov64_imm(0, 4), 24);
    let r = l.relo(gone, "0", K::TypeSize);
    check(&l, &r, Insn::mov64_imm(0, 4), 0);
    // Type ids are not validated (they change when objects are linked).
    let r = l.relo(s, "0", K::TypeIdTarget);
    let mut insns = Insn::ld_imm64(1, 12345);
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns, Insn::ld_imm64(1, ts as u64));
    let r = l.relo(s, "0", K::TypeIdLocal);
    check(&l, &r, Insn::mov64_imm(0, 77), s as i32);
    // Type relocations take only "0".
    let r = l.relo(s, "0:0", K::TypeExists);
    assert!(run(&l.btf, &t, &r, &mut [Insn::mov64_imm(0, 1)]).is_err());
}

#[test]
fn type_matches_rules() {
    let mut t = Btf::new();
    let (tint, tuint, ..) = ints(&mut t);
    let tfwd = t.add_fwd("other", FwdKind::Struct);
    let tp = t.add_ptr(tfwd);
    t.add_struct(
        "s",
        16,
        &[("a", tint, 0, 0), ("b", tuint, 32, 0), ("p", tp, 64, 0)],
    );
    t.add_enum("e", 4, false, &[("X", 1), ("Y", 2)]);
    let t = targets(t);
    let matches = |build: &dyn Fn(&mut Btf) -> TypeId| -> i32 {
        let mut l = Local { btf: Btf::new() };
        let id = build(&mut l.btf);
        let r = l.relo(id, "0", K::TypeMatches);
        let mut insns = [Insn::mov64_imm(0, 1)];
        run(&l.btf, &t, &r, &mut insns).unwrap();
        insns[0].imm
    };
    // Subset of members, same int sizes and signedness, pointer to a struct matching a fwd.
    assert_eq!(
        matches(&|b| {
            let (int, ..) = ints(b);
            let o = b.add_struct("other", 4, &[("q", int, 0, 0)]);
            let p = b.add_ptr(o);
            b.add_struct("s", 16, &[("p", p, 64, 0), ("a", int, 0, 0)])
        }),
        1
    );
    // Signedness differs.
    assert_eq!(
        matches(&|b| {
            let (_, uint, ..) = ints(b);
            b.add_struct("s", 16, &[("a", uint, 0, 0)])
        }),
        0
    );
    // Size differs.
    assert_eq!(
        matches(&|b| {
            let (.., long) = ints(b);
            b.add_struct("s", 16, &[("a", long, 0, 0)])
        }),
        0
    );
    // Missing member.
    assert_eq!(
        matches(&|b| {
            let (int, ..) = ints(b);
            b.add_struct("s", 16, &[("zz", int, 0, 0)])
        }),
        0
    );
    // Enums: names, not values; sizes must agree.
    assert_eq!(matches(&|b| b.add_enum("e", 4, false, &[("Y", 9)])), 1);
    assert_eq!(matches(&|b| b.add_enum("e", 4, false, &[("Z", 2)])), 0);
    assert_eq!(matches(&|b| b.add_enum("e", 8, false, &[("X", 1)])), 0);
    // A struct is not a union.
    assert_eq!(
        matches(&|b| {
            let (int, ..) = ints(b);
            b.add_union("s", 4, &[("a", int, 0, 0)])
        }),
        0
    );
}

#[test]
fn field_compat_rules() {
    // Field found by name but of an incompatible kind: no match.
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let s = l.add_struct("s", 8, &[("a", int, 0, 0)]);
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    let tp = t.add_ptr(tint);
    t.add_struct("s", 8, &[("a", tp, 0, 0)]);
    let t = targets(t);
    let mut l = Local { btf: l };
    let r = l.relo(s, "0:0", K::FieldByteOffset);
    let mut insns = [ldx(0)];
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert!(o.poisoned);
    assert!(o.failure.unwrap().contains("incompatible type"));
}

#[test]
fn ambiguous_candidates_are_an_error() {
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let s = l.add_struct("s", 8, &[("b", int, 0, 0)]);
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    t.add_struct("s", 8, &[("b", tint, 0, 0)]);
    t.add_struct("s___2", 8, &[("a", tint, 0, 0), ("b", tint, 32, 0)]);
    let t = targets(t);
    let mut l = Local { btf: l };
    let r = l.relo(s, "0:0", K::FieldByteOffset);
    let e = run(&l.btf, &t, &r, &mut [ldx(0)]).unwrap_err();
    assert!(
        e.to_string().contains("field offset ambiguity: 32 != 0"),
        "{e}"
    );
    // Same offsets in both: fine. Different sizes: "relocation decision ambiguity".
    let mut t = Btf::new();
    let (tint, _, _, tlong) = ints(&mut t);
    t.add_struct("s", 8, &[("b", tint, 0, 0)]);
    t.add_struct("s___2", 8, &[("b", tlong, 0, 0)]);
    let t = targets(t);
    let r0 = l.relo(s, "0:0", K::FieldByteOffset);
    run(&l.btf, &t, &r0, &mut [ldx(0)]).unwrap();
    let r = l.relo(s, "0:0", K::FieldByteSize);
    let e = run(&l.btf, &t, &r, &mut [Insn::mov64_imm(1, 4)]).unwrap_err();
    assert!(
        e.to_string()
            .contains("relocation decision ambiguity: success 8 != success 4"),
        "{e}"
    );
    // Two type ids for TYPE_ID_TARGET are ambiguous too.
    let r = l.relo(s, "0", K::TypeIdTarget);
    assert!(run(&l.btf, &t, &r, &mut Insn::ld_imm64(1, 0)).is_err());
}

#[test]
fn candidate_lists_narrow_within_one_object() {
    // Two flavors in the target; the first relocation matches only one, and the second relocation
    // of the same local type then sees only that one (libbpf's per-object cache).
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let s = l.add_struct("s", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]);
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    t.add_struct("s", 4, &[("a", tint, 0, 0)]);
    t.add_struct("s___2", 4, &[("b", tint, 0, 0)]);
    let t = targets(t);
    let mut l = Local { btf: l };
    let ra = l.relo(s, "0:0", K::FieldExists);
    let rb = l.relo(s, "0:1", K::FieldExists);
    let mut core = CoreRelocator::new(&l.btf, &t);
    let mut insns = [Insn::mov64_imm(0, 1), Insn::mov64_imm(0, 1)];
    core.relocate("p", &mut insns, 0, &ra, 0).unwrap();
    core.relocate("p", &mut insns, 1, &rb, 1).unwrap();
    assert_eq!((insns[0].imm, insns[1].imm), (1, 0));
    // A fresh relocator (another object) starts from the full list.
    let mut insns = [Insn::mov64_imm(0, 1)];
    CoreRelocator::new(&l.btf, &t)
        .relocate("p", &mut insns, 0, &rb, 0)
        .unwrap();
    assert_eq!(insns[0].imm, 1);
}

#[test]
fn modules_are_searched_when_vmlinux_has_no_candidate() {
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let s = l.add_struct("nf_conn", 8, &[("x", int, 0, 0), ("mark", int, 32, 0)]);
    let mut v = Btf::new();
    let (vint, ..) = ints(&mut v);
    v.add_struct("task_struct", 4, &[("pid", vint, 0, 0)]);
    let vm = Arc::new(TargetBtf::new("vmlinux", Arc::new(v)));
    let mut m = Btf::new_split(vm.btf().clone());
    let ms = m.add_struct("nf_conn", 16, &[("mark", vint, 96, 0)]);
    let module = Arc::new(TargetBtf::new("nf_conntrack", Arc::new(m)));
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = calls.clone();
    let t = CoreTargets::new(vm.clone()).with_module_loader(move || {
        c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(vec![module.clone()])
    });
    let mut l = Local { btf: l };
    let r = l.relo(s, "0:1", K::FieldByteOffset);
    let mut insns = [ldx(4)];
    let o = run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].off, 12);
    assert_eq!(o.target, Some(("nf_conntrack".to_string(), ms)));
    let r = l.relo(s, "0", K::TypeIdTarget);
    let mut insns = Insn::ld_imm64(1, 0);
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm as u32, ms);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    // A custom target never searches modules.
    let t = CoreTargets::custom(vm).with_module_loader(|| panic!("no module search"));
    let r = l.relo(s, "0:1", K::FieldExists);
    let mut insns = [Insn::mov64_imm(0, 1)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm, 0);
}

#[test]
fn anonymous_roots_and_bad_records_are_errors() {
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let anon = l.add_struct("", 4, &[("a", int, 0, 0)]);
    let s = l.add_struct("s", 4, &[("a", int, 0, 0)]);
    let t = targets(l.clone());
    let mut l = Local { btf: l };
    let r = l.relo(anon, "0:0", K::FieldByteOffset);
    let e = run(&l.btf, &t, &r, &mut [ldx(0)]).unwrap_err();
    assert!(
        e.to_string().contains("target candidate search failed"),
        "{e}"
    );
    let r = l.relo(s, "0:5", K::FieldByteOffset);
    assert!(run(&l.btf, &t, &r, &mut [ldx(0)]).is_err());
    let mut r = l.relo(s, "0:0", K::FieldByteOffset);
    r.kind = 99;
    assert!(run(&l.btf, &t, &r, &mut [ldx(0)]).is_err());
    let r = l.relo(s, "0:0", K::FieldSigned);
    let mut insns = [Insn::new(crate::insn::BPF_ALU64 | BPF_MOV, 0, 0, 0, 1)];
    run(&l.btf, &t, &r, &mut insns).unwrap();
    assert_eq!(insns[0].imm, 1);
}

#[test]
fn shared_targets_are_reused_per_btf_and_dropped_when_unused() {
    let mut b = Btf::new();
    ints(&mut b);
    let btf = Arc::new(b);
    let a = TargetBtf::shared("vmlinux", &btf);
    let b2 = TargetBtf::shared("vmlinux", &btf);
    assert!(Arc::ptr_eq(&a, &b2));
    let other = Arc::new(Btf::new());
    let c = TargetBtf::shared("custom", &other);
    assert!(!Arc::ptr_eq(&a, &c));
    // Candidate lists are cached on the shared target.
    let mut l = Btf::new();
    let (int, ..) = ints(&mut l);
    let lt = l.type_by_id(int).unwrap();
    let x = a.candidates("int", &lt);
    let y = b2.candidates("int", &lt);
    assert!(Arc::ptr_eq(&x, &y));
    assert_eq!(&*x, &[1]);
}

#[test]
fn targets_are_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TargetBtf>();
    send_sync::<CoreTargets>();
    let mut t = Btf::new();
    let (tint, ..) = ints(&mut t);
    t.add_struct("s", 12, &[("x", tint, 0, 0), ("b", tint, 64, 0)]);
    let t = targets(t);
    std::thread::scope(|scope| {
        for i in 0..4 {
            let t = &t;
            scope.spawn(move || {
                let mut l = Local { btf: Btf::new() };
                let (int, ..) = ints(&mut l.btf);
                let s = l
                    .btf
                    .add_struct("s", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]);
                for _ in 0..50 {
                    let r = l.relo(s, "0:1", K::FieldByteOffset);
                    let mut insns = [ldx(4)];
                    run(&l.btf, t, &r, &mut insns).unwrap();
                    assert_eq!(insns[0].off, 8, "thread {i}");
                }
            });
        }
    });
}
