//! The raw, one-type-per-line listing of `bpftool btf dump ... format raw`.

use std::fmt::Write as _;

use super::types::*;
use super::Btf;
use crate::error::Result;

impl Btf {
    /// Lists this BTF's own types (for split BTF, not the base's) in bpftool's raw format:
    /// `[id] KIND 'name' fields...`, with members, enumerators, parameters and section entries on
    /// indented lines.
    pub fn to_raw_listing(&self) -> Result<String> {
        let mut out = String::with_capacity(self.types.len() * 64);
        for (id, t) in self.types() {
            self.raw_type(&mut out, id, t)?;
        }
        Ok(out)
    }

    /// Writes [`Btf::to_raw_listing`]'s text to `w` as it is produced.
    pub fn write_raw_listing(&self, w: &mut dyn std::io::Write) -> Result<()> {
        let io = |e| crate::Error::io("write raw listing", e);
        let mut out = String::with_capacity(1 << 17);
        for (id, t) in self.types() {
            self.raw_type(&mut out, id, t)?;
            if out.len() >= 1 << 16 {
                w.write_all(out.as_bytes()).map_err(io)?;
                out.clear();
            }
        }
        w.write_all(out.as_bytes()).map_err(io)
    }

    fn raw_name(&self, off: u32) -> Result<&str> {
        if off == 0 {
            return Ok("(anon)");
        }
        self.str_at(off)
    }

    /// Appends the raw listing of one type to `out`.
    pub fn raw_type(&self, out: &mut String, id: TypeId, t: Type<'_>) -> Result<()> {
        let _ = write!(
            out,
            "[{id}] {} '{}'",
            t.btf_kind(),
            self.raw_name(t.name_off)?
        );
        match &t.kind {
            TypeKind::Void => {}
            TypeKind::Int(i) => {
                let enc = match i.encoding {
                    0 => "(none)",
                    INT_SIGNED => "SIGNED",
                    INT_CHAR => "CHAR",
                    INT_BOOL => "BOOL",
                    _ => "UNKN",
                };
                let _ = write!(
                    out,
                    " size={} bits_offset={} nr_bits={} encoding={enc}",
                    i.size, i.offset, i.bits
                );
            }
            TypeKind::Ptr(n)
            | TypeKind::Typedef(n)
            | TypeKind::Volatile(n)
            | TypeKind::Const(n)
            | TypeKind::Restrict(n)
            | TypeKind::TypeTag(TypeTag { target: n, .. }) => {
                let _ = write!(out, " type_id={n}");
            }
            TypeKind::Array(a) => {
                let _ = write!(
                    out,
                    " type_id={} index_type_id={} nr_elems={}",
                    a.elem_type, a.index_type, a.nelems
                );
            }
            TypeKind::Struct(c) | TypeKind::Union(c) => {
                let _ = write!(out, " size={} vlen={}", c.size, c.members.len());
                for m in &c.members {
                    let _ = write!(
                        out,
                        "\n\t'{}' type_id={} bits_offset={}",
                        self.raw_name(m.name_off)?,
                        m.type_id,
                        m.bit_offset
                    );
                    if m.bitfield_size != 0 {
                        let _ = write!(out, " bitfield_size={}", m.bitfield_size);
                    }
                }
            }
            TypeKind::Enum(e) | TypeKind::Enum64(e) => {
                let is64 = matches!(t.kind, TypeKind::Enum64(_));
                let enc = if e.signed { "SIGNED" } else { "UNSIGNED" };
                let _ = write!(
                    out,
                    " encoding={enc} size={} vlen={}",
                    e.size,
                    e.values.len()
                );
                for v in &e.values {
                    let _ = write!(out, "\n\t'{}' val=", self.raw_name(v.name_off)?);
                    let _ = match (is64, e.signed) {
                        (false, true) => write!(out, "{}", v.value as u32 as i32),
                        (false, false) => write!(out, "{}", v.value as u32),
                        (true, true) => write!(out, "{}LL", v.value as i64),
                        (true, false) => write!(out, "{}ULL", v.value),
                    };
                }
            }
            TypeKind::Fwd(k) => {
                let _ = write!(
                    out,
                    " fwd_kind={}",
                    if *k == FwdKind::Union {
                        "union"
                    } else {
                        "struct"
                    }
                );
            }
            TypeKind::Func(f) => {
                let _ = write!(out, " type_id={} linkage={}", f.proto, f.linkage.name());
            }
            TypeKind::FuncProto(p) => {
                let _ = write!(out, " ret_type_id={} vlen={}", p.ret, p.params.len());
                for prm in &p.params {
                    let _ = write!(
                        out,
                        "\n\t'{}' type_id={}",
                        self.raw_name(prm.name_off)?,
                        prm.type_id
                    );
                }
            }
            TypeKind::Var(v) => {
                let _ = write!(out, " type_id={}, linkage={}", v.type_id, v.linkage.name());
            }
            TypeKind::Datasec(d) => {
                let _ = write!(out, " size={} vlen={}", d.size, d.vars.len());
                for v in &d.vars {
                    let _ = write!(
                        out,
                        "\n\ttype_id={} offset={} size={}",
                        v.type_id, v.offset, v.size
                    );
                    if let Ok(vt) = self.type_by_id(v.type_id) {
                        let _ = write!(
                            out,
                            " ({} '{}')",
                            vt.btf_kind(),
                            self.raw_name(vt.name_off)?
                        );
                    }
                }
            }
            TypeKind::Float(size) => {
                let _ = write!(out, " size={size}");
            }
            TypeKind::DeclTag(d) => {
                let _ = write!(
                    out,
                    " type_id={} component_idx={}",
                    d.target, d.component_idx
                );
            }
        }
        out.push('\n');
        Ok(())
    }
}
