//! Field relocation values: byte offset, byte size, existence, signedness and the two shifts that
//! extract a bitfield from a 64-bit load (libbpf's `bpf_core_calc_field_relo`).

use super::spec::Spec;
use crate::btf::{CoreReloKind, TypeId, TypeKind, INT_SIGNED};
use crate::error::{Error, Result};

/// The value a field relocation computes on one side (local or target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FieldValue {
    /// The relocated value.
    pub val: u64,
    /// For FIELD_BYTE_OFFSET of a non-bitfield: the size of a load of the field (array elements
    /// for arrays), else 0.
    pub mem_sz: u32,
    /// For FIELD_BYTE_OFFSET of a non-bitfield: the field's type (modifiers skipped), else 0.
    pub type_id: TypeId,
    /// Whether the instruction's current value must equal the local value.
    pub validate: bool,
}

/// The size of one element: arrays (of arrays) are walked down to their element type.
fn elem_size(btf: &crate::btf::Btf, id: TypeId) -> Result<u32> {
    let (mut id, mut t) = btf.skip_mods_and_typedefs(id)?;
    for _ in 0..32 {
        let TypeKind::Array(a) = &t.kind else { break };
        (id, t) = btf.skip_mods_and_typedefs(a.elem_type)?;
    }
    btf.resolve_size(id)
}

/// Computes a field relocation's value from `spec`; `None` means the field is missing and the
/// instruction must be poisoned (except FIELD_EXISTS, which is then 0).
pub fn calc_field(
    prog: &str,
    kind: CoreReloKind,
    insn_idx: usize,
    spec: Option<&Spec<'_>>,
) -> Result<Option<FieldValue>> {
    if kind == CoreReloKind::FieldExists {
        return Ok(Some(FieldValue {
            val: spec.is_some() as u64,
            validate: true,
            ..FieldValue::default()
        }));
    }
    let Some(spec) = spec else { return Ok(None) };
    let btf = spec.btf;
    let acc = spec
        .acc
        .last()
        .ok_or_else(|| Error::invalid("CO-RE: empty field spec"))?;
    let mut out = FieldValue {
        validate: true,
        ..FieldValue::default()
    };

    if acc.name.is_none() {
        // The path ends on an array element (or the root itself).
        match kind {
            CoreReloKind::FieldByteOffset => {
                out.val = (spec.bit_offset / 8) as u64;
                out.mem_sz = elem_size(btf, acc.type_id)?;
                out.type_id = acc.type_id;
            }
            CoreReloKind::FieldByteSize => out.val = btf.resolve_size(acc.type_id)? as u64,
            _ => {
                return Err(Error::invalid(format!(
                    "prog '{prog}': relo {} at insn #{insn_idx} can't be applied to array access",
                    kind as u32
                )))
            }
        }
        return Ok(Some(out));
    }

    let t = btf.type_by_id(acc.type_id)?;
    let m = t.members().get(acc.idx as usize).ok_or_else(|| {
        Error::invalid(format!(
            "CO-RE: bad member #{} of [{}]",
            acc.idx, acc.type_id
        ))
    })?;
    let (field_type_id, mt) = btf.skip_mods_and_typedefs(m.type_id)?;
    let bit_off = spec.bit_offset;
    // Only the kind_flag encoding carries a bitfield size in the member, which is all libbpf reads.
    let mut bit_sz = m.bitfield_size as u32;
    let bitfield = bit_sz > 0;
    let (byte_off, byte_sz);
    if bitfield {
        let mut sz = mt.size().filter(|&s| s > 0).ok_or_else(|| {
            Error::invalid(format!(
                "CO-RE: bitfield of [{field_type_id}] without a size"
            ))
        })?;
        let mut off = bit_off / 8 / sz * sz;
        while bit_off.wrapping_add(bit_sz).wrapping_sub(off * 8) > sz * 8 {
            if sz >= 8 {
                return Err(Error::invalid(format!(
                    "prog '{prog}': relo {} at insn #{insn_idx} can't be satisfied for bitfield",
                    kind as u32
                )));
            }
            sz *= 2;
            off = bit_off / 8 / sz * sz;
        }
        (byte_off, byte_sz) = (off, sz);
    } else {
        byte_sz = btf.resolve_size(field_type_id)?;
        byte_off = bit_off / 8;
        bit_sz = byte_sz.wrapping_mul(8);
    }
    // Bitfield placement is the compiler's business, so only signedness and the right shift are
    // checked against the instruction for bitfields.
    out.validate = !bitfield;
    match kind {
        CoreReloKind::FieldByteOffset => {
            out.val = byte_off as u64;
            if !bitfield {
                out.mem_sz = elem_size(btf, field_type_id)?;
                out.type_id = field_type_id;
            }
        }
        CoreReloKind::FieldByteSize => out.val = byte_sz as u64,
        CoreReloKind::FieldSigned => {
            let signed = match &mt.kind {
                TypeKind::Enum(e) | TypeKind::Enum64(e) => e.signed,
                TypeKind::Int(i) => i.encoding & INT_SIGNED != 0,
                _ => false,
            };
            out.val = signed as u64;
            out.validate = true;
        }
        CoreReloKind::FieldLshiftU64 => {
            out.val = if cfg!(target_endian = "little") {
                64u32.wrapping_sub(bit_off.wrapping_add(bit_sz).wrapping_sub(byte_off * 8))
            } else {
                (8u32.wrapping_sub(byte_sz))
                    .wrapping_mul(8)
                    .wrapping_add(bit_off.wrapping_sub(byte_off * 8))
            } as u64;
        }
        CoreReloKind::FieldRshiftU64 => {
            out.val = 64u32.wrapping_sub(bit_sz) as u64;
            out.validate = true;
        }
        _ => {
            return Err(Error::invalid(format!(
                "CO-RE: {kind:?} is not a field relocation"
            )))
        }
    }
    Ok(Some(out))
}
