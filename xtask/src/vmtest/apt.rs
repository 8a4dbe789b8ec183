//! A private apt state per Debian release: its own sources.list, package lists and cache under the
//! vmtest cache, pointing at the mirror this machine is already configured with. The host's
//! `/etc/apt` and `/var/lib/apt/lists` are never changed, and nothing is installed: packages are only
//! downloaded (`apt-get download`) and unpacked (`dpkg -x`) by the callers.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use super::util::{describe, mkdirs, run, run_stdout, write_atomic, Result};

/// Package lists older than this are refreshed before resolving a kernel series, so that a
/// security update's new ABI is seen; `VMTEST_APT_MAX_AGE` (seconds) overrides it.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Where a suite lives: the main archive or the security archive.
#[derive(Clone, Copy, Debug)]
pub enum Archive {
    /// `.../debian`
    Main,
    /// `.../debian-security`
    Security,
}

/// The Debian mirror configured on this machine (from /etc/apt/sources.list{,.d}).
#[derive(Clone, Debug)]
pub struct Mirrors {
    main: String,
    security: String,
}

impl Mirrors {
    /// Reads the host's apt sources; falls back to deb.debian.org when none names a Debian archive.
    pub fn from_host() -> Mirrors {
        let mut uris = Vec::new();
        let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
        if let Ok(rd) = fs::read_dir("/etc/apt/sources.list.d") {
            let mut more: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            more.sort();
            files.extend(more);
        }
        for f in files {
            let name = f.to_string_lossy().into_owned();
            let Ok(text) = fs::read_to_string(&f) else {
                continue;
            };
            if name.ends_with(".sources") {
                uris.extend(deb822_uris(&text));
            } else if name.ends_with(".list") {
                uris.extend(one_line_uris(&text));
            }
        }
        let pick = |suffix: &str| {
            uris.iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .find(|u| u.ends_with(suffix))
        };
        let main = pick("/debian").unwrap_or_else(|| "http://deb.debian.org/debian".into());
        let security = pick("/debian-security").unwrap_or_else(|| format!("{main}-security"));
        Mirrors { main, security }
    }

    fn uri(&self, archive: Archive) -> &str {
        match archive {
            Archive::Main => &self.main,
            Archive::Security => &self.security,
        }
    }
}

/// `URIs:` fields of enabled deb822 stanzas.
fn deb822_uris(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |key: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
        };
        if field("Enabled:").is_some_and(|v| v.eq_ignore_ascii_case("no")) {
            continue;
        }
        if !field("Types:").is_some_and(|t| t.split_whitespace().any(|t| t == "deb")) {
            continue;
        }
        if let Some(u) = field("URIs:") {
            out.extend(u.split_whitespace().map(str::to_string));
        }
    }
    out
}

/// URIs of `deb [options] URI suite components` lines.
fn one_line_uris(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let rest = rest.trim_start();
        let rest = match rest.strip_prefix('[') {
            Some(r) => r.split_once(']').map(|x| x.1).unwrap_or(""),
            None => rest,
        };
        if let Some(u) = rest.split_whitespace().next() {
            out.push(u.to_string());
        }
    }
    out
}

/// One private apt state (one Debian release and its security suite, or sid).
pub struct Apt {
    name: String,
    dir: PathBuf,
}

impl Apt {
    /// Creates or reuses the state `name` under `cache/apt/`, with `suites` from `mirrors`.
    pub fn open(
        cache: &Path,
        name: &str,
        suites: &[(Archive, &str)],
        mirrors: &Mirrors,
    ) -> Result<Apt> {
        let dir = cache.join("apt").join(name);
        mkdirs(&dir.join("lists/partial"))?;
        mkdirs(&dir.join("cache/archives/partial"))?;
        let keyring = Path::new("/usr/share/keyrings/debian-archive-keyring.gpg");
        let signed = if keyring.exists() {
            format!("[signed-by={}] ", keyring.display())
        } else {
            String::new()
        };
        let mut list = String::new();
        for (archive, suite) in suites {
            list.push_str(&format!(
                "deb {signed}{} {suite} main\n",
                mirrors.uri(*archive)
            ));
        }
        let path = dir.join("sources.list");
        if fs::read_to_string(&path).ok().as_deref() != Some(list.as_str()) {
            write_atomic(&path, list.as_bytes())?;
            // New sources: the old lists no longer describe them.
            let _ = fs::remove_file(dir.join("updated"));
        }
        Ok(Apt {
            name: name.to_string(),
            dir,
        })
    }

