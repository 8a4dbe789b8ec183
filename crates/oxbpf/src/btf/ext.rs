//! `.BTF.ext`: per-ELF-section func_info, line_info and CO-RE relocation records.
//!
//! Each of the three parts is a record size followed by sections, each a (section name offset, record
//! count) header and that many records. Records may be longer than the fields known here (the format
//! lets compilers append fields); the extra bytes are kept so the loader can hand them to the kernel.

use super::parse::{detect_endian, Reader};
use super::{Btf, Endian, TypeId};
use crate::error::{Error, Result};

/// One `bpf_func_info` record: the function starting at `insn_off` has FUNC type `type_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfo {
    /// Byte offset of the function's first instruction in its ELF section.
    pub insn_off: u32,
    /// The FUNC type.
    pub type_id: TypeId,
}

/// One `bpf_line_info` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    /// Byte offset of the instruction in its ELF section.
    pub insn_off: u32,
    /// String offset (in `.BTF`) of the file name.
    pub file_name_off: u32,
    /// String offset (in `.BTF`) of the source line.
    pub line_off: u32,
    /// Line number (high 22 bits) and column (low 10 bits).
    pub line_col: u32,
}

impl LineInfo {
    /// The line number.
    pub fn line(&self) -> u32 {
        self.line_col >> 10
    }
    /// The column.
    pub fn column(&self) -> u32 {
        self.line_col & 0x3ff
    }
}

/// The kinds of CO-RE relocation (`enum bpf_core_relo_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum CoreReloKind {
    /// Field byte offset.
    FieldByteOffset = 0,
    /// Field size in bytes.
    FieldByteSize = 1,
    /// Field exists in the target.
    FieldExists = 2,
    /// Field is signed.
    FieldSigned = 3,
    /// Bitfield left shift for a u64 read.
    FieldLshiftU64 = 4,
    /// Bitfield right shift for a u64 read.
    FieldRshiftU64 = 5,
    /// Local type id.
    TypeIdLocal = 6,
    /// Target type id.
    TypeIdTarget = 7,
    /// Type exists in the target.
    TypeExists = 8,
    /// Type size in the target.
    TypeSize = 9,
    /// Enumerator exists in the target.
    EnumvalExists = 10,
    /// Enumerator value in the target.
    EnumvalValue = 11,
    /// Type matches the target's.
    TypeMatches = 12,
}

impl CoreReloKind {
    /// The kind numbered `n`.
    pub fn from_u32(n: u32) -> Option<CoreReloKind> {
        use CoreReloKind::*;
        Some(match n {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            _ => return None,
        })
    }
}

/// One `bpf_core_relo` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreRelo {
    /// Byte offset of the instruction to patch in its ELF section.
    pub insn_off: u32,
    /// The local (object) type the access starts from.
    pub type_id: TypeId,
    /// String offset (in `.BTF`) of the access string (`"0:1:2"`).
    pub access_str_off: u32,
    /// The raw relocation kind; see [`CoreRelo::relo_kind`].
    pub kind: u32,
}

impl CoreRelo {
    /// The relocation kind, if known.
    pub fn relo_kind(&self) -> Option<CoreReloKind> {
        CoreReloKind::from_u32(self.kind)
    }
}

/// The records of one ELF section (one `btf_ext_info_sec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtSection<R> {
    /// The ELF section name (e.g. `"kprobe/do_unlinkat"`, `".text"`), resolved through `.BTF`'s strings.
    pub name: String,
    /// The string offset of the name.
    pub name_off: u32,
    /// The records, known fields decoded.
    pub records: Vec<R>,
    /// Per record, the bytes past the known fields (record size − known size each), concatenated.
    /// Empty when the record size is the known size.
    pub extra: Vec<u8>,
}

/// Parsed `.BTF.ext`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BtfExt {
    /// Record size of func_info records (0 when the part is absent).
    pub func_info_rec_size: u32,
    /// func_info per section.
    pub func_info: Vec<ExtSection<FuncInfo>>,
    /// Record size of line_info records (0 when absent).
    pub line_info_rec_size: u32,
    /// line_info per section.
    pub line_info: Vec<ExtSection<LineInfo>>,
    /// Record size of CO-RE relocation records (0 when absent).
    pub core_relo_rec_size: u32,
    /// CO-RE relocations per section.
    pub core_relos: Vec<ExtSection<CoreRelo>>,
}

