//! Reading a `.bpf.o` from disk without its DWARF.
//!
//! clang's `-g` objects are mostly DWARF (`.debug_*` and their relocations: 600 KB of a 666 KB
//! CO-RE fixture), which the loader ignores, as libbpf does. We read the ELF header, the section
//! table and only the sections the parser looks at, and lay them out again in a compact copy:
//! header, then section table, then the sections' bytes (neighbours in one read, alignment kept),
//! with the table's offsets rewritten to match. DWARF and NOBITS sections keep their sizes but
//! point at offset 0: the parser never reads their bytes. So neither the DWARF nor a file-sized
//! zeroed buffer is ever touched. Anything unexpected (not ELF64, program headers, a section past
//! the end, extended section numbering) falls back to reading the whole file, so the parser
//! reports problems on the real bytes.

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

use object::elf::{FileHeader64, SectionHeader64, SHT_NOBITS, SHT_SYMTAB};
use object::endian::U64;
use object::read::elf::{FileHeader as _, SectionHeader as _};
use object::Endianness;

use crate::obj::elf::debug_data_unread;
use crate::sys::file::pread_append;

/// The bytes of the object file at `path`, possibly laid out again without its DWARF.
pub(crate) fn read_object_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    match read_compact(&file, len) {
        Ok(Some(buf)) => return Ok(buf),
        Ok(None) => {}
        // Shorter than its reported size, or offsets this platform cannot pread: read it plainly.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidInput
            ) => {}
        Err(e) => return Err(e),
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(usize::try_from(len).unwrap_or(0))
        .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "file larger than memory"))?;
    file.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Sections this close in the file are read with one `pread`, gap included: a system call costs
/// more than copying a few kilobytes more.
const READ_GAP: u64 = 4096;

