//! `oxbpf object check [--json] OBJ...`: does each program of each object load on this kernel, and
//! with which tag?
//!
//! Each object is opened and loaded whole with default autoload; if that fails, every autoload
//! program is loaded alone (fresh open, all others off) to tell which ones this kernel accepts.
//! The JSON lines (one per program, then one per object) are a fixed contract other tools parse.
//!
//! With `--attach`, each loaded program is then auto-attached as its `SEC()` says (what libbpf's
//! skeleton attach does), reported as `"attached"` / `"attach_error"`, and detached again.

use oxbpf::object::{Object, OpenObject, Program};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// One program's verdict.
struct Verdict {
    program: String,
    section: String,
    prog_type: &'static str,
    tag: Option<String>,
    error: Option<String>,
    mode: &'static str,
    /// With `--attach`: `Ok` when auto-attach worked, else why not.
    attach: Option<Result<(), String>>,
}

/// One object's outcome.
struct Report {
    object: String,
    open_ok: bool,
    load_ok: bool,
    open_us: u64,
    load_us: u64,
    error: Option<String>,
    programs: Vec<Verdict>,
}

fn tag_hex(p: &Program) -> Option<String> {
    p.info().ok().map(|i| i.tag_hex())
}

fn verdict(obj: &Object, p: &Program, mode: &'static str, attach: bool) -> Verdict {
    Verdict {
        program: p.name().to_string(),
        section: p.section().to_string(),
        prog_type: p.prog_type_name(),
        tag: tag_hex(p),
        error: None,
        mode,
        attach: attach.then(|| try_attach(obj, p)),
    }
}

/// Auto-attaches `p` and detaches it again at once.
fn try_attach(obj: &Object, p: &Program) -> Result<(), String> {
    if p.handle().is_none() {
        return Err("not loaded".into());
    }
    obj.attach_program(p.name())
        .map(drop)
        .map_err(|e| e.to_string())
}

