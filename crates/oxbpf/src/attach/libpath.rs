//! Finding shared libraries, pure: the `ld.so.cache` format and `/proc/PID/maps` lines.
//!
//! `uprobe/libc.so.6:malloc` names a library, not a path. The uprobe attacher looks it up first among the
//! files a target process has mapped (when a PID is given), then in the dynamic linker's cache, then in
//! the usual directories. The callers read the files; this module only parses their bytes.

use crate::error::{Error, Result};

const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
const NEW_HEADER: usize = 48;
const NEW_ENTRY: usize = 24;

/// `FLAG_ELF_LIBC6 | FLAG_X8664_LIB64`.
pub const LDCACHE_X86_64: i32 = 0x0303;
/// `FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64`.
pub const LDCACHE_AARCH64: i32 = 0x0a03;

/// The `ld.so.cache` flags of libraries for this build's architecture, if known.
pub fn host_ldcache_flags() -> Option<i32> {
    if cfg!(target_arch = "x86_64") {
        Some(LDCACHE_X86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(LDCACHE_AARCH64)
    } else {
        None
    }
}

/// One library of the cache: its soname key, flags and full path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdCacheEntry {
    /// The file name (`libc.so.6`).
    pub name: String,
    /// The entry's flags (ABI and architecture).
    pub flags: i32,
    /// Its path (`/lib/x86_64-linux-gnu/libc.so.6`).
    pub path: String,
}

/// Parses the new-format (glibc ≥ 2.32, `glibc-ld.so.cache1.1`) part of an `ld.so.cache`.
///
/// A cache that starts with the old `ld.so-1.7.0` table has the new table after it; it is found by its
/// magic. String offsets are relative to the start of the new table.
pub fn parse_ld_so_cache(data: &[u8]) -> Result<Vec<LdCacheEntry>> {
    let base = if data.starts_with(NEW_MAGIC) {
        0
    } else if data.starts_with(OLD_MAGIC) {
        data.windows(NEW_MAGIC.len())
            .position(|w| w == NEW_MAGIC)
            .ok_or_else(|| {
                Error::malformed("ld.so.cache: old format without a glibc-ld.so.cache1.1 table")
            })?
    } else {
        return Err(Error::malformed("ld.so.cache: unknown magic"));
    };
    let table = &data[base..];
    let u32_at = |off: usize| -> Result<u32> {
        table
            .get(off..off + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
            .ok_or_else(|| {
                Error::malformed(format!("ld.so.cache: truncated at offset {}", base + off))
            })
    };
    let nlibs = u32_at(20)? as usize;
    let mut out = Vec::with_capacity(nlibs.min(4096));
    for i in 0..nlibs {
        let e = NEW_HEADER + i * NEW_ENTRY;
        let flags = u32_at(e)? as i32;
        let (key, value) = (u32_at(e + 4)? as usize, u32_at(e + 8)? as usize);
        let string = |off: usize| -> Result<String> {
            let s = table
                .get(off..)
                .and_then(|s| s.split(|&b| b == 0).next())
                .ok_or_else(|| {
                    Error::malformed(format!(
                        "ld.so.cache: entry {i}: string offset {off} out of range"
                    ))
                })?;
            Ok(String::from_utf8_lossy(s).into_owned())
        };
        out.push(LdCacheEntry {
            name: string(key)?,
            flags,
            path: string(value)?,
        });
    }
    Ok(out)
}

/// Finds `lib` in parsed cache entries: an exact name, or a name starting with `lib` + `.so` when `lib`
/// has no `.so` (`libc` → `libc.so.6`). `flags`, when given, must match the entry's.
pub fn ld_cache_lookup<'e>(
    entries: &'e [LdCacheEntry],
    lib: &str,
    flags: Option<i32>,
) -> Option<&'e str> {
    let matches = |e: &&LdCacheEntry| {
        flags.is_none_or(|f| e.flags == f)
            && (e.name == lib || (!lib.contains(".so") && e.name.starts_with(&format!("{lib}.so"))))
    };
    entries.iter().find(matches).map(|e| e.path.as_str())
}

/// One line of `/proc/PID/maps` that maps a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsEntry {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Permissions, e.g. `r-xp`.
    pub perms: String,
    /// File offset of `start`.
    pub offset: u64,
    /// The mapped file's path.
    pub path: String,
}

