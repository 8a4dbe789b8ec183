//! USDT probe descriptions, pure: `.note.stapsdt` notes and their argument specs.
//!
//! A `sys/sdt.h` probe leaves an ELF note (owner `stapsdt`, type 3) holding the probe address, the link-time
//! address of `.stapsdt.base`, the semaphore address, and three strings: provider, name and an argument
//! spec such as `-4@%eax 8@-16(%rbp) 4@$5`. The argument spec is compiled here into the binary record that
//! `usdt.bpf.h` reads from the `__bpf_usdt_specs` map, byte-compatible with libbpf's
//! `struct __bpf_usdt_spec` so that BPF objects written against libbpf's header work unchanged.

use crate::error::{Error, Result};

/// The ELF note owner of USDT probes.
pub const NOTE_OWNER: &str = "stapsdt";
/// The ELF note type of USDT probes.
pub const NOTE_TYPE: u32 = 3;
/// The most arguments a probe may have (`BPF_USDT_MAX_ARG_CNT`).
pub const MAX_ARGS: usize = 12;
/// Size of one argument record in the specs map.
pub const ARG_SPEC_SIZE: usize = 24;
/// Size of one `struct __bpf_usdt_spec` (the value of `__bpf_usdt_specs`).
pub const SPEC_SIZE: usize = 304;

/// One USDT probe as recorded in `.note.stapsdt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtNote {
    /// Provider (the first argument of `DTRACE_PROBE`).
    pub provider: String,
    /// Probe name.
    pub name: String,
    /// The argument spec string, empty when the probe has no arguments.
    pub args: String,
    /// Link-time address of the probe instruction.
    pub loc_addr: u64,
    /// Link-time address of `.stapsdt.base` (for prelink compensation), or 0.
    pub base_addr: u64,
    /// Link-time address of the semaphore, or 0 when the probe has none.
    pub sema_addr: u64,
}

/// Parses every USDT note of a `.note.stapsdt` section's bytes.
///
/// `is_64` selects 8-byte addresses, `little_endian` the byte order. Notes of other owners or types are
/// skipped; a truncated or unterminated note is an error naming its offset.
pub fn parse_notes(data: &[u8], is_64: bool, little_endian: bool) -> Result<Vec<UsdtNote>> {
    let u32_at = |off: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(off..off + 4)?.try_into().ok()?;
        Some(if little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let addr_size = if is_64 { 8 } else { 4 };
    let mut notes = Vec::new();
    let mut off = 0usize;
    while off < data.len() {
        let bad =
            |why: &str| Error::malformed(format!(".note.stapsdt: note at offset {off}: {why}"));
        let (namesz, descsz, ntype) = match (u32_at(off), u32_at(off + 4), u32_at(off + 8)) {
            (Some(a), Some(b), Some(c)) => (a as usize, b as usize, c),
            _ => return Err(bad("truncated note header")),
        };
        let name_off = off + 12;
        let desc_off = name_off
            .checked_add(align4(namesz))
            .ok_or_else(|| bad("name size overflows"))?;
        let next = desc_off
            .checked_add(align4(descsz))
            .ok_or_else(|| bad("descriptor size overflows"))?;
        let name = data
            .get(name_off..name_off + namesz)
            .ok_or_else(|| bad("name runs past the section"))?;
        let desc = data
            .get(desc_off..desc_off + descsz)
            .ok_or_else(|| bad("descriptor runs past the section"))?;
        let owner = name.split(|&b| b == 0).next().unwrap_or_default();
        if owner == NOTE_OWNER.as_bytes() && ntype == NOTE_TYPE {
            notes.push(
                parse_desc(desc, addr_size, little_endian)
                    .map_err(|e| e.context(format!(".note.stapsdt: note at offset {off}")))?,
            );
        }
        off = next;
    }
    Ok(notes)
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn parse_desc(desc: &[u8], addr_size: usize, little_endian: bool) -> Result<UsdtNote> {
    let addr = |i: usize| -> Result<u64> {
        let b = desc
            .get(i * addr_size..(i + 1) * addr_size)
            .ok_or_else(|| Error::malformed("descriptor too short for its three addresses"))?;
        let mut v = 0u64;
        for (k, &byte) in b.iter().enumerate() {
            let shift = if little_endian { k } else { addr_size - 1 - k };
            v |= u64::from(byte) << (8 * shift);
        }
        Ok(v)
    };
    let (loc_addr, base_addr, sema_addr) = (addr(0)?, addr(1)?, addr(2)?);
    let mut strings = desc
        .get(3 * addr_size..)
        .unwrap_or_default()
        .split(|&b| b == 0);
    let mut next_str = |what: &str| -> Result<String> {
        let s = strings
            .next()
            .ok_or_else(|| Error::malformed(format!("missing {what} string")))?;
        String::from_utf8(s.to_vec()).map_err(|_| Error::malformed(format!("{what} is not UTF-8")))
    };
    let provider = next_str("provider")?;
    let name = next_str("name")?;
    if name.is_empty() {
        return Err(Error::malformed("empty probe name"));
    }
    // The args string must exist (may be empty); a leading ':' marks an extended, argument-less format.
    let args = next_str("argument spec")?;
    let args = if args.starts_with(':') {
        String::new()
    } else {
        args
    };
    Ok(UsdtNote {
        provider,
        name,
        args,
        loc_addr,
        base_addr,
        sema_addr,
    })
}

/// The instruction set whose register names an argument spec uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64: `8@%rdi`, `-4@-20(%rbp)`, `4@$5`, `1@-96(%rbp,%rax,8)`.
    X86_64,
    /// arm64: `8@x0`, `-4@[sp, 96]`, `4@5`.
    Aarch64,
}

impl Arch {
    /// The architecture this crate was built for, if its specs are supported.
    pub fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }
}

