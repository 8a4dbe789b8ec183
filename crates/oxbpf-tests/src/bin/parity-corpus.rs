//! Tag parity over a corpus of third-party objects: `parity-corpus FILE_OR_DIR...`.
//!
//! Loads every `.o` with libbpf and with oxbpf, prints one line per program (verdicts, tags, whether
//! they agree) and a summary, and exits non-zero when any program disagrees. Used on Debian's xdp-tools
//! objects in the test suite and on locally built corpora (e.g. bcc's libbpf-tools) by hand.

use oxbpf_tests::parity::{hex, Parity};
use std::path::PathBuf;
use std::process::ExitCode;

fn objects(args: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for a in args {
        let p = PathBuf::from(a);
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&p)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            v.retain(|f| f.extension().is_some_and(|e| e == "o"));
            v.sort();
            out.extend(v);
        } else {
            out.push(p);
        }
    }
    out
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let objs = objects(&args);
    if objs.is_empty() {
        eprintln!("usage: parity-corpus FILE_OR_DIR...");
        return ExitCode::from(2);
    }
    let (mut progs, mut loaded_both, mut same, mut objects_ok, mut refused) = (0, 0, 0, 0, 0);
    let mut bad = Vec::new();
    for obj in &objs {
        let name = obj
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let parity = match Parity::of(obj) {
            Ok(p) => p,
            Err(e) => {
                println!("{name}: ERROR {e}");
                bad.push(format!("{name}: {e}"));
                continue;
            }
        };
        let problems = parity.problems();
        if problems.is_empty() {
            objects_ok += 1;
        }
        if let Some(why) = &parity.refused {
            // libbpf loads nothing of it: oxbpf must not either (refusing at open or at load).
            refused += 1;
            let loaded = parity.oxbpf.iter().filter(|o| o.loaded).count();
            println!(
                "{name:<32} refused by {why}; oxbpf loads {loaded} of {} programs  {}",
                parity.oxbpf.len(),
                if problems.is_empty() {
                    "same"
                } else {
                    "DIFFERENT"
                }
            );
        }
        for l in &parity.libbpf {
            progs += 1;
            let o = parity.oxbpf.iter().find(|o| o.name == l.name);
            let agree = o.is_some_and(|o| {
                (o.loaded, o.tag, o.xlated_len) == (l.loaded, l.tag, l.xlated_len)
            });
            if agree {
                same += 1;
            }
            if l.loaded && o.is_some_and(|o| o.loaded) {
                loaded_both += 1;
            }
            println!(
                "{name:<32} {:<28} libbpf {:<6} {}  oxbpf {:<6} {}  {}",
                l.name,
                if l.loaded { "loaded" } else { "failed" },
                hex(l.tag),
                o.map_or("absent", |o| if o.loaded { "loaded" } else { "failed" }),
                o.map_or("-".into(), |o| hex(o.tag)),
                if agree { "same" } else { "DIFFERENT" },
            );
        }
        bad.extend(problems.into_iter().map(|p| format!("{name}: {p}")));
    }
    println!(
        "\nparity: {} objects ({} fully identical), {progs} programs, {same} same verdict+tag+len, \
         {loaded_both} loaded by both; {refused} objects libbpf cannot open",
        objs.len(),
        objects_ok
    );
    for b in &bad {
        println!("  {b}");
    }
    if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
