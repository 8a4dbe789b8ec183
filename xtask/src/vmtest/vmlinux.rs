//! Pulls the uncompressed ELF `vmlinux` out of a bzImage. QEMU boots that ELF through its PVH entry,
//! which under TCG is seconds faster than letting the kernel decompress itself.
//!
//! The x86 boot header says where the compressed payload is (`payload_offset`/`payload_length`,
//! boot protocol 2.08+); the payload is then handed to the matching host decompressor.

use std::path::Path;
use std::process::Command;

use super::util::{describe, write_atomic, Result};

/// Offsets in the x86 real-mode kernel header (Documentation/arch/x86/boot.rst).
const SETUP_SECTS: usize = 0x1f1;
const HEADER_MAGIC: usize = 0x202;
const PAYLOAD_OFFSET: usize = 0x248;
const PAYLOAD_LENGTH: usize = 0x24c;

/// The compressions Debian has used for x86 kernels.
#[derive(Debug, PartialEq)]
enum Compression {
    Xz,
    Zstd,
    Gzip,
}

fn u32_at(b: &[u8], off: usize) -> Result<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| format!("bzImage is truncated before offset {off:#x}"))
}

/// The compressed payload of a bzImage and its compression.
fn payload(bz: &[u8]) -> Result<(&[u8], Compression)> {
    if bz.get(HEADER_MAGIC..HEADER_MAGIC + 4) != Some(b"HdrS") {
        return Err("not a bzImage: no 'HdrS' boot header magic at 0x202".into());
    }
    let sects = match bz.get(SETUP_SECTS).copied().unwrap_or(0) {
        0 => 4,
        n => n as usize,
    };
    let start = (sects + 1) * 512 + u32_at(bz, PAYLOAD_OFFSET)? as usize;
    let len = u32_at(bz, PAYLOAD_LENGTH)? as usize;
    let data = bz
        .get(start..start + len)
        .ok_or_else(|| format!("bzImage payload {start:#x}+{len:#x} lies outside the file"))?;
    let kind = if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Compression::Xz
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if data.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else {
        return Err(format!(
            "bzImage payload has an unsupported compression (magic {:02x?})",
            &data[..data.len().min(6)]
        ));
    };
    Ok((data, kind))
}

/// Decompresses the bzImage at `bzimage` into the ELF file `out`, using `scratch` for the payload.
pub fn extract(bzimage: &Path, out: &Path, scratch: &Path) -> Result<()> {
    let bz = super::util::read(bzimage)?;
    let (data, kind) = payload(&bz)?;
    // The kernel build appends the decompressed size (4 bytes) to the stream; zstd and gzip would
    // take it for the start of another frame.
    let data = match kind {
        Compression::Xz => data,
        _ => &data[..data.len().saturating_sub(4)],
    };
    let packed = scratch.join("vmlinux.payload");
    write_atomic(&packed, data)?;
    let mut cmd = match kind {
        Compression::Xz => {
            let mut c = Command::new("xz");
            c.args(["-dc", "--single-stream"]);
            c
        }
        Compression::Zstd => {
            let mut c = Command::new("zstd");
            c.args(["-dcq"]);
            c
        }
        Compression::Gzip => {
            let mut c = Command::new("gzip");
            c.args(["-dcq"]);
            c
        }
    };
    cmd.arg(&packed);
    let res = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", describe(&cmd)))?;
    let _ = std::fs::remove_file(&packed);
    let elf = res.stdout;
    // gzip warns about the trailing size word with exit status 2; what counts is a whole ELF.
    check_elf(&elf).map_err(|e| {
        format!(
            "{} gave no kernel ELF ({e}; {}): {}",
            describe(&cmd),
            res.status,
            String::from_utf8_lossy(&res.stderr).trim()
        )
    })?;
    write_atomic(out, &elf)
}

/// A 64-bit little-endian ELF whose section header table lies inside the data (so it is complete).
fn check_elf(b: &[u8]) -> Result<()> {
    if !b.starts_with(b"\x7fELF\x02\x01") {
        return Err("no ELF64 LE magic".into());
    }
    let shoff = b
        .get(0x28..0x30)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap_or_default()))
        .unwrap_or(u64::MAX);
    let entsize = b.get(0x3a..0x3c).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let num = b.get(0x3c..0x3e).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let end = match (entsize, num) {
        (Some(e), Some(n)) => shoff.saturating_add(u64::from(e) * u64::from(n)),
        _ => u64::MAX,
    };
    if end > b.len() as u64 {
        return Err(format!(
            "truncated: section headers end at {end:#x}, data is {:#x} bytes",
            b.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bzimage(payload_bytes: &[u8]) -> Vec<u8> {
        let mut bz = vec![0u8; 5 * 512];
        bz[SETUP_SECTS] = 4;
        bz[HEADER_MAGIC..HEADER_MAGIC + 4].copy_from_slice(b"HdrS");
        bz[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4].copy_from_slice(&16u32.to_le_bytes());
        bz[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4]
            .copy_from_slice(&(payload_bytes.len() as u32).to_le_bytes());
        bz.extend_from_slice(&[0; 16]);
        bz.extend_from_slice(payload_bytes);
        bz
    }

    #[test]
    fn finds_the_payload_from_the_boot_header() {
        let bz = fake_bzimage(&[0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
        let (data, kind) = payload(&bz).unwrap();
        assert_eq!(kind, Compression::Zstd);
        assert_eq!(data.len(), 7);
    }

    #[test]
    fn rejects_what_is_not_a_bzimage() {
        assert!(payload(&[0; 100]).unwrap_err().contains("HdrS"));
        let mut bz = fake_bzimage(&[1, 2, 3, 4]);
        assert!(payload(&bz)
            .unwrap_err()
            .contains("unsupported compression"));
        bz.truncate(5 * 512 + 2);
        assert!(payload(&bz).unwrap_err().contains("outside the file"));
        assert!(check_elf(b"\x7fELF\x02\x01").is_err());
    }
}