/// Where an argument's value lives (`enum __bpf_usdt_arg_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum UsdtArgKind {
    /// A constant: the value is `val_off`.
    Const = 0,
    /// A register's value.
    Reg = 1,
    /// Memory at register + `val_off`.
    RegDeref = 2,
    /// Memory at base + index << scale + `val_off` (x86 scale-index-base).
    Sib = 3,
}

/// One compiled argument (`struct __bpf_usdt_arg_spec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdtArgSpec {
    /// Where the value lives.
    pub kind: UsdtArgKind,
    /// The constant, or the memory offset.
    pub val_off: u64,
    /// Offset of the (base) register inside the kernel's `struct pt_regs`.
    pub reg_off: i16,
    /// Offset of the index register inside `struct pt_regs` (SIB only).
    pub idx_reg_off: u16,
    /// log2 of the SIB scale (0..=3).
    pub scale_bitshift: u8,
    /// Whether the value is sign-extended.
    pub signed: bool,
    /// 64 minus the argument's size in bits.
    pub bitshift: u8,
}

/// A compiled probe: its arguments and the user's cookie (`struct __bpf_usdt_spec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtSpec {
    /// The arguments, at most [`MAX_ARGS`].
    pub args: Vec<UsdtArgSpec>,
    /// The cookie `bpf_usdt_cookie()` returns.
    pub cookie: u64,
}

impl UsdtSpec {
    /// Compiles an argument spec string for `arch`.
    pub fn parse(args: &str, arch: Arch, cookie: u64) -> Result<UsdtSpec> {
        let mut out = Vec::new();
        let mut cur = Cursor {
            s: args.as_bytes(),
            pos: 0,
        };
        loop {
            cur.skip_ws();
            if cur.at_end() {
                break;
            }
            if out.len() >= MAX_ARGS {
                return Err(Error::invalid(format!(
                    "USDT argument spec '{args}' has more than {MAX_ARGS} arguments"
                )));
            }
            let start = cur.pos;
            let arg = match arch {
                Arch::X86_64 => parse_x86_arg(&mut cur),
                Arch::Aarch64 => parse_arm64_arg(&mut cur),
            }
            .map_err(|e| {
                e.context(format!(
                    "USDT argument #{} ('{}') of spec '{args}'",
                    out.len(),
                    String::from_utf8_lossy(cur.s.get(start..).unwrap_or_default())
                ))
            })?;
            out.push(arg);
        }
        Ok(UsdtSpec { args: out, cookie })
    }

