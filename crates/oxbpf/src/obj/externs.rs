//! Extern symbols: `.kconfig` values (`CONFIG_*`, `LINUX_KERNEL_VERSION`) and `.ksyms` kernel
//! symbols (variables and kfuncs), as libbpf's `bpf_object__collect_externs` describes them.

use super::elf::Elf;
use crate::btf::{Btf, Kind, Linkage, TypeId, TypeKind, TypeKindBuf, VarSecInfo};
use crate::error::{Error, ErrorKind, Result};

/// Which extern section a symbol lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExternKind {
    /// `.kconfig`: a value the loader fills from the kernel config.
    Kconfig,
    /// `.ksyms`: a kernel variable or function.
    Ksym,
}

/// The value type of a `.kconfig` extern (libbpf's `enum kcfg_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KcfgType {
    /// `char` (1 byte): `y`/`m`/`n` as characters.
    Char,
    /// `bool`.
    Bool,
    /// An integer of 1, 2, 4 or 8 bytes.
    Int,
    /// `enum libbpf_tristate`.
    Tristate,
    /// `char[N]`: a string value.
    CharArr,
}

/// A `.kconfig` extern's layout in the `.kconfig` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kcfg {
    /// Value type.
    pub typ: KcfgType,
    /// Size in bytes.
    pub size: u32,
    /// Alignment in bytes.
    pub align: u32,
    /// Offset in the `.kconfig` map value.
    pub data_off: u32,
    /// Whether an integer is signed.
    pub is_signed: bool,
}

/// One extern symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternSpec {
    /// Name (from BTF).
    pub name: String,
    /// Name without a `___flavor` suffix, when it has one.
    pub essent_name: Option<String>,
    /// ELF symbol index.
    pub sym_idx: usize,
    /// BTF id of its VAR or FUNC.
    pub btf_id: u32,
    /// BTF id of its DATASEC.
    pub sec_btf_id: u32,
    /// `__weak`: may stay unresolved (zero / poisoned).
    pub is_weak: bool,
    /// Section.
    pub kind: ExternKind,
    /// Layout, for `.kconfig` externs.
    pub kcfg: Option<Kcfg>,
    /// For `.ksyms`: BTF id of its type after modifiers (0 = typeless `void`), i.e. typed or not.
    pub ksym_type_id: u32,
    /// Whether the extern is a function (kfunc).
    pub is_func: bool,
}

/// The essential name of a CO-RE-style name: everything before the last `X___Y` flavor separator
/// (`X` and `Y` not underscores), as libbpf's `bpf_core_essential_name_len`.
pub fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    if b.len() >= 5 {
        for i in (0..=b.len() - 5).rev() {
            if b[i] != b'_' && &b[i + 1..i + 4] == b"___" && b[i + 4] != b'_' {
                return &name[..i + 1];
            }
        }
    }
    name
}

/// The first VAR or FUNC named `name` (libbpf's `find_extern_btf_id`); it must be extern.
fn find_extern_btf_id(btf: &Btf, name: &str) -> Result<TypeId> {
    for (id, t) in btf.types() {
        let linkage = match &t.kind {
            TypeKind::Var(v) => v.linkage,
            TypeKind::Func(f) => f.linkage,
            _ => continue,
        };
        if btf.type_name(t).ok() != Some(name) {
            continue;
        }
        if linkage != Linkage::Extern {
            return Err(Error::invalid(format!(
                "failed to find BTF for extern '{name}': not an extern ({})",
                linkage.name()
            )));
        }
        return Ok(id);
    }
    Err(Error::not_found(format!(
        "failed to find BTF for extern '{name}'"
    )))
}

fn find_extern_sec_btf_id(btf: &Btf, ext_id: TypeId) -> Option<TypeId> {
    btf.types_of_kind(Kind::Datasec)
        .find_map(|(id, t)| match &t.kind {
            TypeKind::Datasec(d) if d.vars.iter().any(|v| v.type_id == ext_id) => Some(id),
            _ => None,
        })
}

