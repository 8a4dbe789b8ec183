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
    /// Who refused to open the object and why, when libbpf did (`libbpf` is then empty). Parity
    /// then means oxbpf loads none of its programs either, whether it refuses at open or at load.
    pub refused: Option<String>,
}

fn oxbpf_verdict(
    p: &oxbpf::object::Program,
    mode: &'static str,
    err: Option<String>,
) -> ProgVerdict {
    let info = p.info().ok();
    ProgVerdict {
        name: p.name().to_string(),
        section: p.section().to_string(),
        loaded: info.is_some(),
        tag: info.as_ref().map(|i| i.tag),
        xlated_len: info.as_ref().map(|i| i.xlated_prog_len),
        error: if info.is_some() { None } else { err },
        mode,
    }
}

/// Loads `path` with oxbpf, with the same whole-then-single strategy as [`libbpf_ref::load`]: the
/// whole object with default autoload; if that fails, each autoload program alone (fresh open, all
/// others off). One verdict per autoload program.
pub fn oxbpf_load(path: &Path) -> Result<Vec<ProgVerdict>, String> {
    let open = oxbpf::Object::open_file(path).map_err(|e| format!("open: {e}"))?;
    let autoload: Vec<String> = open
        .spec()
        .entry_programs()
        .filter(|p| p.autoload)
        .map(|p| p.name.clone())
        .collect();
    let section_of = |name: &str| {
        open.spec()
            .program(name)
            .map(|p| p.section.clone())
            .unwrap_or_default()
    };
    let sections: Vec<String> = autoload.iter().map(|n| section_of(n)).collect();
    if let Ok(obj) = open.clone().load() {
        return Ok(obj
            .programs()
            .iter()
            .filter(|p| autoload.iter().any(|a| a == p.name()))
            .map(|p| oxbpf_verdict(p, "whole", None))
            .collect());
    }
    let mut out = Vec::new();
    for (want, section) in autoload.iter().zip(sections) {
        let mut one = open.clone();
        for p in one.spec_mut().programs.iter_mut().filter(|p| !p.is_subprog) {
            p.autoload = p.name == *want;
        }
        match one.load() {
            Ok(obj) => {
                let p = obj
                    .program(want)
                    .ok_or_else(|| format!("program '{want}' missing after load"))?;
                out.push(oxbpf_verdict(p, "single", None));
            }
            Err(e) => out.push(ProgVerdict {
                name: want.clone(),
                section,
                loaded: false,
                tag: None,
                xlated_len: None,
                error: Some(format!("load: {e}")),
                mode: "single",
            }),
        }
    }
    Ok(out)
}

impl Parity {
    /// Loads `path` with both loaders and compares them.
    /// An object libbpf cannot open is compared by verdict alone: oxbpf must load none of it.
    pub fn of(path: &Path) -> Result<Parity, String> {
        match libbpf_ref::load(path) {
            Ok(libbpf) => {
                let oxbpf = oxbpf_load(path).map_err(|e| format!("oxbpf: {e}"))?;
                Ok(Parity {
                    libbpf,
                    oxbpf,
                    refused: None,
                })
            }
            Err(e) => {
                let (oxbpf, why) = match oxbpf_load(path) {
                    Ok(v) => (v, format!("libbpf ({e})")),
                    Err(o) => (Vec::new(), format!("libbpf ({e}) and oxbpf ({o})")),
                };
                Ok(Parity {
                    libbpf: Vec::new(),
                    oxbpf,
                    refused: Some(why),
                })
            }
        }
    }

    /// Every disagreement, one line each: a program only one loader has, or a different verdict, tag
    /// or xlated length. Empty means parity.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(why) = &self.refused {
            for o in self.oxbpf.iter().filter(|o| o.loaded) {
                problems.push(format!("{}: oxbpf loads it, but {why}", o.name));
            }
            return problems;
        }
        for l in &self.libbpf {
            match self.oxbpf.iter().find(|o| o.name == l.name) {
                None => problems.push(format!("{}: libbpf has it, oxbpf does not", l.name)),
                Some(o) if (o.loaded, o.tag, o.xlated_len) != (l.loaded, l.tag, l.xlated_len) => {
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
                    ))
                }
                Some(_) => {}
            }
        }
        for o in &self.oxbpf {
            if !self.libbpf.iter().any(|l| l.name == o.name) {
                problems.push(format!("{}: oxbpf has it, libbpf does not", o.name));
            }
        }
        problems
    }
}

/// Asserts that libbpf and oxbpf agree on every program of `path`: same set of programs, same verdict,
/// same tag and xlated length. Panics with a per-program table otherwise.
pub fn assert_tag_parity(path: &Path) -> Parity {
    let parity = Parity::of(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if let Some(why) = &parity.refused {
        panic!("{}: {why}", path.display());
    }
    let problems = parity.problems();
    assert!(
        problems.is_empty(),
        "tag parity failed for {}:\n{}",
        path.display(),
        problems.join("\n")
    );
    parity
}

/// A tag as 16 lowercase hex digits, or `-`.
pub fn hex(tag: Option<[u8; 8]>) -> String {
    match tag {
        Some(t) => t.iter().map(|b| format!("{b:02x}")).collect(),
        None => "-".into(),
    }
}