    /// The record as the BPF side reads it, in host byte order.
    pub fn to_bytes(&self) -> [u8; SPEC_SIZE] {
        let mut b = [0u8; SPEC_SIZE];
        for (i, a) in self.args.iter().take(MAX_ARGS).enumerate() {
            let o = i * ARG_SPEC_SIZE;
            b[o..o + 8].copy_from_slice(&a.val_off.to_ne_bytes());
            // Bit-fields as clang lays them out for the BPF target (little endian): the 8-bit
            // arg_type at byte 8; the u16 unit at byte 10 holds idx_reg_off:12 | scale_bitshift:4;
            // __reserved at byte 12; then reg_off (i16) at 14, arg_signed at 16, arg_bitshift at 17.
            let unit = (a.idx_reg_off & 0xfff) | (u16::from(a.scale_bitshift & 0xf) << 12);
            if cfg!(target_endian = "little") {
                b[o + 8] = a.kind as u8;
                b[o + 10..o + 12].copy_from_slice(&unit.to_le_bytes());
            } else {
                // Big endian declares the fields in reverse: __reserved at byte 8, the u16 unit at
                // byte 10 with idx_reg_off in its high bits, arg_type at byte 12.
                let unit = ((a.idx_reg_off & 0xfff) << 4) | u16::from(a.scale_bitshift & 0xf);
                b[o + 10..o + 12].copy_from_slice(&unit.to_be_bytes());
                b[o + 12] = a.kind as u8;
            }
            b[o + 14..o + 16].copy_from_slice(&a.reg_off.to_ne_bytes());
            b[o + 16] = u8::from(a.signed);
            b[o + 17] = a.bitshift;
        }
        b[288..296].copy_from_slice(&self.cookie.to_ne_bytes());
        b[296..298].copy_from_slice(&(self.args.len() as i16).to_ne_bytes());
        b
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }
    /// Skips whitespace, then consumes `c` if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "expected '{}' at position {}",
                c as char, self.pos
            )))
        }
    }
    /// A decimal integer with optional sign (what sscanf's `%ld` accepts).
    fn int(&mut self) -> Result<i64> {
        self.skip_ws();
        let start = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.s[start..self.pos])
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| Error::invalid(format!("expected a number at position {start}")))
    }
    fn starts_number(&mut self) -> bool {
        self.skip_ws();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => true,
            Some(b'-' | b'+') => self.s.get(self.pos + 1).is_some_and(|c| c.is_ascii_digit()),
            _ => false,
        }
    }
    /// A register name: the bytes up to whitespace or one of `stop`.
    fn word(&mut self, stop: &[u8]) -> Result<&str> {
        self.skip_ws();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !c.is_ascii_whitespace() && !stop.contains(&c))
        {
            self.pos += 1;
        }
        let w = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        if w.is_empty() || w.len() > 15 {
            return Err(Error::invalid(format!(
                "expected a register name at position {start}"
            )));
        }
        Ok(w)
    }
}

/// Sign and size of the value: `-4` is a signed 4-byte value.
fn size_prefix(cur: &mut Cursor<'_>) -> Result<(bool, u8)> {
    let size = cur.int()?;
    cur.expect(b'@')?;
    let bitshift = match size.unsigned_abs() {
        n @ (1 | 2 | 4 | 8) => 64 - 8 * n as u8,
        n => return Err(Error::invalid(format!("unsupported argument size {n}"))),
    };
    Ok((size < 0, bitshift))
}

fn arg(kind: UsdtArgKind, val_off: i64, reg_off: u16, signed: bool, bitshift: u8) -> UsdtArgSpec {
    UsdtArgSpec {
        kind,
        val_off: val_off as u64,
        reg_off: reg_off as i16,
        idx_reg_off: 0,
        scale_bitshift: 0,
        signed,
        bitshift,
    }
}

/// Offset of an x86-64 register (any width alias) in the kernel's `struct pt_regs`.
pub fn x86_64_reg_off(name: &str) -> Result<u16> {
    const REGS: &[(&[&str], u16)] = &[
        (&["rip", "eip"], 128),
        (&["rax", "eax", "ax", "al"], 80),
        (&["rbx", "ebx", "bx", "bl"], 40),
        (&["rcx", "ecx", "cx", "cl"], 88),
        (&["rdx", "edx", "dx", "dl"], 96),
        (&["rsi", "esi", "si", "sil"], 104),
        (&["rdi", "edi", "di", "dil"], 112),
        (&["rbp", "ebp", "bp", "bpl"], 32),
        (&["rsp", "esp", "sp", "spl"], 152),
        (&["r8", "r8d", "r8w", "r8b"], 72),
        (&["r9", "r9d", "r9w", "r9b"], 64),
        (&["r10", "r10d", "r10w", "r10b"], 56),
        (&["r11", "r11d", "r11w", "r11b"], 48),
        (&["r12", "r12d", "r12w", "r12b"], 24),
        (&["r13", "r13d", "r13w", "r13b"], 16),
        (&["r14", "r14d", "r14w", "r14b"], 8),
        (&["r15", "r15d", "r15w", "r15b"], 0),
    ];
    REGS.iter()
        .find(|(names, _)| names.contains(&name))
        .map(|&(_, off)| off)
        .ok_or_else(|| Error::invalid(format!("unrecognized register '{name}'")))
}

