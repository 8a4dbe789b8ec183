//! oxbpf's BPF-side C headers (`bpf_helpers.h` and friends) and the Rust skeleton generator.
//!
//! Skeletons: [`Generator`] turns an object's bytes into Rust source (`oxbpf gen skeleton` uses it);
//! [`SkeletonBuilder`] compiles a `.bpf.c` from a build script and writes its skeleton. The generated
//! code builds on `oxbpf::skel`.
//!
//! The skeleton's `types` module holds a Rust definition of every named struct, union and enum of the
//! object's BTF (and of anonymous ones a typedef names), not only those of its globals and maps:
//! event structs a ring buffer carries are there for user space to read. Bitfields get typed
//! getters and setters. clang writes a type into BTF only when a global, a map definition, a
//! function's signature or a CO-RE access mentions it, never for locals or casts, so an event
//! struct used only through `bpf_ringbuf_reserve()` is absent. libbpf has no macro for this (and a
//! ring buffer refuses `__type(value, ...)`: the kernel wants a value size of 0); the idiom
//! libbpf-cargo users know is a dummy global, `struct event _event = {};`, and taking the type as a
//! subprogram's parameter works as well.
//!
//! The headers are source-compatible with libbpf 1.7's: a BPF program written against libbpf's
//! `<bpf/bpf_helpers.h>`, `<bpf/bpf_tracing.h>`, `<bpf/bpf_core_read.h>`, `<bpf/bpf_endian.h>` and
//! `<bpf/usdt.bpf.h>` compiles against these with only the include path changed, to the same
//! instructions. Use [`include_dir`] from a build script in this workspace, or [`write_headers`] to put
//! a copy anywhere (that is what `oxbpf gen headers DIR` does).

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

mod bitfields;
mod builder;
mod skeleton;
pub mod types;

pub use builder::{find_clang, vmlinux_h, BuildError, Built, SkeletonBuilder};
pub use skeleton::{Embed, GenerateError, Generator};

/// The directory that holds `bpf/bpf_helpers.h` and the other BPF-side headers: pass it to clang as `-I`.
pub fn include_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/include"))
}

/// Every BPF-side header as `(file name, contents)`; the files belong in a `bpf/` directory.
pub const HEADERS: &[(&str, &str)] = &[
    (
        "bpf_helpers.h",
        include_str!("../include/bpf/bpf_helpers.h"),
    ),
    (
        "bpf_helper_defs.h",
        include_str!("../include/bpf/bpf_helper_defs.h"),
    ),
    (
        "bpf_tracing.h",
        include_str!("../include/bpf/bpf_tracing.h"),
    ),
    (
        "bpf_core_read.h",
        include_str!("../include/bpf/bpf_core_read.h"),
    ),
    ("bpf_endian.h", include_str!("../include/bpf/bpf_endian.h")),
    ("usdt.bpf.h", include_str!("../include/bpf/usdt.bpf.h")),
];

/// Writes the headers to `dir/bpf/<name>` (creating the directories), so that `-I dir` makes
/// `#include <bpf/bpf_helpers.h>` work. Existing files are overwritten. Returns the paths written.
pub fn write_headers(dir: impl AsRef<Path>) -> std::io::Result<Vec<PathBuf>> {
    let bpf = dir.as_ref().join("bpf");
    std::fs::create_dir_all(&bpf)?;
    HEADERS
        .iter()
        .map(|(name, text)| {
            let path = bpf.join(name);
            std::fs::write(&path, text)?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_headers_match_the_include_dir() {
        let dir = include_dir().join("bpf");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = HEADERS.iter().map(|h| h.0.to_string()).collect();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "HEADERS must list every file of include/bpf"
        );
        for (name, text) in HEADERS {
            assert_eq!(
                std::fs::read_to_string(dir.join(name)).unwrap(),
                *text,
                "{name}"
            );
        }
    }

    #[test]
    fn write_headers_creates_bpf_subdir() {
        let dir = std::env::temp_dir().join(format!("oxbpf-gen-headers-{}", std::process::id()));
        let written = write_headers(&dir).unwrap();
        assert_eq!(written.len(), HEADERS.len());
        for (path, (name, text)) in written.iter().zip(HEADERS) {
            assert_eq!(path, &dir.join("bpf").join(name));
            assert_eq!(std::fs::read_to_string(path).unwrap(), *text);
        }
        // Writing again over existing files works.
        write_headers(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
