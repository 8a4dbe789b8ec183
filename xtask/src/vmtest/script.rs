//! The command files the guest's `/init` runs (chrooted into the host's `/`): the environment to
//! carry over, then either one command or every test binary between markers.

use std::process::Command;

use super::kernel::Series;
use super::matrix::TestBinary;
use super::util::{sh_quote, Result};
use super::Options;

/// Shell lines exporting the environment the guest command sees: the host's test-related variables
/// and the host's locked-memory limit (kernels before 5.11 charge BPF memory to it; the guest's
/// limit should not be more generous than the host's).
pub fn environment_lines(series: &Series) -> String {
    let extra: Vec<String> = std::env::var("VMTEST_ENV")
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    // As a cargo runner (`CARGO_TARGET_<triple>_RUNNER="target/debug/xtask vmtest --"`), the CARGO_*
    // variables are the test's and go along; under `cargo xtask` they describe xtask itself.
    let as_runner = std::env::var("CARGO_PKG_NAME").is_ok_and(|p| p != "xtask");
    let mut s = String::new();
    for (k, v) in std::env::vars_os() {
        let (Some(k), v) = (k.to_str(), v) else {
            continue;
        };
        let pass = ["RUST_", "LIBBPF_", "OXBPF_"]
            .iter()
            .any(|p| k.starts_with(p))
            || (as_runner && k.starts_with("CARGO_"))
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
pub fn command_script(series: &Series, command: &[String]) -> Result<String> {
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let mut s = String::from("# written by cargo xtask vmtest\n");
    s.push_str(&environment_lines(series));
    s.push_str(&format!("cd {} || exit 125\n", sh_quote(&cwd)));
    let words: Vec<String> = command.iter().map(sh_quote).collect();
    s.push_str(&format!("exec {}\n", words.join(" ")));
    Ok(s)
}

/// Markers between the binaries' outputs in the matrix mode.
pub const BEGIN: &str = "VMTEST-BEGIN ";
pub const END: &str = "VMTEST-END ";

/// The command file for the matrix mode: every binary in turn, under a per-binary timeout. The end
/// marker starts on a fresh line even when a killed binary left half a line behind.
pub fn matrix_script(series: &Series, bins: &[TestBinary], opts: &Options) -> String {
    let mut s = String::from("# written by cargo xtask vmtest\n");
    s.push_str(&environment_lines(series));
    let filter = opts.filter.as_deref().map(sh_quote).unwrap_or_default();
    for (i, b) in bins.iter().enumerate() {
        s.push_str(&format!(
            "echo '{BEGIN}{i}'\ncd {cwd}\nCARGO_MANIFEST_DIR={cwd} timeout -k 10 {t} {bin} --test-threads=1 --show-output --color never {filter}\nprintf '\\n{END}{i} %s\\n' $?\n",
            cwd = sh_quote(&b.cwd),
            t = opts.test_timeout.as_secs(),
            bin = sh_quote(&b.path),
        ));
    }
    s
}
