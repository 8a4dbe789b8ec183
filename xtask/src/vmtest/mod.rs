//! `cargo xtask vmtest`: the kernel matrix. Boots Debian kernels (5.10, 6.1, 6.12, 7.2) under QEMU
//! TCG with the host's `/` shared read-only, and runs host test binaries inside, unchanged.
//!
//! Two modes:
//! - `cargo xtask vmtest --kernel 6.1 -- target/debug/deps/foo-HASH --test-threads=1` runs one host
//!   command in the guest; its output is streamed and its exit status is ours.
//! - `cargo xtask vmtest [--kernel all]` builds the kernel test binaries (`cargo test -p oxbpf-tests
//!   --no-run`), runs them all in one VM per kernel and reports `N passed, N failed, N skipped` per
//!   kernel, plus the tests whose outcome differs between kernels.
//!
//! Everything downloaded (kernels, QEMU, busybox, private apt lists) lives under
//! `target/vmtest/` and is reused; the only network access is apt against the configured mirror.

mod apt;
mod cpio;
mod initramfs;
mod kernel;
mod libtest;
mod modules;
mod qemu;
mod report;
mod util;
mod vmlinux;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use apt::Mirrors;
use kernel::{Kernel, Series, SERIES};
use libtest::Outcome;
use qemu::{Tools, VmConfig, VmExit};
use report::KernelReport;
use util::{mkdirs, secs, sh_quote, write_atomic, Result};

const USAGE: &str = "\
usage: cargo xtask vmtest [OPTIONS] [-- COMMAND [ARGS...]]

Boots Debian kernels under QEMU (TCG) with the host's / shared read-only and runs tests inside.
Without COMMAND: builds the kernel test binaries and reports passed/failed/skipped per kernel.
With COMMAND: runs that host command in each guest (e.g. target/debug/deps/foo-HASH --test-threads=1).

options:
  --kernel K          5.10, 6.1, 6.12, 7.2 or all; repeat or separate with commas (default: all)
  -p, --package P     package whose tests to build and run (default: oxbpf-tests; repeatable)
  --test NAME         only this test target (passed to cargo; repeatable)
  --filter PATTERN    only tests whose name contains PATTERN (passed to the test binaries)
  --release           build the test binaries in release mode
  --timeout SECS      limit for one whole VM run, boot included (default: 1200)
  --test-timeout SECS limit for one test binary inside the VM (default: 300)
  --mem SIZE          guest memory (default: 1G)
  --accel A           tcg (default) or kvm (only where /dev/kvm is real hardware virtualisation)
  --append ARGS       extra kernel command line (e.g. lsm=lockdown,capability,yama,bpf)
  -v, --verbose       print every line the tests write, not only results
environment:
  VMTEST_CACHE        cache directory (default: <target dir>/vmtest)
  VMTEST_ENV          names of further environment variables to pass into the guest
                      (RUST_*, LIBBPF_*, OXBPF_* and PATH/HOME are always passed)
  VMTEST_APT_MAX_AGE  seconds before the private apt lists are refreshed (default: 86400)";

