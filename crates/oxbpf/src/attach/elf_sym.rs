//! ELF facts the uprobe and USDT attachers need, pure: function symbol → file offset, loadable segments,
//! and named sections. Input is the file's bytes; nothing here opens files.
//!
//! The kernel attaches uprobes at a *file offset*, so a symbol's virtual address is translated through
//! the section that holds it (`st_value - sh_addr + sh_offset`), for executables and shared libraries alike.

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SymbolKind};

use crate::error::{Error, Result};

/// An ELF file parsed for symbol and segment lookups.
pub struct ElfImage<'a> {
    file: object::File<'a>,
}

/// A `PT_LOAD` segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSegment {
    /// Virtual start address.
    pub start: u64,
    /// Virtual end address (exclusive).
    pub end: u64,
    /// File offset of `start`.
    pub offset: u64,
    /// Whether the segment is executable (`PF_X`).
    pub exec: bool,
}

impl LoadSegment {
    /// The file offset of virtual address `addr`, if the segment holds it.
    pub fn file_offset(&self, addr: u64) -> Option<u64> {
        (self.start <= addr && addr < self.end).then(|| addr - self.start + self.offset)
    }
}

impl<'a> ElfImage<'a> {
    /// Parses `data` as an ELF file; `what` names it in errors.
    pub fn parse(data: &'a [u8], what: &str) -> Result<Self> {
        let file = object::File::parse(data)
            .map_err(|e| Error::malformed(format!("'{what}' is not a valid ELF file: {e}")))?;
        if file.format() != object::BinaryFormat::Elf {
            return Err(Error::malformed(format!("'{what}' is not an ELF file")));
        }
        Ok(ElfImage { file })
    }

    /// Whether the file is 64-bit.
    pub fn is_64(&self) -> bool {
        self.file.is_64()
    }

    /// Whether the file is little endian.
    pub fn is_little_endian(&self) -> bool {
        self.file.is_little_endian()
    }

    /// Whether the file is a shared object or PIE (`ET_DYN`) rather than a fixed executable.
    pub fn is_dyn(&self) -> bool {
        self.file.kind() == object::ObjectKind::Dynamic
    }

    /// The address and bytes of the section called `name`, if present.
    pub fn section(&self, name: &str) -> Option<(u64, &'a [u8])> {
        let s = self.file.section_by_name(name)?;
        Some((s.address(), s.data().ok()?))
    }

    /// The `PT_LOAD` segments.
    pub fn load_segments(&self) -> Vec<LoadSegment> {
        self.file
            .segments()
            .map(|s| {
                let exec = match s.flags() {
                    object::SegmentFlags::Elf { p_flags } => p_flags & object::elf::PF_X != 0,
                    _ => false,
                };
                LoadSegment {
                    start: s.address(),
                    end: s.address().saturating_add(s.size()),
                    offset: s.file_range().0,
                    exec,
                }
            })
            .collect()
    }

    /// The file offset of function `name` (`STT_FUNC` or `STT_GNU_IFUNC`), from `.symtab` or `.dynsym`.
    ///
    /// A name also matches a versioned `name@VER` / `name@@VER` entry. When several symbols match at
    /// different addresses, a global one wins over weak and local ones; two globals are ambiguous.
    pub fn func_offset(&self, name: &str) -> Result<u64> {
        let mut best: Option<(u8, u64)> = None; // (rank, offset); lower rank wins
        let mut ambiguous = false;
        for sym in self.file.symbols().chain(self.file.dynamic_symbols()) {
            if sym.kind() != SymbolKind::Text || sym.is_undefined() {
                continue;
            }
            let Ok(sym_name) = sym.name() else { continue };
            let base = sym_name.split('@').next().unwrap_or(sym_name);
            if base != name {
                continue;
            }
            let Some(index) = sym.section_index() else {
                continue;
            };
            let Ok(section) = self.file.section_by_index(index) else {
                continue;
            };
            let Some((sec_off, _)) = section.file_range() else {
                continue;
            };
            let off = sym
                .address()
                .wrapping_sub(section.address())
                .wrapping_add(sec_off);
            let rank = if sym.is_global() && !sym.is_weak() {
                0
            } else if sym.is_weak() {
                1
            } else {
                2
            };
            match best {
                Some((r, o)) if o == off => best = Some((r.min(rank), o)),
                Some((r, _)) if rank < r => {
                    best = Some((rank, off));
                    ambiguous = false;
                }
                Some((r, _)) if rank == r => ambiguous = true,
                Some(_) => {}
                None => best = Some((rank, off)),
            }
        }
        match best {
            Some(_) if ambiguous => Err(Error::invalid(format!(
                "function '{name}' is defined more than once at different addresses"
            ))),
            Some((_, off)) => Ok(off),
            None => Err(Error::not_found(format!(
                "function '{name}' not found in the ELF symbol tables"
            ))),
        }
    }

    /// Every defined function symbol with its file offset, for glob matching (`uprobe.multi`).
    pub fn functions(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for sym in self.file.symbols().chain(self.file.dynamic_symbols()) {
            if sym.kind() != SymbolKind::Text || sym.is_undefined() || sym.address() == 0 {
                continue;
            }
            let (Ok(n), Some(index)) = (sym.name(), sym.section_index()) else {
                continue;
            };
            let Ok(section) = self.file.section_by_index(index) else {
                continue;
            };
            let Some((sec_off, _)) = section.file_range() else {
                continue;
            };
            let base = n.split('@').next().unwrap_or(n).to_string();
            out.push((
                base,
                sym.address()
                    .wrapping_sub(section.address())
                    .wrapping_add(sec_off),
            ));
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Shell-style glob match with `*` and `?` (what `kprobe.multi` and `uprobe.multi` patterns use).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("tcp_*", "tcp_sendmsg"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(!glob_match("a?c", "abcd"));
        assert!(glob_match("*send*", "tcp_sendmsg"));
        assert!(!glob_match("udp_*", "tcp_sendmsg"));
    }

    #[test]
    fn finds_own_function_offset() {
        // The test binary itself is an ELF file with a .symtab; main's offset must lie in an exec segment.
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let img = ElfImage::parse(&exe, "self").unwrap();
        let funcs = img.functions();
        assert!(!funcs.is_empty());
        let segs = img.load_segments();
        assert!(segs.iter().any(|s| s.exec));
        let err = img.func_offset("no_such_function_here").unwrap_err();
        assert!(err.to_string().contains("no_such_function_here"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(ElfImage::parse(b"\x7fELF\x02\x01\x01", "junk").is_err());
        assert!(ElfImage::parse(b"hello", "junk").is_err());
    }
}