impl BtfExt {
    /// Parses `.BTF.ext` bytes; section names resolve through `btf`'s string section.
    pub fn parse(data: &[u8], btf: &Btf) -> Result<BtfExt> {
        let endian = detect_endian(data, "BTF.ext")?;
        let r = Reader { data, endian };
        let hdr_len = r
            .u32(4)
            .ok_or_else(|| Error::malformed("BTF.ext: truncated header"))?;
        if hdr_len < 24 || hdr_len as usize > data.len() {
            return Err(Error::malformed(format!(
                "BTF.ext: header length {hdr_len} outside 24..={}",
                data.len()
            )));
        }
        if data[2] != 1 {
            return Err(Error::malformed(format!(
                "BTF.ext: unsupported version {} at offset 2",
                data[2]
            )));
        }
        if data[3] != 0 {
            return Err(Error::malformed(format!(
                "BTF.ext: unsupported flags {:#x} at offset 3",
                data[3]
            )));
        }
        let w = |o: usize| r.u32(o).unwrap_or(0);
        let mut ext = BtfExt::default();
        let ctx = Part {
            r,
            btf,
            hdr_len: hdr_len as usize,
            native: endian == Endian::native(),
        };
        (ext.func_info_rec_size, ext.func_info) =
            ctx.part("func_info", w(8), w(12), 8, |r, p| FuncInfo {
                insn_off: r.u32(p).unwrap_or(0),
                type_id: r.u32(p + 4).unwrap_or(0),
            })?;
        (ext.line_info_rec_size, ext.line_info) =
            ctx.part("line_info", w(16), w(20), 16, |r, p| LineInfo {
                insn_off: r.u32(p).unwrap_or(0),
                file_name_off: r.u32(p + 4).unwrap_or(0),
                line_off: r.u32(p + 8).unwrap_or(0),
                line_col: r.u32(p + 12).unwrap_or(0),
            })?;
        if hdr_len >= 32 {
            (ext.core_relo_rec_size, ext.core_relos) =
                ctx.part("core_relo", w(24), w(28), 16, |r, p| CoreRelo {
                    insn_off: r.u32(p).unwrap_or(0),
                    type_id: r.u32(p + 4).unwrap_or(0),
                    access_str_off: r.u32(p + 8).unwrap_or(0),
                    kind: r.u32(p + 12).unwrap_or(0),
                })?;
        }
        Ok(ext)
    }
}

struct Part<'a> {
    r: Reader<'a>,
    btf: &'a Btf,
    hdr_len: usize,
    native: bool,
}

