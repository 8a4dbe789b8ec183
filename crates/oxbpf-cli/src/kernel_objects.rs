//! `oxbpf prog|map|link list|show`: the BPF programs, maps and links of the running kernel, by id.

use oxbpf::map::{map_ids, MapHandle, MapInfo};
use oxbpf::program::{link_ids, program_ids, ProgramHandle, ProgramInfo};
use oxbpf::sys::bpf::{get_fd_by_id, link_info, IdKind};
use oxbpf::sys::types::LinkType;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

/// Which kernel object kind a listing is about.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Programs.
    Prog,
    /// Maps.
    Map,
    /// Links.
    Link,
}

/// Lists every object of `kind` (or only `id`), one per line or one JSON object per line.
pub fn run(kind: Kind, id: Option<u32>, json: bool) -> ExitCode {
    let explicit = id.is_some();
    let ids = match id {
        Some(id) => vec![id],
        None => match kind {
            Kind::Prog => program_ids(),
            Kind::Map => map_ids(),
            Kind::Link => link_ids(),
        }
        .unwrap_or_else(|e| {
            eprintln!("oxbpf: listing ids: {e}");
            Vec::new()
        }),
    };
    let mut out = anstream::stdout().lock();
    let mut failed = false;
    for id in ids {
        let line = match kind {
            Kind::Prog => ProgramHandle::from_id(id)
                .and_then(|p| p.info())
                .map(|i| prog_line(&i, json)),
            Kind::Map => MapHandle::from_id(id)
                .and_then(|m| m.info())
                .map(|i| map_line(&i, json)),
            Kind::Link => link_line(id, json),
        };
        match line {
            Ok(l) => {
                let _ = writeln!(out, "{l}");
            }
            // An object can go away between listing its id and opening it; only an explicit id is an error.
            Err(e) if explicit => {
                eprintln!("oxbpf: {e}");
                failed = true;
            }
            Err(_) => {}
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn prog_line(i: &ProgramInfo, json: bool) -> String {
    let ty = i
        .prog_type
        .map(|t| t.name().to_string())
        .unwrap_or_else(|| format!("type {}", i.prog_type_raw));
    if json {
        return json!({
            "id": i.id, "type": ty, "name": i.name, "tag": i.tag_hex(),
            "gpl_compatible": i.gpl_compatible, "xlated_len": i.xlated_prog_len,
            "jited_len": i.jited_prog_len, "nr_map_ids": i.nr_map_ids, "btf_id": i.btf_id,
            "verified_insns": i.verified_insns, "run_cnt": i.run_cnt, "run_time_ns": i.run_time_ns,
        })
        .to_string();
    }
    format!(
        "{}: {}  name {}  tag {}{}\n\txlated {}B  jited {}B  maps {}  btf_id {}  verified_insns {}",
        i.id,
        ty,
        if i.name.is_empty() { "-" } else { &i.name },
        i.tag_hex(),
        if i.gpl_compatible { "  gpl" } else { "" },
        i.xlated_prog_len,
        i.jited_prog_len,
        i.nr_map_ids,
        i.btf_id,
        i.verified_insns,
    )
}

fn map_line(i: &MapInfo, json: bool) -> String {
    let ty = i
        .map_type
        .map(|t| t.name().to_string())
        .unwrap_or_else(|| format!("type {}", i.map_type_raw));
    if json {
        return json!({
            "id": i.id, "type": ty, "name": i.name, "key_size": i.key_size, "value_size": i.value_size,
            "max_entries": i.max_entries, "flags": i.map_flags, "btf_id": i.btf_id,
        })
        .to_string();
    }
    format!(
        "{}: {}  name {}  flags 0x{:x}\n\tkey {}B  value {}B  max_entries {}  btf_id {}",
        i.id,
        ty,
        if i.name.is_empty() { "-" } else { &i.name },
        i.map_flags,
        i.key_size,
        i.value_size,
        i.max_entries,
        i.btf_id,
    )
}

fn link_line(id: u32, json: bool) -> oxbpf::Result<String> {
    let fd = get_fd_by_id(IdKind::Link, id, 0, None)?;
    let i = link_info(std::os::fd::AsFd::as_fd(&fd))?;
    let ty = LinkType::from_u32(i.type_)
        .map(|t| t.name().to_string())
        .unwrap_or_else(|| format!("type {}", i.type_));
    let details = format!("{:?}", i.details());
    if json {
        return Ok(
            json!({"id": i.id, "type": ty, "prog_id": i.prog_id, "details": details}).to_string(),
        );
    }
    Ok(format!(
        "{}: {}  prog {}\n\t{}",
        i.id, ty, i.prog_id, details
    ))
}
