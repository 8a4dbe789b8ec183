//! The fuzz targets of `fuzz/` as property tests on stable: the committed seed corpora
//! (`fuzz/seeds/<target>/`), mutated (bytes overwritten, ranges cut out or duplicated, truncated),
//! go through the same parsers — `Btf::parse`, `BtfExt::parse`, `Object::open_memory`, USDT note
//! parsing, ELF symbol resolution, CO-RE relocation against the result as target BTF, and the C
//! dumper. Every call returns Ok or Err; a panic fails the test. Case counts are bounded so each
//! property runs in seconds; `PROPTEST_CASES=N` runs longer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use oxbpf::attach::elf_sym::ElfImage;
use oxbpf::attach::usdt_spec::{parse_notes, Arch, UsdtSpec};
use oxbpf::btf::{Btf, BtfExt, TypeId};
use oxbpf::insn::Insn;
use oxbpf::obj::elf::Elf;
use oxbpf::reloc::core::{CoreRelocator, CoreTargets, TargetBtf};
use proptest::prelude::*;
use proptest::sample::Index;

fn seeds_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target)
}

/// Every seed file of a fuzz target, sorted by name.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(seeds_dir(target))
        .unwrap_or_else(|e| panic!("fuzz/seeds/{target}: {e}"))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let v: Vec<_> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!v.is_empty(), "fuzz/seeds/{target} is empty");
    v
}