/// Parsed command line.
struct Options {
    kernels: Vec<Series>,
    packages: Vec<String>,
    tests: Vec<String>,
    filter: Option<String>,
    release: bool,
    timeout: Duration,
    test_timeout: Duration,
    mem: String,
    accel: String,
    append: String,
    verbose: bool,
    command: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut o = Options {
        kernels: Vec::new(),
        packages: Vec::new(),
        tests: Vec::new(),
        filter: None,
        release: false,
        timeout: Duration::from_secs(1200),
        test_timeout: Duration::from_secs(300),
        mem: "1G".into(),
        accel: "tcg".into(),
        append: String::new(),
        verbose: false,
        command: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let seconds = |v: String| {
            v.parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| format!("{flag}: {v:?} is not a number of seconds"))
        };
        match flag {
            "--" => {
                o.command = it.by_ref().cloned().collect();
                break;
            }
            "-h" | "--help" => return Err(String::new()),
            "--kernel" | "-k" => {
                for k in value()?.split(',').filter(|k| !k.is_empty()) {
                    if k == "all" {
                        o.kernels.extend_from_slice(SERIES);
                    } else {
                        o.kernels.push(Series::find(k).ok_or_else(|| {
                            let known: Vec<&str> = SERIES.iter().map(|s| s.name).collect();
                            format!("unknown kernel {k:?}; known: {}, all", known.join(", "))
                        })?);
                    }
                }
            }
            "-p" | "--package" => o.packages.push(value()?),
            "--test" => o.tests.push(value()?),
            "--filter" => o.filter = Some(value()?),
            "--release" => o.release = true,
            "--timeout" => o.timeout = seconds(value()?)?,
            "--test-timeout" => o.test_timeout = seconds(value()?)?,
            "--mem" => o.mem = value()?,
            "--accel" => o.accel = value()?,
            "--append" => o.append = value()?,
            "-v" | "--verbose" => o.verbose = true,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if o.kernels.is_empty() {
        o.kernels.extend_from_slice(SERIES);
    }
    let mut seen = Vec::new();
    o.kernels.retain(|k| {
        let new = !seen.contains(&k.name);
        seen.push(k.name);
        new
    });
    if o.packages.is_empty() {
        o.packages.push("oxbpf-tests".into());
    }
    Ok(o)
}

/// Entry point; returns the process exit status.
pub fn main(args: &[String]) -> i32 {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("vmtest: {e}\n\n{USAGE}");
            return 2;
        }
    };
    match run(&opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vmtest: error: {e}");
            125
        }
    }
}

/// The workspace root (xtask lives one level below it).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cache_dir() -> PathBuf {
    if let Some(c) = std::env::var_os("VMTEST_CACHE") {
        return PathBuf::from(c);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("vmtest")
}

/// A test binary to run in the guests.
struct TestBinary {
    /// Target name (`parity`), or `<crate> (lib)` for unit tests.
    name: String,
    path: PathBuf,
    /// The package directory: cargo runs test binaries there.
    cwd: PathBuf,
}

/// Builds the test binaries of `opts.packages` and lists them from cargo's JSON messages.
fn build_tests(opts: &Options) -> Result<Vec<TestBinary>> {
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
    bins.sort_by(|a, b| a.name.cmp(&b.name));
    if bins.is_empty() {
        return Err("cargo built no test binaries".into());
    }
    Ok(bins)
}

/// Shell lines exporting the environment the guest command sees: the host's test-related variables
/// and the host's locked-memory limit (kernels before 5.11 charge BPF memory to it; the guest's
/// limit should not be more generous than the host's).
fn environment_lines(series: &Series) -> String {
    let extra: Vec<String> = std::env::var("VMTEST_ENV")
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let mut s = String::new();
    for (k, v) in std::env::vars_os() {
        let (Some(k), v) = (k.to_str(), v) else {
            continue;
        };
        let pass = ["RUST_", "LIBBPF_", "OXBPF_"]
            .iter()
            .any(|p| k.starts_with(p))
            || ["PATH", "HOME", "LANG", "CARGO_TARGET_DIR"].contains(&k)
            || extra.iter().any(|e| e == k);
        if pass {
            s.push_str(&format!("export {k}={}\n", sh_quote(v)));
        }
    }
    s.push_str(&format!("export VMTEST_KERNEL={}\n", series.name));
    let out = Command::new("sh").args(["-c", "ulimit -l"]).output();
    if let Ok(out) = out {
        let limit = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !limit.is_empty() && (limit == "unlimited" || limit.parse::<u64>().is_ok()) {
            s.push_str(&format!("ulimit -l {limit}\n"));
        }
    }
    s
}

/// The command file for the single-command mode.
fn command_script(series: &Series, command: &[String]) -> Result<String> {
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let mut s = String::from("# written by cargo xtask vmtest\n");
    s.push_str(&environment_lines(series));
    s.push_str(&format!("cd {} || exit 125\n", sh_quote(&cwd)));
    let words: Vec<String> = command.iter().map(sh_quote).collect();
    s.push_str(&format!("exec {}\n", words.join(" ")));
    Ok(s)
}

