//! The ELF container of a `.bpf.o`, read once into owned tables: sections, symbols, relocations.
//!
//! Everything later stages need is copied out, so the rest of `obj` works on plain Rust values
//! and never touches ELF encoding again. Each section is classified the way libbpf's
//! `bpf_object__elf_collect` classifies it.

use crate::error::{Error, Result};
use object::elf;
use object::read::elf::{FileHeader, Rel as _, SectionHeader as _, Sym as _};
use object::Endianness;

/// What a section is to the loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecKind {
    /// Ignored: string tables, DWARF, `.llvm_addrsig`, empty `.text`, unknown sections.
    Skipped,
    /// `license`.
    License,
    /// `version`.
    Version,
    /// `.maps`: BTF-defined maps.
    Maps,
    /// `.BTF`.
    Btf,
    /// `.BTF.ext`.
    BtfExt,
    /// The symbol table.
    Symtab,
    /// Executable code: `.text` or a program section.
    Code,
    /// `.data` or `.data.*`.
    Data,
    /// `.rodata` or `.rodata.*`.
    Rodata,
    /// `.bss` or `.bss.*` (no bytes in the file).
    Bss,
    /// `.struct_ops`, `.struct_ops.link` (optionally with a leading `?`).
    StructOps,
    /// `.addr_space.1`: arena globals.
    Arena,
    /// `.jumptables`.
    JumpTables,
    /// A relocation section for code, `.maps` or `.struct_ops` (`sh_info` names the target).
    Rel,
}

/// One ELF section, as far as the loader cares.
#[derive(Debug, Clone)]
pub struct Section {
    /// Section name.
    pub name: String,
    /// Classification.
    pub kind: SecKind,
    /// `sh_type`.
    pub sh_type: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// Size in bytes (for `.bss`, the size it occupies in memory).
    pub size: u64,
    /// The bytes (empty for `SHT_NOBITS`).
    pub data: Vec<u8>,
    /// `sh_info` (the target section of a relocation section).
    pub info: u32,
}

/// One ELF symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Symbol name (empty for section symbols).
    pub name: String,
    /// `st_shndx`.
    pub shndx: u16,
    /// `st_value`.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// `STB_*`.
    pub bind: u8,
    /// `STT_*`.
    pub typ: u8,
    /// `STV_*`.
    pub visibility: u8,
}

impl Symbol {
    /// An extern: `NOTYPE`, global or weak, undefined section (libbpf's `sym_is_extern`).
    pub fn is_extern(&self) -> bool {
        self.shndx == elf::SHN_UNDEF
            && (self.bind == elf::STB_GLOBAL || self.bind == elf::STB_WEAK)
            && self.typ == elf::STT_NOTYPE
    }

    /// A subprogram symbol in `.text` (libbpf's `sym_is_subprog`): a section symbol for static
    /// functions, or a global/weak function.
    pub fn is_subprog(&self, text_shndx: Option<usize>) -> bool {
        if text_shndx != Some(self.shndx as usize) {
            return false;
        }
        if self.bind == elf::STB_LOCAL && self.typ == elf::STT_SECTION {
            return true;
        }
        (self.bind == elf::STB_GLOBAL || self.bind == elf::STB_WEAK) && self.typ == elf::STT_FUNC
    }
}

/// One `Elf64_Rel` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rel {
    /// Byte offset in the target section.
    pub offset: u64,
    /// Symbol index.
    pub sym: u32,
    /// Relocation type.
    pub typ: u32,
}

/// The ELF file, read into owned tables.
#[derive(Debug, Clone)]
pub struct Elf {
    /// True when the file's byte order is the host's.
    pub native_endian: bool,
    /// Sections by index (index 0 is the null section).
    pub sections: Vec<Section>,
    /// Symbols by index.
    pub symbols: Vec<Symbol>,
    /// Index of the symbol table section.
    pub symtab_shndx: usize,
    /// Index of `.text`, when it holds code.
    pub text_shndx: Option<usize>,
    /// Index of `.maps`.
    pub maps_shndx: Option<usize>,
    /// Index of `.addr_space.1`.
    pub arena_shndx: Option<usize>,
    /// Index of `.jumptables`.
    pub jumptables_shndx: Option<usize>,
    /// Index of a legacy `maps` section: the object is refused, and sections after it are not read.
    pub legacy_maps_shndx: Option<usize>,
}

fn ferr(what: impl std::fmt::Display) -> Error {
    Error::malformed(format!("elf: {what}"))
}

/// `SHT_LLVM_ADDRSIG`: address-significance table, ignored.
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;

