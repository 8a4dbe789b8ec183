//! Raw BTF bytes → [`Btf`]: header, type section and string section, in either byte order, standalone
//! or split on a base.
//!
//! Every rule the bytes can break is checked here, so the rest of the module can trust a parsed `Btf`:
//! sections inside the data, known kinds, reserved bits clear, name offsets inside the string section
//! and referenced type ids inside the type table.

use std::sync::Arc;

use super::store::{encoded_words, layout, TypeStore};
use super::types::*;
use super::{Btf, Endian};
use crate::error::{Error, Result};

/// The BTF magic number.
pub const BTF_MAGIC: u16 = 0xeb9f;
/// The only BTF version there is.
pub const BTF_VERSION: u8 = 1;
/// Size of `struct btf_header`.
pub const BTF_HEADER_LEN: u32 = 24;
/// The largest type id the kernel accepts (`BTF_MAX_TYPE`).
pub const BTF_MAX_TYPE: u32 = 0x000f_ffff;
/// The largest string offset the kernel accepts (`BTF_MAX_NAME_OFFSET`).
pub const BTF_MAX_NAME_OFFSET: u32 = 0x00ff_ffff;

/// Bounds-checked reads of 16/32-bit words in a fixed byte order.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub data: &'a [u8],
    pub endian: Endian,
}

impl<'a> Reader<'a> {
    #[inline]
    pub fn u32(&self, off: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(match self.endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        })
    }
}

/// Which byte order `magic` (the first two bytes) says the data is in.
pub(crate) fn detect_endian(data: &[u8], what: &str) -> Result<Endian> {
    match data.get(0..2) {
        Some(m) if u16::from_le_bytes([m[0], m[1]]) == BTF_MAGIC => Ok(Endian::Little),
        Some(m) if u16::from_be_bytes([m[0], m[1]]) == BTF_MAGIC => Ok(Endian::Big),
        Some(m) => Err(Error::malformed(format!(
            "{what}: bad magic {:#04x}{:02x} at offset 0 (expected 0xeb9f)",
            m[0], m[1]
        ))),
        None => Err(Error::malformed(format!(
            "{what}: {} bytes, too short for a header",
            data.len()
        ))),
    }
}

impl Btf {
    /// Parses standalone BTF (a `.BTF` section or `/sys/kernel/btf/vmlinux`).
    pub fn parse(data: &[u8]) -> Result<Btf> {
        let (parts, range) = parse_impl(data, data.len(), None)?;
        parts.finish(data[range].to_vec())
    }

    /// How many leading bytes of a BTF blob hold its header and type section, from its first 24
    /// bytes: what [`Btf::parse_in_parts`] needs as `head`.
    pub fn head_len(header: &[u8]) -> Result<usize> {
        let endian = detect_endian(header, "BTF")?;
        let r = Reader {
            data: header,
            endian,
        };
        let (hdr_len, type_off, type_len) = match (r.u32(4), r.u32(8), r.u32(12)) {
            (Some(a), Some(b), Some(c)) => (a as u64, b as u64, c as u64),
            _ => return Err(Error::malformed("BTF: truncated header")),
        };
        Ok(
            (hdr_len.max(BTF_HEADER_LEN as u64) + type_off + type_len).min(usize::MAX as u64)
                as usize,
        )
    }

    /// Parses a blob of `total_len` bytes in two steps, for the lowest peak memory on large files:
    /// `head` (the first [`Btf::head_len`] bytes: header and types) is decoded and dropped, then
    /// `strings` is called with the byte range of the string section and must return those bytes.
    pub fn parse_in_parts(
        head: Vec<u8>,
        total_len: usize,
        base: Option<Arc<Btf>>,
        strings: impl FnOnce(std::ops::Range<usize>) -> Result<Vec<u8>>,
    ) -> Result<Btf> {
        let (parts, range) = parse_impl(&head, total_len, base)?;
        drop(head);
        let want = range.len();
        let bytes = strings(range)?;
        if bytes.len() != want {
            return Err(Error::malformed(format!(
                "BTF: string section is {} bytes, expected {want}",
                bytes.len()
            )));
        }
        parts.finish(bytes)
    }