/// One mutation of a seed.
#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite a byte.
    Set(Index, u8),
    /// Overwrite four bytes with a little-endian u32 (counts, offsets, sizes, type ids).
    SetU32(Index, u32),
    /// Cut out up to 64 bytes.
    Cut(Index, usize),
    /// Copy up to 64 bytes to another place.
    Dup(Index, Index, usize),
    /// Truncate.
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        Just(0u32),
        Just(1),
        Just(u32::MAX),
        Just(0x7fff_ffff),
        Just(0x8000_0000),
        0u32..64,
        any::<u32>()
    ];
    prop_oneof![
        4 => (any::<Index>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        4 => (any::<Index>(), interesting).prop_map(|(i, v)| Mutation::SetU32(i, v)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Cut(i, n)),
        1 => (any::<Index>(), any::<Index>(), 1usize..64).prop_map(|(a, b, n)| Mutation::Dup(a, b, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut b: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if b.is_empty() {
            break;
        }
        match *m {
            Mutation::Set(ref i, v) => {
                let at = i.index(b.len());
                b[at] = v;
            }
            Mutation::SetU32(ref i, v) => {
                let at = i.index(b.len()) & !3;
                let end = (at + 4).min(b.len());
                b[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
            }
            Mutation::Cut(ref i, n) => {
                let at = i.index(b.len());
                let end = (at + n).min(b.len());
                b.drain(at..end);
            }
            Mutation::Dup(ref from, ref to, n) => {
                let at = from.index(b.len());
                let chunk = b[at..(at + n).min(b.len())].to_vec();
                let to = to.index(b.len());
                b.splice(to..to, chunk);
            }
            Mutation::Truncate(ref i) => b.truncate(i.index(b.len())),
        }
    }
    b
}

/// A seed of `target`, mutated.
fn mutated(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let all = seeds(target);
    (0..all.len(), proptest::collection::vec(mutation(), 1..8))
        .prop_map(move |(i, muts)| apply(all[i].clone(), &muts))
}

/// The `core_read` fixture's BTF, `.BTF.ext` and each section's instructions (as the
/// `core_reloc` fuzz target holds them).
struct CoreObject {
    btf: Btf,
    ext: BtfExt,
    secs: Vec<(String, Vec<Insn>)>,
}

fn core_object() -> &'static CoreObject {
    static OBJ: OnceLock<CoreObject> = OnceLock::new();
    OBJ.get_or_init(|| {
        let data = std::fs::read(oxbpf_tests::fixture("core_read")).unwrap();
        let elf = Elf::parse(&data).unwrap();
        let sec = |name: &str| &elf.sections.iter().find(|s| s.name == name).unwrap().data;
        let btf = Btf::parse(sec(".BTF")).unwrap();
        let ext = BtfExt::parse(sec(".BTF.ext"), &btf).unwrap();
        let secs = elf
            .sections
            .iter()
            .filter_map(|s| Some((s.name.clone(), Insn::slice_from_bytes(&s.data)?)))
            .collect();
        CoreObject { btf, ext, secs }
    })
}

/// Relocates `core_read` against `target`; returns how many relocations resolved or poisoned,
/// and the errors of the others.
fn relocate_core_read(target: Btf) -> (usize, Vec<String>) {
    let o = core_object();
    let targets = CoreTargets::custom(Arc::new(TargetBtf::new("mutant", Arc::new(target))));
    let mut core = CoreRelocator::new(&o.btf, &targets);
    let mut secs = o.secs.clone();
    let (mut done, mut errors) = (0, Vec::new());
    for sec in &o.ext.core_relos {
        let Some((_, insns)) = secs.iter_mut().find(|(n, _)| *n == sec.name) else {
            continue;
        };
        for (i, relo) in sec.records.iter().enumerate() {
            match core.relocate(&sec.name, insns, relo.insn_off as usize / 8, relo, i) {
                Ok(out) => {
                    let _ = out.describe();
                    done += 1;
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    (done, errors)
}

#[test]
fn core_read_relocates_against_its_own_btf() {
    // The harness is not vacuous: unmutated, the relocations resolve, except those of flavored
    // types (`task_struct___x`), which find two candidates with different layouts in their own
    // BTF and fail as ambiguous, as libbpf's would.
    let o = core_object();
    let total: usize = o.ext.core_relos.iter().map(|s| s.records.len()).sum();
    assert!(total > 10, "core_read has {total} CO-RE relocations");
    let (done, errors) = relocate_core_read(o.btf.clone());
    assert_eq!(done + errors.len(), total);
    assert!(
        done >= total * 2 / 3,
        "{done} of {total} resolved: {errors:#?}"
    );
    assert!(
        errors.iter().all(|e| e.contains("ambiguity")),
        "{errors:#?}"
    );
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(n),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn btf_parse_never_panics(data in mutated("btf_dump")) {
        if let Ok(btf) = Btf::parse(&data) {
            for id in 0..btf.len() as TypeId {
                let _ = btf.resolve_size(id);
                let _ = btf.skip_mods_and_typedefs(id);
                let _ = btf.name_of(id);
            }
            let bytes = btf.to_bytes();
            prop_assert!(Btf::parse(&bytes).is_ok(), "re-encoded BTF parses");
        }
    }

    #[test]
    fn btf_c_dump_is_bounded(data in mutated("btf_dump")) {
        if let Ok(btf) = Btf::parse(&data) {
            if let Ok(h) = btf.to_c_header() {
                // The dumper's own limits: 128 MiB of C, about 12 MiB of padding lines.
                prop_assert!(h.len() <= (1 << 27) + (16 << 20) + 256 * data.len(), "{} bytes of C", h.len());
            }
        }
    }

    #[test]
    fn btf_ext_parse_never_panics(data in mutated("btf_ext_parse")) {
        let Some(len) = data.get(..4) else { return Ok(()) };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let rest = &data[4..];
        let (btf, ext) = rest.split_at(len.min(rest.len()));
        let btf = Btf::parse(btf).unwrap_or_default();
        let _ = BtfExt::parse(ext, &btf);
    }

    #[test]
    fn usdt_notes_never_panic(data in mutated("usdt_notes")) {
        let Some((&flags, notes)) = data.split_first() else { return Ok(()) };
        if let Ok(notes) = parse_notes(notes, flags & 1 == 0, flags & 2 == 0) {
            for n in &notes {
                for arch in [Arch::X86_64, Arch::Aarch64] {
                    if let Ok(spec) = UsdtSpec::parse(&n.args, arch, n.loc_addr) {
                        let _ = spec.to_bytes();
                    }
                }
            }
        }
    }

    #[test]
    fn usdt_arg_specs_never_panic(args in "[-0-9@%$(),\\[\\] a-z+]{0,48}") {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let _ = UsdtSpec::parse(&args, arch, 0);
        }
    }
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn object_open_never_panics(data in mutated("object_open")) {
        let _ = oxbpf::Object::open_memory("mutant", &data);
    }

    #[test]
    fn elf_symbols_never_panic(data in mutated("elf_sym")) {
        if let Ok(img) = ElfImage::parse(&data, "mutant") {
            let segs = img.load_segments();
            for (name, _) in img.functions().iter().take(64) {
                if let Ok(off) = img.func_offset(name) {
                    for s in &segs {
                        let _ = s.file_offset(off);
                    }
                }
            }
            if let Some((_, notes)) = img.section(".note.stapsdt") {
                let _ = parse_notes(notes, img.is_64(), img.is_little_endian());
            }
        }
    }

    #[test]
    fn core_relocation_against_mutated_target_never_panics(data in mutated("core_reloc")) {
        if let Ok(target) = Btf::parse(&data) {
            relocate_core_read(target);
        }
    }
}
