//! Subprogram call relocation: each entry program gets its own copy of every `.text` subprogram it
//! reaches, appended in exactly libbpf's order (depth-first, in call-instruction order), with call
//! offsets, relocations and func/line info rebased onto the combined instruction array.

use super::insn;
use crate::btf::{Btf, Linkage, TypeKind};
use crate::error::{Error, Result};
use crate::obj::programs::{find_by_sec_insn, ProgramSpec, INSN_SIZE};
use crate::obj::relocs::{Reloc, RelocKind};

/// `.BTF.ext` records (func_info or line_info) of one ELF section: `rec_size`-byte records, each
/// starting with the instruction's byte offset in the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtSection {
    /// ELF section index the records describe.
    pub sec_idx: usize,
    /// Record size in bytes.
    pub rec_size: usize,
    /// The records, back to back.
    pub records: Vec<u8>,
}

/// One entry program after call relocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkedProgram {
    /// The instructions: the program, then each subprogram it uses.
    pub insns: Vec<u8>,
    /// Relocations of the program and of every appended subprogram, indices into `insns`.
    pub relocs: Vec<Reloc>,
    /// Placement of every appended subprogram: (program index, instruction offset in `insns`).
    pub subprogs: Vec<(usize, usize)>,
    /// func_info records (kernel form: instruction offsets in instructions), with their size.
    pub func_info: Option<(usize, Vec<u8>)>,
    /// line_info records (kernel form), with their size.
    pub line_info: Option<(usize, Vec<u8>)>,
}

/// Inputs shared by every entry program of one object.
pub struct CallCtx<'a> {
    /// All functions, sorted by (section, offset).
    pub progs: &'a [ProgramSpec],
    /// Index of `.text`.
    pub text_shndx: Option<usize>,
    /// `.BTF.ext` func_info by section (empty when absent or unsupported).
    pub func_info: &'a [ExtSection],
    /// `.BTF.ext` line_info by section.
    pub line_info: &'a [ExtSection],
    /// Per function: the exception callback subprogram of an entry program (empty: none at all).
    pub exception_cbs: &'a [Option<usize>],
}

struct State {
    out: LinkedProgram,
    /// Offset of each function within `out.insns`, 0 = not appended (as libbpf's `sub_insn_off`).
    sub_off: Vec<usize>,
}

/// Appends ext-info records of function `p` (placed at `sub_off`) to `acc`; `Ok(false)` when the
/// section has no records for it (libbpf's `adjust_prog_btf_ext_info` returning `-ENOENT`).
fn adjust_ext(
    p: &ProgramSpec,
    sub_off: usize,
    secs: &[ExtSection],
    acc: &mut Option<(usize, Vec<u8>)>,
) -> Result<bool> {
    let Some(sec) = secs.iter().find(|s| s.sec_idx == p.sec_idx) else {
        return Ok(false);
    };
    if sec.rec_size < 4 {
        return Err(Error::malformed(format!(
            "prog '{}': .BTF.ext record size {} is too small",
            p.name, sec.rec_size
        )));
    }
    let start = p.sec_insn_off;
    let end = start + p.insn_cnt();
    let mut copied = Vec::new();
    for rec in sec.records.chunks_exact(sec.rec_size) {
        let off = u32::from_ne_bytes([rec[0], rec[1], rec[2], rec[3]]) as usize / INSN_SIZE;
        if off < start {
            continue;
        }
        if off >= end {
            break;
        }
        let new_off = (off - start + sub_off) as u32;
        copied.extend_from_slice(&new_off.to_ne_bytes());
        copied.extend_from_slice(&rec[4..]);
    }
    if copied.is_empty() {
        return Ok(false);
    }
    let (_, buf) = acc.get_or_insert_with(|| (sec.rec_size, Vec::new()));
    buf.extend_from_slice(&copied);
    Ok(true)
}

/// libbpf's `reloc_prog_func_and_line_info` for function `idx` placed at `sub_off`: a subprogram's
/// records are only added when the main program's were found.
fn reloc_ext_info(
    ctx: &CallCtx<'_>,
    st: &mut State,
    main: usize,
    idx: usize,
    sub_off: usize,
) -> Result<()> {
    let p = &ctx.progs[idx];
    let kinds = [
        ("function", ctx.func_info, &mut st.out.func_info),
        ("line", ctx.line_info, &mut st.out.line_info),
    ];
    for (what, secs, acc) in kinds {
        let skip = secs.is_empty() || (idx != main && acc.is_none());
        if skip || adjust_ext(p, sub_off, secs, acc)? {
            continue;
        }
        if acc.is_some() {
            return Err(Error::malformed(format!(
                "prog '{}': missing .BTF.ext {what} info.",
                p.name
            )));
        }
        crate::log::warn(format_args!(
            "prog '{}': missing .BTF.ext {what} info for the main program, skipping all of .BTF.ext {what} info.",
            p.name
        ));
    }
    Ok(())
}

fn append(ctx: &CallCtx<'_>, st: &mut State, sub: usize) {
    let p = &ctx.progs[sub];
    let off = st.out.insns.len() / INSN_SIZE;
    st.sub_off[sub] = off;
    st.out.insns.extend_from_slice(&p.insns);
    st.out.relocs.extend(p.relocs.iter().map(|r| Reloc {
        insn_idx: r.insn_idx + off,
        kind: r.kind,
    }));
    st.out.subprogs.push((sub, off));
    mark_pseudo_funcs(p, &mut st.out.insns, off);
    crate::log::debug(format_args!(
        "added {} insns from sub-prog '{}'",
        p.insn_cnt(),
        p.name
    ));
}