/// Markers between the binaries' outputs in the matrix mode.
const BEGIN: &str = "VMTEST-BEGIN ";
const END: &str = "VMTEST-END ";

/// The command file for the matrix mode: every binary in turn, under a per-binary timeout.
fn matrix_script(series: &Series, bins: &[TestBinary], opts: &Options) -> String {
    let mut s = String::from("# written by cargo xtask vmtest\n");
    s.push_str(&environment_lines(series));
    let filter = opts.filter.as_deref().map(sh_quote).unwrap_or_default();
    for (i, b) in bins.iter().enumerate() {
        s.push_str(&format!(
            "echo '{BEGIN}{i}'\ncd {cwd}\nCARGO_MANIFEST_DIR={cwd} timeout -k 10 {t} {bin} --test-threads=1 --show-output --color never {filter}\necho \"{END}{i} $?\"\n",
            cwd = sh_quote(&b.cwd),
            t = opts.test_timeout.as_secs(),
            bin = sh_quote(&b.path),
        ));
    }
    s
}

fn run(opts: &Options) -> Result<i32> {
    let total = Instant::now();
    let cache = cache_dir();
    mkdirs(&cache)?;
    let bins = if opts.command.is_empty() {
        Some(build_tests(opts)?)
    } else {
        None
    };
    let mirrors = Mirrors::from_host();
    let t = Instant::now();
    let tools = {
        let _lock = CacheLock::take(&cache)?;
        let tool_apt = SERIES[1].apt(&cache, &mirrors)?;
        tool_apt.ensure_fresh()?;
        Tools::prepare(&cache, &tool_apt)?
    };
    eprintln!("vmtest: QEMU and busybox ready ({})", secs(t.elapsed()));
    clean_stale_runs(&cache.join("runs"));
    let vm = VmConfig {
        mem: opts.mem.clone(),
        accel: opts.accel.clone(),
        timeout: opts.timeout,
        append: opts.append.clone(),
    };

    let mut reports = Vec::new();
    let mut exit_code = 0;
    for series in &opts.kernels {
        let t = Instant::now();
        let kernel = {
            let _lock = CacheLock::take(&cache)?;
            let apt = series.apt(&cache, &mirrors)?;
            apt.ensure_fresh()?;
            let abi = series.resolve(&apt)?;
            Kernel::prepare(&cache, &apt, &abi)?
        };
        // Per process, so that concurrent runs (a developer and CI) do not share files.
        let rundir = cache
            .join("runs")
            .join(format!("{}.{}", series.name, std::process::id()));
        mkdirs(&rundir)?;
        let initrd = rundir.join("initramfs.cpio");
        let image = initramfs::build(
            &util::read(&tools.busybox)?,
            &kernel.modules()?,
            &kernel.config()?,
        );
        write_atomic(&initrd, &image)?;
        let script = match &bins {
            Some(bins) => matrix_script(series, bins, opts),
            None => command_script(series, &opts.command)?,
        };
        let cmd_file = rundir.join("cmd.sh");
        write_atomic(&cmd_file, script.as_bytes())?;
        let prepare = t.elapsed();
        eprintln!(
            "vmtest: [{}] booting {} (prepared in {})",
            series.name,
            kernel.abi,
            secs(prepare)
        );

        let mut lines: Vec<String> = Vec::new();
        let tag = series.name;
        let verbose = opts.verbose;
        let mut started = Instant::now();
        let outcome = match &bins {
            None => qemu::run(
                &tools,
                &kernel,
                &initrd,
                &cmd_file,
                &rundir,
                &vm,
                &mut |l| println!("{l}"),
            )?,
            Some(bins) => qemu::run(
                &tools,
                &kernel,
                &initrd,
                &cmd_file,
                &rundir,
                &vm,
                &mut |l| {
                    progress(tag, bins, l, verbose, &mut started);
                    lines.push(l.to_string());
                },
            )?,
        };
        let uname = outcome.uname.clone().unwrap_or_else(|| "?".into());
        if !outcome.stderr.trim().is_empty() && (bins.is_none() || opts.verbose) {
            eprint!("{}", outcome.stderr);
        }
        let vm_problem = match &outcome.exit {
            VmExit::Program(_) => None,
            VmExit::Timeout => Some(format!(
                "VM run timed out after {} (console: {})",
                secs(opts.timeout),
                outcome.console_log.display()
            )),
            VmExit::Failed(why) => Some(why.clone()),
        };
        if let Some(p) = &vm_problem {
            eprintln!("vmtest: [{tag}] {p}");
        }
        match &bins {
            None => {
                let code = match outcome.exit {
                    VmExit::Program(c) => c,
                    VmExit::Timeout => 124,
                    VmExit::Failed(_) => 125,
                };
                eprintln!(
                    "vmtest: [{tag}] guest uname -r: {uname}; exit status {code}; prepare {}, VM {}",
                    secs(prepare),
                    secs(outcome.elapsed)
                );
                if code != 0 && exit_code == 0 {
                    exit_code = code;
                }
            }
            Some(bins) => {
                let report = KernelReport::new(
                    series.name,
                    &uname,
                    collect(bins, &lines, vm_problem.as_deref()),
                    prepare,
                    outcome.elapsed,
                );
                report.print_summary();
                if report.failed() > 0 {
                    exit_code = 1;
                }
                reports.push(report);
            }
        }
    }
    if bins.is_some() {
        report::print_matrix(&reports);
    }
    eprintln!("vmtest: total {}", secs(total.elapsed()));
    Ok(exit_code)
}

