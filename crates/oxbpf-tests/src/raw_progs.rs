//! Programs read straight from an object file, before any loader touches them: for tests and benches
//! that drive the CO-RE engine by hand.

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use oxbpf::btf::{Btf, BtfExt};
use oxbpf::insn::Insn;
use oxbpf::reloc::core::{CoreOutcome, CoreRelocator};
use std::path::Path;

/// A program: (name, section, first instruction in the section, instructions).
pub type RawProg = (String, String, usize, Vec<Insn>);

/// The programs of `path` (global functions in executable sections), with its `.BTF` and `.BTF.ext`.
/// Panics on an object without them: callers pass fixtures they built.
pub fn raw_programs(path: &Path) -> (Vec<RawProg>, Btf, BtfExt) {
    let data = std::fs::read(path).unwrap();
    let elf = object::File::parse(&*data).unwrap();
    let btf = Btf::parse(elf.section_by_name(".BTF").unwrap().data().unwrap()).unwrap();
    let ext = BtfExt::parse(
        elf.section_by_name(".BTF.ext").unwrap().data().unwrap(),
        &btf,
    )
    .unwrap();
    let mut progs = Vec::new();
    for sym in elf.symbols() {
        if sym.kind() != SymbolKind::Text || !sym.is_global() {
            continue;
        }
        let sec = elf.section_by_index(sym.section_index().unwrap()).unwrap();
        let bytes =
            &sec.data().unwrap()[sym.address() as usize..(sym.address() + sym.size()) as usize];
        progs.push((
            sym.name().unwrap().to_string(),
            sec.name().unwrap().to_string(),
            sym.address() as usize / 8,
            Insn::slice_from_bytes(bytes).unwrap(),
        ));
    }
    (progs, btf, ext)
}

/// Applies `.BTF.ext`'s CO-RE records to `progs` (from [`raw_programs`]) with `core`, in libbpf's
/// order (sections, then records); `each` gets the index in `progs` and the outcome of every
/// relocation. Stops at the first error. Panics on a record outside every program.
pub fn relocate_core(
    progs: &mut [RawProg],
    ext: &BtfExt,
    core: &mut CoreRelocator<'_>,
    mut each: impl FnMut(usize, CoreOutcome),
) -> oxbpf::Result<()> {
    for sec in &ext.core_relos {
        for (i, relo) in sec.records.iter().enumerate() {
            let idx = relo.insn_off as usize / 8;
            let p = progs
                .iter()
                .position(|p| p.1 == sec.name && idx >= p.2 && idx < p.2 + p.3.len())
                .expect("CO-RE record inside a program");
            let (name, _, start, insns) = &mut progs[p];
            let o = core.relocate(name, insns, idx - *start, relo, i)?;
            each(p, o);
        }
    }
    Ok(())
}
