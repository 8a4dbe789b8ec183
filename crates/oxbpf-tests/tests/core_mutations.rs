//! Differential test of the CO-RE engine against libbpf on many target BTFs: the running kernel's
//! BTF, mutated at random where the `core_*` fixtures look (fields removed, renamed, moved,
//! retyped, wrapped in anonymous structs; bitfields moved; arrays shortened; flavored duplicates
//! added; enumerators removed or renumbered; kinds changed). For each mutant, libbpf relocates the
//! fixture with `btf_custom_path` = the mutant (`bpf_object__prepare`, no program load) and oxbpf
//! with [`CoreTargets::custom`]; both must fail, or both must produce the same instructions.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use oxbpf::btf::{Btf, BtfExt, CoreReloKind, Kind, Member, TypeBuf, TypeId, TypeKind, TypeKindBuf};
use oxbpf::insn::Insn;
use oxbpf::reloc::core::{
    names::essential_name, spec::parse_spec, CoreRelocator, CoreTargets, TargetBtf,
};

/// A tiny deterministic PRNG (xorshift64*), so failures reproduce from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

use oxbpf_tests::libbpf_ref::{insns_after, Stage};
use oxbpf_tests::raw_progs::{raw_programs as programs, relocate_core};

/// oxbpf's instructions per program, or the error.
fn oxbpf_relocate(path: &Path, target: Btf) -> Result<HashMap<String, Vec<Insn>>, String> {
    let (mut progs, btf, ext) = programs(path);
    let targets = CoreTargets::custom(Arc::new(TargetBtf::new("custom", Arc::new(target))));
    let mut core = CoreRelocator::new(&btf, &targets);
    relocate_core(&mut progs, &ext, &mut core, |_, _| ()).map_err(|e| e.to_string())?;
    Ok(progs.into_iter().map(|p| (p.0, p.3)).collect())
}

/// libbpf's instructions per program after `bpf_object__prepare` against `btf_path`, or its error.
fn libbpf_relocate(path: &Path, btf_path: &Path) -> Result<HashMap<String, Vec<Insn>>, i32> {
    match insns_after(path, Some(btf_path), Stage::Prepare) {
        (0, insns) => Ok(insns),
        (rc, _) => Err(rc),
    }
}

/// The kernel types the fixture's relocations reach (roots, structs along each access path, enums,
/// and the anonymous structs/unions inside them), and per essential type name the member names the
/// paths use: mutations aim at these.
fn interesting(
    local: &Btf,
    ext: &BtfExt,
    kernel: &Btf,
) -> (Vec<TypeId>, HashMap<String, Vec<String>>) {
    let mut names: Vec<String> = Vec::new();
    let mut used: HashMap<String, Vec<String>> = HashMap::new();
    for sec in &ext.core_relos {
        for r in &sec.records {
            let kind = r.relo_kind().unwrap();
            let access = local.str_at(r.access_str_off).unwrap();
            let Ok(spec) = parse_spec(local, r.type_id, access, kind) else {
                continue;
            };
            names.push(essential_name(local.name_of(r.type_id).unwrap()).to_string());
            if matches!(
                kind,
                CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue
            ) {
                let en = essential_name(local.name_of(r.type_id).unwrap()).to_string();
                let v = spec.acc[0].name.map(essential_name).unwrap_or("");
                used.entry(en).or_default().push(v.to_string());
            }
            for a in &spec.acc {
                let tn = essential_name(local.name_of(a.type_id).unwrap_or("")).to_string();
                if let Some(n) = a.name {
                    used.entry(tn.clone()).or_default().push(n.to_string());
                }
                names.push(tn);
            }
        }
    }
    let mut ids: Vec<TypeId> = Vec::new();
    let mut todo: Vec<TypeId> = names
        .iter()
        .flat_map(|n| kernel.ids_by_name(n).iter().copied())
        .collect();
    while let Some(id) = todo.pop() {
        if ids.contains(&id) {
            continue;
        }
        let t = kernel.type_by_id(id).unwrap();
        if !matches!(
            t.btf_kind(),
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64
        ) {
            continue;
        }
        ids.push(id);
        for m in t.members() {
            if m.name_off == 0 {
                todo.push(kernel.skip_mods_and_typedefs(m.type_id).unwrap().0);
            }
        }
    }
    ids.sort();
    (ids, used)
}

