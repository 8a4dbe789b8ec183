//! `oxbpf object check` run as a binary on the fixtures: the JSON contract, the verdicts and tags
//! libbpf gets, the table, and the exit status.

mod util;

use util::oxbpf;

#[test]
fn json_lines_match_libbpf_verdicts_and_tags() {
    if !util::root_or_skip("cannot load BPF programs") {
        return;
    }
    for name in ["minimal", "obj_subprogs", "obj_reject", "obj_ksyms"] {
        let path = oxbpf_tests::fixture(name);
        let lines = util::object_check_json(&[], &path);
        let (obj, progs) = lines.split_last().unwrap();
        assert_eq!(obj["kind"], "object");
        assert_eq!(obj["open_ok"], true);
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(obj["object"], file.as_str());
        assert!(obj["open_us"].is_u64() && obj["load_us"].is_u64());
        let reference = oxbpf_tests::libbpf_ref::load(&path).unwrap();
        assert_eq!(progs.len(), reference.len(), "{name}");
        assert_eq!(obj["load_ok"], reference.iter().all(|v| v.mode == "whole"));
        for (p, r) in progs.iter().zip(&reference) {
            assert_eq!(p["kind"], "program");
            assert_eq!(p["object"], file.as_str());
            assert_eq!(p["program"], r.name.as_str());
            assert_eq!(p["section"], r.section.as_str());
            assert_eq!(p["loaded"], r.loaded, "{name}/{}: {p}", r.name);
            assert_eq!(p["mode"], r.mode);
            let tag = r.tag.map(|t| oxbpf_tests::parity::hex(Some(t)));
            assert_eq!(
                p["tag"].as_str().map(String::from),
                tag,
                "{name}/{}",
                r.name
            );
            assert_eq!(p["error"].is_null(), r.loaded);
            assert!(p["prog_type"].is_string());
        }
    }
}

#[test]
fn table_and_exit_status() {
    if !util::root_or_skip("cannot load BPF programs") {
        return;
    }
    let text = util::stdout_of(
        oxbpf()
            .args(["object", "check"])
            .arg(oxbpf_tests::fixture("obj_reject")),
    );
    assert!(text.starts_with("OBJECT"), "{text}");
    assert!(
        text.contains("accepted") && text.contains("ok (single)"),
        "{text}"
    );
    assert!(
        text.contains("rejected") && text.contains("FAIL (single)"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no colours when stdout is not a tty"
    );

    let bad = oxbpf()
        .args(["object", "check", "--json", "/nonexistent/x.bpf.o"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let line: serde_json::Value = serde_json::from_slice(bad.stdout.trim_ascii()).unwrap();
    assert_eq!(line["open_ok"], false);
    assert!(line["error"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/x.bpf.o"));
}

#[test]
fn a_full_stderr_loses_messages_but_panics_nothing() {
    if !util::root_or_skip("cannot load BPF programs") {
        return;
    }
    // The default printer writes to stderr, as libbpf's does; when that write fails (here ENOSPC
    // from /dev/full) the message is lost and the run goes on, as with libbpf's fprintf.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = oxbpf()
        .args(["object", "check", "--json"])
        .arg(oxbpf_tests::fixture("obj_reject"))
        .env("LIBBPF_LOG_LEVEL", "debug")
        .stderr(full)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(101), "oxbpf panicked");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().expect("JSON lines on stdout");
    let obj: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(obj["kind"], "object");
    assert_eq!(obj["open_ok"], true);
}
