//! CO-RE (Compile Once – Run Everywhere): rewriting field offsets, sizes, existence checks, type
//! ids and enum values that a BPF object recorded against its own BTF so they are right for the
//! running kernel's BTF, with exactly libbpf's rules and results. Pure: the target BTFs come in
//! as bytes or parsed [`Btf`]s, never read here.
//!
//! The pieces, in the order a relocation goes through them:
//! [`spec`] parses the access string against the local BTF, [`candidates`] finds target types
//! with the same essential name ([`names`]), [`matching`] walks the path in each candidate using
//! the [`compat`] rules, [`field`] / [`type_reloc`] / [`enum_reloc`] compute local and target
//! values, [`resolve`] checks that all candidates agree, and [`patch`] rewrites the instruction
//! or [`poison`]s it.
//!
//! # Contract for the loader
//! One [`CoreRelocator`] per object load. Call [`CoreRelocator::relocate`] for every `.BTF.ext`
//! CO-RE record **in libbpf's order** (sections in `.BTF.ext` order, records in order), skipping
//! records of programs that are not autoloaded and of eliminated weak subprograms, on the
//! function's own instructions **before** subprogram calls are linked. The order matters: like
//! libbpf, the relocator narrows a type's candidate list to the candidates that matched, and
//! later relocations of that type only see those. Keep the returned [`CoreOutcome`]s (with
//! `insn_idx` moved to the final program's numbering) so that when the verifier rejects a
//! program at a poisoned instruction ([`poison::poisoned_insn_in_log`]) the error can say which
//! relocation failed and why ([`CoreOutcome::failure`]); [`fixup_verifier_log`] rewrites the log
//! as libbpf does. `Object::load` does all of this (`object/load.rs`, `relocate_core`, with
//! [`CoreRelocator::relocate_bytes`]); targets there are `kernel::vmlinux::vmlinux_btf()` (or the
//! `btf_custom_path` BTF, [`CoreTargets::custom`]) shared through [`TargetBtf::shared`], plus
//! `kernel::module_btf::module_btfs`.
//!
//! ```no_run
//! # fn main() -> oxbpf::Result<()> {
//! use oxbpf::reloc::core::{CoreRelocator, CoreTargets, TargetBtf};
//! # let (local, ext, mut insns): (oxbpf::btf::Btf, oxbpf::btf::BtfExt, Vec<oxbpf::insn::Insn>) = todo!();
//! // The process-wide vmlinux BTF, and its process-wide CO-RE caches.
//! let vmlinux = TargetBtf::shared("vmlinux", &oxbpf::kernel::vmlinux::vmlinux_btf()?);
//! let targets = CoreTargets::new(vmlinux);
//! let mut core = CoreRelocator::new(&local, &targets);
//! for sec in &ext.core_relos {
//!     for (i, relo) in sec.records.iter().enumerate() {
//!         let outcome = core.relocate("prog", &mut insns, relo.insn_off as usize / 8, relo, i)?;
//!         if outcome.poisoned {
//!             eprintln!("{}", outcome.describe().unwrap_or_default());
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod candidates;
pub mod compat;
pub mod enum_reloc;
pub mod field;
pub mod matching;
pub mod names;
pub mod patch;
pub mod poison;
pub mod resolve;
pub mod spec;
pub mod type_reloc;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use candidates::{Candidate, CoreTargets, TargetBtf};
pub use patch::Patched;
pub use poison::{fixup_verifier_log, poisoned_insn_in_log, POISON_IMM};
pub use resolve::Resolution;
pub use spec::Spec;

use crate::btf::{Btf, CoreRelo, CoreReloKind, TypeId};
use crate::error::{Error, Result};
use crate::insn::Insn;

/// The three families of relocation kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KindClass {
    Field,
    Type,
    Enumval,
}

impl KindClass {
    pub(crate) fn of(kind: CoreReloKind) -> KindClass {
        use CoreReloKind::*;
        match kind {
            FieldByteOffset | FieldByteSize | FieldExists | FieldSigned | FieldLshiftU64
            | FieldRshiftU64 => KindClass::Field,
            TypeIdLocal | TypeIdTarget | TypeExists | TypeSize | TypeMatches => KindClass::Type,
            EnumvalExists | EnumvalValue => KindClass::Enumval,
        }
    }
}

/// libbpf's short name of a relocation kind (`byte_off`, `field_exists`, `type_matches`, ...).
pub fn relo_kind_str(kind: CoreReloKind) -> &'static str {
    use CoreReloKind::*;
    match kind {
        FieldByteOffset => "byte_off",
        FieldByteSize => "byte_sz",
        FieldExists => "field_exists",
        FieldSigned => "signed",
        FieldLshiftU64 => "lshift_u64",
        FieldRshiftU64 => "rshift_u64",
        TypeIdLocal => "local_type_id",
        TypeIdTarget => "target_type_id",
        TypeExists => "type_exists",
        TypeMatches => "type_matches",
        TypeSize => "type_size",
        EnumvalExists => "enumval_exists",
        EnumvalValue => "enumval_value",
    }
}