    /// Like [`Btf::parse`], taking ownership of the bytes: the string section is kept in place
    /// (moved to the front of the buffer, the rest released) instead of copied, which lowers the
    /// peak memory of parsing a large file such as vmlinux.
    pub fn parse_owned(data: Vec<u8>, base: Option<Arc<Btf>>) -> Result<Btf> {
        let (parts, range) = parse_impl(&data, data.len(), base)?;
        let mut data = data;
        let len = range.len();
        data.copy_within(range, 0);
        data.truncate(len);
        data.shrink_to_fit();
        parts.finish(data)
    }

    /// Parses split BTF (e.g. `/sys/kernel/btf/<module>`) on top of `base`: type ids and string
    /// offsets continue from the base's.
    pub fn parse_split(data: &[u8], base: Arc<Btf>) -> Result<Btf> {
        let (parts, range) = parse_impl(data, data.len(), Some(base))?;
        parts.finish(data[range].to_vec())
    }
}

/// Everything parsed but the string section, which the caller supplies (copied or moved).
struct Parts {
    base: Option<Arc<Btf>>,
    types: TypeStore,
    endian: Endian,
    hdr_extra: Vec<u8>,
    start_id: TypeId,
    start_str_off: u32,
}

impl Parts {
    fn finish(self, strings: Vec<u8>) -> Result<Btf> {
        check_strings(&strings, self.base.is_some())?;
        let btf = Btf::from_parts(
            self.base,
            self.types,
            strings,
            self.endian,
            self.hdr_extra,
            self.start_id,
            self.start_str_off,
        );
        btf.validate_refs()?;
        Ok(btf)
    }
}

/// The rules of a string section: NUL-terminated, not too large, and (unless split) starting with
/// the empty string.
fn check_strings(strings: &[u8], is_split: bool) -> Result<()> {
    if is_split && strings.is_empty() {
        return Ok(());
    }
    if strings.last() != Some(&0) {
        return Err(Error::malformed(
            "BTF: string section empty or not NUL-terminated",
        ));
    }
    if strings.len() - 1 > BTF_MAX_NAME_OFFSET as usize {
        return Err(Error::malformed(format!(
            "BTF: string section of {} bytes is too large",
            strings.len()
        )));
    }
    if !is_split && strings.first() != Some(&0) {
        return Err(Error::malformed(
            "BTF: string section does not start with an empty string (split BTF without its base?)",
        ));
    }
    Ok(())
}