/// Applies one random mutation to type `id` of `btf`; returns what it did.
fn mutate(btf: &mut Btf, id: TypeId, rng: &mut Rng, used: &HashMap<String, Vec<String>>) -> String {
    let t = btf.type_by_id(id).unwrap().to_buf();
    let name = btf.str_at(t.name_off).unwrap().to_string();
    let int = btf.find_by_name_kind("int", Kind::Int).unwrap();
    let uint = btf.find_by_name_kind("unsigned int", Kind::Int).unwrap();
    let long = btf.find_by_name_kind("long int", Kind::Int).unwrap();
    let u8_ = btf.find_by_name_kind("unsigned char", Kind::Int).unwrap();
    match &t.kind {
        TypeKindBuf::Struct(c) | TypeKindBuf::Union(c) => {
            if c.members.is_empty() {
                return format!("{name}: no members");
            }
            let mut c = c.clone();
            let mut m = rng.below(c.members.len());
            if let Some(names) = used.get(&name).filter(|_| rng.below(4) != 0) {
                let hits: Vec<usize> = (0..c.members.len())
                    .filter(|&i| {
                        names
                            .iter()
                            .any(|n| btf.str_at(c.members[i].name_off).ok() == Some(n))
                    })
                    .collect();
                if !hits.is_empty() {
                    m = hits[rng.below(hits.len())];
                }
            }
            let mname = btf.str_at(c.members[m].name_off).unwrap_or("").to_string();
            let what = match rng.below(11) {
                0 => {
                    c.members.remove(m);
                    format!("{name}: removed {mname}")
                }
                1 => {
                    c.members[m].name_off = btf.add_string(&format!("{mname}_renamed"));
                    format!("{name}: renamed {mname}")
                }
                2 => {
                    let by = 8 * (1 + rng.below(64) as u32);
                    c.members[m].bit_offset += by;
                    c.size += by / 8;
                    format!("{name}: moved {mname} by {by} bits")
                }
                3 => {
                    let j = rng.below(c.members.len());
                    c.members.swap(m, j);
                    format!("{name}: swapped members {m} and {j}")
                }
                4 => {
                    let ty = [int, uint, long, u8_][rng.below(4)];
                    c.members[m].type_id = ty;
                    c.members[m].bitfield_size = 0;
                    format!("{name}: {mname} retyped to [{ty}]")
                }
                5 => {
                    let p = btf.add_ptr(c.members[m].type_id);
                    c.members[m].type_id = p;
                    c.members[m].bitfield_size = 0;
                    format!("{name}: {mname} made a pointer")
                }
                6 => {
                    // Wrap the member in an anonymous struct at the same place.
                    let inner = c.members[m];
                    let sz = btf.resolve_size(inner.type_id).unwrap_or(8).max(1);
                    let anon = btf.add_type(TypeBuf::new(
                        0,
                        TypeKindBuf::Struct(oxbpf::btf::CompositeBuf {
                            size: sz + 8,
                            bitfield_encoding: c.bitfield_encoding,
                            members: vec![Member {
                                bit_offset: inner.bit_offset % 8 + 64 * rng.below(2) as u32,
                                ..inner
                            }],
                        }),
                    ));
                    c.members[m] = Member {
                        name_off: 0,
                        type_id: anon,
                        bit_offset: inner.bit_offset / 8 * 8,
                        bitfield_size: 0,
                    };
                    format!("{name}: {mname} wrapped in an anonymous struct")
                }
                7 => {
                    // Move a bitfield (or any member) by a few bits.
                    let by = 1 + rng.below(40) as u32;
                    if c.members[m].bitfield_size == 0 && c.bitfield_encoding {
                        c.members[m].bitfield_size = 1 + rng.below(8) as u8;
                    }
                    c.members[m].bit_offset += by;
                    format!("{name}: {mname} moved by {by} bits")
                }
                8 => {
                    let mut dup = t.clone();
                    dup.name_off = btf.add_string(&format!("{name}___2"));
                    if rng.below(2) == 0 {
                        if let TypeKindBuf::Struct(d) | TypeKindBuf::Union(d) = &mut dup.kind {
                            d.members[m].bit_offset += 32;
                        }
                    }
                    btf.add_type(dup);
                    format!("{name}: flavored duplicate added")
                }
                9 => {
                    let ty = c.members[m].type_id;
                    if let Ok((aid, at)) = btf.skip_mods_and_typedefs(ty) {
                        if let TypeKind::Array(a) = at.kind {
                            let mut a = a;
                            a.nelems = rng.below(4) as u32;
                            let new = btf.add_array(a.elem_type, a.index_type, a.nelems);
                            c.members[m].type_id = new;
                            return {
                                set(btf, id, &t, c);
                                format!("{name}: array {mname} [{aid}] now {} long", a.nelems)
                            };
                        }
                    }
                    c.members[m].type_id = btf.add_array(ty, int, 2);
                    format!("{name}: {mname} made an array")
                }
                _ => {
                    let mut u = t.clone();
                    u.kind = match t.kind {
                        TypeKindBuf::Struct(_) => TypeKindBuf::Union(c),
                        _ => TypeKindBuf::Struct(c),
                    };
                    btf.set_type(id, u).unwrap();
                    return format!("{name}: struct/union swapped");
                }
            };
            set(btf, id, &t, c);
            what
        }
        TypeKindBuf::Enum(e) | TypeKindBuf::Enum64(e) => {
            let mut e = e.clone();
            if e.values.is_empty() {
                return format!("{name}: no values");
            }
            let mut v = rng.below(e.values.len());
            if let Some(names) = used.get(&name).filter(|_| rng.below(4) != 0) {
                let hits: Vec<usize> = (0..e.values.len())
                    .filter(|&i| {
                        let n = btf.str_at(e.values[i].name_off).unwrap_or("");
                        names.iter().any(|u| u == n)
                    })
                    .collect();
                if !hits.is_empty() {
                    v = hits[rng.below(hits.len())];
                }
            }
            let what = match rng.below(4) {
                0 => {
                    e.values.remove(v);
                    format!("{name}: removed value #{v}")
                }
                1 => {
                    e.values[v].value = e.values[v].value.wrapping_add(1 + rng.below(1000) as u64);
                    if matches!(t.kind, TypeKindBuf::Enum(_)) {
                        e.values[v].value &= 0xffff_ffff;
                    }
                    format!("{name}: renumbered value #{v}")
                }
                2 => {
                    e.signed = !e.signed;
                    format!("{name}: signedness flipped")
                }
                _ => {
                    let mut n = t.clone();
                    n.kind = match t.kind {
                        TypeKindBuf::Enum(_) => {
                            TypeKindBuf::Enum64(oxbpf::btf::EnumBuf { size: 8, ..e })
                        }
                        _ => TypeKindBuf::Enum(oxbpf::btf::EnumBuf {
                            size: 4,
                            values: e
                                .values
                                .iter()
                                .map(|v| oxbpf::btf::EnumValue {
                                    value: v.value & 0xffff_ffff,
                                    ..*v
                                })
                                .collect(),
                            ..e
                        }),
                    };
                    btf.set_type(id, n).unwrap();
                    return format!("{name}: enum <-> enum64");
                }
            };
            let mut n = t.clone();
            n.kind = match t.kind {
                TypeKindBuf::Enum(_) => TypeKindBuf::Enum(e),
                _ => TypeKindBuf::Enum64(e),
            };
            btf.set_type(id, n).unwrap();
            what
        }
        _ => format!("{name}: untouched"),
    }
}