/// DWARF (`.debug_*`) or its relocations (`.rel.debug_*`), named as libbpf's
/// `ignore_elf_section` names them: only `.rel` is stripped, so `.rela.debug_*` is not DWARF here.
fn dwarf_or_its_relocations(name: &[u8]) -> bool {
    let dwarf = |n: &[u8]| n.starts_with(b".debug_");
    dwarf(name) || name.strip_prefix(b".rel").is_some_and(dwarf)
}

/// True when [`Elf::parse`] never reads the bytes of a section of type `sh_type` named `name`:
/// DWARF and its relocations. Symbol and string tables are read whatever their names.
pub fn debug_data_unread(sh_type: u32, name: &[u8]) -> bool {
    matches!(sh_type, elf::SHT_PROGBITS | elf::SHT_REL | elf::SHT_RELA)
        && dwarf_or_its_relocations(name)
}

/// libbpf's `ignore_elf_section`.
fn ignored(sh_type: u32, size: u64, name: &str) -> bool {
    if sh_type == elf::SHT_STRTAB || sh_type == SHT_LLVM_ADDRSIG {
        return true;
    }
    if sh_type == elf::SHT_PROGBITS && size == 0 && name == ".text" {
        return true;
    }
    if dwarf_or_its_relocations(name.as_bytes()) {
        return true;
    }
    matches!(name.strip_prefix(".rel"), Some(".BTF" | ".BTF.ext"))
}

fn has_prefix_dot(name: &str, base: &str) -> bool {
    name == base || name.strip_prefix(base).is_some_and(|r| r.starts_with('.'))
}

impl Elf {
    /// Reads `data` as a BPF ELF object.
    pub fn parse(data: &[u8]) -> Result<Elf> {
        let header = elf::FileHeader64::<Endianness>::parse(data)
            .map_err(|e| ferr(format!("not a 64-bit ELF file: {e}")))?;
        let endian = header.endian().map_err(ferr)?;
        if header.e_machine(endian) != elf::EM_BPF {
            return Err(ferr(format!(
                "not a BPF object: e_machine is {}, not EM_BPF (247)",
                header.e_machine(endian)
            )));
        }
        if header.e_type(endian) != elf::ET_REL {
            return Err(ferr(format!(
                "not a relocatable object: e_type is {}",
                header.e_type(endian)
            )));
        }
        let table = header
            .sections(endian, data)
            .map_err(|e| ferr(format!("section headers: {e}")))?;

        // First pass: the one symbol table.
        let mut symtab_shndx = None;
        for (idx, sh) in table.iter().enumerate() {
            if sh.sh_type(endian) == elf::SHT_SYMTAB {
                if symtab_shndx.is_some() {
                    return Err(ferr("multiple symbol tables"));
                }
                symtab_shndx = Some(idx);
            }
        }
        let symtab_shndx =
            symtab_shndx.ok_or_else(|| ferr("no symbol table (stripped object file?)"))?;
        let symtab = table
            .symbol_table_by_index(endian, data, object::SectionIndex(symtab_shndx))
            .map_err(|e| ferr(format!("symbol table: {e}")))?;
        let strings = symtab.strings();
        let mut symbols = Vec::with_capacity(symtab.len());
        for (i, sym) in symtab.iter().enumerate() {
            let name = sym
                .name(endian, strings)
                .map_err(|e| ferr(format!("symbol #{i}: name: {e}")))?;
            symbols.push(Symbol {
                name: String::from_utf8_lossy(name).into_owned(),
                shndx: sym.st_shndx(endian),
                value: sym.st_value(endian),
                size: sym.st_size(endian),
                bind: sym.st_bind(),
                typ: sym.st_type(),
                visibility: sym.st_visibility(),
            });
        }

        let mut out = Elf {
            native_endian: endian == Endianness::default(),
            sections: Vec::with_capacity(table.len()),
            symbols,
            symtab_shndx,
            text_shndx: None,
            maps_shndx: None,
            arena_shndx: None,
            jumptables_shndx: None,
            legacy_maps_shndx: None,
        };
        let count = table.len();
        for (idx, sh) in table.iter().enumerate() {
            let raw_name = table
                .section_name(endian, sh)
                .map_err(|e| ferr(format!("section #{idx}: name: {e}")))?;
            let name = String::from_utf8_lossy(raw_name).into_owned();
            let sh_type = sh.sh_type(endian);
            let size = sh.sh_size(endian);
            let flags = sh.sh_flags(endian);
            let info = sh.sh_info(endian);
            let mut section = Section {
                name,
                kind: SecKind::Skipped,
                sh_type,
                flags,
                size,
                data: Vec::new(),
                info,
            };
            if idx == 0 || ignored(sh_type, size, &section.name) {
                out.sections.push(section);
                continue;
            }
            let bytes = if sh_type == elf::SHT_NOBITS {
                &[][..]
            } else {
                sh.data(endian, data).map_err(|e| {
                    ferr(format!(
                        "section #{idx} '{}': data out of bounds: {e}",
                        section.name
                    ))
                })?
            };
            let name = section.name.as_str();
            let kind = match name {
                "license" => SecKind::License,
                "version" => SecKind::Version,
                "maps" => {
                    // libbpf refuses here, in one pass over the sections: a refusal from an earlier
                    // code section (a static program) wins, and nothing after this one is read.
                    out.legacy_maps_shndx = Some(idx);
                    out.sections.push(section);
                    break;
                }
                ".maps" => {
                    out.maps_shndx = Some(idx);
                    SecKind::Maps
                }
                ".BTF" | ".BTF.ext" => {
                    if sh_type != elf::SHT_PROGBITS {
                        return Err(ferr(format!("section '{name}' is not PROGBITS")));
                    }
                    if name == ".BTF" {
                        SecKind::Btf
                    } else {
                        SecKind::BtfExt
                    }
                }
                _ if sh_type == elf::SHT_SYMTAB => SecKind::Symtab,
                _ if sh_type == elf::SHT_PROGBITS && size > 0 => {
                    if flags & u64::from(elf::SHF_EXECINSTR) != 0 {
                        if name == ".text" {
                            out.text_shndx = Some(idx);
                        }
                        SecKind::Code
                    } else if has_prefix_dot(name, ".data") {
                        SecKind::Data
                    } else if has_prefix_dot(name, ".rodata") {
                        SecKind::Rodata
                    } else if matches!(
                        name,
                        ".struct_ops" | ".struct_ops.link" | "?.struct_ops" | "?.struct_ops.link"
                    ) {
                        SecKind::StructOps
                    } else if name == ".addr_space.1" {
                        out.arena_shndx = Some(idx);
                        SecKind::Arena
                    } else if name == ".jumptables" {
                        out.jumptables_shndx = Some(idx);
                        SecKind::JumpTables
                    } else {
                        crate::log::info(format_args!(
                            "elf: skipping unrecognized data section({idx}) {name}"
                        ));
                        SecKind::Skipped
                    }
                }
                _ if sh_type == elf::SHT_REL => {
                    if sh.sh_entsize(endian) != 16 || info as usize >= count {
                        return Err(ferr(format!("relocation section '{name}' is malformed")));
                    }
                    let target_exec = table
                        .section(object::SectionIndex(info as usize))
                        .map(|t| t.sh_flags(endian) & u64::from(elf::SHF_EXECINSTR) != 0)
                        .unwrap_or(false);
                    let special = matches!(
                        name,
                        ".rel.struct_ops"
                            | ".rel.struct_ops.link"
                            | ".rel?.struct_ops"
                            | ".rel?.struct_ops.link"
                            | ".rel.maps"
                    );
                    if target_exec || special {
                        SecKind::Rel
                    } else {
                        SecKind::Skipped
                    }
                }
                _ if sh_type == elf::SHT_NOBITS && has_prefix_dot(name, ".bss") => SecKind::Bss,
                _ => SecKind::Skipped,
            };
            section.kind = kind;
            section.data = bytes.to_vec();
            out.sections.push(section);
        }
        Ok(out)
    }