/// Parses the header and the type section of a `total_len`-byte blob whose first bytes are `data`
/// (all of it, or at least the header and the types); returns the rest and the string section's range.
fn parse_impl(
    data: &[u8],
    total_len: usize,
    base: Option<Arc<Btf>>,
) -> Result<(Parts, std::ops::Range<usize>)> {
    let endian = detect_endian(data, "BTF")?;
    let r = Reader { data, endian };
    if data.len() < BTF_HEADER_LEN as usize {
        return Err(Error::malformed(format!(
            "BTF: {} bytes, too short for the 24-byte header",
            data.len()
        )));
    }
    let version = data[2];
    if version != BTF_VERSION {
        return Err(Error::malformed(format!(
            "BTF: unsupported version {version} at offset 2"
        )));
    }
    let flags = data[3];
    if flags != 0 {
        return Err(Error::malformed(format!(
            "BTF: unsupported flags {flags:#x} at offset 3"
        )));
    }
    let word = |off: usize| r.u32(off).unwrap_or(0);
    let (hdr_len, type_off, type_len, str_off, str_len) =
        (word(4), word(8), word(12), word(16), word(20));
    if hdr_len < BTF_HEADER_LEN || hdr_len as usize > data.len() || data.len() > total_len {
        return Err(Error::malformed(format!(
            "BTF: header length {hdr_len} at offset 4 outside 24..={}",
            data.len()
        )));
    }
    let hdr_extra = data[BTF_HEADER_LEN as usize..hdr_len as usize].to_vec();
    let meta_len = (total_len - hdr_len as usize) as u64;
    if str_off as u64 + str_len as u64 > meta_len {
        return Err(Error::malformed(format!(
            "BTF: string section {str_off}+{str_len} runs past the data end ({meta_len} bytes after the header)"
        )));
    }
    if type_off as u64 + type_len as u64 > str_off as u64 {
        return Err(Error::malformed(format!(
            "BTF: type section {type_off}+{type_len} overlaps the string section at {str_off}"
        )));
    }
    if type_off % 4 != 0 {
        return Err(Error::malformed(format!(
            "BTF: type section offset {type_off} not 4-byte aligned"
        )));
    }
    let types_start = hdr_len as usize + type_off as usize;
    let types_end = types_start + type_len as usize;
    let Some(type_bytes) = data.get(types_start..types_end) else {
        return Err(Error::malformed(format!(
            "BTF: type section {types_start}..{types_end} not in the {} bytes given",
            data.len()
        )));
    };
    let (start_id, start_str_off) = match &base {
        Some(b) => (b.len() as u32, b.strings_end()),
        None => (1, 0),
    };
    let types = parse_types(
        type_bytes,
        endian,
        start_id,
        hdr_len as usize + type_off as usize,
    )?;

    let str_start = hdr_len as usize + str_off as usize;
    let parts = Parts {
        base,
        types,
        endian,
        hdr_extra,
        start_id,
        start_str_off,
    };
    Ok((parts, str_start..str_start + str_len as usize))
}

/// The type section's bytes as words in native byte order (a trailing partial word is dropped; the
/// walk over the types reports it).
fn to_words(bytes: &[u8], endian: Endian) -> Vec<u32> {
    let chunks = bytes.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]);
    match endian {
        Endian::Little => chunks.map(u32::from_le_bytes).collect(),
        Endian::Big => chunks.map(u32::from_be_bytes).collect(),
    }
}

/// Validates every type of the section and records where each starts.
fn parse_types(
    bytes: &[u8],
    endian: Endian,
    start_id: TypeId,
    file_off: usize,
) -> Result<TypeStore> {
    let words = to_words(bytes, endian);
    let mut offs = Vec::with_capacity(count_types(&words));
    let mut off = 0usize;
    while off * 4 < bytes.len() {
        let id = start_id as u64 + offs.len() as u64;
        if id > BTF_MAX_TYPE as u64 {
            return Err(Error::malformed(format!(
                "BTF: more than {BTF_MAX_TYPE} types"
            )));
        }
        let len = check_one(&words, off)
            .map_err(|e| e.context(format!("BTF type [{id}] at offset {}", file_off + off * 4)))?;
        offs.push(off as u32);
        off += len;
    }
    Ok(TypeStore::from_parts(words, offs))
}

/// The number of types in the section, from a quick walk over the type headers (exact for well-formed
/// data; only a capacity hint otherwise). Allocating the table once keeps the peak memory down.
fn count_types(words: &[u32]) -> usize {
    let (mut off, mut n) = (0usize, 0usize);
    while let Some(&info) = words.get(off + 1) {
        off += encoded_words(info);
        n += 1;
    }
    n
}

fn trunc(what: &str) -> Error {
    Error::malformed(format!("truncated {what}"))
}