    fn options(&self) -> Vec<String> {
        let d = self.dir.display();
        vec![
            "-q".into(),
            "-o".into(),
            format!("Dir::Etc::sourcelist={d}/sources.list"),
            "-o".into(),
            "Dir::Etc::sourceparts=-".into(),
            "-o".into(),
            format!("Dir::State::lists={d}/lists"),
            "-o".into(),
            format!("Dir::Cache={d}/cache"),
            "-o".into(),
            "APT::Sandbox::User=root".into(),
            "-o".into(),
            "Acquire::Languages=none".into(),
            "-o".into(),
            "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".into(),
            "-o".into(),
            "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false".into(),
            "-o".into(),
            "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false".into(),
        ]
    }

    fn apt_get(&self) -> Command {
        let mut c = Command::new("apt-get");
        c.args(self.options());
        c
    }

    fn apt_cache(&self) -> Command {
        let mut c = Command::new("apt-cache");
        c.args(self.options());
        c
    }

    /// Refreshes the package lists when they are missing or older than the maximum age.
    /// Returns true when it contacted the mirror.
    pub fn ensure_fresh(&self) -> Result<bool> {
        let max_age = std::env::var("VMTEST_APT_MAX_AGE")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_MAX_AGE);
        let age = fs::metadata(self.dir.join("updated"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        match age {
            Some(a) if a < max_age => Ok(false),
            // Lists that are merely old still name kernels that were downloadable a day ago: when
            // the mirror cannot be reached, carry on with them.
            Some(a) => match self.update() {
                Ok(()) => Ok(true),
                Err(e) => {
                    eprintln!(
                        "vmtest: cannot refresh the {} lists ({e}); using the {} h old ones",
                        self.name,
                        a.as_secs() / 3600
                    );
                    Ok(false)
                }
            },
            None => self.update().map(|()| true),
        }
    }

    /// `apt-get update` of this private state.
    pub fn update(&self) -> Result<()> {
        eprintln!("vmtest: apt-get update ({})", self.name);
        run(self.apt_get().arg("update"))?;
        write_atomic(&self.dir.join("updated"), b"")
    }

    /// A value remembered from the current package lists (dropped when the lists are refreshed).
    pub fn memo(&self, key: &str) -> Option<String> {
        let updated = fs::metadata(self.dir.join("updated")).and_then(|m| m.modified());
        let path = self.dir.join(key);
        let written = fs::metadata(&path).and_then(|m| m.modified());
        match (updated, written) {
            (Ok(u), Ok(w)) if w >= u => fs::read_to_string(path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    /// Remembers `value` under `key` until the lists are refreshed.
    pub fn set_memo(&self, key: &str, value: &str) -> Result<()> {
        write_atomic(&self.dir.join(key), value.as_bytes())
    }

    /// Every package name that starts with `prefix`.
    pub fn pkgnames(&self, prefix: &str) -> Result<Vec<String>> {
        let out = run_stdout(self.apt_cache().args(["pkgnames", prefix]))?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// True when `pkg` is a real package (has a candidate version), not only a name in the cache.
    pub fn has_candidate(&self, pkg: &str) -> bool {
        let Ok(out) = run_stdout(self.apt_cache().args(["policy", pkg])) else {
            return false;
        };
        out.lines()
            .find_map(|l| l.trim().strip_prefix("Candidate:"))
            .is_some_and(|c| c.trim() != "(none)")
    }

    /// The packages `apt-get install --no-install-recommends pkg` would add to this host
    /// (simulated: nothing is installed).
    pub fn missing_for_install(&self, pkg: &str) -> Result<Vec<String>> {
        let out =
            run_stdout(
                self.apt_get()
                    .args(["-s", "install", "--no-install-recommends", pkg]),
            )?;
        Ok(out
            .lines()
            .filter_map(|l| l.strip_prefix("Inst "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect())
    }

    /// Downloads `pkgs` into the empty directory `dest` and returns the `.deb` files. When the
    /// mirror no longer has a file (404 after a point release), the lists are refreshed and the
    /// download retried once.
    pub fn download(&self, pkgs: &[String], dest: &Path) -> Result<Vec<PathBuf>> {
        mkdirs(dest)?;
        let attempt = || run(self.apt_get().current_dir(dest).arg("download").args(pkgs));
        if let Err(first) = attempt() {
            eprintln!("vmtest: download failed, refreshing the package lists: {first}");
            self.update()?;
            attempt()?;
        }
        let mut debs: Vec<PathBuf> = fs::read_dir(dest)
            .map_err(|e| format!("cannot list {}: {e}", dest.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "deb"))
            .collect();
        debs.sort();
        if debs.len() < pkgs.len() {
            return Err(format!(
                "apt-get download {} left {} .deb file(s) in {}",
                pkgs.join(" "),
                debs.len(),
                dest.display()
            ));
        }
        Ok(debs)
    }
}

/// Unpacks a `.deb` into `root` without installing it (`dpkg -x`).
pub fn unpack(deb: &Path, root: &Path) -> Result<()> {
    mkdirs(root)?;
    run(Command::new("dpkg").arg("-x").arg(deb).arg(root)).map(drop)
}

/// Unpacks only the members of a `.deb` that match one of the tar wildcard `patterns` (matched
/// against any trailing part of the path). A kernel package is mostly modules the guest never loads;
/// writing only the wanted ones halves the time of a first run.
pub fn unpack_matching(deb: &Path, root: &Path, patterns: &[&str]) -> Result<()> {
    mkdirs(root)?;
    let mut dpkg = Command::new("dpkg-deb");
    dpkg.arg("--fsys-tarfile").arg(deb);
    let mut src = dpkg
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", describe(&dpkg)))?;
    let tar_in = src.stdout.take().expect("stdout was piped");
    let mut tar = Command::new("tar");
    tar.arg("-x")
        .arg("-C")
        .arg(root)
        .args(["--wildcards", "--no-anchored"])
        .args(patterns);
    let out = tar
        .stdin(tar_in)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", describe(&tar)))?;
    let src = src
        .wait_with_output()
        .map_err(|e| format!("waiting for {}: {e}", describe(&dpkg)))?;
    if !src.status.success() {
        return Err(format!(
            "{} failed: {}",
            describe(&dpkg),
            String::from_utf8_lossy(&src.stderr).trim()
        ));
    }
    // tar fails when a pattern matched nothing in this package, which is expected (sid splits
    // the kernel over three packages); anything else is an error.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let real_errors: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            !l.contains("Not found in archive") && !l.contains("Exiting with failure status")
        })
        .collect();
    if !real_errors.is_empty() {
        return Err(format!(
            "{} failed: {}",
            describe(&tar),
            real_errors.join("\n")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_uris_in_both_source_formats() {
        let deb822 = "Types: deb\nURIs: http://m.example/debian\nSuites: bookworm\n\n\
                      Types: deb-src\nURIs: http://src.example/debian\n\n\
                      Types: deb\nEnabled: no\nURIs: http://off.example/debian\n";
        assert_eq!(deb822_uris(deb822), ["http://m.example/debian"]);
        let list = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://a.example/debian-security bookworm-security main\n\
                    deb http://b.example/debian bookworm main\ndeb-src http://c.example/debian bookworm main\n";
        assert_eq!(
            one_line_uris(list),
            [
                "http://a.example/debian-security",
                "http://b.example/debian"
            ]
        );
    }
}
