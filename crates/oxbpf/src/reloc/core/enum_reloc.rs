//! Enumerator relocation values: existence and value (libbpf's `bpf_core_calc_enumval_relo`).

use super::spec::Spec;
use crate::btf::{CoreReloKind, TypeKind};
use crate::error::{Error, Result};

/// Computes an enumerator relocation's value; `None` means the enumerator is missing and the
/// instruction must be poisoned (ENUMVAL_VALUE only; ENUMVAL_EXISTS is then 0).
pub fn calc_enumval(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<Option<u64>> {
    match kind {
        CoreReloKind::EnumvalExists => Ok(Some(spec.is_some() as u64)),
        CoreReloKind::EnumvalValue => {
            let Some(spec) = spec else { return Ok(None) };
            let acc = spec
                .acc
                .first()
                .ok_or_else(|| Error::invalid("CO-RE: empty enumerator spec"))?;
            let t = spec.btf.type_by_id(acc.type_id)?;
            let v = match &t.kind {
                TypeKind::Enum(e) | TypeKind::Enum64(e) => e.values.get(acc.idx as usize),
                _ => None,
            }
            .ok_or_else(|| Error::invalid(format!("CO-RE: bad enumerator #{}", acc.idx)))?;
            // A 32-bit enumerator is a signed 32-bit number in BTF, widened with its sign
            // whatever the enum's signedness, as libbpf does.
            Ok(Some(match t.kind {
                TypeKind::Enum(_) => v.value as u32 as i32 as i64 as u64,
                _ => v.value,
            }))
        }
        _ => Err(Error::invalid(format!(
            "CO-RE: {kind:?} is not an enumerator relocation"
        ))),
    }
}