/// libbpf's `find_kcfg_type`.
fn kcfg_type(btf: &Btf, id: TypeId) -> Result<Option<(KcfgType, bool)>> {
    let (_, t) = btf.skip_mods_and_typedefs(id)?;
    let name = btf.type_name(t).unwrap_or("");
    Ok(match &t.kind {
        TypeKind::Int(i) => {
            if i.is_bool() {
                (i.size == 1).then_some((KcfgType::Bool, false))
            } else if i.size == 1 {
                Some((KcfgType::Char, i.is_signed()))
            } else if (1..=8).contains(&i.size) && i.size.is_power_of_two() {
                Some((KcfgType::Int, i.is_signed()))
            } else {
                None
            }
        }
        TypeKind::Enum(e) => {
            (e.size == 4 && name == "libbpf_tristate").then_some((KcfgType::Tristate, false))
        }
        TypeKind::Enum64(_) => (name == "libbpf_tristate").then_some((KcfgType::Tristate, false)),
        TypeKind::Array(a) => {
            let elem_is_char =
                a.nelems != 0 && matches!(kcfg_type(btf, a.elem_type)?, Some((KcfgType::Char, _)));
            elem_is_char.then_some((KcfgType::CharArr, false))
        }
        _ => None,
    })
}

fn find_int32(btf: &Btf) -> TypeId {
    btf.types_of_kind(Kind::Int)
        .find(|(_, t)| matches!(&t.kind, TypeKind::Int(i) if i.bits == 32))
        .map_or(0, |(id, _)| id)
}

