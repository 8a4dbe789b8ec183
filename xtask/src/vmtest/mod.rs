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
mod matrix;
mod modules;
mod qemu;
mod report;
mod script;
mod util;
mod vmlinux;

use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use apt::Mirrors;
use kernel::{Kernel, Series, SERIES};
use matrix::{build_tests, collect, progress, TestBinary};
use qemu::{Tools, VmConfig, VmExit};
use report::KernelReport;
use script::{command_script, matrix_script};
use util::{mkdirs, secs, write_atomic, Result};

const USAGE: &str = "\
usage: cargo xtask vmtest [OPTIONS] [-- COMMAND [ARGS...]]

Boots Debian kernels under QEMU (TCG) with the host's / shared read-only and runs tests inside.
Without COMMAND: builds the kernel test binaries and reports passed/failed/skipped per kernel.
With COMMAND: runs that host command in each guest (e.g. target/debug/deps/foo-HASH --test-threads=1).
As a cargo runner: CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=\"$PWD/target/debug/xtask vmtest
--kernel 6.1 --\" cargo test -p oxbpf-tests --test vm_guest

options:
  --kernel K          5.10, 6.1, 6.12, 7.2 or all; repeat or separate with commas (default: all)
  -p, --package P     package whose tests to build and run (default: oxbpf-tests; repeatable)
  --test NAME         only this test target (passed to cargo; repeatable)
  --exclude NAME      do not run this test target in the VMs (e.g. host-only compiler checks;
                      repeatable)
  --filter PATTERN    only tests whose name contains PATTERN (passed to the test binaries)
  --release           build the test binaries in release mode
  --timeout SECS      limit for one whole VM run, boot included (default: 1200)
  --test-timeout SECS limit for one test binary inside the VM (default: 300)
  --mem SIZE          guest memory (default: 1G)
  --accel A           tcg (default) or kvm (only where /dev/kvm is real hardware virtualisation)
  --append ARGS       extra kernel command line (the default one has no_timer_check and
                      lsm=lockdown,capability,yama,bpf; a later lsm= replaces it)
  -j, --jobs N        boot up to N kernels at once in the matrix mode (default: 1); each VM
                      uses one host core
  -v, --verbose       print every line the tests write, not only results
environment:
  VMTEST_CACHE        cache directory (default: <target dir>/vmtest)
  VMTEST_ENV          names of further environment variables to pass into the guest
                      (RUST_*, LIBBPF_*, OXBPF_* and PATH/HOME are always passed, and
                      CARGO_* when running as a cargo runner)
  VMTEST_APT_MAX_AGE  seconds before the private apt lists are refreshed (default: 86400)";