impl Part<'_> {
    fn part<R>(
        &self,
        what: &str,
        off: u32,
        len: u32,
        min_rec: u32,
        decode: impl Fn(&Reader<'_>, usize) -> R,
    ) -> Result<(u32, Vec<ExtSection<R>>)> {
        if len == 0 {
            return Ok((0, Vec::new()));
        }
        if off % 4 != 0 {
            return Err(Error::malformed(format!(
                "BTF.ext: {what} offset {off} not 4-byte aligned"
            )));
        }
        let start = self.hdr_len as u64 + off as u64;
        let end = start + len as u64;
        if end > self.r.data.len() as u64 {
            return Err(Error::malformed(format!(
                "BTF.ext: {what} part {off}+{len} runs past the end ({} bytes)",
                self.r.data.len()
            )));
        }
        let (start, end) = (start as usize, end as usize);
        if len < 4 {
            return Err(Error::malformed(format!(
                "BTF.ext: {what} part at {start} has no record size"
            )));
        }
        let rec = self.r.u32(start).unwrap_or(0);
        if rec < min_rec || rec % 4 != 0 || (!self.native && rec != min_rec) {
            return Err(Error::malformed(format!(
                "BTF.ext: {what} record size {rec} at offset {start} invalid (minimum {min_rec}, multiple of 4)"
            )));
        }
        if len == 4 {
            return Err(Error::malformed(format!(
                "BTF.ext: {what} part at {start} has no sections"
            )));
        }
        let mut p = start + 4;
        let mut secs = Vec::new();
        while p < end {
            if end - p < 8 {
                return Err(Error::malformed(format!(
                    "BTF.ext: {what} section header at offset {p} truncated"
                )));
            }
            let name_off = self.r.u32(p).unwrap_or(0);
            let n = self.r.u32(p + 4).unwrap_or(0);
            if n == 0 {
                return Err(Error::malformed(format!(
                    "BTF.ext: {what} section at offset {p} has no records"
                )));
            }
            let body = n as u64 * rec as u64;
            if body > (end - p - 8) as u64 {
                return Err(Error::malformed(format!(
                    "BTF.ext: {what} section at offset {p}: {n} records of {rec} bytes run past the part end {end}"
                )));
            }
            let name = self
                .btf
                .str_at(name_off)
                .map_err(|e| e.context(format!("BTF.ext: {what} section at offset {p} name")))?
                .to_string();
            p += 8;
            let mut records = Vec::with_capacity(n as usize);
            let mut extra = Vec::new();
            for _ in 0..n {
                records.push(decode(&self.r, p));
                if rec > min_rec {
                    extra.extend_from_slice(&self.r.data[p + min_rec as usize..p + rec as usize]);
                }
                p += rec as usize;
            }
            secs.push(ExtSection {
                name,
                name_off,
                records,
                extra,
            });
        }
        Ok((rec, secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::INT_SIGNED;
    use crate::error::ErrorKind;

    fn btf() -> (Btf, u32, u32) {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, INT_SIGNED).unwrap();
        b.add_func_proto(int, &[]);
        let text = b.add_string(".text");
        let access = b.add_string("0:1");
        (b, text, access)
    }

    fn words(ws: &[u32]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// A .BTF.ext with the three parts; func_info records are 12 bytes (4 unknown trailing bytes).
    fn ext(text: u32, access: u32) -> Vec<u8> {
        let func = words(&[12, text, 2, 0, 2, 0xaaaa_aaaa, 16, 2, 0xbbbb_bbbb]);
        let line = words(&[16, text, 1, 8, text, text, (7 << 10) | 3]);
        let core = words(&[16, text, 1, 24, 1, access, 0]);
        let mut hdr = vec![0x9f, 0xeb, 1, 0];
        let (fl, ll, cl) = (func.len() as u32, line.len() as u32, core.len() as u32);
        hdr.extend(words(&[32, 0, fl, fl, ll, fl + ll, cl]));
        [hdr, func, line, core].concat()
    }

    #[test]
    fn parses_all_parts_with_names_and_extra_bytes() {
        let (b, text, access) = btf();
        let e = BtfExt::parse(&ext(text, access), &b).unwrap();
        assert_eq!(e.func_info_rec_size, 12);
        assert_eq!(e.func_info[0].name, ".text");
        assert_eq!(
            e.func_info[0].records,
            vec![
                FuncInfo {
                    insn_off: 0,
                    type_id: 2
                },
                FuncInfo {
                    insn_off: 16,
                    type_id: 2
                }
            ]
        );
        assert_eq!(
            e.func_info[0].extra,
            [0xaa; 4]
                .iter()
                .chain(&[0xbb; 4])
                .copied()
                .collect::<Vec<u8>>()
        );
        let li = e.line_info[0].records[0];
        assert_eq!((li.insn_off, li.line(), li.column()), (8, 7, 3));
        let cr = e.core_relos[0].records[0];
        assert_eq!(
            (cr.insn_off, cr.type_id, cr.relo_kind()),
            (24, 1, Some(CoreReloKind::FieldByteOffset))
        );
        assert_eq!(b.str_at(cr.access_str_off).unwrap(), "0:1");
    }

    #[test]
    fn a_header_without_core_relos_is_fine() {
        let (b, text, access) = btf();
        let mut data = ext(text, access);
        data[4] = 24; // hdr_len: the core_relo fields are not part of the header any more
        let mut short = data[..24].to_vec();
        short.extend_from_slice(&data[32..]);
        let e = BtfExt::parse(&short, &b).unwrap();
        assert!(e.core_relos.is_empty() && e.core_relo_rec_size == 0);
        assert_eq!(e.line_info.len(), 1);
    }

    #[test]
    fn bad_input_is_named() {
        let (b, text, access) = btf();
        let good = ext(text, access);
        let bad = |patch: &dyn Fn(&mut Vec<u8>), needle: &str| {
            let mut d = good.clone();
            patch(&mut d);
            let e = BtfExt::parse(&d, &b).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
            assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
        };
        bad(&|d| d.truncate(3), "truncated header");
        bad(&|d| d[2] = 9, "version 9");
        bad(&|d| d[32] = 6, "record size 6");
        bad(&|d| d[40] = 0, "has no records");
        bad(&|d| d[40] = 200, "run past the part end");
        bad(&|d| d[36] = 99, "outside the string section");
        bad(&|d| d.truncate(d.len() - 4), "runs past the end");
        bad(&|d| d[8] = 2, "not 4-byte aligned");
    }
}