/// Collects the object's externs and rewrites their DATASECs as libbpf does: `.ksyms` entries
/// become 4-byte allocated variables (functions point at a `dummy_ksym` variable), `.kconfig`
/// variables get their offsets in the `.kconfig` map. Returns externs sorted like libbpf.
pub fn collect(elf: &Elf, btf: Option<&mut Btf>) -> Result<Vec<ExternSpec>> {
    let has_externs = elf
        .symbols
        .iter()
        .any(|s| s.is_extern() && !s.name.is_empty());
    let Some(btf) = btf else {
        if has_externs {
            return Err(Error::malformed("object has extern symbols but no .BTF"));
        }
        return Ok(Vec::new());
    };
    // A dummy variable for extern functions in .ksyms, added before anything else (as libbpf).
    let mut dummy_var = None;
    let ksyms_sec = btf
        .types_of_kind(Kind::Datasec)
        .find(|(_, t)| btf.type_name(*t).ok() == Some(".ksyms"))
        .map(|(id, _)| id);
    if let Some(sec_id) = ksyms_sec {
        let has_func = match &btf.type_by_id(sec_id)?.kind {
            TypeKind::Datasec(d) => d.vars.iter().any(|v| {
                btf.type_by_id(v.type_id)
                    .is_ok_and(|t| t.btf_kind() == Kind::Func)
            }),
            _ => false,
        };
        if has_func {
            let int_id = find_int32(btf);
            dummy_var = Some(btf.add_var("dummy_ksym", int_id, Linkage::Global));
        }
    }
    let mut exts = Vec::new();
    let (mut kcfg_sec, mut ksym_sec) = (None, None);
    for (sym_idx, sym) in elf.symbols.iter().enumerate() {
        if !sym.is_extern() || sym.name.is_empty() {
            continue;
        }
        let btf_id = find_extern_btf_id(btf, &sym.name)?;
        let t = btf.type_by_id(btf_id)?;
        let name = btf.type_name(t)?.to_string();
        let ess = essential_name(&name);
        let essent_name = (ess.len() != name.len()).then(|| ess.to_string());
        let sec_btf_id = find_extern_sec_btf_id(btf, btf_id).ok_or_else(|| {
            Error::not_found(format!(
                "failed to find BTF for extern '{name}' [{btf_id}] section"
            ))
        })?;
        let sec_name = btf.name_of(sec_btf_id)?.to_string();
        let is_func = t.btf_kind() == Kind::Func;
        let target = t.target().unwrap_or(0);
        let mut ext = ExternSpec {
            name: name.clone(),
            essent_name,
            sym_idx,
            btf_id,
            sec_btf_id,
            is_weak: sym.bind == object::elf::STB_WEAK,
            kind: ExternKind::Kconfig,
            kcfg: None,
            ksym_type_id: 0,
            is_func,
        };
        match sec_name.as_str() {
            ".kconfig" => {
                if is_func {
                    return Err(Error::new(
                        ErrorKind::NotSupported,
                        format!("extern function {name} is unsupported under .kconfig section"),
                    ));
                }
                kcfg_sec = Some(sec_btf_id);
                let size = btf
                    .resolve_size(target)
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| {
                        Error::invalid(format!("failed to resolve size of extern (kcfg) '{name}'"))
                    })?;
                let align = btf
                    .align_of(target)
                    .ok()
                    .filter(|&a| a > 0)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "failed to determine alignment of extern (kcfg) '{name}'"
                        ))
                    })?;
                let (typ, is_signed) = kcfg_type(btf, target)?.ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotSupported,
                        format!("extern (kcfg) '{name}': type is unsupported"),
                    )
                })?;
                ext.kcfg = Some(Kcfg {
                    typ,
                    size,
                    align,
                    data_off: 0,
                    is_signed,
                });
            }
            ".ksyms" => {
                ksym_sec = Some(sec_btf_id);
                ext.kind = ExternKind::Ksym;
                ext.ksym_type_id = btf.skip_mods_and_typedefs(target)?.0;
            }
            other => {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    format!("unrecognized extern section '{other}'"),
                ));
            }
        }
        exts.push(ext);
    }
    exts.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| match (&a.kcfg, &b.kcfg) {
                (Some(x), Some(y)) => y.align.cmp(&x.align).then(x.size.cmp(&y.size)),
                _ => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.name.cmp(&b.name))
    });

    if let Some(sec_id) = ksym_sec {
        let int_id = find_int32(btf);
        let dummy_name_off = match dummy_var {
            Some(d) => btf.type_by_id(d)?.name_off,
            None => 0,
        };
        let vars = datasec_vars(btf, sec_id)?;
        let mut new_vars = Vec::with_capacity(vars.len());
        for (i, vs) in vars.iter().enumerate() {
            let vt = btf.type_by_id(vs.type_id)?;
            let vname = btf.type_name(vt)?.to_string();
            let (vkind, proto) = match vt.kind {
                TypeKind::Func(f) => (Kind::Func, f.proto),
                k => (k.kind(), 0),
            };
            if !exts.iter().any(|e| e.name == vname) {
                return Err(Error::not_found(format!(
                    "failed to find extern definition for BTF {} '{vname}'",
                    vkind.name()
                )));
            }
            let mut vs = *vs;
            match vkind {
                Kind::Func => {
                    btf.update_type(proto, |t| {
                        if let TypeKindBuf::FuncProto(p) = &mut t.kind {
                            for param in p.params.iter_mut() {
                                if param.type_id != 0 && param.name_off == 0 {
                                    param.name_off = dummy_name_off;
                                }
                            }
                        }
                    })?;
                    btf.update_type(vs.type_id, |t| {
                        if let TypeKindBuf::Func(ff) = &mut t.kind {
                            ff.linkage = Linkage::Global;
                        }
                    })?;
                    vs.type_id = dummy_var.unwrap_or(vs.type_id);
                }
                Kind::Var => {
                    btf.update_type(vs.type_id, |t| {
                        if let TypeKindBuf::Var(v) = &mut t.kind {
                            v.linkage = Linkage::Global;
                            v.type_id = int_id;
                        }
                    })?;
                }
                _ => {}
            }
            vs.offset = (i * 4) as u32;
            vs.size = 4;
            new_vars.push(vs);
        }
        set_datasec(btf, sec_id, (new_vars.len() * 4) as u32, new_vars)?;
    }
    if let Some(sec_id) = kcfg_sec {
        let mut off = 0u32;
        for e in exts.iter_mut() {
            if let Some(k) = e.kcfg.as_mut() {
                k.data_off = off.div_ceil(k.align) * k.align;
                off = k.data_off + k.size;
            }
        }
        let vars = datasec_vars(btf, sec_id)?;
        let mut new_vars = Vec::with_capacity(vars.len());
        for vs in vars {
            let vname = btf.name_of(vs.type_id)?.to_string();
            let ext = exts.iter().find(|e| e.name == vname).ok_or_else(|| {
                Error::not_found(format!(
                    "failed to find extern definition for BTF var '{vname}'"
                ))
            })?;
            let data_off = ext.kcfg.map_or(0, |k| k.data_off);
            btf.update_type(vs.type_id, |t| {
                if let TypeKindBuf::Var(v) = &mut t.kind {
                    v.linkage = Linkage::Global;
                }
            })?;
            new_vars.push(VarSecInfo {
                offset: data_off,
                ..vs
            });
        }
        set_datasec(btf, sec_id, off, new_vars)?;
    }
    Ok(exts)
}