/// Adds `name___2`, a copy of struct `id` with the members the fixture uses moved by 32 bits.
fn ambiguous_twin(btf: &mut Btf, id: TypeId, used: &HashMap<String, Vec<String>>) -> String {
    let mut t = btf.type_by_id(id).unwrap().to_buf();
    let name = btf.str_at(t.name_off).unwrap().to_string();
    let names = used.get(&name).cloned().unwrap_or_default();
    let member_names: Vec<String> = btf
        .type_by_id(id)
        .unwrap()
        .members()
        .iter()
        .map(|m| btf.str_at(m.name_off).unwrap_or("").to_string())
        .collect();
    if let TypeKindBuf::Struct(c) | TypeKindBuf::Union(c) = &mut t.kind {
        c.size += 4;
        for (m, n) in c.members.iter_mut().zip(&member_names) {
            if names.contains(n) {
                m.bit_offset += 32;
            }
        }
    }
    t.name_off = btf.add_string(&format!("{name}___2"));
    btf.add_type(t);
    format!("{name}: ambiguous twin")
}

fn set(btf: &mut Btf, id: TypeId, t: &TypeBuf, c: oxbpf::btf::CompositeBuf) {
    let mut n = t.clone();
    n.kind = match t.kind {
        TypeKindBuf::Union(_) => TypeKindBuf::Union(c),
        _ => TypeKindBuf::Struct(c),
    };
    btf.set_type(id, n).unwrap();
}

