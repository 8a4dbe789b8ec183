//! Small helpers shared by the vmtest modules: running host commands, file system chores, quoting.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Errors are plain sentences: this is a developer tool, and every message names what failed.
pub type Result<T> = std::result::Result<T, String>;

/// Runs `cmd` to completion with stdin closed and returns its output; a non-zero exit is an error that
/// quotes the command and the end of its stderr.
pub fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", describe(cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            describe(cmd),
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), 20)
        ));
    }
    Ok(out)
}

/// Like [`run`], and returns stdout as text.
pub fn run_stdout(cmd: &mut Command) -> Result<String> {
    let out = run(cmd)?;
    String::from_utf8(out.stdout).map_err(|_| format!("{} printed non-UTF-8 output", describe(cmd)))
}

/// The command line of `cmd`, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `mkdir -p`, with the path in the error.
pub fn mkdirs(p: &Path) -> Result<()> {
    fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
}

/// Removes a directory tree if it exists.
pub fn remove_tree(p: &Path) -> Result<()> {
    match fs::remove_dir_all(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {e}", p.display()))
        }
        _ => Ok(()),
    }
}

/// Reads a whole file, with the path in the error.
pub fn read(p: &Path) -> Result<Vec<u8>> {
    fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// Writes a file through a temporary name and a rename, so that a cache entry is whole or absent.
pub fn write_atomic(p: &Path, data: &[u8]) -> Result<()> {
    let tmp = p.with_extension("tmp-write");
    fs::write(&tmp, data).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, p).map_err(|e| format!("cannot rename {} into place: {e}", p.display()))
}

/// Every regular file under `dir` (recursively), sorted.
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Quotes `s` for a POSIX shell: single quotes, with embedded single quotes spliced in.
pub fn sh_quote(s: impl AsRef<OsStr>) -> String {
    let s = s.as_ref().to_string_lossy();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b))
    {
        return s.into_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `1.23 s` or `2 min 05 s`.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 120.0 {
        format!("{s:.1} s")
    } else {
        format!("{} min {:02} s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_the_shell() {
        assert_eq!(sh_quote("target/debug/foo-1a2b"), "target/debug/foo-1a2b");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's $HOME"), r"'it'\''s $HOME'");
        let arg = "x'y \"z\" $q `w`";
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote(arg)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), arg);
    }
}
