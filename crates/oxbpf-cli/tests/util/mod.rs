//! Shared helpers of the CLI tests: running the `oxbpf` binary (and other tools) and reading what it
//! printed, `object check --json` output parsed one JSON value a line, and the root check.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// The `oxbpf` binary built with these tests.
pub fn oxbpf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oxbpf"))
}

/// Runs `cmd`, which must succeed (its stderr goes into the failure message), and returns stdout.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `oxbpf args...`, which must succeed; its stdout.
pub fn oxbpf_ok<S: AsRef<OsStr>>(args: &[S]) -> String {
    stdout_of(oxbpf().args(args))
}

/// `oxbpf args...` whatever its outcome: whether it succeeded, and its stdout.
pub fn oxbpf_status(args: &[&str]) -> (bool, String) {
    let out = oxbpf().args(args).output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

/// Output of one JSON value a line, parsed.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The JSON lines of `oxbpf object check --json <flags> <path>`, which must exit 0: one line per
/// program, then the object's line.
pub fn object_check_json(flags: &[&str], path: &Path) -> Vec<serde_json::Value> {
    json_lines(&stdout_of(
        oxbpf()
            .args(["object", "check", "--json"])
            .args(flags)
            .arg(path),
    ))
}

/// True when running as root; otherwise prints why the test is skipped.
pub fn root_or_skip(why: &str) -> bool {
    let root = oxbpf_tests::is_root();
    if !root {
        oxbpf_tests::skip(format!("not root: {why}"));
    }
    root
}
