//! Access specs: an access string (`"0:1:2"`) turned into a path through the local BTF types, and
//! the C-like text libbpf prints for it.
//!
//! The raw spec is the access string's numbers. The high-level accessors keep only the
//! meaningful steps: the first index (pointer arithmetic on the root), each named member, each
//! array index; anonymous struct/union members are walked through but leave no accessor. A
//! field spec also carries the bit offset the path reaches.

use std::fmt;

use super::{relo_kind_str, KindClass};
use crate::btf::{Btf, CoreReloKind, Type, TypeId, TypeKind};
use crate::error::{Error, Result};

/// Longest access path libbpf accepts (`BPF_CORE_SPEC_MAX_LEN`).
pub const SPEC_MAX_LEN: usize = 64;

/// One high-level step of an access path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accessor<'b> {
    /// For a named member: the struct/union holding it. For an index: the element type. For an
    /// enumerator: the enum. Modifiers and typedefs are already skipped.
    pub type_id: TypeId,
    /// Member, element or enumerator index.
    pub idx: i32,
    /// The member or enumerator name; `None` for array indexes.
    pub name: Option<&'b str>,
}

/// A relocation's access path resolved against one BTF (libbpf's `bpf_core_spec`).
#[derive(Debug, Clone)]
pub struct Spec<'b> {
    /// The BTF the path walks.
    pub btf: &'b Btf,
    /// The type the relocation starts from (as recorded, before skipping typedefs).
    pub root_type_id: TypeId,
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// The numbers of the access string (for a target: the path found in the target).
    pub raw: Vec<i32>,
    /// The high-level accessors.
    pub acc: Vec<Accessor<'b>>,
    /// Bit offset of the accessed field from the start of the root (fields only).
    pub bit_offset: u32,
}

impl<'b> Spec<'b> {
    /// An empty spec rooted at `root`.
    pub(crate) fn empty(btf: &'b Btf, root: TypeId, kind: CoreReloKind) -> Spec<'b> {
        Spec {
            btf,
            root_type_id: root,
            kind,
            raw: Vec::new(),
            acc: Vec::new(),
            bit_offset: 0,
        }
    }
}

/// libbpf's lower-case kind names (`btf_kind_str`).
pub(crate) fn btf_kind_str(t: &Type) -> String {
    match t.kind {
        TypeKind::Void => "void".into(),
        _ => t.btf_kind().name().to_ascii_lowercase(),
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::invalid(msg)
}

/// Parses "0:1:2" the way libbpf's `sscanf("%d")` loop does: colon-separated decimal integers,
/// each optionally preceded by whitespace and a sign.
fn parse_access_string(s: &str) -> Result<Vec<i32>> {
    let mut raw = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(':') {
            rest = r;
        }
        let t = rest.trim_start();
        let digits_start = usize::from(t.starts_with(['-', '+']));
        let end = t[digits_start..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(t.len(), |n| n + digits_start);
        if end == digits_start {
            return Err(bad(format!(
                "access string '{s}': expected a number at '{rest}'"
            )));
        }
        let n: i64 = t[..end]
            .parse()
            .map_err(|_| bad(format!("access string '{s}': bad number '{}'", &t[..end])))?;
        let n =
            i32::try_from(n).map_err(|_| bad(format!("access string '{s}': {n} out of range")))?;
        if raw.len() == SPEC_MAX_LEN {
            return Err(bad(format!(
                "access string '{s}' longer than {SPEC_MAX_LEN} steps"
            )));
        }
        raw.push(n);
        rest = &t[end..];
    }
    Ok(raw)
}

/// True when the array reached through accessor `prev` is a flexible array: zero length and the
/// last member of the struct `prev` names.
pub(crate) fn is_flex_arr(btf: &Btf, prev: Option<&Accessor<'_>>, nelems: u32) -> bool {
    let Some(prev) = prev else { return false };
    if prev.name.is_none() || nelems > 0 {
        return false;
    }
    btf.type_by_id(prev.type_id)
        .is_ok_and(|t| prev.idx as i64 == t.vlen() as i64 - 1)
}

fn size_of(btf: &Btf, id: TypeId) -> Result<i64> {
    btf.resolve_size(id).map(i64::from)
}

/// Builds the local spec of a relocation (libbpf's `bpf_core_parse_spec`): checks the access
/// string against the local types and computes the accessed field's bit offset.
pub fn parse_spec<'b>(
    btf: &'b Btf,
    root: TypeId,
    access: &str,
    kind: CoreReloKind,
) -> Result<Spec<'b>> {
    if access.is_empty() || access.starts_with(':') {
        return Err(bad(format!(
            "access string '{access}' is empty or starts with ':'"
        )));
    }
    let mut spec = Spec::empty(btf, root, kind);
    let class = KindClass::of(kind);
    if class == KindClass::Type {
        if access != "0" {
            return Err(bad(format!(
                "type relocation with access string '{access}' (must be \"0\")"
            )));
        }
        return Ok(spec);
    }
    spec.raw = parse_access_string(access)?;
    let Some(&first) = spec.raw.first() else {
        return Err(bad(format!("access string '{access}' has no steps")));
    };
    let (mut id, t) = btf.skip_mods_and_typedefs(root)?;
    spec.acc.push(Accessor {
        type_id: id,
        idx: first,
        name: None,
    });