    /// The relocations of relocation section `idx`.
    pub fn rels(&self, idx: usize) -> Result<Vec<Rel>> {
        let sec = self
            .sections
            .get(idx)
            .ok_or_else(|| ferr(format!("no section #{idx}")))?;
        let mut out = Vec::with_capacity(sec.data.len() / 16);
        for (i, chunk) in sec.data.chunks(16).enumerate() {
            let chunk: &[u8; 16] = chunk.try_into().map_err(|_| {
                ferr(format!(
                    "relocation section '{}': truncated entry #{i}",
                    sec.name
                ))
            })?;
            let rel: &elf::Rel64<Endianness> =
                object::pod::from_bytes(chunk).map_err(|_| ferr("rel"))?.0;
            let endian = if self.native_endian {
                Endianness::default()
            } else {
                other(Endianness::default())
            };
            out.push(Rel {
                offset: rel.r_offset(endian),
                sym: rel.r_sym(endian),
                typ: rel.r_type(endian),
            });
        }
        Ok(out)
    }

    /// The name of section `idx`, or `"<?>"`.
    pub fn sec_name(&self, idx: usize) -> &str {
        self.sections
            .get(idx)
            .map(|s| s.name.as_str())
            .unwrap_or("<?>")
    }

    /// The kind of section `idx` (`Skipped` when out of range).
    pub fn sec_kind(&self, idx: usize) -> SecKind {
        self.sections
            .get(idx)
            .map(|s| s.kind)
            .unwrap_or(SecKind::Skipped)
    }
}

fn other(e: Endianness) -> Endianness {
    match e {
        Endianness::Little => Endianness::Big,
        Endianness::Big => Endianness::Little,
    }
}
