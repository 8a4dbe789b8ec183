//! Extern symbols: `.kconfig` values (`CONFIG_*`, `LINUX_KERNEL_VERSION`) and `.ksyms` kernel
//! symbols (variables and kfuncs), as libbpf's `bpf_object__collect_externs` describes them.

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
}
