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

use object::elf::{FileHeader64, SectionHeader64, SHT_NOBITS};
use object::read::elf::{FileHeader as _, SectionHeader as _};
use object::Endianness;

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

/// Reads the header, the section table and every non-DWARF section into `buf`, using the same
/// ELF reader as the parser; `None` when the layout is not one this shortcut handles.
fn read_sections(file: &File, buf: &mut [u8]) -> io::Result<Option<()>> {
    let ehdr_len = std::mem::size_of::<FileHeader64<Endianness>>();
    let Some(ehdr) = buf.get_mut(..ehdr_len) else {
        return Ok(None);
    };
    file.read_exact_at(ehdr, 0)?;
    let Ok(hdr) = FileHeader64::<Endianness>::parse(&buf[..]) else {
        return Ok(None);
    };
    let Ok(e) = hdr.endian() else {
        return Ok(None);
    };
    let hdr = *hdr;
    // shnum 0 / shstrndx 0xffff mean the real values live in section 0 (extended numbering).
    let (shoff, shnum) = (hdr.e_shoff(e), usize::from(hdr.e_shnum(e)));
    let shstrndx = usize::from(hdr.e_shstrndx(e));
    let entsize = std::mem::size_of::<SectionHeader64<Endianness>>();
    if usize::from(hdr.e_shentsize(e)) != entsize || shnum == 0 || shstrndx >= shnum {
        return Ok(None);
    }
    let Some(table) = range(shoff, (shnum * entsize) as u64, buf.len()) else {
        return Ok(None);
    };
    file.read_exact_at(&mut buf[table], shoff)?;
    let Ok(shdrs) = hdr.section_headers(e, &buf[..]) else {
        return Ok(None);
    };
    let shdrs = shdrs.to_vec();
    let strs = &shdrs[shstrndx];
    let Some(strs_at) = range(strs.sh_offset(e), strs.sh_size(e), buf.len()) else {
        return Ok(None);
    };
    file.read_exact_at(&mut buf[strs_at.clone()], strs.sh_offset(e))?;
    let names = buf[strs_at].to_vec();
    for (i, sh) in shdrs.iter().enumerate().skip(1) {
        let (off, size) = (sh.sh_offset(e), sh.sh_size(e));
        if sh.sh_type(e) == SHT_NOBITS || size == 0 || i == shstrndx {
            continue;
        }
        let name = names.get(sh.sh_name(e) as usize..).unwrap_or_default();
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
