//! `/proc/kallsyms`: kernel symbol addresses for typeless `.ksyms` externs, read once per process.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// One symbol's address, or several different ones (an ambiguous name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymAddr {
    /// A single address.
    Unique(u64),
    /// The name appears with two different addresses (the first two shown).
    Ambiguous(u64, u64),
}

/// Kernel symbols by name.
#[derive(Debug, Clone, Default)]
pub struct Kallsyms {
    syms: HashMap<String, SymAddr>,
}

impl Kallsyms {
    /// Parses kallsyms text (`addr type name [module]` per line). Local data symbols carrying an
    /// LLVM `.llvm.<hash>` suffix are also known under their plain name, as libbpf matches them.
    pub fn parse(text: &str) -> Result<Kallsyms> {
        let mut syms: HashMap<String, SymAddr> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let mut it = line.split_whitespace();
            let (Some(addr), Some(ty), Some(name)) = (it.next(), it.next(), it.next()) else {
                if line.trim().is_empty() {
                    continue;
                }
                return Err(Error::malformed(format!(
                    "failed to read kallsyms entry #{n}: '{line}'"
                )));
            };
            let addr = u64::from_str_radix(addr, 16).map_err(|_| {
                Error::malformed(format!("kallsyms entry #{n}: bad address '{addr}'"))
            })?;
            let name = match name.find(".llvm.") {
                Some(pos) if ty == "d" => &name[..pos],
                _ => name,
            };
            syms.entry(name.to_string())
                .and_modify(|e| {
                    if let SymAddr::Unique(a) = *e {
                        if a != addr {
                            *e = SymAddr::Ambiguous(a, addr);
                        }
                    }
                })
                .or_insert(SymAddr::Unique(addr));
        }
        Ok(Kallsyms { syms })
    }

    /// The address of `name`.
    pub fn get(&self, name: &str) -> Option<SymAddr> {
        self.syms.get(name).copied()
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// True when empty (e.g. addresses hidden by `kptr_restrict`).
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }
}

/// The running kernel's symbols. Cached for the process.
pub fn host_kallsyms() -> Result<Arc<Kallsyms>> {
    static SYMS: OnceLock<std::result::Result<Arc<Kallsyms>, String>> = OnceLock::new();
    SYMS.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/kallsyms")
            .map_err(|e| format!("failed to open /proc/kallsyms: {e}"))?;
        Kallsyms::parse(&text)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_detects_ambiguity() {
        let k = Kallsyms::parse(
            "ffffffff81000000 T _stext\nffffffff82000000 d foo.llvm.123\nffffffff83000000 t dup\nffffffff84000000 t dup\nffffffffc0000000 t mod_fn\t[mod]\n",
        )
        .unwrap();
        assert_eq!(k.get("_stext"), Some(SymAddr::Unique(0xffffffff81000000)));
        assert_eq!(k.get("foo"), Some(SymAddr::Unique(0xffffffff82000000)));
        assert_eq!(
            k.get("dup"),
            Some(SymAddr::Ambiguous(0xffffffff83000000, 0xffffffff84000000))
        );
        assert_eq!(k.get("mod_fn"), Some(SymAddr::Unique(0xffffffffc0000000)));
        assert!(Kallsyms::parse("zz T x\n").is_err());
    }
}