fn datasec_vars(btf: &Btf, id: TypeId) -> Result<Vec<VarSecInfo>> {
    match btf.type_by_id(id)?.kind {
        TypeKind::Datasec(d) => Ok(d.vars.to_vec()),
        _ => Err(Error::malformed(format!(
            "BTF type [{id}] is not a DATASEC"
        ))),
    }
}

fn set_datasec(btf: &mut Btf, id: TypeId, size: u32, vars: Vec<VarSecInfo>) -> Result<()> {
    btf.update_type(id, |t| {
        if let TypeKindBuf::Datasec(d) = &mut t.kind {
            d.size = size;
            d.vars = vars;
        }
    })
}

/// Where `ext`'s value lives in the `.kconfig` map value `data`.
fn kcfg_slot<'a>(ext: &ExternSpec, data: &'a mut [u8]) -> Result<(&'a mut [u8], Kcfg)> {
    let k = ext
        .kcfg
        .ok_or_else(|| Error::invalid(format!("extern '{}' is not a .kconfig extern", ext.name)))?;
    let start = k.data_off as usize;
    let slot = data
        .get_mut(start..start + k.size as usize)
        .ok_or_else(|| {
            Error::invalid(format!(
                "extern (kcfg) '{}': outside the .kconfig map",
                ext.name
            ))
        })?;
    Ok((slot, k))
}

/// Stores integer `value` for a `.kconfig` extern (libbpf's `set_kcfg_value_num`).
pub fn set_kcfg_num(ext: &ExternSpec, data: &mut [u8], value: u64) -> Result<()> {
    let (slot, k) = kcfg_slot(ext, data)?;
    let name = &ext.name;
    if !matches!(k.typ, KcfgType::Int | KcfgType::Char | KcfgType::Bool) {
        return Err(Error::invalid(format!(
            "extern (kcfg) '{name}': value '{value}' implies integer, char, or boolean type"
        )));
    }
    if k.typ == KcfgType::Bool && value > 1 {
        return Err(Error::invalid(format!(
            "extern (kcfg) '{name}': value '{value}' isn't boolean compatible"
        )));
    }
    let bits = k.size * 8;
    let fits = bits >= 64
        || if k.is_signed {
            value.wrapping_add(1u64 << (bits - 1)) < (1u64 << bits)
        } else {
            value >> bits == 0
        };
    if !fits {
        return Err(Error::invalid(format!(
            "extern (kcfg) '{name}': value '{value}' doesn't fit in {} bytes",
            k.size
        ))
        .with_kind(ErrorKind::InvalidInput));
    }
    match k.size {
        1 | 2 | 4 | 8 => slot.copy_from_slice(&value.to_ne_bytes()[..k.size as usize]),
        _ => {
            return Err(Error::invalid(format!(
                "extern (kcfg) '{name}': size {} is not 1, 2, 4 or 8",
                k.size
            )))
        }
    }
    Ok(())
}

/// `libbpf_tristate` values.
const TRI_NO: u64 = 0;
const TRI_YES: u64 = 1;
const TRI_MODULE: u64 = 2;

/// Parses an integer the way `strtoull(.., 0)` does: decimal, `0x` hex or leading-`0` octal.
fn parse_c_u64(v: &str) -> Option<u64> {
    let (neg, body) = match v.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let n = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        u64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse().ok()?
    };
    Some(if neg { n.wrapping_neg() } else { n })
}