/// What one relocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreOutcome {
    /// Index of the record in its `.BTF.ext` section ("relo #N").
    pub relo_idx: usize,
    /// The patched instruction, in the function's numbering.
    pub insn_idx: usize,
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// libbpf's text for the local spec: `<byte_off> [7] struct inet_sock.freebind (0:3 @ offset 12)`.
    pub local_spec: String,
    /// The value the compiler put in the instruction.
    pub orig_val: u64,
    /// The value written for the target (0 when poisoned).
    pub new_val: u64,
    /// The target type the relocation resolved to: (target BTF name, type id).
    pub target: Option<(String, TypeId)>,
    /// The instruction was replaced by the poison call.
    pub poisoned: bool,
    /// For a poisoned instruction, why, in words: "struct inet_sock has no field freebind on this
    /// kernel". [`CoreOutcome::describe`] adds the access.
    pub failure: Option<String>,
}

impl CoreOutcome {
    /// The failure in words with the relocation it concerns: "struct inet_sock has no field freebind
    /// on this kernel (CO-RE relocation <byte_off> \[7\] struct inet_sock.freebind (0:3 @ offset 12))";
    /// `None` when the relocation succeeded.
    pub fn describe(&self) -> Option<String> {
        let f = self.failure.as_deref()?;
        Some(format!("{f} (CO-RE relocation {})", self.local_spec))
    }
}

/// Records in `outcome` what patching did.
fn finish(outcome: &mut CoreOutcome, patched: Patched) {
    match patched {
        Patched::Value => outcome.failure = None,
        Patched::Poisoned { .. } => {
            outcome.poisoned = true;
            outcome.new_val = 0;
        }
    }
}

/// Applies CO-RE relocations for one object: the object's BTF, the targets, and the per-object
/// candidate lists (narrowed as relocations resolve, like libbpf's `cand_cache`).
#[derive(Debug)]
pub struct CoreRelocator<'a> {
    local: &'a Btf,
    targets: &'a CoreTargets,
    cands: HashMap<TypeId, Vec<Candidate<'a>>>,
}