    if class == KindClass::Enumval {
        let (TypeKind::Enum(e) | TypeKind::Enum64(e)) = &t.kind else {
            return Err(bad(format!(
                "enum relocation on [{id}] {}",
                btf_kind_str(&t)
            )));
        };
        let v = usize::try_from(first)
            .ok()
            .filter(|_| spec.raw.len() == 1)
            .and_then(|i| e.values.get(i))
            .ok_or_else(|| bad(format!("enumerator access '{access}' out of range")))?;
        spec.acc[0].name = Some(btf.str_at(v.name_off)?);
        return Ok(spec);
    }

    let sz = size_of(btf, id)?;
    let mut bit_off: i64 = first as i64 * sz * 8;
    for i in 1..spec.raw.len() {
        let idx = spec.raw[i];
        let (tid, t) = btf.skip_mods_and_typedefs(id)?;
        id = tid;
        match &t.kind {
            TypeKind::Struct(c) | TypeKind::Union(c) => {
                let m = usize::try_from(idx)
                    .ok()
                    .and_then(|i| c.members.get(i))
                    .ok_or_else(|| {
                        bad(format!(
                            "member #{idx} of [{id}] out of range ({} members)",
                            c.members.len()
                        ))
                    })?;
                bit_off += m.bit_offset as i64;
                if m.name_off != 0 {
                    let name = btf.str_at(m.name_off)?;
                    if name.is_empty() {
                        return Err(bad(format!("member #{idx} of [{id}] has an empty name")));
                    }
                    spec.acc.push(Accessor {
                        type_id: id,
                        idx,
                        name: Some(name),
                    });
                }
                id = m.type_id;
            }
            TypeKind::Array(a) => {
                let (elem, _) = btf.skip_mods_and_typedefs(a.elem_type)?;
                id = elem;
                let flex = is_flex_arr(btf, spec.acc.last(), a.nelems);
                if !flex && idx as u32 >= a.nelems {
                    return Err(bad(format!(
                        "index {idx} out of bounds of array [{tid}] of {} elements",
                        a.nelems
                    )));
                }
                spec.acc.push(Accessor {
                    type_id: id,
                    idx,
                    name: None,
                });
                bit_off += idx as i64 * size_of(btf, id)? * 8;
            }
            _ => {
                return Err(bad(format!(
                    "access '{access}' (at step {i}) reaches type [{id}] of unexpected kind {}",
                    btf_kind_str(&t)
                )))
            }
        }
        if spec.acc.len() > SPEC_MAX_LEN {
            return Err(bad(format!("access '{access}' too deep")));
        }
    }
    spec.bit_offset = bit_off as u32;
    Ok(spec)
}

/// libbpf's spec text: `<byte_off> [12] struct task_struct.pid (0:74 @ offset 2376)`.
impl fmt::Display for Spec<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let btf = self.btf;
        let root = btf.type_by_id(self.root_type_id).unwrap_or(Type::VOID);
        let name = btf.str_at(root.name_off).unwrap_or("");
        write!(
            f,
            "<{}> [{}] {} {}",
            relo_kind_str(self.kind),
            self.root_type_id,
            btf_kind_str(&root),
            if name.is_empty() { "<anon>" } else { name }
        )?;
        match KindClass::of(self.kind) {
            KindClass::Type => Ok(()),
            KindClass::Enumval => {
                let Ok((_, t)) = btf.skip_mods_and_typedefs(self.root_type_id) else {
                    return Ok(());
                };
                let (TypeKind::Enum(e) | TypeKind::Enum64(e)) = &t.kind else {
                    return Ok(());
                };
                let Some(v) = self
                    .raw
                    .first()
                    .and_then(|&i| usize::try_from(i).ok())
                    .and_then(|i| e.values.get(i))
                else {
                    return Ok(());
                };
                let n = btf.str_at(v.name_off).unwrap_or("");
                let is32 = matches!(t.kind, TypeKind::Enum(_));
                match (is32, e.signed) {
                    (true, true) => write!(f, "::{n} = {}", v.value as u32 as i32),
                    (true, false) => write!(f, "::{n} = {}", v.value as u32),
                    (false, true) => write!(f, "::{n} = {}", v.value as i64),
                    (false, false) => write!(f, "::{n} = {}", v.value),
                }
            }
            KindClass::Field => {
                for (i, a) in self.acc.iter().enumerate() {
                    match a.name {
                        Some(n) => write!(f, ".{n}")?,
                        None if i > 0 || a.idx > 0 => write!(f, "[{}]", a.idx as u32)?,
                        None => {}
                    }
                }
                f.write_str(" (")?;
                for (i, r) in self.raw.iter().enumerate() {
                    write!(f, "{}{r}", if i == 0 { "" } else { ":" })?;
                }
                if self.bit_offset % 8 != 0 {
                    write!(
                        f,
                        " @ offset {}.{})",
                        self.bit_offset / 8,
                        self.bit_offset % 8
                    )
                } else {
                    write!(f, " @ offset {})", self.bit_offset / 8)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_strings() {
        assert_eq!(parse_access_string("0:1:2").unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_access_string("0").unwrap(), vec![0]);
        assert_eq!(parse_access_string("-1:3").unwrap(), vec![-1, 3]);
        assert!(parse_access_string("0:").is_err());
        assert!(parse_access_string("0::1").is_err());
        assert!(parse_access_string("a").is_err());
        assert_eq!(
            parse_access_string("0 :1").unwrap_err().kind(),
            crate::ErrorKind::InvalidInput
        );
        let long = vec!["0"; 65].join(":");
        assert!(parse_access_string(&long).is_err());
    }
}
