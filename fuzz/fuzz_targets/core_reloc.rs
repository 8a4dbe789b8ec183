//! CO-RE relocation against an arbitrary target BTF: the fixed object `data/core_read.bpf.o` (the
//! `core_read` test fixture, field/type/enum relocations) is relocated against the BTF parsed from
//! the fuzz input. Every relocation must resolve, poison or return an error: never a panic.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use oxbpf::btf::{Btf, BtfExt};
use oxbpf::insn::Insn;
use oxbpf::obj::elf::Elf;
use oxbpf::reloc::core::{CoreRelocator, CoreTargets, TargetBtf};

/// The object's BTF, `.BTF.ext` and every section's instructions by name.
struct Local {
    btf: Btf,
    ext: BtfExt,
    secs: Vec<(String, Vec<Insn>)>,
}

fn local() -> &'static Local {
    static LOCAL: OnceLock<Local> = OnceLock::new();
    LOCAL.get_or_init(|| {
        let elf = Elf::parse(include_bytes!("../data/core_read.bpf.o")).expect("fixture parses");
        let sec = |name: &str| &elf.sections.iter().find(|s| s.name == name).unwrap().data;
        let btf = Btf::parse(sec(".BTF")).unwrap();
        let ext = BtfExt::parse(sec(".BTF.ext"), &btf).unwrap();
        let secs = elf
            .sections
            .iter()
            .filter_map(|s| Some((s.name.clone(), Insn::slice_from_bytes(&s.data)?)))
            .collect();
        Local { btf, ext, secs }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(target) = Btf::parse(data) else { return };
    let l = local();
    let targets = CoreTargets::custom(Arc::new(TargetBtf::new("fuzz", Arc::new(target))));
    let mut core = CoreRelocator::new(&l.btf, &targets);
    let mut secs = l.secs.clone();
    for sec in &l.ext.core_relos {
        let Some((_, insns)) = secs.iter_mut().find(|(n, _)| *n == sec.name) else {
            continue;
        };
        for (i, relo) in sec.records.iter().enumerate() {
            let idx = relo.insn_off as usize / 8;
            if let Ok(out) = core.relocate(&sec.name, insns, idx, relo, i) {
                let _ = out.describe();
            }
        }
    }
});