fn check(path: &Path, attach: bool) -> Report {
    let object = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let t0 = Instant::now();
    let open = Object::open_file(path);
    let open_us = t0.elapsed().as_micros() as u64;
    let open: OpenObject = match open {
        Ok(o) => o,
        Err(e) => {
            return Report {
                object,
                open_ok: false,
                load_ok: false,
                open_us,
                load_us: 0,
                error: Some(e.to_string()),
                programs: Vec::new(),
            }
        }
    };
    let autoload: Vec<(String, String, &'static str)> = open
        .spec()
        .entry_programs()
        .filter(|p| p.autoload)
        .map(|p| {
            (
                p.name.clone(),
                p.section.clone(),
                oxbpf::obj::sections::prog_type_name(p.prog_type),
            )
        })
        .collect();
    let t1 = Instant::now();
    let whole = open.clone().load();
    let load_us = t1.elapsed().as_micros() as u64;
    match whole {
        Ok(obj) => {
            let programs = obj
                .programs()
                .iter()
                .filter(|p| autoload.iter().any(|(n, _, _)| n == p.name()))
                .map(|p| verdict(&obj, p, "whole", attach))
                .collect();
            Report {
                object,
                open_ok: true,
                load_ok: true,
                open_us,
                load_us,
                error: None,
                programs,
            }
        }
        Err(e) => {
            let mut programs = Vec::new();
            for (name, section, prog_type) in &autoload {
                let mut one = open.clone();
                for p in one.spec_mut().programs.iter_mut().filter(|p| !p.is_subprog) {
                    p.autoload = p.name == *name;
                }
                let v = match one.load() {
                    Ok(obj) => match obj.program(name) {
                        Some(p) => verdict(&obj, p, "single", attach),
                        None => Verdict {
                            program: name.clone(),
                            section: section.clone(),
                            prog_type,
                            tag: None,
                            error: Some("program missing after load".into()),
                            mode: "single",
                            attach: attach.then(|| Err("not loaded".into())),
                        },
                    },
                    Err(e) => Verdict {
                        program: name.clone(),
                        section: section.clone(),
                        prog_type,
                        tag: None,
                        error: Some(e.to_string()),
                        mode: "single",
                        attach: attach.then(|| Err("not loaded".into())),
                    },
                };
                programs.push(v);
            }
            Report {
                object,
                open_ok: true,
                load_ok: false,
                open_us,
                load_us,
                error: Some(e.to_string()),
                programs,
            }
        }
    }
}

/// The JSON lines of one report: its programs, then the object.
fn json_lines(r: &Report) -> Vec<String> {
    let mut out: Vec<String> = r
        .programs
        .iter()
        .map(|v| {
            let mut line = json!({
                "kind": "program",
                "object": r.object,
                "program": v.program,
                "section": v.section,
                "prog_type": v.prog_type,
                "loaded": v.tag.is_some(),
                "tag": v.tag,
                "error": v.error,
                "mode": v.mode,
            });
            if let Some(a) = &v.attach {
                line["attached"] = json!(a.is_ok());
                line["attach_error"] = json!(a.as_ref().err());
            }
            line.to_string()
        })
        .collect();
    out.push(
        json!({
            "kind": "object",
            "object": r.object,
            "open_ok": r.open_ok,
            "load_ok": r.load_ok,
            "open_us": r.open_us,
            "load_us": r.load_us,
            "error": r.error,
        })
        .to_string(),
    );
    out
}

/// The last, most specific part of an error chain, cut to `max` characters.
fn short_reason(e: &str, max: usize) -> String {
    let first = e.lines().next().unwrap_or("");
    let s = first
        .strip_prefix("object '")
        .and_then(|r| r.split_once("': "))
        .map_or(first, |(_, rest)| rest);
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn table(reports: &[Report], out: &mut impl Write) -> std::io::Result<()> {
    let with_attach = reports
        .iter()
        .flat_map(|r| &r.programs)
        .any(|v| v.attach.is_some());
    let rows: Vec<[String; 8]> = reports
        .iter()
        .flat_map(|r| {
            let mut rows: Vec<[String; 8]> = r
                .programs
                .iter()
                .map(|v| {
                    [
                        r.object.clone(),
                        v.program.clone(),
                        v.section.clone(),
                        v.prog_type.to_string(),
                        if v.tag.is_some() {
                            format!("ok ({})", v.mode)
                        } else {
                            format!("FAIL ({})", v.mode)
                        },
                        v.tag.clone().unwrap_or_else(|| "-".into()),
                        match &v.attach {
                            None => String::new(),
                            Some(Ok(())) => "attached".into(),
                            Some(Err(_)) => "no".into(),
                        },
                        v.error
                            .as_deref()
                            .or(v
                                .attach
                                .as_ref()
                                .and_then(|a| a.as_ref().err())
                                .map(String::as_str))
                            .map(|e| short_reason(e, 70))
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            if !r.open_ok {
                rows.push([
                    r.object.clone(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "FAIL (open)".into(),
                    "-".into(),
                    String::new(),
                    r.error
                        .as_deref()
                        .map(|e| short_reason(e, 70))
                        .unwrap_or_default(),
                ]);
            }
            rows
        })
        .collect();
    let header = [
        "OBJECT", "PROGRAM", "SECTION", "TYPE", "VERDICT", "TAG", "ATTACH", "REASON",
    ];
    let mut width = header.map(str::len);
    if !with_attach {
        width[6] = 0;
    }
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let shown = |i: usize| with_attach || i != 6;
    let line: Vec<String> = header
        .iter()
        .zip(width)
        .enumerate()
        .filter(|(i, _)| shown(*i))
        .map(|(_, (h, w))| pad(h, w))
        .collect();
    writeln!(out, "{BOLD}{}{RESET}", line.join("  ").trim_end())?;
    for r in &rows {
        let color = if r[4].starts_with("ok") { GREEN } else { RED };
        let cells: Vec<String> = r
            .iter()
            .zip(width)
            .enumerate()
            .filter(|(i, _)| shown(*i))
            .map(|(i, (c, w))| {
                if i == 4 {
                    format!("{color}{}{RESET}", pad(c, w))
                } else {
                    pad(c, w)
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

/// Runs `oxbpf object check`. Exit status 0 when every object opened, 1 otherwise.
pub fn run(objects: &[PathBuf], json: bool, attach: bool) -> ExitCode {
    // Load failures are reported in the output; libbpf-style warnings on stderr only on request.
    if std::env::var_os("LIBBPF_LOG_LEVEL").is_none() {
        oxbpf::log::set_print(None);
    }
    let mut out = anstream::stdout().lock();
    let mut reports = Vec::new();
    let mut all_opened = true;
    for path in objects {
        let r = check(path, attach);
        all_opened &= r.open_ok;
        if json {
            for l in json_lines(&r) {
                let _ = writeln!(out, "{l}");
            }
        }
        reports.push(r);
    }
    if !json {
        let _ = table(&reports, &mut out);
    }
    if all_opened {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_contract_shape() {
        let r = Report {
            object: "a.bpf.o".into(),
            open_ok: true,
            load_ok: false,
            open_us: 3,
            load_us: 4,
            error: Some("boom".into()),
            programs: vec![Verdict {
                program: "p".into(),
                section: "kprobe/x".into(),
                prog_type: "kprobe",
                tag: None,
                error: Some("EPERM".into()),
                mode: "single",
                attach: Some(Err("not loaded".into())),
            }],
        };
        let lines = json_lines(&r);
        let p: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(p["kind"], "program");
        assert_eq!(p["loaded"], false);
        assert!(p["tag"].is_null());
        assert_eq!(p["mode"], "single");
        assert_eq!(p["attached"], false);
        assert_eq!(p["attach_error"], "not loaded");
        let o: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(o["kind"], "object");
        assert_eq!(o["load_ok"], false);
        assert_eq!(o["open_us"], 3);
    }

    #[test]
    fn reasons_are_short() {
        assert_eq!(
            short_reason("object 'x.o': prog 'p': failed", 70),
            "prog 'p': failed"
        );
        assert_eq!(short_reason(&"a".repeat(100), 10).chars().count(), 10);
    }
}
