//! The matrix mode: build the kernel test binaries, follow their progress in the guest, and read
//! their output into one outcome per test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::libtest::{self, Outcome};
use super::script::{BEGIN, END};
use super::util::{self, secs, Result};
use super::{workspace_root, Options};

/// A test binary to run in the guests.
pub struct TestBinary {
    /// Target name (`parity`), or `<crate> (lib)` for unit tests.
    pub name: String,
    /// The executable.
    pub path: PathBuf,
    /// The package directory: cargo runs test binaries there.
    pub cwd: PathBuf,
}

/// Builds the test binaries of `opts.packages` and lists them from cargo's JSON messages.
pub fn build_tests(opts: &Options) -> Result<Vec<TestBinary>> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root()).args([
        "test",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    for p in &opts.packages {
        cmd.args(["-p", p]);
    }
    for t in &opts.tests {
        cmd.args(["--test", t]);
    }
    if opts.release {
        cmd.arg("--release");
    }
    eprintln!("vmtest: building test binaries: {}", util::describe(&cmd));
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the test binaries failed ({})",
            out.status
        ));
    }
    let mut bins = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        let target = &msg["target"];
        let name = target["name"].as_str().unwrap_or("?");
        let kinds: Vec<&str> = target["kind"]
            .as_array()
            .map(|k| k.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let name = if kinds.contains(&"test") {
            name.to_string()
        } else {
            format!("{name} ({})", kinds.join(","))
        };
        let cwd = msg["manifest_path"]
            .as_str()
            .and_then(|m| Path::new(m).parent())
            .map(Path::to_path_buf)
            .unwrap_or_else(workspace_root);
        bins.push(TestBinary {
            name,
            path: PathBuf::from(exe),
            cwd,
        });
    }
    bins.retain(|b| !opts.exclude.contains(&b.name));
    bins.sort_by(|a, b| a.name.cmp(&b.name));
    if bins.is_empty() {
        return Err("cargo built no test binaries".into());
    }
    Ok(bins)
}

/// Live progress for the matrix mode: each binary as it starts and ends (with its time inside the
/// VM), each test's result as libtest prints it.
pub fn progress(tag: &str, bins: &[TestBinary], line: &str, verbose: bool, started: &mut Instant) {
    let bin = |i: &str| {
        i.split_whitespace()
            .next()
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| bins.get(i))
    };
    if let Some(b) = line.strip_prefix(BEGIN).and_then(bin) {
        *started = Instant::now();
        eprintln!("vmtest: [{tag}] running {}", b.name);
    } else if let Some(rest) = line.strip_prefix(END) {
        if let Some(b) = bin(rest) {
            let code = rest.split_whitespace().nth(1).unwrap_or("?");
            eprintln!(
                "vmtest: [{tag}] {} exited with status {code} after {}",
                b.name,
                secs(started.elapsed())
            );
        }
    } else if let Some((name, result)) = libtest::result_line(line) {
        eprintln!("vmtest: [{tag}]   {name} ... {result}");
    } else if verbose || line.starts_with("SKIP:") {
        eprintln!("vmtest: [{tag}]     {line}");
    }
}