/// libbpf's `bpf_object__reloc_code`: relocate calls of function `idx` (already placed), appending
/// callees on first use and recursing into them.
fn reloc_code(ctx: &CallCtx<'_>, st: &mut State, main: usize, idx: usize) -> Result<()> {
    let p = &ctx.progs[idx];
    let base = if idx == main { 0 } else { st.sub_off[idx] };
    reloc_ext_info(ctx, st, main, idx, base)?;
    for i in 0..p.insn_cnt() {
        let at = base + i;
        let is_call = insn::is_subprog_call(&st.out.insns, at);
        let is_func = insn::is_pseudo_func(&st.out.insns, at);
        if !is_call && !is_func {
            continue;
        }
        let relo = p
            .relocs
            .binary_search_by_key(&i, |r| r.insn_idx)
            .ok()
            .map(|k| p.relocs[k]);
        let imm = insn::imm(&st.out.insns, at) as i64;
        let target = match relo.map(|r| r.kind) {
            Some(RelocKind::ExternCall { .. }) => continue,
            Some(RelocKind::Call { sym_off }) => sym_off as i64 / INSN_SIZE as i64 + imm + 1,
            Some(RelocKind::SubprogAddr { sym_off }) => (sym_off as i64 + imm) / INSN_SIZE as i64,
            Some(other) => {
                return Err(Error::malformed(format!(
                    "prog '{}': unexpected relo for insn #{i}, type {other:?}",
                    p.name
                )))
            }
            None if is_func => {
                return Err(Error::malformed(format!(
                    "prog '{}': missing subprog addr relo for insn #{i}",
                    p.name
                )))
            }
            None => (p.sec_insn_off + i) as i64 + imm + 1,
        };
        let sub = usize::try_from(target)
            .ok()
            .and_then(|t| find_by_sec_insn(ctx.progs, ctx.text_shndx?, t))
            .ok_or_else(|| {
                Error::malformed(format!(
                    "prog '{}': no .text section found yet sub-program call exists",
                    p.name
                ))
            })?;
        if st.sub_off[sub] == 0 {
            append(ctx, st, sub);
            reloc_code(ctx, st, main, sub)?;
        }
        let new_imm = st.sub_off[sub] as i64 - at as i64 - 1;
        insn::set_imm(&mut st.out.insns, at, new_imm as i32);
    }
    Ok(())
}

/// Builds entry program `main`'s final instruction array: its own code followed by every
/// subprogram it reaches, in libbpf's order, with calls, relocations and func/line info rebased.
pub fn link_program(ctx: &CallCtx<'_>, main: usize) -> Result<LinkedProgram> {
    let p = ctx
        .progs
        .get(main)
        .ok_or_else(|| Error::invalid(format!("no program #{main}")))?;
    let mut st = State {
        out: LinkedProgram {
            insns: p.insns.clone(),
            relocs: p.relocs.clone(),
            ..Default::default()
        },
        sub_off: vec![0; ctx.progs.len()],
    };
    mark_pseudo_funcs(p, &mut st.out.insns, 0);
    reloc_code(ctx, &mut st, main, main)?;
    // The exception callback is never called directly: append it last if nothing did.
    if let Some(cb) = ctx.exception_cbs.get(main).copied().flatten() {
        if cb != main && st.sub_off[cb] == 0 {
            append(ctx, &mut st, cb);
            reloc_code(ctx, &mut st, main, cb)?;
        }
    }
    Ok(st.out)
}

/// libbpf's `bpf_prog_assign_exc_cb`: the subprogram named by an `exception_callback:<name>` decl
/// tag on entry program `main`'s FUNC, if any. `btf` is the object's BTF.
pub fn exception_callback(btf: &Btf, progs: &[ProgramSpec], main: usize) -> Result<Option<usize>> {
    const PFX: &str = "exception_callback:";
    let prog = &progs[main];
    let mut found: Option<usize> = None;
    for (_, t) in btf.types() {
        let TypeKind::DeclTag(tag) = &t.kind else {
            continue;
        };
        if tag.component_idx != -1 {
            continue;
        }
        let Some(name) = btf.type_name(t).ok().and_then(|n| n.strip_prefix(PFX)) else {
            continue;
        };
        let target = btf.type_by_id(tag.target)?;
        let is_global_func =
            matches!(&target.kind, TypeKind::Func(f) if f.linkage == Linkage::Global);
        if !is_global_func {
            return Err(Error::invalid(format!(
                "prog '{}': exception_callback:<value> decl tag not applied to the main program",
                prog.name
            )));
        }
        if btf.type_name(target).ok() != Some(prog.name.as_str()) {
            continue;
        }
        if found.is_some() {
            // Several callbacks for one program: the verifier will refuse; append none.
            return Ok(None);
        }
        if name.is_empty() {
            return Err(Error::invalid(format!(
                "prog '{}': exception_callback:<value> decl tag contains empty value",
                prog.name
            )));
        }
        let sub = progs
            .iter()
            .position(|s| s.is_subprog && s.name == name)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "prog '{}': cannot find exception callback '{name}'",
                    prog.name
                ))
            })?;
        if !progs[sub].sym_global || progs[sub].mark_btf_static {
            return Err(Error::invalid(format!(
                "prog '{}': exception callback {name} must be a global non-hidden function",
                prog.name
            )));
        }
        found = Some(sub);
    }
    Ok(found)
}

/// Marks `ld_imm64` instructions with a subprogram-address relocation as `BPF_PSEUDO_FUNC`
/// (libbpf does this on every function before relocating calls).
fn mark_pseudo_funcs(p: &ProgramSpec, insns: &mut [u8], base: usize) {
    for r in &p.relocs {
        if let RelocKind::SubprogAddr { .. } = r.kind {
            insn::set_src_reg(insns, base + r.insn_idx, insn::PSEUDO_FUNC);
        }
    }
}
