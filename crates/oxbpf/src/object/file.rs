//! Reading a `.bpf.o` from disk without its DWARF.
//!
//! clang's `-g` objects are mostly DWARF (`.debug_*` and their relocations: 600 KB of a 666 KB
//! CO-RE fixture), which the loader ignores, as libbpf does. We read the ELF header, the section
//! table and only the sections the parser looks at, and lay them out again in a compact copy:
//! header, then section table, then each section's bytes (8-aligned), with the table's offsets
//! rewritten to match. DWARF and NOBITS sections keep their sizes but point at offset 0: the parser
//! never reads their bytes. So neither the DWARF nor a file-sized zeroed buffer is ever touched.
//! Anything unexpected (not ELF64, program headers, a section past the end, extended section
//! numbering) falls back to reading the whole file, so the parser reports problems on the real
//! bytes.

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

use object::elf::{FileHeader64, SectionHeader64, SHT_NOBITS};
use object::endian::{U16, U64};
use object::read::elf::{FileHeader as _, SectionHeader as _};
use object::Endianness;

use crate::sys::file::pread_append;

/// The bytes of the object file at `path`, possibly laid out again without its DWARF.
pub(crate) fn read_object_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if let Some(buf) = read_compact(&file, len)? {
        return Ok(buf);
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.read_to_end(&mut buf)?;
    Ok(buf)
}

/// The header, section table and non-DWARF sections of `file` (of `file_len` bytes) as a compact
/// ELF image; `None` when the layout is not one this shortcut handles.
fn read_compact(file: &File, file_len: u64) -> io::Result<Option<Vec<u8>>> {
    type Ehdr = FileHeader64<Endianness>;
    type Shdr = SectionHeader64<Endianness>;
    let (ehdr_len, entsize) = (size_of::<Ehdr>(), size_of::<Shdr>());
    if file_len < ehdr_len as u64 {
        return Ok(None);
    }
    let mut out = Vec::new();
    pread_append(file, 0, ehdr_len, &mut out)?;
    let Ok(hdr) = Ehdr::parse(&out[..]) else {
        return Ok(None);
    };
    let Ok(e) = hdr.endian() else {
        return Ok(None);
    };
    let mut hdr = *hdr;
    // shnum 0 / shstrndx 0xffff mean the real values live in section 0 (extended numbering).
    let (shoff, shnum) = (hdr.e_shoff(e), usize::from(hdr.e_shnum(e)));
    let shstrndx = usize::from(hdr.e_shstrndx(e));
    if usize::from(hdr.e_shentsize(e)) != entsize
        || hdr.e_phnum(e) != 0
        || shnum == 0
        || shstrndx >= shnum
        || !inside(shoff, (shnum * entsize) as u64, file_len)
    {
        return Ok(None);
    }
    let mut table = Vec::new();
    pread_append(file, shoff, shnum * entsize, &mut table)?;
    let Ok(shdrs) = object::pod::slice_from_all_bytes::<Shdr>(&table) else {
        return Ok(None);
    };
    let mut shdrs = shdrs.to_vec();
    // The table goes right after the header; section bytes follow it.
    hdr.e_shoff = U64::new(e, ehdr_len as u64);
    hdr.e_phoff = U64::new(e, 0);
    hdr.e_shentsize = U16::new(e, entsize as u16);
    out.resize(ehdr_len + shnum * entsize, 0);
    let names = {
        let strs = &mut shdrs[shstrndx];
        let Some(at) = append_section(file, file_len, e, strs, &mut out)? else {
            return Ok(None);
        };
        at
    };
    for (i, sh) in shdrs.iter_mut().enumerate().skip(1) {
        if i == shstrndx {
            continue;
        }
        let (size, nobits) = (sh.sh_size(e), sh.sh_type(e) == SHT_NOBITS);
        let name = out.get(names.start + sh.sh_name(e) as usize..names.end);
        if nobits || size == 0 || name.is_some_and(is_dwarf) {
            // No bytes to copy: the parser reads neither NOBITS nor DWARF data, only sizes.
            sh.sh_offset = U64::new(e, 0);
            continue;
        }
        if append_section(file, file_len, e, sh, &mut out)?.is_none() {
            return Ok(None);
        }
    }
    out[..ehdr_len].copy_from_slice(object::pod::bytes_of(&hdr));
    out[ehdr_len..ehdr_len + shnum * entsize].copy_from_slice(object::pod::bytes_of_slice(&shdrs));
    Ok(Some(out))
}

/// Appends the bytes of section `sh` to `out` at an 8-aligned offset and points `sh` there;
/// returns where they landed, or `None` when the section lies outside the file.
fn append_section(
    file: &File,
    file_len: u64,
    e: Endianness,
    sh: &mut SectionHeader64<Endianness>,
    out: &mut Vec<u8>,
) -> io::Result<Option<std::ops::Range<usize>>> {
    let (off, size) = (sh.sh_offset(e), sh.sh_size(e));
    if !inside(off, size, file_len) {
        return Ok(None);
    }
    out.resize(out.len().next_multiple_of(8), 0);
    let start = out.len();
    pread_append(file, off, size as usize, out)?;
    sh.sh_offset = U64::new(e, start as u64);
    Ok(Some(start..out.len()))
}

/// `.debug_*` and its `.rel`/`.rela` sections (what the parser skips, as libbpf does).
fn is_dwarf(name: &[u8]) -> bool {
    let name = name
        .strip_prefix(b".rela")
        .or_else(|| name.strip_prefix(b".rel"))
        .unwrap_or(name);
    name.starts_with(b".debug_")
}

/// True when `off..off + len` lies inside a file of `file_len` bytes.
fn inside(off: u64, len: u64, file_len: u64) -> bool {
    off.checked_add(len).is_some_and(|end| end <= file_len)
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
        assert!(inside(10, 5, 15));
        assert!(!inside(10, 6, 15));
        assert!(!inside(u64::MAX, 2, 15));
    }
}
