//! The per-program `.BTF.ext` data that goes with `BPF_PROG_LOAD`: func_info and line_info records
//! put into the kernel's record layout per ELF section (subprogram linking then gathers and rebases
//! them per entry program), the `__arg_ctx` fixup for kernels that don't know the tag (libbpf's
//! `bpf_program_fixup_func_info`), and which of the records a program's load attributes carry.

use crate::btf::{self, BtfExt};
use crate::error::Result;
use crate::kernel::features::{self, Feature};
use crate::obj::ObjectSpec;
use crate::reloc::calls::{ExtSection, LinkedProgram};

/// The `.BTF.ext` func_info and line_info records of `spec`, per ELF section, in the kernel's
/// record layout (known fields in native byte order, then any bytes the compiler appended).
/// Sections the object doesn't have are left out.
pub(super) fn ext_sections(spec: &ObjectSpec, ext: &BtfExt) -> (Vec<ExtSection>, Vec<ExtSection>) {
    let funcs = kernel_records(spec, &ext.func_info, ext.func_info_rec_size, |r| {
        [r.insn_off, r.type_id]
    });
    let lines = kernel_records(spec, &ext.line_info, ext.line_info_rec_size, |r| {
        [r.insn_off, r.file_name_off, r.line_off, r.line_col]
    });
    (funcs, lines)
}

/// Lays out one part's records per section of `spec`: `rec_size` bytes each, the `N` known words
/// `known` gives, then the record's extra bytes.
fn kernel_records<R, const N: usize>(
    spec: &ObjectSpec,
    parts: &[btf::ExtSection<R>],
    rec_size: u32,
    known: impl Fn(&R) -> [u32; N],
) -> Vec<ExtSection> {
    let rec = rec_size as usize;
    let extra = rec.saturating_sub(4 * N);
    let mut out = Vec::new();
    for s in parts {
        let Some(sec_idx) = spec.elf.sections.iter().position(|x| x.name == s.name) else {
            continue;
        };
        let mut records = Vec::with_capacity(s.records.len() * rec);
        for (i, r) in s.records.iter().enumerate() {
            for w in known(r) {
                records.extend_from_slice(&w.to_ne_bytes());
            }
            records.extend_from_slice(s.extra.get(i * extra..(i + 1) * extra).unwrap_or(&[]));
        }
        out.push(ExtSection {
            sec_idx,
            rec_size: rec,
            records,
        });
    }
    out
}

/// libbpf's `bpf_program_fixup_func_info`, per linked entry program in program order: on
/// kernels without native `__arg_ctx`, global subprograms' context arguments get a private
/// FUNC/FUNC_PROTO copy typed with the program type's context struct.
pub(super) fn fixup_func_info(
    spec: &mut ObjectSpec,
    linked: &mut [Option<LinkedProgram>],
) -> Result<()> {
    let Some(btf) = spec.btf.as_mut().filter(|_| spec.btf_ext.is_some()) else {
        return Ok(());
    };
    // Without kernel func_info support libbpf keeps no func_info, so there is nothing to fix.
    if !features::kernel_supports(Feature::BtfFunc) {
        return Ok(());
    }
    for (p, l) in spec.programs.iter().zip(linked.iter_mut()) {
        let Some((rec, fi)) = l.as_mut().and_then(|l| l.func_info.as_mut()) else {
            continue;
        };
        if features::kernel_supports(Feature::ArgCtxTag) {
            return Ok(());
        }
        crate::reloc::arg_ctx::fixup_func_info(btf, &p.name, p.prog_type, fi, *rec).map_err(
            |e| {
                e.context(format!(
                    "prog '{}': failed to perform .BTF.ext fix ups",
                    p.name
                ))
            },
        )?;
    }
    Ok(())
}

/// The func_info and line_info one program's `BPF_PROG_LOAD` carries: none when the object's BTF
/// is not loaded or the kernel takes no func_info.
pub(super) struct LoadExtInfo<'a> {
    pub func_info_rec_size: u32,
    pub func_info: &'a [u8],
    pub line_info_rec_size: u32,
    pub line_info: &'a [u8],
}

impl<'a> LoadExtInfo<'a> {
    /// What linked program `l` sends, `btf_loaded` saying whether the object's BTF went up.
    pub(super) fn for_load(l: &'a LinkedProgram, btf_loaded: bool) -> Self {
        let with_btf = btf_loaded && features::kernel_supports(Feature::BtfFunc);
        let pick = |part: &'a Option<(usize, Vec<u8>)>| {
            part.as_ref()
                .filter(|_| with_btf)
                .map_or((0, &[][..]), |(r, b)| (*r as u32, b.as_slice()))
        };
        let (func_info_rec_size, func_info) = pick(&l.func_info);
        let (line_info_rec_size, line_info) = pick(&l.line_info);
        LoadExtInfo {
            func_info_rec_size,
            func_info,
            line_info_rec_size,
            line_info,
        }
    }
}