/// Stores a raw Kconfig value (`y`/`n`/`m`, `"string"`, or an integer) for a `.kconfig` extern
/// (libbpf's `bpf_object__process_kconfig_line` for one matching line).
pub fn set_kcfg_value(ext: &ExternSpec, data: &mut [u8], value: &str) -> Result<()> {
    let name = ext.name.clone();
    let (slot, k) = kcfg_slot(ext, data)?;
    match value.as_bytes().first() {
        Some(&c @ (b'y' | b'n' | b'm')) => match k.typ {
            KcfgType::Bool => {
                if c == b'm' {
                    return Err(Error::invalid(format!(
                        "extern (kcfg) '{name}': value 'm' implies tristate or char type"
                    )));
                }
                slot[0] = u8::from(c == b'y');
            }
            KcfgType::Tristate => {
                let v = match c {
                    b'y' => TRI_YES,
                    b'm' => TRI_MODULE,
                    _ => TRI_NO,
                };
                let n = slot.len().min(8);
                slot[..n].copy_from_slice(&v.to_ne_bytes()[..n]);
            }
            KcfgType::Char => slot[0] = c,
            _ => {
                return Err(Error::invalid(format!(
                    "extern (kcfg) '{name}': value '{}' implies bool, tristate, or char type",
                    c as char
                )))
            }
        },
        Some(b'"') => {
            if k.typ != KcfgType::CharArr {
                return Err(Error::invalid(format!(
                    "extern (kcfg) '{name}': value '{value}' implies char array type"
                )));
            }
            if value.len() < 2 || !value.ends_with('"') {
                return Err(Error::invalid(format!(
                    "extern (kcfg) '{name}': invalid string config '{value}'"
                )));
            }
            let inner = &value.as_bytes()[1..value.len() - 1];
            let mut len = inner.len();
            if len >= k.size as usize {
                crate::log::warn(format_args!(
                    "extern (kcfg) '{name}': long string '{value}' of ({len} bytes) truncated to {} bytes",
                    k.size - 1
                ));
                len = k.size as usize - 1;
            }
            slot[..len].copy_from_slice(&inner[..len]);
            slot[len] = 0;
        }
        _ => {
            let num = parse_c_u64(value).ok_or_else(|| {
                Error::invalid(format!(
                    "extern (kcfg) '{name}': value '{value}' isn't a valid integer"
                ))
            })?;
            if !matches!(k.typ, KcfgType::Int | KcfgType::Char) {
                return Err(Error::invalid(format!(
                    "extern (kcfg) '{name}': value '{value}' implies integer type"
                )));
            }
            set_kcfg_num(ext, data, num)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavors_are_stripped() {
        assert_eq!(essential_name("bpf_task_acquire___v2"), "bpf_task_acquire");
        assert_eq!(essential_name("CONFIG_HZ"), "CONFIG_HZ");
        assert_eq!(essential_name("a___b___c"), "a___b");
        assert_eq!(essential_name("__x____y"), "__x____y");
    }

    fn kext(typ: KcfgType, size: u32, is_signed: bool) -> ExternSpec {
        ExternSpec {
            name: "CONFIG_X".into(),
            essent_name: None,
            sym_idx: 0,
            btf_id: 0,
            sec_btf_id: 0,
            is_weak: false,
            kind: ExternKind::Kconfig,
            kcfg: Some(Kcfg {
                typ,
                size,
                align: size,
                data_off: 0,
                is_signed,
            }),
            ksym_type_id: 0,
            is_func: false,
        }
    }

    #[test]
    fn kconfig_values_like_libbpf() {
        let mut d = [0u8; 8];
        set_kcfg_value(&kext(KcfgType::Tristate, 4, false), &mut d, "m").unwrap();
        assert_eq!(d[..4], 2u32.to_ne_bytes());
        set_kcfg_value(&kext(KcfgType::Bool, 1, false), &mut d, "y").unwrap();
        assert_eq!(d[0], 1);
        assert!(set_kcfg_value(&kext(KcfgType::Bool, 1, false), &mut d, "m").is_err());
        set_kcfg_value(&kext(KcfgType::Int, 4, true), &mut d, "0x10").unwrap();
        assert_eq!(d[..4], 16u32.to_ne_bytes());
        assert!(set_kcfg_value(&kext(KcfgType::Int, 1, false), &mut d, "300").is_err());
        let mut s = [0xffu8; 4];
        set_kcfg_value(&kext(KcfgType::CharArr, 4, false), &mut s, "\"abcdef\"").unwrap();
        assert_eq!(&s, b"abc\0");
        assert!(set_kcfg_value(&kext(KcfgType::Int, 4, false), &mut d, "\"x\"").is_err());
    }
}