#[test]
fn mutated_kernels_relocate_like_libbpf() {
    if !oxbpf_tests::is_root() {
        oxbpf_tests::skip("libbpf's prepare loads the object's BTF: needs root");
        return;
    }
    let kernel = Btf::parse(&std::fs::read("/sys/kernel/btf/vmlinux").unwrap()).unwrap();
    let rounds: usize = std::env::var("OXBPF_CORE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let (mut agree_ok, mut agree_err) = (0, 0);
    for fixture in ["core_read", "core_poison", "core_btf_ptr"] {
        let path = oxbpf_tests::fixture(fixture);
        let (_, local, ext) = programs(&path);
        let (ids, used) = interesting(&local, &ext, &kernel);
        let mut baseline = None;
        let mut changed = 0;
        // Round 0: the kernel itself, unmutated.
        for round in 0..rounds {
            let seed =
                0x9e37_79b9_7f4a_7c15u64 ^ (round as u64 * 0x1000_0001) ^ fixture.len() as u64;
            let mut rng = Rng(seed);
            let mut target = kernel.clone();
            let mut what = Vec::new();
            if round > 0 {
                let hot: Vec<TypeId> = ids
                    .iter()
                    .copied()
                    .filter(|&id| {
                        let n = kernel.name_of(id).unwrap_or("");
                        !n.is_empty() && used.contains_key(n)
                    })
                    .collect();
                if round == 1 {
                    // A fixed mutant: a flavored twin of every type the fixture reads, with the
                    // fields it reads moved: each of those relocations is ambiguous (an error).
                    for &id in &hot {
                        what.push(ambiguous_twin(&mut target, id, &used));
                    }
                }
                for _ in 0..(round > 1) as usize * (1 + rng.below(4)) {
                    let id = if !hot.is_empty() && rng.below(2) == 0 {
                        hot[rng.below(hot.len())]
                    } else {
                        ids[rng.below(ids.len())]
                    };
                    what.push(mutate(&mut target, id, &mut rng, &used));
                }
            }
            let file = dir.path().join(format!("{fixture}-{round}.btf"));
            std::fs::write(&file, target.to_bytes()).unwrap();
            let theirs = libbpf_relocate(&path, &file);
            let ours = oxbpf_relocate(&path, target);
            if round == 0 {
                baseline = ours.clone().ok();
            } else if ours.as_ref().ok() != baseline.as_ref() {
                changed += 1;
                if std::env::var_os("OXBPF_CORE_VERBOSE").is_some() {
                    println!("  changed: {}", what.join("; "));
                }
            } else if std::env::var_os("OXBPF_CORE_VERBOSE").is_some() {
                println!("  same: {}", what.join("; "));
            }
            match (&theirs, &ours) {
                (Ok(a), Ok(b)) if a == b => agree_ok += 1,
                (Err(_), Err(_)) => agree_err += 1,
                _ => failures.push(format!(
                    "{fixture} round {round} (seed {seed:#x}) [{}]:\n  libbpf: {}\n  oxbpf: {}",
                    what.join("; "),
                    match &theirs {
                        Ok(_) => "ok".to_string(),
                        Err(e) => format!("error {e}"),
                    },
                    match &ours {
                        Ok(o) => match &theirs {
                            Ok(t) => format!(
                                "ok, but differs in {:?}",
                                o.iter()
                                    .filter(|(k, v)| t.get(*k) != Some(v))
                                    .map(|(k, _)| k)
                                    .collect::<Vec<_>>()
                            ),
                            Err(_) => "ok".to_string(),
                        },
                        Err(e) => format!("error {e}"),
                    }
                )),
            }
        }
        println!(
            "{fixture}: {changed} of {} mutants changed the result",
            rounds - 1
        );
    }
    println!("{agree_ok} mutants relocated identically, {agree_err} failed in both");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        agree_ok > 0 && agree_err > 0,
        "the mutants should exercise both outcomes"
    );
}
