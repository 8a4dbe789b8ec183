//! `oxbpf prog show` / `oxbpf map show` report what the kernel says about objects oxbpf created.

use oxbpf::insn::{reg::R0, Insn};
use oxbpf::map::{MapHandle, MapType};
use oxbpf::program::{ProgLoadOpts, ProgramHandle, ProgramType};
use oxbpf::sys::bpf::MapCreateOpts;

mod util;

use util::oxbpf_status;

#[test]
fn prog_and_map_show_report_kernel_facts() {
    if !util::root_or_skip("cannot load programs") {
        return;
    }
    let prog = ProgramHandle::load(
        ProgramType::SocketFilter,
        Some("cli_list"),
        "GPL",
        &[Insn::mov64_imm(R0, 0), Insn::exit()],
        &ProgLoadOpts::default(),
    )
    .unwrap();
    let info = prog.info().unwrap();
    let (ok, out) = oxbpf_status(&["prog", "show", &info.id.to_string(), "--json"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["id"], info.id);
    assert_eq!(v["type"], "socket_filter");
    assert_eq!(v["name"], "cli_list");
    assert_eq!(v["tag"], info.tag_hex());

    let (ok, out) = oxbpf_status(&["prog", "list"]);
    assert!(ok);
    assert!(
        out.contains(&format!(
            "{}: socket_filter  name cli_list  tag {}",
            info.id,
            info.tag_hex()
        )),
        "{out}"
    );

    let map = MapHandle::create(
        MapType::Hash,
        Some("cli_map"),
        8,
        16,
        32,
        &MapCreateOpts::default(),
    )
    .unwrap();
    let id = map.id().unwrap();
    let (ok, out) = oxbpf_status(&["map", "show", &id.to_string(), "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (
            v["type"].as_str(),
            v["key_size"].as_u64(),
            v["value_size"].as_u64()
        ),
        (Some("hash"), Some(8), Some(16))
    );
    assert_eq!(v["max_entries"], 32);

    drop(prog);
    let (ok, _) = oxbpf_status(&["prog", "show", &info.id.to_string()]);
    assert!(!ok, "a freed program id must be an error");
}

#[test]
fn link_show_reports_a_raw_tracepoint_link() {
    if !util::root_or_skip("cannot load programs") {
        return;
    }
    let prog = ProgramHandle::load(
        ProgramType::RawTracepoint,
        Some("cli_link"),
        "GPL",
        &[Insn::mov64_imm(R0, 0), Insn::exit()],
        &ProgLoadOpts::default(),
    )
    .unwrap();
    let link = oxbpf::attach::raw_tp::attach_raw_tracepoint(
        std::os::fd::AsFd::as_fd(&prog),
        "sys_enter",
        0,
    )
    .unwrap();
    let info = link.info().unwrap();
    let (ok, out) = oxbpf_status(&["link", "show", &info.id.to_string(), "--json"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["type"], "raw_tracepoint");
    assert_eq!(v["prog_id"], prog.info().unwrap().id);
    let (ok, out) = oxbpf_status(&["link", "list"]);
    assert!(ok);
    assert!(
        out.contains(&format!("{}: raw_tracepoint", info.id)),
        "{out}"
    );
}
