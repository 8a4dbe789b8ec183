//! Reading a `.bpf.o` from disk without its DWARF.
//!
//! clang's `-g` objects are mostly DWARF (`.debug_*` and their relocations: 600 KB of a 666 KB
//! CO-RE fixture), which the loader ignores, as libbpf does. libbpf maps the file and so never
//! touches those pages; we read the ELF header and section table, then only the sections the
//! parser may look at, into a zero-filled buffer of the file's size whose untouched pages stay
//! unmapped. Anything unexpected (not ELF64, a section past the end, extended section numbering)
//! falls back to reading the whole file, so the parser reports problems on the real bytes.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

const EHDR_LEN: usize = 64;
const SHDR_LEN: usize = 64;
const SHT_NOBITS: u32 = 8;

/// The bytes of the object file at `path`; DWARF sections may read as zeros.
pub(crate) fn read_object_file(path: &Path) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let len = usize::try_from(file.metadata()?.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file larger than memory"))?;
    // Zero-filled large allocations come from fresh anonymous memory: pages never written are
    // never faulted in.
    let mut buf = vec![0u8; len];
    if read_sections(&file, &mut buf)?.is_none() {
        file.read_exact_at(&mut buf, 0)?;
    }
    Ok(buf)
}

/// Reads the header, the section table and every non-DWARF section into `buf`; `None` when the
/// layout is not one this shortcut handles.
fn read_sections(file: &File, buf: &mut [u8]) -> io::Result<Option<()>> {
    let Some(ehdr) = buf.get_mut(..EHDR_LEN) else {
        return Ok(None);
    };
    file.read_exact_at(ehdr, 0)?;
    let ehdr: &[u8] = ehdr;
    // ELF64 only (BPF objects are), either byte order.
    if ehdr[..4] != *b"\x7fELF" || ehdr[4] != 2 {
        return Ok(None);
    }
    let le = match ehdr[5] {
        1 => true,
        2 => false,
        _ => return Ok(None),
    };
    let rd = Reader { le };
    let shoff = rd.u64(ehdr, 0x28);
    let shentsize = rd.u16(ehdr, 0x3a) as usize;
    let shnum = rd.u16(ehdr, 0x3c) as usize;
    let shstrndx = rd.u16(ehdr, 0x3e) as usize;
    // shnum 0 / shstrndx 0xffff mean the real values live in section 0 (extended numbering).
    if shentsize != SHDR_LEN || shnum == 0 || shstrndx >= shnum {
        return Ok(None);
    }
    let Some(table) = range(shoff, (shnum * SHDR_LEN) as u64, buf.len()) else {
        return Ok(None);
    };
    file.read_exact_at(&mut buf[table.clone()], shoff)?;
    let shdrs = buf[table].to_vec();
    let shdr = |i: usize| &shdrs[i * SHDR_LEN..(i + 1) * SHDR_LEN];
    // (name offset, type, file offset, size) of section `i`.
    let fields = |i: usize| {
        let h = shdr(i);
        (rd.u32(h, 0), rd.u32(h, 4), rd.u64(h, 0x18), rd.u64(h, 0x20))
    };
    let (_, _, str_off, str_size) = fields(shstrndx);
    let Some(strs) = range(str_off, str_size, buf.len()) else {
        return Ok(None);
    };
    file.read_exact_at(&mut buf[strs.clone()], str_off)?;
    let names = buf[strs].to_vec();
    for i in 1..shnum {
        let (name, ty, off, size) = fields(i);
        if ty == SHT_NOBITS || size == 0 || i == shstrndx {
            continue;
        }
        let name = names.get(name as usize..).unwrap_or_default();
        if is_dwarf(name) {
            continue;
        }
        let Some(r) = range(off, size, buf.len()) else {
            return Ok(None);
        };
        file.read_exact_at(&mut buf[r], off)?;
    }
    Ok(Some(()))
}

/// `.debug_*` and its `.rel`/`.rela` sections (what the parser skips, as libbpf does).
fn is_dwarf(name: &[u8]) -> bool {
    let name = name
        .strip_prefix(b".rela")
        .or_else(|| name.strip_prefix(b".rel"))
        .unwrap_or(name);
    name.starts_with(b".debug_")
}

/// `off..off + len` when it lies inside a file of `file_len` bytes.
fn range(off: u64, len: u64, file_len: usize) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    (end <= file_len).then_some(start..end)
}

/// Fixed-offset reads in the file's byte order; callers pass slices long enough for the field.
#[derive(Clone, Copy)]
struct Reader {
    le: bool,
}

impl Reader {
    fn bytes<const N: usize>(self, b: &[u8], off: usize) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&b[off..off + N]);
        if !self.le {
            a.reverse();
        }
        a
    }
    fn u16(self, b: &[u8], off: usize) -> u16 {
        u16::from_le_bytes(self.bytes(b, off))
    }
    fn u32(self, b: &[u8], off: usize) -> u32 {
        u32::from_le_bytes(self.bytes(b, off))
    }
    fn u64(self, b: &[u8], off: usize) -> u64 {
        u64::from_le_bytes(self.bytes(b, off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dwarf_names() {
        assert!(is_dwarf(b".debug_info\0"));
        assert!(is_dwarf(b".rel.debug_str_offsets\0"));
        assert!(is_dwarf(b".rela.debug_line\0"));
        assert!(!is_dwarf(b".BTF\0"));
        assert!(!is_dwarf(b".rel.BTF.ext\0"));
        assert!(!is_dwarf(b".relxdp\0"));
    }

    #[test]
    fn ranges_stay_inside_the_file() {
        assert_eq!(range(10, 5, 15), Some(10..15));
        assert_eq!(range(10, 6, 15), None);
        assert_eq!(range(u64::MAX, 2, 15), None);
    }
}