/// Offset of an arm64 register (`x0`..`x30`, `sp`) in the kernel's `struct user_pt_regs`.
pub fn arm64_reg_off(name: &str) -> Result<u16> {
    if name == "sp" {
        return Ok(31 * 8);
    }
    match name.strip_prefix('x').and_then(|n| n.parse::<u16>().ok()) {
        Some(n) if n < 31 => Ok(n * 8),
        _ => Err(Error::invalid(format!("unrecognized register '{name}'"))),
    }
}

fn x86_reg(cur: &mut Cursor<'_>) -> Result<u16> {
    cur.expect(b'%')?;
    let name = cur.word(b",)")?;
    x86_64_reg_off(name)
}

fn parse_x86_arg(cur: &mut Cursor<'_>) -> Result<UsdtArgSpec> {
    let (signed, bitshift) = size_prefix(cur)?;
    if cur.eat(b'$') {
        let v = cur.int()?;
        return Ok(arg(UsdtArgKind::Const, v, 0, signed, bitshift));
    }
    cur.skip_ws();
    if cur.peek() == Some(b'%') {
        cur.pos += 1;
        let name = cur.word(b"")?;
        return Ok(arg(
            UsdtArgKind::Reg,
            0,
            x86_64_reg_off(name)?,
            signed,
            bitshift,
        ));
    }
    let off = if cur.starts_number() { cur.int()? } else { 0 };
    cur.expect(b'(')?;
    let base = x86_reg(cur)?;
    if cur.eat(b')') {
        return Ok(arg(UsdtArgKind::RegDeref, off, base, signed, bitshift));
    }
    cur.expect(b',')?;
    let index = x86_reg(cur)?;
    let scale = if cur.eat(b',') { cur.int()? } else { 1 };
    cur.expect(b')')?;
    let scale_bitshift = match scale {
        1 => 0,
        2 => 1,
        4 => 2,
        8 => 3,
        s => {
            return Err(Error::invalid(format!(
                "invalid SIB scale {s}, expected 1, 2, 4 or 8"
            )))
        }
    };
    let mut a = arg(UsdtArgKind::Sib, off, base, signed, bitshift);
    a.idx_reg_off = index;
    a.scale_bitshift = scale_bitshift;
    Ok(a)
}