/// Splits the guest's stdout into the binaries' sections and reads each one's tests. A binary that
/// crashed, timed out or never ran counts as one failed test named after it.
pub fn collect(
    bins: &[TestBinary],
    lines: &[String],
    vm_problem: Option<&str>,
) -> Vec<(String, Outcome)> {
    let mut sections: Vec<(String, Option<i32>)> = vec![(String::new(), None); bins.len()];
    let mut current: Option<usize> = None;
    for l in lines {
        if let Some(i) = l.strip_prefix(BEGIN) {
            current = i.trim().parse().ok().filter(|i| *i < bins.len());
            continue;
        }
        if let Some(rest) = l.strip_prefix(END) {
            let mut words = rest.split_whitespace();
            let i: Option<usize> = words.next().and_then(|w| w.parse().ok());
            let code = words.next().and_then(|w| w.parse().ok());
            if let Some(i) = i.filter(|i| *i < bins.len()) {
                sections[i].1 = code;
            }
            current = None;
            continue;
        }
        if let Some(i) = current {
            sections[i].0.push_str(l);
            sections[i].0.push('\n');
        }
    }
    let mut all = Vec::new();
    for (bin, (text, code)) in bins.iter().zip(sections) {
        let (tests, finished) = libtest::parse(&text);
        let any_failed = tests.iter().any(|t| matches!(t.1, Outcome::Failed(_)));
        all.extend(
            tests
                .into_iter()
                .map(|(n, o)| (format!("{}::{n}", bin.name), o)),
        );
        // The test that was running when the binary stopped: libtest printed its name, no result.
        let during = text
            .lines()
            .rev()
            .find_map(|l| l.trim_end().strip_prefix("test ")?.strip_suffix(" ..."))
            .map(|t| format!(" during {t}"))
            .unwrap_or_default();
        let problem = match code {
            None => Some(
                vm_problem
                    .map(|p| format!("did not finish{during}: {p}"))
                    .unwrap_or_else(|| "did not run".into()),
            ),
            Some(124) | Some(137) => Some(format!("timed out (--test-timeout){during}")),
            Some(0) if finished => None,
            Some(101) if finished && any_failed => None,
            Some(c) => Some(format!(
                "exited with status {c}{during}{}",
                if finished {
                    ""
                } else {
                    " before libtest's summary (crash?)"
                }
            )),
        };
        if let Some(p) = problem {
            all.push((format!("{} (binary)", bin.name), Outcome::Failed(p)));
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(names: &[&str]) -> Vec<TestBinary> {
        names
            .iter()
            .map(|n| TestBinary {
                name: n.to_string(),
                path: PathBuf::from(format!("/t/{n}")),
                cwd: PathBuf::from("/t"),
            })
            .collect()
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn splits_binaries_and_flags_crashes_and_timeouts() {
        let out = lines(
            "VMTEST-BEGIN 0\nrunning 1 test\ntest a ... ok\n\ntest result: ok. 1 passed\nVMTEST-END 0 0\n\
             VMTEST-BEGIN 1\nrunning 2 tests\ntest b ... ok\nVMTEST-END 1 139\n\
             VMTEST-BEGIN 2\nrunning 1 test\ntest c ... \nVMTEST-END 2 124\n\
             VMTEST-BEGIN 3\nrunning 1 test\ntest d ... FAILED\n\nfailures:\n\n---- d stdout ----\nboom\n\nfailures:\n    d\n\ntest result: FAILED. 0 passed; 1 failed\nVMTEST-END 3 101\n",
        );
        let got = collect(&bins(&["one", "two", "three", "four"]), &out, None);
        let names: Vec<(&str, &str)> = got.iter().map(|(n, o)| (n.as_str(), o.word())).collect();
        assert_eq!(
            names,
            [
                ("one::a", "ok"),
                ("two::b", "ok"),
                ("two (binary)", "FAILED"),
                ("three (binary)", "FAILED"),
                ("four::d", "FAILED"),
            ]
        );
        assert!(matches!(&got[2].1, Outcome::Failed(t) if t.contains("139")));
        assert!(
            matches!(&got[3].1, Outcome::Failed(t) if t == "timed out (--test-timeout) during c")
        );
    }

    #[test]
    fn binaries_a_dead_vm_never_finished_fail() {
        let out = lines("VMTEST-BEGIN 0\nrunning 1 test\n");
        let got = collect(&bins(&["one", "two"]), &out, Some("kernel panic"));
        assert_eq!(got.len(), 2);
        assert!(got
            .iter()
            .all(|(_, o)| matches!(o, Outcome::Failed(t) if t.contains("kernel panic"))));
    }
}