/// Parses the file-backed lines of `/proc/PID/maps`; anonymous and malformed lines are skipped.
pub fn parse_proc_maps(text: &str) -> Vec<MapsEntry> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let range = f.next()?;
            let perms = f.next()?;
            let offset = u64::from_str_radix(f.next()?, 16).ok()?;
            let _dev = f.next()?;
            let _inode = f.next()?;
            let path = f.collect::<Vec<_>>().join(" ");
            if !path.starts_with('/') {
                return None;
            }
            let (s, e) = range.split_once('-')?;
            Some(MapsEntry {
                start: u64::from_str_radix(s, 16).ok()?,
                end: u64::from_str_radix(e, 16).ok()?,
                perms: perms.to_string(),
                offset,
                path,
            })
        })
        .collect()
}

/// The path of the first mapped file whose name is `lib` or starts with `lib.so` / `lib-` (versioned names).
pub fn maps_lookup<'m>(entries: &'m [MapsEntry], lib: &str) -> Option<&'m str> {
    entries
        .iter()
        .find(|e| {
            let file = e.path.rsplit('/').next().unwrap_or("");
            file == lib
                || (!lib.contains(".so")
                    && (file.starts_with(&format!("{lib}.so"))
                        || file.starts_with(&format!("{lib}-"))))
                || (lib.contains(".so") && file.starts_with(lib))
        })
        .map(|e| e.path.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, &str, &str)]) -> Vec<u8> {
        let mut strings = Vec::new();
        let str_base = NEW_HEADER + entries.len() * NEW_ENTRY;
        let mut body = Vec::new();
        for (flags, name, path) in entries {
            let k = str_base + strings.len();
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
            let v = str_base + strings.len();
            strings.extend_from_slice(path.as_bytes());
            strings.push(0);
            body.extend_from_slice(&flags.to_ne_bytes());
            body.extend_from_slice(&(k as u32).to_ne_bytes());
            body.extend_from_slice(&(v as u32).to_ne_bytes());
            body.extend_from_slice(&[0u8; 12]);
        }
        let mut d = NEW_MAGIC.to_vec();
        d.extend_from_slice(&(entries.len() as u32).to_ne_bytes());
        d.extend_from_slice(&(strings.len() as u32).to_ne_bytes());
        d.resize(NEW_HEADER, 0);
        d.extend(body);
        d.extend(strings);
        d
    }

    #[test]
    fn ld_cache_roundtrip() {
        let d = cache(&[
            (0x0303, "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
            (0x0a03, "libm.so.6", "/lib/aarch64/libm.so.6"),
        ]);
        let e = parse_ld_so_cache(&d).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            ld_cache_lookup(&e, "libc.so.6", Some(LDCACHE_X86_64)),
            Some("/lib/x86_64-linux-gnu/libc.so.6")
        );
        assert_eq!(
            ld_cache_lookup(&e, "libc", None),
            Some("/lib/x86_64-linux-gnu/libc.so.6")
        );
        assert_eq!(ld_cache_lookup(&e, "libm.so.6", Some(LDCACHE_X86_64)), None);
        for cut in 0..d.len() {
            let _ = parse_ld_so_cache(&d[..cut]);
        }
    }

    #[test]
    fn real_ld_cache_has_libc() {
        let Ok(d) = std::fs::read("/etc/ld.so.cache") else {
            return;
        };
        let e = parse_ld_so_cache(&d).unwrap();
        assert!(ld_cache_lookup(&e, "libc.so.6", host_ldcache_flags()).is_some());
    }

    #[test]
    fn maps_lines() {
        let text = "55d0c8a00000-55d0c8a02000 r--p 00000000 08:01 1234 /usr/bin/cat\n\
                    7f1c2a428000-7f1c2a5bd000 r-xp 00028000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6\n\
                    7ffd1a2f0000-7ffd1a311000 rw-p 00000000 00:00 0 [stack]\n";
        let m = parse_proc_maps(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].offset, 0x28000);
        assert_eq!(
            maps_lookup(&m, "libc"),
            Some("/usr/lib/x86_64-linux-gnu/libc.so.6")
        );
        assert_eq!(
            maps_lookup(&m, "libc.so.6"),
            Some("/usr/lib/x86_64-linux-gnu/libc.so.6")
        );
        assert_eq!(maps_lookup(&m, "libz"), None);
    }
}