/// Parsed command line.
struct Options {
    kernels: Vec<Series>,
    packages: Vec<String>,
    tests: Vec<String>,
    exclude: Vec<String>,
    filter: Option<String>,
    release: bool,
    timeout: Duration,
    test_timeout: Duration,
    mem: String,
    accel: String,
    append: String,
    verbose: bool,
    jobs: usize,
    command: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut o = Options {
        kernels: Vec::new(),
        packages: Vec::new(),
        tests: Vec::new(),
        exclude: Vec::new(),
        filter: None,
        release: false,
        timeout: Duration::from_secs(1200),
        test_timeout: Duration::from_secs(300),
        mem: "1G".into(),
        accel: "tcg".into(),
        append: String::new(),
        verbose: false,
        jobs: 1,
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
            "--exclude" => o.exclude.push(value()?),
            "--filter" => o.filter = Some(value()?),
            "--release" => o.release = true,
            "--timeout" => o.timeout = seconds(value()?)?,
            "--test-timeout" => o.test_timeout = seconds(value()?)?,
            "--mem" => o.mem = value()?,
            "--accel" => o.accel = value()?,
            "--append" => o.append = value()?,
            "-v" | "--verbose" => o.verbose = true,
            "-j" | "--jobs" => {
                let v = value()?;
                o.jobs = v
                    .parse()
                    .map_err(|_| format!("{flag}: {v:?} is not a number"))?;
            }
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

/// A kernel ready to boot, with its run directory, initramfs and command file.
struct Prepared {
    series: Series,
    kernel: Kernel,
    rundir: PathBuf,
    initrd: PathBuf,
    cmd_file: PathBuf,
    prepare: Duration,
}

/// What one kernel's run produced.
enum Finished {
    /// Single-command mode: the command's exit status (124 timeout, 125 VM failure).
    Status(i32),
    /// Matrix mode: every test's outcome.
    Report(KernelReport),
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
    let busybox = util::read(&tools.busybox)?;

    let mut prepared = Vec::new();
    for series in &opts.kernels {
        let t = Instant::now();
        let kernel = {
            let _lock = CacheLock::take(&cache)?;
            let apt = series.apt(&cache, &mirrors)?;
            apt.ensure_fresh()?;
            let abi = series.resolve(&apt)?;
            match Kernel::prepare(&cache, &apt, &abi) {
                Ok(k) => k,
                // The archive drops superseded ABIs; with fresh lists the series resolves anew.
                Err(e) => {
                    eprintln!("vmtest: [{}] {e}; refreshing the lists", series.name);
                    apt.update()?;
                    Kernel::prepare(&cache, &apt, &series.resolve(&apt)?)?
                }
            }
        };
        // Per process, so that concurrent runs (a developer and CI) do not share files.
        let rundir = cache
            .join("runs")
            .join(format!("{}.{}", series.name, std::process::id()));
        mkdirs(&rundir)?;
        let initrd = rundir.join("initramfs.cpio");
        let image = initramfs::build(&busybox, &kernel.modules()?, &kernel.config()?);
        write_atomic(&initrd, &image)?;
        let script = match &bins {
            Some(bins) => matrix_script(series, bins, opts),
            None => command_script(series, &opts.command)?,
        };
        let cmd_file = rundir.join("cmd.sh");
        write_atomic(&cmd_file, script.as_bytes())?;
        prepared.push(Prepared {
            series: *series,
            kernel,
            rundir,
            initrd,
            cmd_file,
            prepare: t.elapsed(),
        });
    }

    // Matrix runs may boot several kernels at once (one vCPU each); a single command's output is
    // not tagged, so those runs go one after the other.
    let jobs = if bins.is_some() { opts.jobs.max(1) } else { 1 };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<Finished>>>> = prepared
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(prepared.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(p) = prepared.get(i) else { break };
                let r = run_kernel(p, &tools, bins.as_deref(), opts);
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(r);
                }
            });
        }
    });

    let mut reports = Vec::new();
    let mut exit_code = 0;
    for slot in results {
        let finished = slot
            .into_inner()
            .map_err(|_| "a VM thread panicked".to_string())?
            .ok_or("a VM run did not report")??;
        match finished {
            Finished::Status(code) => {
                if code != 0 && exit_code == 0 {
                    exit_code = code;
                }
            }
            Finished::Report(r) => {
                if r.failed() > 0 {
                    exit_code = 1;
                }
                reports.push(r);
            }
        }
    }
    if bins.is_some() {
        report::print_matrix(&reports);
    }
    eprintln!("vmtest: total {}", secs(total.elapsed()));
    Ok(exit_code)
}

/// Boots one prepared kernel and runs the command file.
fn run_kernel(
    p: &Prepared,
    tools: &Tools,
    bins: Option<&[TestBinary]>,
    opts: &Options,
) -> Result<Finished> {
    let tag = p.series.name;
    let vm = VmConfig {
        mem: opts.mem.clone(),
        accel: opts.accel.clone(),
        timeout: opts.timeout,
        append: opts.append.clone(),
    };
    eprintln!(
        "vmtest: [{tag}] booting {} (prepared in {})",
        p.kernel.abi,
        secs(p.prepare)
    );
    let mut lines: Vec<String> = Vec::new();
    let mut started = Instant::now();
    let mut on_line = |l: &str| match bins {
        None => println!("{l}"),
        Some(bins) => {
            progress(tag, bins, l, opts.verbose, &mut started);
            lines.push(l.to_string());
        }
    };
    // The guest's whole stdout stays beside the console log for a closer look.
    let log = p.rundir.join("stdout.log");
    let outcome = qemu::run(
        tools,
        &p.kernel,
        &p.initrd,
        &p.cmd_file,
        &p.rundir,
        &vm,
        &mut on_line,
    )?;
    if bins.is_some() {
        let _ = std::fs::write(&log, lines.join("\n"));
    }
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
    if let Some(problem) = &vm_problem {
        eprintln!("vmtest: [{tag}] {problem}");
    }
    Ok(match bins {
        None => {
            let code = match outcome.exit {
                VmExit::Program(c) => c,
                VmExit::Timeout => 124,
                VmExit::Failed(_) => 125,
            };
            eprintln!(
                "vmtest: [{tag}] guest uname -r: {uname}; exit status {code}; prepare {}, VM {}",
                secs(p.prepare),
                secs(outcome.elapsed)
            );
            Finished::Status(code)
        }
        Some(bins) => {
            let report = KernelReport::new(
                tag,
                &uname,
                collect(bins, &lines, vm_problem.as_deref()),
                p.prepare,
                outcome.elapsed,
            );
            print!("{}", report.summary());
            Finished::Report(report)
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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