/// Serializes cache preparation between concurrent vmtest processes (released on drop).
struct CacheLock {
    _file: std::fs::File,
}

impl CacheLock {
    fn take(cache: &Path) -> Result<CacheLock> {
        let path = cache.join("lock");
        let f = std::fs::File::create(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        f.lock()
            .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
        Ok(CacheLock { _file: f })
    }
}

/// Removes run directories (`<series>.<pid>`) of processes that no longer exist; a finished run's
/// logs stay until the next run.
fn clean_stale_runs(runs: &Path) {
    let Ok(rd) = std::fs::read_dir(runs) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.rsplit_once('.'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = util::remove_tree(&e.path());
        }
    }
}

/// Live progress for the matrix mode: each binary as it starts and ends (with its time inside the
/// VM), each test's result as libtest prints it.
fn progress(tag: &str, bins: &[TestBinary], line: &str, verbose: bool, started: &mut Instant) {
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
fn collect(
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
        let problem = match code {
            None => Some(
                vm_problem
                    .map(|p| format!("did not finish: {p}"))
                    .unwrap_or_else(|| "did not run".into()),
            ),
            Some(124) | Some(137) => Some("timed out (--test-timeout)".into()),
            Some(0) if finished => None,
            Some(101) if finished && any_failed => None,
            Some(c) => Some(format!(
                "exited with status {c}{}",
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
             VMTEST-BEGIN 2\nrunning 1 test\nVMTEST-END 2 124\n\
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
        assert!(matches!(&got[3].1, Outcome::Failed(t) if t.contains("timed out")));
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

    #[test]
    fn options_parse() {
        let args: Vec<String> = [
            "--kernel",
            "6.1,7.2",
            "--kernel=6.1",
            "--timeout",
            "60",
            "--",
            "bin",
            "--x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = parse_args(&args).unwrap();
        let k: Vec<&str> = o.kernels.iter().map(|k| k.name).collect();
        assert_eq!(k, ["6.1", "7.2"]);
        assert_eq!(o.timeout, Duration::from_secs(60));
        assert_eq!(o.command, ["bin", "--x"]);
        assert!(parse_args(&["--kernel".into(), "4.19".into()]).is_err());
    }
}
