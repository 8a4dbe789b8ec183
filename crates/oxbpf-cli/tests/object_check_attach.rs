//! `oxbpf object check --attach`: each loaded program auto-attached as its SEC() says, reported as
//! `"attached"` / `"attach_error"` in its JSON line, and detached again.

use std::collections::HashMap;
use std::process::Command;

mod util;

#[test]
fn attach_reports_per_program() {
    if !util::root_or_skip("cannot load BPF programs") {
        return;
    }
    let path = oxbpf_tests::fixture("attach_trace");
    let lines = util::object_check_json(&["--attach"], &path);
    let progs: HashMap<String, &serde_json::Value> = lines
        .iter()
        .filter(|l| l["kind"] == "program")
        .map(|l| (l["program"].as_str().unwrap().to_string(), l))
        .collect();
    for name in ["tp_getppid", "raw_sys_enter", "btf_sys_enter", "dump_task"] {
        let p = progs[name];
        assert_eq!(p["loaded"], true, "{name}: {p}");
        assert_eq!(p["attached"], true, "{name}: {p}");
        assert!(p["attach_error"].is_null(), "{name}: {p}");
    }
    let perf = progs["on_cpu_clock"];
    assert_eq!(perf["attached"], false);
    assert!(
        perf["attach_error"]
            .as_str()
            .unwrap()
            .contains("no auto-attach"),
        "{perf}"
    );
    let kp = progs["kp_getpgid"];
    assert_eq!(kp["loaded"], true);
    if !std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        assert_eq!(kp["attached"], false);
        assert!(
            kp["attach_error"]
                .as_str()
                .unwrap()
                .contains("no kprobe support"),
            "{kp}"
        );
    } else {
        // A kernel with kprobes attaches kprobe/__x64_sys_getpgid like the others.
        assert_eq!(kp["attached"], true, "{kp}");
        assert!(kp["attach_error"].is_null(), "{kp}");
    }
    // Detached again: nothing of ours stays attached (no raw tracepoint link for our program remains).
    let links = Command::new("bpftool")
        .args(["link", "show"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&links.stdout);
    assert!(!text.contains("raw_sys_enter"), "{text}");
}