fn parse_arm64_arg(cur: &mut Cursor<'_>) -> Result<UsdtArgSpec> {
    let (signed, bitshift) = size_prefix(cur)?;
    if cur.eat(b'[') {
        let reg = arm64_reg_off(cur.word(b",]")?)?;
        let off = if cur.eat(b',') { cur.int()? } else { 0 };
        cur.expect(b']')?;
        return Ok(arg(UsdtArgKind::RegDeref, off, reg, signed, bitshift));
    }
    if cur.starts_number() {
        let v = cur.int()?;
        return Ok(arg(UsdtArgKind::Const, v, 0, signed, bitshift));
    }
    let reg = arm64_reg_off(cur.word(b"")?)?;
    Ok(arg(UsdtArgKind::Reg, 0, reg, signed, bitshift))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(provider: &str, name: &str, args: &str, addrs: [u64; 3]) -> Vec<u8> {
        let mut desc = Vec::new();
        for a in addrs {
            desc.extend_from_slice(&a.to_le_bytes());
        }
        for s in [provider, name, args] {
            desc.extend_from_slice(s.as_bytes());
            desc.push(0);
        }
        let mut n = Vec::new();
        n.extend_from_slice(&8u32.to_le_bytes());
        n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        n.extend_from_slice(&3u32.to_le_bytes());
        n.extend_from_slice(b"stapsdt\0");
        n.extend_from_slice(&desc);
        while n.len() % 4 != 0 {
            n.push(0);
        }
        n
    }

    #[test]
    fn parses_notes() {
        let mut sec = note(
            "prov",
            "probe1",
            "-4@%eax 8@-16(%rbp)",
            [0x1139, 0x2004, 0x4010],
        );
        sec.extend(note("prov", "noargs", "", [0x1200, 0x2004, 0]));
        let notes = parse_notes(&sec, true, true).unwrap();
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0].provider, "prov");
        assert_eq!(notes[0].name, "probe1");
        assert_eq!(notes[0].args, "-4@%eax 8@-16(%rbp)");
        assert_eq!(
            (notes[0].loc_addr, notes[0].base_addr, notes[0].sema_addr),
            (0x1139, 0x2004, 0x4010)
        );
        assert_eq!(notes[1].args, "");
    }

    #[test]
    fn truncated_note_is_an_error_not_a_panic() {
        let sec = note("prov", "p", "", [1, 2, 3]);
        for cut in 1..sec.len() {
            let _ = parse_notes(&sec[..cut], true, true);
        }
        let err = parse_notes(&sec[..20], true, true).unwrap_err();
        assert!(err.to_string().contains("offset 0"), "{err}");
    }

    #[test]
    fn x86_specs() {
        let s = UsdtSpec::parse(
            "-4@%eax 8@-16(%rbp) 4@$71 8@(%rsp) 1@-96(%rbp,%rax,8) 2@(%rbx,%rcx)",
            Arch::X86_64,
            7,
        )
        .unwrap();
        let a = &s.args;
        assert_eq!(a.len(), 6);
        assert_eq!(
            (a[0].kind, a[0].reg_off, a[0].signed, a[0].bitshift),
            (UsdtArgKind::Reg, 80, true, 32)
        );
        assert_eq!(
            (a[1].kind, a[1].reg_off, a[1].val_off as i64, a[1].bitshift),
            (UsdtArgKind::RegDeref, 32, -16, 0)
        );
        assert_eq!((a[2].kind, a[2].val_off), (UsdtArgKind::Const, 71));
        assert_eq!(
            (a[3].kind, a[3].reg_off, a[3].val_off),
            (UsdtArgKind::RegDeref, 152, 0)
        );
        assert_eq!(
            (
                a[4].kind,
                a[4].reg_off,
                a[4].idx_reg_off,
                a[4].scale_bitshift,
                a[4].val_off as i64
            ),
            (UsdtArgKind::Sib, 32, 80, 3, -96)
        );
        assert_eq!(
            (
                a[5].kind,
                a[5].reg_off,
                a[5].idx_reg_off,
                a[5].scale_bitshift
            ),
            (UsdtArgKind::Sib, 40, 88, 0)
        );
        assert!(UsdtSpec::parse("4@%xyz", Arch::X86_64, 0).is_err());
        assert!(UsdtSpec::parse("3@%eax", Arch::X86_64, 0).is_err());
        assert!(UsdtSpec::parse("4@(%rax,%rbx,3)", Arch::X86_64, 0).is_err());
        assert!(UsdtSpec::parse("4@-8(%rax", Arch::X86_64, 0).is_err());
    }

    #[test]
    fn arm64_specs() {
        let s = UsdtSpec::parse("-4@[sp, 96] 8@[x1] 4@5 -8@x4", Arch::Aarch64, 0).unwrap();
        let a = &s.args;
        assert_eq!(
            (a[0].kind, a[0].reg_off, a[0].val_off),
            (UsdtArgKind::RegDeref, 248, 96)
        );
        assert_eq!(
            (a[1].kind, a[1].reg_off, a[1].val_off),
            (UsdtArgKind::RegDeref, 8, 0)
        );
        assert_eq!((a[2].kind, a[2].val_off), (UsdtArgKind::Const, 5));
        assert_eq!(
            (a[3].kind, a[3].reg_off, a[3].signed),
            (UsdtArgKind::Reg, 32, true)
        );
        assert!(UsdtSpec::parse("4@x31", Arch::Aarch64, 0).is_err());
    }

    #[test]
    fn too_many_args() {
        let spec = ["4@$1"; 13].join(" ");
        assert!(UsdtSpec::parse(&spec, Arch::X86_64, 0).is_err());
        assert!(UsdtSpec::parse(&["4@$1"; 12].join(" "), Arch::X86_64, 0).is_ok());
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn record_layout_matches_usdt_bpf_h() {
        // Bytes of `struct __bpf_usdt_arg_spec` as clang -target bpf lays it out, with arg_type=SIB,
        // idx_reg_off=0xabc, scale_bitshift=5 (masked to 4 bits), reg_off=0x1234, signed, bitshift 0x38.
        let a = UsdtArgSpec {
            kind: UsdtArgKind::Sib,
            val_off: 0,
            reg_off: 0x1234,
            idx_reg_off: 0xabc,
            scale_bitshift: 5,
            signed: true,
            bitshift: 0x38,
        };
        let b = UsdtSpec {
            args: vec![a],
            cookie: 0x1122,
        }
        .to_bytes();
        assert_eq!(&b[8..18], &[3, 0, 0xbc, 0x5a, 0, 0, 0x34, 0x12, 1, 0x38]);
        assert_eq!(&b[288..290], &[0x22, 0x11]);
        assert_eq!(&b[296..298], &[1, 0]);
    }
}