/// Checks the rules of the type at word `off` (header bits, the kind's fixed data, its list fitting
/// in the section); returns its length in words.
fn check_one(w: &[u32], off: usize) -> Result<usize> {
    let Some(&[_name_off, info, size_type]) = w.get(off..off + 3) else {
        return Err(trunc("type header"));
    };
    if info & 0x60ff_0000 != 0 {
        return Err(Error::malformed(format!(
            "reserved bits set in info {info:#010x}"
        )));
    }
    let vlen = info & 0xffff;
    let kind_flag = info >> 31 != 0;
    let kind_n = (info >> 24) & 0x1f;
    let kind =
        Kind::from_u32(kind_n).ok_or_else(|| Error::malformed(format!("unknown kind {kind_n}")))?;
    use Kind as K;
    if kind_flag
        && !matches!(
            kind,
            K::Struct | K::Union | K::Enum | K::Enum64 | K::Fwd | K::DeclTag | K::TypeTag
        )
    {
        return Err(Error::malformed(format!("{kind} with kind_flag set")));
    }
    if vlen != 0
        && !matches!(
            kind,
            K::Struct | K::Union | K::Enum | K::Enum64 | K::FuncProto | K::Datasec | K::Func
        )
    {
        return Err(Error::malformed(format!(
            "{kind} with vlen {vlen} (must be 0)"
        )));
    }
    if size_type != 0 && matches!(kind, K::Array | K::Fwd) {
        return Err(Error::malformed(format!(
            "{kind} with size/type field {size_type} (must be 0)"
        )));
    }
    let len = encoded_words(info);
    let Some(data) = w.get(off + 3..off + len) else {
        return Err(trunc(match kind {
            K::Struct | K::Union => "member list",
            K::Enum => "enum values",
            K::Enum64 => "enum64 values",
            K::FuncProto => "params",
            K::Datasec => "DATASEC entries",
            K::Int => "INT data",
            K::Array => "ARRAY data",
            K::Var => "VAR data",
            _ => "DECL_TAG data",
        }));
    };
    let first = data.first().copied().unwrap_or(0);
    match kind {
        K::Void => return Err(Error::malformed("kind 0 (void) in the type section")),
        K::Int if first & 0xf000_ff00 != 0 => {
            return Err(Error::malformed(format!(
                "INT data {first:#010x} has reserved bits set"
            )))
        }
        K::Func if Linkage::from_u32(vlen).is_none() => {
            return Err(Error::malformed(format!(
                "FUNC with unknown linkage {vlen}"
            )))
        }
        K::Var if Linkage::from_u32(first).is_none() => {
            return Err(Error::malformed(format!(
                "VAR with unknown linkage {first}"
            )))
        }
        _ => {}
    }
    Ok(len)
}

