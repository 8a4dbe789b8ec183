//! Runs each example briefly and checks the events it must print.

use std::process::Command;

fn run(bin: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin).args(args).output().expect("run example");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        println!("SKIP: needs root");
    }
    root
}

#[test]
fn every_example_has_help() {
    for bin in [
        env!("CARGO_BIN_EXE_minimal"),
        env!("CARGO_BIN_EXE_bootstrap"),
        env!("CARGO_BIN_EXE_kprobe"),
        env!("CARGO_BIN_EXE_fentry"),
        env!("CARGO_BIN_EXE_task_iter"),
        env!("CARGO_BIN_EXE_xdp"),
        env!("CARGO_BIN_EXE_tc"),
        env!("CARGO_BIN_EXE_sockfilter"),
        env!("CARGO_BIN_EXE_uprobe"),
        env!("CARGO_BIN_EXE_profile"),
        env!("CARGO_BIN_EXE_usdt"),
    ] {
        let (ok, out, _) = run(bin, &["--help"]);
        assert!(ok && out.contains("Usage:"), "{bin}: {out}");
    }
}

#[test]
fn minimal_counts_its_own_writes() {
    if !root() {
        return;
    }
    let (ok, out, err) = run(env!("CARGO_BIN_EXE_minimal"), &["--duration", "1"]);
    assert!(ok, "{err}");
    let ticks = out.lines().filter(|l| *l == "tick").count() as u64;
    let n: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("BPF program triggered "))
        .and_then(|l| l.strip_suffix(" times"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {out}"));
    // Each printed line before the count is one write(2) of this process.
    assert!(ticks >= 3 && n > ticks, "ticks {ticks}, count {n}: {out}");
}

/// Runs `bin --duration 3`; once it reports "Successfully started", deletes a fresh file (through
/// vfs_unlink). Returns whether it succeeded, its stdout, its stderr and the deleted file's name.
fn run_while_unlinking(bin: &str) -> (bool, String, String, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = Command::new(bin)
        .args(["--duration", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run example");
    let name = format!("oxbpf_unlink_{}", std::process::id());
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while lines.read_line(&mut line).unwrap_or(0) > 0 {
        out.push_str(&line);
        if line.starts_with("Successfully started") {
            let f = std::env::temp_dir().join(&name);
            std::fs::write(&f, b"x").unwrap();
            std::fs::remove_file(&f).unwrap();
            break;
        }
        line.clear();
    }
    lines.read_to_string(&mut out).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let ok = child.wait().unwrap().success();
    (ok, out, err, name)
}

#[test]
fn kprobe_sees_a_deletion_or_explains_the_refusal() {
    if !root() {
        return;
    }
    let have_kprobes = std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists()
        || std::path::Path::new("/sys/kernel/tracing/kprobe_events").exists();
    let (ok, out, err, name) = run_while_unlinking(env!("CARGO_BIN_EXE_kprobe"));
    if have_kprobes {
        assert!(ok, "{err}");
        assert!(out.contains("Successfully started"), "{out}");
        let me = std::process::id();
        assert!(
            out.contains(&format!("KPROBE ENTRY pid = {me}, filename = {name}")),
            "{out}"
        );
        assert!(
            out.contains(&format!("KPROBE EXIT: pid = {me}, ret = 0")),
            "{out}"
        );
    } else {
        assert!(!ok);
        assert!(err.contains("no kprobe"), "{err}");
    }
}

#[test]
fn fentry_sees_a_deletion_or_explains_the_refusal() {
    if !root() {
        return;
    }
    let (ok, out, err, name) = run_while_unlinking(env!("CARGO_BIN_EXE_fentry"));
    if ok {
        let me = std::process::id();
        assert!(out.contains("Successfully started"), "{out}");
        assert!(
            out.contains(&format!("fentry: pid = {me}, filename = {name}")),
            "{out}"
        );
        assert!(
            out.contains(&format!("fexit: pid = {me}, filename = {name}, ret = 0")),
            "{out}"
        );
    } else {
        // Decided by the kernel: the load was refused with EPERM.
        assert!(
            err.contains("EPERM") && err.contains("trampolines"),
            "{err}"
        );
    }
}

#[test]
fn task_iter_lists_itself() {
    if !root() {
        return;
    }
    let (ok, out, err) = run(env!("CARGO_BIN_EXE_task_iter"), &[]);
    assert!(ok, "{err}");
    assert!(out.lines().any(|l| l.ends_with(" task_iter")), "{out}");
    // Kernel threads are tasks too.
    assert!(out.lines().any(|l| l.ends_with(" kthreadd")), "{out}");
}

#[test]
fn xdp_counts_udp_in_its_netns() {
    if !root() {
        return;
    }
    let (ok, out, err) = run(
        env!("CARGO_BIN_EXE_xdp"),
        &["--port", "7777", "--count", "6"],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("udp packets to port 7777: 6  udp payload bytes: 384"),
        "{out}"
    );
}

#[test]
fn tc_sees_ipv4_packets() {
    if !root() {
        return;
    }
    let (ok, out, err) = run(env!("CARGO_BIN_EXE_tc"), &["--count", "3"]);
    assert!(ok, "{err}");
    let n: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("IPv4 packets: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(n >= 3, "{out}");
    assert!(out.contains("ttl 64"), "{out}");
}

#[test]
fn sockfilter_counts_datagrams() {
    if !root() {
        return;
    }
    let (ok, out, err) = run(env!("CARGO_BIN_EXE_sockfilter"), &["--count", "5"]);
    assert!(ok, "{err}");
    // 32-byte payloads plus the 8-byte UDP header, as the filter sees them.
    assert!(out.contains("packets: 5  bytes: 200"), "{out}");
}

#[test]
fn uprobe_sees_arguments_and_returns() {
    if !root() {
        return;
    }
    let (ok, out, err) = run(env!("CARGO_BIN_EXE_uprobe"), &["--calls", "4"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("uprobe saw 4 calls; last: a = 3, b = 30, return = 33"),
        "{out}"
    );
}

#[test]
fn profile_samples_its_busy_loop() {
    if !root() {
        return;
    }
    let (ok, out, err) = run(
        env!("CARGO_BIN_EXE_profile"),
        &["--duration", "1", "--top", "3"],
    );
    assert!(ok, "{err}");
    let samples: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("samples: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(samples >= 20, "{out}");
    assert!(
        out.contains(" profile ["),
        "its own busy loop is among the hottest: {out}"
    );
}

#[test]
fn bootstrap_sees_exec_and_exit_of_a_child() {
    use std::io::{BufRead, BufReader, Read};
    if !root() {
        return;
    }
    let mut app = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .args(["--duration", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(app.stdout.take().unwrap());
    // The table header is printed once the programs are attached.
    let mut header = String::new();
    out.read_line(&mut header).unwrap();
    assert!(header.starts_with("TIME"), "{header}");
    let child = Command::new("/bin/sh")
        .args(["-c", "sleep 0.05; exit 7"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let st = { child }.wait_with_output().unwrap().status;
    assert_eq!(st.code(), Some(7));
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = app.wait().unwrap();
    let mut err = String::new();
    app.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{err}");
    let ours: Vec<&str> = rest
        .lines()
        .filter(|l| l.split_whitespace().nth(3) == Some(&pid.to_string()))
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.contains(" EXEC ") && l.contains("/bin/sh")),
        "no exec of pid {pid}: {rest}"
    );
    assert!(
        ours.iter()
            .any(|l| l.contains(" EXIT ") && l.contains("[7]")),
        "no exit of pid {pid} with code 7: {rest}"
    );
    assert!(
        rest.lines().last().unwrap_or("").contains(" events: "),
        "{rest}"
    );
}

#[test]
fn usdt_probe_of_its_own_binary_delivers_arguments() {
    if !root() {
        return;
    }
    let (ok, out, err) = run(env!("CARGO_BIN_EXE_usdt"), &["--count", "4"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("fired 4 times; last n = 4, sum of v = 1000"),
        "{out}"
    );
}
