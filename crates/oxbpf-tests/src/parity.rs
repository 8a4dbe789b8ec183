//! The tag-parity harness: load one object with libbpf and with oxbpf and compare, per program, the
//! verdict, the kernel tag and the translated length. Equal tags mean byte-identical instructions.

use crate::libbpf_ref::{self, ProgVerdict};
use std::path::Path;

/// The outcome of comparing both loaders on one object.
#[derive(Debug)]
pub struct Parity {
    /// libbpf's verdicts.
    pub libbpf: Vec<ProgVerdict>,
    /// oxbpf's verdicts.
    pub oxbpf: Vec<ProgVerdict>,
}

/// Loads `path` with oxbpf, with the same whole-then-single strategy as [`libbpf_ref::load`].
pub fn oxbpf_load(_path: &Path) -> Result<Vec<ProgVerdict>, String> {
    Err("the oxbpf object loader does not exist yet (issue 6)".into())
}

/// Asserts that libbpf and oxbpf agree on every program of `path`: same set of programs, same verdict,
/// same tag and xlated length. Panics with a per-program table otherwise.
pub fn assert_tag_parity(path: &Path) -> Parity {
    let libbpf =
        libbpf_ref::load(path).unwrap_or_else(|e| panic!("libbpf: {}: {e}", path.display()));
    let oxbpf = oxbpf_load(path).unwrap_or_else(|e| panic!("oxbpf: {}: {e}", path.display()));
    let mut problems = Vec::new();
    for l in &libbpf {
        match oxbpf.iter().find(|o| o.name == l.name) {
            None => problems.push(format!("{}: libbpf has it, oxbpf does not", l.name)),
            Some(o) => {
                if (o.loaded, o.tag, o.xlated_len) != (l.loaded, l.tag, l.xlated_len) {
                    problems.push(format!(
                        "{}: libbpf loaded={} tag={} len={:?} | oxbpf loaded={} tag={} len={:?} err={:?}",
                        l.name,
                        l.loaded,
                        hex(l.tag),
                        l.xlated_len,
                        o.loaded,
                        hex(o.tag),
                        o.xlated_len,
                        o.error
                    ));
                }
            }
        }
    }
    for o in &oxbpf {
        if !libbpf.iter().any(|l| l.name == o.name) {
            problems.push(format!("{}: oxbpf has it, libbpf does not", o.name));
        }
    }
    assert!(
        problems.is_empty(),
        "tag parity failed for {}:\n{}",
        path.display(),
        problems.join("\n")
    );
    Parity { libbpf, oxbpf }
}

/// A tag as 16 lowercase hex digits, or `-`.
pub fn hex(tag: Option<[u8; 8]>) -> String {
    match tag {
        Some(t) => t.iter().map(|b| format!("{b:02x}")).collect(),
        None => "-".into(),
    }
}
