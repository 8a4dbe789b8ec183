//! Type relocation values: target type id, existence, match, size (libbpf's
//! `bpf_core_calc_type_relo`). A missing type gives 0, never a poisoned instruction.

use super::spec::Spec;
use crate::btf::CoreReloKind;
use crate::error::{Error, Result};

/// Computes a type relocation's value from `spec` (`None`: no matching type) and whether the
/// instruction's current value must be checked against the local one.
pub fn calc_type(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<(u64, bool)> {
    let Some(spec) = spec else {
        return Ok((0, true));
    };
    Ok(match kind {
        // Type ids change when objects are linked, so the compiled-in one is not checked.
        CoreReloKind::TypeIdTarget => (spec.root_type_id as u64, false),
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => (1, true),
        CoreReloKind::TypeSize => (spec.btf.resolve_size(spec.root_type_id)? as u64, true),
        _ => {
            return Err(Error::invalid(format!(
                "CO-RE: {kind:?} is not a type relocation"
            )))
        }
    })
}