impl<'a> CoreRelocator<'a> {
    /// A relocator for an object whose BTF is `local`, against `targets`.
    pub fn new(local: &'a Btf, targets: &'a CoreTargets) -> CoreRelocator<'a> {
        CoreRelocator {
            local,
            targets,
            cands: HashMap::new(),
        }
    }

    /// Resolves relocation `relo` (record `relo_idx` of its section) without patching anything.
    pub fn resolve(
        &mut self,
        prog: &str,
        relo: &CoreRelo,
        relo_idx: usize,
        insn_idx: usize,
    ) -> Result<(Resolution, CoreOutcome)> {
        let local = self.local;
        let local_id = relo.type_id;
        let local_t = local
            .type_by_id(local_id)
            .map_err(|e| e.context(format!("prog '{prog}': relo #{relo_idx}: local type")))?;
        let local_name = local.str_at(local_t.name_off)?;
        let Some(kind) = relo.relo_kind() else {
            return Err(Error::invalid(format!(
                "prog '{prog}': relo #{relo_idx}: unrecognized CO-RE relocation unknown ({}) at insn #{insn_idx}",
                relo.kind
            )));
        };
        // Candidates first (as libbpf: an anonymous root fails here, before parsing).
        if kind != CoreReloKind::TypeIdLocal && !self.cands.contains_key(&local_id) {
            let c = self.targets.find_candidates(local, local_id).map_err(|e| {
                e.context(format!(
                    "prog '{prog}': relo #{relo_idx}: target candidate search failed for [{local_id}] {} {local_name}",
                    spec::btf_kind_str(&local_t)
                ))
            })?;
            self.cands.insert(local_id, c);
        }
        let access = local.str_at(relo.access_str_off).unwrap_or("");
        let local_spec = spec::parse_spec(local, local_id, access, kind).map_err(|e| {
            e.context(format!(
                "prog '{prog}': relo #{relo_idx}: parsing [{local_id}] {} {} + {access} failed",
                spec::btf_kind_str(&local_t),
                if local_name.is_empty() {
                    "<anon>"
                } else {
                    local_name
                }
            ))
        })?;
        let spec_text = local_spec.to_string();
        let mut outcome = CoreOutcome {
            relo_idx,
            insn_idx,
            kind,
            local_spec: spec_text,
            orig_val: 0,
            new_val: 0,
            target: None,
            poisoned: false,
            failure: None,
        };
        if kind == CoreReloKind::TypeIdLocal {
            let res = Resolution {
                orig_val: local_id as u64,
                new_val: local_id as u64,
                validate: false,
                ..Resolution::default()
            };
            (outcome.orig_val, outcome.new_val) = (res.orig_val, res.new_val);
            return Ok((res, outcome));
        }
        if local_name.is_empty() {
            return Err(Error::new(
                crate::ErrorKind::NotSupported,
                format!(
                    "prog '{prog}': relo #{relo_idx}: <{}> ({}) relocation doesn't support anonymous types",
                    relo_kind_str(kind),
                    kind as u32
                ),
            ));
        }
        let cands = self.cands.entry(local_id).or_default();
        let r = resolve::resolve(prog, relo_idx, insn_idx, &local_spec, cands)?;
        (outcome.orig_val, outcome.new_val) = (r.res.orig_val, r.res.new_val);
        outcome.target = r.target.map(|c| (c.target.name().to_string(), c.id));
        if r.res.poison {
            outcome.poisoned = true;
            outcome.failure = Some(poison::failure_words(
                &local_spec,
                r.mismatch,
                r.candidates,
                None,
            ));
        } else if r.res.fail_memsz_adjust {
            // Only poisoned if the instruction turns out to be a load/store; see `relocate`.
            outcome.failure = Some(poison::failure_words(
                &local_spec,
                None,
                r.candidates,
                Some((r.res.orig_sz, r.res.new_sz)),
            ));
        }
        Ok((r.res, outcome))
    }

    /// Resolves relocation `relo` and patches instruction `insn_idx` of `insns` (the function's
    /// instructions, before subprogram linking). `relo_idx` is the record's index in its section.
    pub fn relocate(
        &mut self,
        prog: &str,
        insns: &mut [Insn],
        insn_idx: usize,
        relo: &CoreRelo,
        relo_idx: usize,
    ) -> Result<CoreOutcome> {
        let (res, mut outcome) = self.resolve(prog, relo, relo_idx, insn_idx)?;
        let patched = patch::patch_insn(prog, insns, insn_idx, relo_idx, &res).map_err(|e| {
            e.context(format!(
                "prog '{prog}': relo #{relo_idx}: failed to patch insn #{insn_idx}"
            ))
        })?;
        finish(&mut outcome, patched);
        log::debug!(
            "prog '{prog}': relo #{relo_idx}: {} -> {}",
            outcome.local_spec,
            if outcome.poisoned {
                "poisoned".to_string()
            } else {
                format!("{} (was {})", outcome.new_val, outcome.orig_val)
            }
        );
        Ok(outcome)
    }

    /// [`relocate`](Self::relocate) on raw instruction bytes (8 per instruction, host byte order),
    /// for loaders that keep functions as bytes: only the patched instruction(s) are decoded.
    pub fn relocate_bytes(
        &mut self,
        prog: &str,
        bytes: &mut [u8],
        insn_idx: usize,
        relo: &CoreRelo,
        relo_idx: usize,
    ) -> Result<CoreOutcome> {
        let n = bytes.len() / 8;
        if insn_idx >= n || bytes.len() % 8 != 0 {
            return Err(Error::invalid(format!(
                "prog '{prog}': relo #{relo_idx}: insn #{insn_idx} outside the function's {n} instructions"
            )));
        }
        let window = &mut bytes[insn_idx * 8..(insn_idx + 2).min(n) * 8];
        let mut insns = Insn::slice_from_bytes(window).unwrap_or_default();
        let (res, mut outcome) = self.resolve(prog, relo, relo_idx, insn_idx)?;
        let patched = patch::patch_insn_labelled(prog, &mut insns, 0, insn_idx, relo_idx, &res)
            .map_err(|e| {
                e.context(format!(
                    "prog '{prog}': relo #{relo_idx}: failed to patch insn #{insn_idx}"
                ))
            })?;
        window.copy_from_slice(Insn::slice_as_bytes(&insns));
        finish(&mut outcome, patched);
        Ok(outcome)
    }

    /// Applies `relos` — (record index in its section, instruction index in the function, record)
    /// — to one function's instructions, in the order given.
    pub fn relocate_function<'r>(
        &mut self,
        prog: &str,
        insns: &mut [Insn],
        relos: impl IntoIterator<Item = (usize, usize, &'r CoreRelo)>,
    ) -> Result<Vec<CoreOutcome>> {
        relos
            .into_iter()
            .map(|(relo_idx, insn_idx, relo)| self.relocate(prog, insns, insn_idx, relo, relo_idx))
            .collect()
    }

    /// [`relocate_function`](Self::relocate_function) on raw instruction bytes (8 per instruction,
    /// host byte order), for loaders that keep programs as bytes.
    pub fn relocate_function_bytes<'r>(
        &mut self,
        prog: &str,
        bytes: &mut [u8],
        relos: impl IntoIterator<Item = (usize, usize, &'r CoreRelo)>,
    ) -> Result<Vec<CoreOutcome>> {
        let mut insns = Insn::slice_from_bytes(bytes).ok_or_else(|| {
            Error::invalid(format!(
                "prog '{prog}': {} bytes of instructions is not a multiple of 8",
                bytes.len()
            ))
        })?;
        let out = self.relocate_function(prog, &mut insns, relos)?;
        bytes.copy_from_slice(Insn::slice_as_bytes(&insns));
        Ok(out)
    }
}