/// The header, section table and non-DWARF sections of `file` (of `file_len` bytes) as a compact
/// ELF image; `None` when the layout is not one this shortcut handles.
fn read_compact(file: &File, file_len: u64) -> io::Result<Option<Vec<u8>>> {
    type Ehdr = FileHeader64<Endianness>;
    type Shdr = SectionHeader64<Endianness>;
    let (ehdr_len, entsize) = (size_of::<Ehdr>(), size_of::<Shdr>());
    if file_len < ehdr_len as u64 {
        return Ok(None);
    }
    let mut head = Vec::new();
    pread_append(file, 0, ehdr_len, &mut head)?;
    let Ok(hdr) = Ehdr::parse(&head[..]) else {
        return Ok(None);
    };
    let Ok(e) = hdr.endian() else {
        return Ok(None);
    };
    let mut hdr = *hdr;
    // shnum 0 / shstrndx 0xffff mean the real values live in section 0 (extended numbering);
    // shoff 0 means no sections, and the parser refuses a misaligned table: all left to it.
    let (shoff, shnum) = (hdr.e_shoff(e), usize::from(hdr.e_shnum(e)));
    let shstrndx = usize::from(hdr.e_shstrndx(e));
    let table_len = shnum * entsize;
    if usize::from(hdr.e_shentsize(e)) != entsize
        || hdr.e_phnum(e) != 0
        || shnum == 0
        || shstrndx >= shnum
        || shoff == 0
        || shoff % align_of::<Shdr>() as u64 != 0
        || !inside(shoff, table_len as u64, file_len)
    {
        return Ok(None);
    }
    let mut table = Vec::new();
    pread_append(file, shoff, table_len, &mut table)?;
    let Ok(shdrs) = object::pod::slice_from_all_bytes::<Shdr>(&table) else {
        return Ok(None);
    };
    let mut shdrs = shdrs.to_vec();
    let names_off = shdrs[shstrndx].sh_offset(e);
    let Ok(names_len) = usize::try_from(shdrs[shstrndx].sh_size(e)) else {
        return Ok(None);
    };
    if !inside(names_off, names_len as u64, file_len) {
        return Ok(None);
    }
    let mut names = Vec::new();
    pread_append(file, names_off, names_len, &mut names)?;
    // A symbol table's string table is read whatever it is called.
    let linked: Vec<usize> = shdrs
        .iter()
        .filter(|sh| sh.sh_type(e) == SHT_SYMTAB)
        .map(|sh| sh.sh_link(e) as usize)
        .collect();

    // The sections to copy, in file order.
    let mut wanted: Vec<(u64, u64, usize)> = Vec::new();
    for (i, sh) in shdrs.iter_mut().enumerate().skip(1) {
        if i == shstrndx {
            // Already read, and placed below.
            continue;
        }
        let (off, size, sh_type) = (sh.sh_offset(e), sh.sh_size(e), sh.sh_type(e));
        let name = names.get(sh.sh_name(e) as usize..).unwrap_or_default();
        if sh_type == SHT_NOBITS || (debug_data_unread(sh_type, name) && !linked.contains(&i)) {
            // No bytes to copy: the parser reads neither NOBITS nor DWARF data, only sizes.
            sh.sh_offset = U64::new(e, 0);
            continue;
        }
        // The parser checks the range of every section it reads, empty ones included.
        if !inside(off, size, file_len) {
            return Ok(None);
        }
        if size == 0 {
            sh.sh_offset = U64::new(e, 0);
            continue;
        }
        wanted.push((off, size, i));
    }
    wanted.sort_unstable();
    // Neighbours closer than READ_GAP become one read: (file start, file end, wanted[from..to]).
    let mut runs: Vec<(u64, u64, usize, usize)> = Vec::new();
    for (k, &(off, size, _)) in wanted.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if off <= run.1 + READ_GAP => {
                run.1 = run.1.max(off + size);
                run.3 = k + 1;
            }
            _ => runs.push((off, off + size, k, k + 1)),
        }
    }

    // Header, table, section names, then the runs: sized up front, so nothing is moved twice.
    let mut total = Some(ehdr_len + table_len + names_len + 8);
    for r in &runs {
        let run = usize::try_from(r.1 - r.0)
            .ok()
            .and_then(|n| n.checked_add(8));
        total = total.zip(run).and_then(|(t, n)| t.checked_add(n));
    }
    let Some(total) = total else {
        return Ok(None);
    };
    let mut out = Vec::new();
    out.try_reserve_exact(total)
        .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "object larger than memory"))?;
    out.resize(ehdr_len + table_len, 0);
    out.resize(out.len().next_multiple_of(8), 0);
    shdrs[shstrndx].sh_offset = U64::new(e, out.len() as u64);
    out.extend_from_slice(&names);
    for &(start, end, from, to) in &runs {
        // Same position modulo 8 as in the file, so every section keeps its alignment.
        let pad = ((start % 8) as usize + 8 - out.len() % 8) % 8;
        out.resize(out.len() + pad, 0);
        let base = out.len() as u64;
        pread_append(file, start, (end - start) as usize, &mut out)?;
        for &(off, _, i) in &wanted[from..to] {
            shdrs[i].sh_offset = U64::new(e, base + (off - start));
        }
    }
    // The table goes right after the header.
    hdr.e_shoff = U64::new(e, ehdr_len as u64);
    hdr.e_phoff = U64::new(e, 0);
    out[..ehdr_len].copy_from_slice(object::pod::bytes_of(&hdr));
    out[ehdr_len..ehdr_len + table_len].copy_from_slice(object::pod::bytes_of_slice(&shdrs));
    Ok(Some(out))
}

/// True when `off..off + len` lies inside a file of `file_len` bytes.
fn inside(off: u64, len: u64, file_len: u64) -> bool {
    off.checked_add(len).is_some_and(|end| end <= file_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dwarf_names_match_the_parser() {
        use object::elf::{SHT_PROGBITS, SHT_REL, SHT_RELA, SHT_STRTAB, SHT_SYMTAB};
        assert!(debug_data_unread(SHT_PROGBITS, b".debug_info\0"));
        assert!(debug_data_unread(SHT_REL, b".rel.debug_str_offsets\0"));
        // The parser strips ".rel" only: ".rela.debug_line" is a section it reads.
        assert!(!debug_data_unread(SHT_RELA, b".rela.debug_line\0"));
        assert!(!debug_data_unread(SHT_PROGBITS, b".BTF\0"));
        assert!(!debug_data_unread(SHT_REL, b".rel.BTF.ext\0"));
        assert!(!debug_data_unread(SHT_PROGBITS, b".relxdp\0"));
        // Symbol and string tables are read whatever their names.
        assert!(!debug_data_unread(SHT_SYMTAB, b".debug_x\0"));
        assert!(!debug_data_unread(SHT_STRTAB, b".debug_str\0"));
    }

    #[test]
    fn ranges_stay_inside_the_file() {
        assert!(inside(10, 5, 15));
        assert!(!inside(10, 6, 15));
        assert!(!inside(u64::MAX, 2, 15));
    }
}