impl Btf {
    /// Checks that every name offset is inside the string section and every referenced type id
    /// exists, straight on the encoded words (the layouts were checked by [`check_one`]).
    pub(crate) fn validate_refs(&self) -> Result<()> {
        let n = self.len() as u64;
        let strs_end = (self.strings_end() as u64).max(1);
        let (words, offs) = self.types.raw();
        let w = |i: usize| words.get(i).copied().unwrap_or(0);
        for (i, &off) in offs.iter().enumerate() {
            let off = off as usize;
            let info = w(off + 1);
            let kind_n = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let fail = |msg: String| -> Error {
                let kind = Kind::from_u32(kind_n).unwrap_or(Kind::Void);
                Error::malformed(format!(
                    "BTF type [{}] {kind}: {msg}",
                    self.start_id as usize + i
                ))
            };
            let id = |what: &str, t: u32| -> Result<()> {
                if t as u64 >= n {
                    return Err(fail(format!(
                        "{what} references type id {t}, past the last id {}",
                        n - 1
                    )));
                }
                Ok(())
            };
            let name = |what: &str, o: u32| -> Result<()> {
                if o as u64 >= strs_end && o != 0 {
                    return Err(fail(format!(
                        "{what} name offset {o} outside the string section ({} bytes)",
                        self.strings_end()
                    )));
                }
                Ok(())
            };
            name("type", w(off))?;
            let size_type = w(off + 2);
            let (fixed, stride) = layout(kind_n);
            let list = off + 3 + fixed;
            let entries = (0..vlen).map(|e| list + e * stride);
            match kind_n {
                // PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, VAR, DECL_TAG, TYPE_TAG
                2 | 8..=12 | 14 | 17 | 18 => id("target", size_type)?,
                3 => {
                    id("element", w(off + 3))?;
                    id("index", w(off + 4))?;
                }
                4 | 5 => {
                    for e in entries {
                        name("member", w(e))?;
                        id("member", w(e + 1))?;
                    }
                }
                6 | 19 => {
                    for e in entries {
                        name("enumerator", w(e))?;
                    }
                }
                13 => {
                    id("return", size_type)?;
                    for e in entries {
                        name("parameter", w(e))?;
                        id("parameter", w(e + 1))?;
                    }
                }
                15 => {
                    for e in entries {
                        id("section variable", w(e))?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn vmlinux() -> Option<Vec<u8>> {
        std::fs::read("/sys/kernel/btf/vmlinux").ok()
    }

    #[test]
    fn vmlinux_parses_indexes_and_round_trips() {
        let Some(bytes) = vmlinux() else {
            println!("SKIP: no /sys/kernel/btf/vmlinux");
            return;
        };
        // Medians of a few runs: the machine is shared, the first run also pays for page faults.
        let (mut parse, mut total) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            let t = std::time::Instant::now();
            let btf = Btf::parse(&bytes).unwrap();
            parse.push(t.elapsed());
            btf.build_index();
            total.push(t.elapsed());
        }
        parse.sort();
        total.sort();
        let (parse_med, total_med) = (parse[parse.len() / 2], total[total.len() / 2]);
        let btf = Btf::parse(&bytes).unwrap();
        println!(
            "vmlinux: {} types, parse {parse_med:?}, parse+index {total_med:?} (medians of 7; size_of Type {}, heap {} KiB)",
            btf.len(),
            std::mem::size_of::<Type<'_>>(),
            btf.heap_bytes() / 1024
        );
        let ts = btf.find_by_name_kind("task_struct", Kind::Struct).unwrap();
        assert!(btf.resolve_size(ts).unwrap() > 1000);
        assert_eq!(btf.pointer_size(), 8);
        assert!(btf.find_member(ts, "pid").unwrap().is_some());
        for (id, ty) in btf.types().take(5000) {
            if ty.name_off != 0 {
                let name = btf.type_name(ty).unwrap();
                assert!(btf.ids_by_name(name).contains(&id), "{name}");
            }
        }
        assert_eq!(btf.to_bytes(), bytes);
    }

    #[test]
    fn module_btf_parses_split() {
        let Some(bytes) = vmlinux() else {
            println!("SKIP: no /sys/kernel/btf/vmlinux");
            return;
        };
        let base = std::sync::Arc::new(Btf::parse(&bytes).unwrap());
        let Ok(dir) = std::fs::read_dir("/sys/kernel/btf") else {
            return;
        };
        let mut n = 0;
        for e in dir.flatten() {
            if e.file_name() == "vmlinux" {
                continue;
            }
            let data = std::fs::read(e.path()).unwrap();
            let m = Btf::parse_split(&data, base.clone()).unwrap();
            assert_eq!(m.first_id() as usize, base.len());
            assert_eq!(m.to_bytes(), data);
            for (_, t) in m.types() {
                m.type_name(t).unwrap();
            }
            n += 1;
            if n >= 5 {
                break;
            }
        }
        if n == 0 {
            println!("SKIP: no module BTF on this host");
        }
    }

    fn header(type_len: u32, str_len: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        v.extend_from_slice(&[1, 0]);
        for w in [24, 0, type_len, type_len, str_len] {
            v.extend_from_slice(&u32::to_le_bytes(w));
        }
        v
    }

    fn with_type(words: &[u32], strings: &[u8]) -> Vec<u8> {
        let mut v = header(words.len() as u32 * 4, strings.len() as u32);
        for w in words {
            v.extend_from_slice(&w.to_le_bytes());
        }
        v.extend_from_slice(strings);
        v
    }

    fn malformed(data: &[u8], needle: &str) {
        let e = Btf::parse(data).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
        assert!(e.to_string().contains(needle), "{e:?} lacks {needle:?}");
    }

    #[test]
    fn bad_input_is_named() {
        malformed(&[], "too short");
        malformed(&[0x9f, 0xeb, 1], "too short");
        malformed(&[0, 0, 0, 0], "bad magic");
        let mut v = with_type(&[], b"\0");
        v[2] = 2;
        malformed(&v, "version 2");
        let mut v = with_type(&[], b"\0");
        v[4] = 100;
        malformed(&v, "header length 100");
        malformed(
            &with_type(&[], b"a\0"),
            "does not start with an empty string",
        );
        malformed(&with_type(&[], b"\0a"), "not NUL-terminated");
        // INT "int" with an unknown kind 25.
        malformed(
            &with_type(&[1, 25 << 24, 4, 32], b"\0int\0"),
            "unknown kind 25",
        );
        malformed(&with_type(&[1, 1 << 24, 4], b"\0int\0"), "truncated INT");
        malformed(
            &with_type(&[9, 1 << 24, 4, 32], b"\0int\0"),
            "name offset 9 outside",
        );
        malformed(&with_type(&[0, 2 << 24, 7], b"\0"), "references type id 7");
        malformed(
            &with_type(&[0, (4 << 24) | 2, 4, 0, 0, 0], b"\0"),
            "truncated member list",
        );
        malformed(&with_type(&[0, (2 << 24) | 1, 0], b"\0"), "vlen 1");
        malformed(&with_type(&[0, 1 << 31 | 2 << 24, 0], b"\0"), "kind_flag");
        malformed(
            &with_type(&[0, 1 << 16 | 2 << 24, 0], b"\0"),
            "reserved bits",
        );
        malformed(
            &with_type(&[1, (12 << 24) | 3, 0], b"\0f\0"),
            "unknown linkage 3",
        );
        let mut v = with_type(&[], b"\0");
        v[12] = 4; // type_len 4 now overlaps the strings at offset 0
        malformed(&v, "overlaps");
    }

    #[test]
    fn parse_in_parts_and_owned_match_parse() {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, crate::btf::INT_SIGNED).unwrap();
        b.add_struct("s", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]);
        let bytes = b.to_bytes();
        let head_len = Btf::head_len(&bytes[..24]).unwrap();
        let whole = Btf::parse(&bytes).unwrap();
        let parts = Btf::parse_in_parts(bytes[..head_len].to_vec(), bytes.len(), None, |r| {
            Ok(bytes[r].to_vec())
        })
        .unwrap();
        assert_eq!(parts.to_bytes(), bytes);
        assert_eq!(
            Btf::parse_owned(bytes.clone(), None).unwrap().to_bytes(),
            bytes
        );
        assert_eq!(parts.len(), whole.len());
        // Strings of the wrong length, or a head without the types, are malformed.
        let short = Btf::parse_in_parts(bytes[..head_len].to_vec(), bytes.len(), None, |_| {
            Ok(vec![0])
        });
        assert!(short
            .unwrap_err()
            .to_string()
            .contains("string section is 1 bytes"));
        let e = Btf::parse_in_parts(bytes[..head_len - 4].to_vec(), bytes.len(), None, |_| {
            Ok(vec![])
        });
        assert!(e.unwrap_err().to_string().contains("not in the"));
    }

    #[test]
    fn type_loops_are_errors() {
        // [1] typedef a -> [2] const -> [1]
        let btf = Btf::parse(&with_type(&[1, 8 << 24, 2, 0, 10 << 24, 1], b"\0a\0")).unwrap();
        let e = btf.resolve_size(1).unwrap_err();
        assert!(e.to_string().contains("loop"), "{e}");
        assert!(btf.skip_mods_and_typedefs(1).is_err());
        assert!(btf.align_of(1).is_err());
        assert!(btf.resolve_type(2).is_err());
    }
}
