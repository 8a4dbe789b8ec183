//! oxbpf's BPF-side C headers (`bpf_helpers.h` and friends) and, later, the skeleton generator.

use std::path::PathBuf;

/// The directory that holds `bpf/bpf_helpers.h` and the other BPF-side headers: pass it to clang as `-I`.
pub fn include_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/include"))
}
