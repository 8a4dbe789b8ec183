//! Debian kernels for the matrix: a series (`5.10`, `6.1`, `6.12`, `7.2`) resolves to the newest ABI
//! its release offers, and an ABI is prepared once into the cache: the ELF vmlinux, the config and the
//! modules the guest loads.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::apt::{unpack_matching, Apt, Archive, Mirrors};
use super::modules::{self, Module};
use super::util::{mkdirs, read, remove_tree, secs, write_atomic, Result};
use super::vmlinux;

/// A kernel series of the matrix and the Debian release that carries it.
#[derive(Clone, Copy, Debug)]
pub struct Series {
    /// `6.1`
    pub name: &'static str,
    /// Name of the private apt state (the release).
    release: &'static str,
}

/// Every series `--kernel all` runs, oldest first.
pub const SERIES: &[Series] = &[
    Series {
        name: "5.10",
        release: "bullseye",
    },
    Series {
        name: "6.1",
        release: "bookworm",
    },
    Series {
        name: "6.12",
        release: "bookworm",
    },
    Series {
        name: "7.2",
        release: "sid",
    },
];

impl Series {
    /// Looks a series up by name.
    pub fn find(name: &str) -> Option<Series> {
        SERIES.iter().copied().find(|s| s.name == name)
    }

    /// The suites of this series' release.
    fn suites(&self) -> Vec<(Archive, &'static str)> {
        match self.release {
            "bullseye" => vec![
                (Archive::Main, "bullseye"),
                (Archive::Security, "bullseye-security"),
            ],
            "bookworm" => vec![
                (Archive::Main, "bookworm"),
                (Archive::Main, "bookworm-updates"),
                (Archive::Security, "bookworm-security"),
            ],
            other => vec![(Archive::Main, other)],
        }
    }

    /// The private apt state of this series' release.
    pub fn apt(&self, cache: &Path, mirrors: &Mirrors) -> Result<Apt> {
        Apt::open(cache, self.release, &self.suites(), mirrors)
    }

    /// The newest ABI (`6.1.0-56-amd64`) of this series in the package lists.
    pub fn resolve(&self, apt: &Apt) -> Result<String> {
        let memo = format!("resolved-{}", self.name);
        if let Some(abi) = apt.memo(&memo) {
            return Ok(abi);
        }
        let abi = self.resolve_uncached(apt)?;
        apt.set_memo(&memo, &abi)?;
        Ok(abi)
    }

    fn resolve_uncached(&self, apt: &Apt) -> Result<String> {
        let mut abis: Vec<String> = apt
            .pkgnames(&format!("linux-image-{}", self.name))?
            .iter()
            .filter_map(|p| abi_of(self.name, p))
            .collect();
        abis.sort_by_key(|a| abi_key(a));
        while let Some(abi) = abis.pop() {
            if apt.has_candidate(&format!("linux-image-{abi}")) {
                return Ok(abi);
            }
        }
        Err(format!(
            "no linux-image-{}.*-amd64 package in the {} lists",
            self.name, self.release
        ))
    }
}

/// The ABI of a plain amd64 kernel package of `series` (`linux-image-6.1.0-56-amd64` →
/// `6.1.0-56-amd64`, `linux-image-6.12.117+deb12-amd64` → `6.12.117+deb12-amd64`); None for other
/// flavours (cloud, rt, dbg, unsigned) and other series.
fn abi_of(series: &str, package: &str) -> Option<String> {
    let abi = package.strip_prefix("linux-image-")?;
    let rest = abi.strip_suffix("-amd64")?.strip_prefix(series)?;
    let rest = rest.strip_prefix('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match rest.split_once('-') {
        Some(("0", n)) => digits(n),
        Some(_) => false,
        None => match rest.split_once("+deb") {
            Some((patch, release)) => digits(patch) && digits(release),
            None => false,
        },
    };
    ok.then(|| abi.to_string())
}

/// Orders ABIs by their numbers: `6.1.0-9` < `6.1.0-56`.
fn abi_key(abi: &str) -> Vec<u64> {
    abi.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// A prepared kernel in the cache.
pub struct Kernel {
    /// `6.1.0-56-amd64`
    pub abi: String,
    dir: PathBuf,
}

impl Kernel {
    /// The uncompressed ELF kernel QEMU boots through PVH.
    pub fn vmlinux(&self) -> PathBuf {
        self.dir.join("vmlinux")
    }

    /// The kernel's build configuration.
    pub fn config(&self) -> Result<Vec<u8>> {
        read(&self.dir.join("config"))
    }

    /// The modules to load, in load order.
    pub fn modules(&self) -> Result<Vec<Module>> {
        let dir = self.dir.join("modules");
        let order = fs::read_to_string(dir.join("order"))
            .map_err(|e| format!("cannot read {}/order: {e}", dir.display()))?;
        order
            .lines()
            .map(|name| {
                Ok(Module {
                    name: name.to_string(),
                    data: read(&dir.join(format!("{name}.ko")))?,
                })
            })
            .collect()
    }

    /// Returns the cached kernel `abi`, preparing it first when needed: download the packages,
    /// unpack them, extract vmlinux, keep the config and the needed modules, drop the rest.
    pub fn prepare(cache: &Path, apt: &Apt, abi: &str) -> Result<Kernel> {
        let dir = cache.join("kernels").join(abi);
        let kernel = Kernel {
            abi: abi.to_string(),
            dir: dir.clone(),
        };
        if dir.join("ready").exists() {
            return Ok(kernel);
        }
        eprintln!("vmtest: preparing kernel {abi} (first use)");
        let scratch = cache.join("tmp").join(abi);
        remove_tree(&scratch)?;
        remove_tree(&dir)?;
        // sid splits the kernel into linux-binary/-modules/-base and keeps linux-image as a metapackage.
        let packages: Vec<String> = if apt.has_candidate(&format!("linux-binary-{abi}")) {
            ["binary", "modules", "base"]
                .iter()
                .map(|part| format!("linux-{part}-{abi}"))
                .collect()
        } else {
            vec![format!("linux-image-{abi}")]
        };
        let t = Instant::now();
        let debs = apt.download(&packages, &scratch.join("debs"))?;
        let size: u64 = debs
            .iter()
            .filter_map(|d| fs::metadata(d).ok())
            .map(|m| m.len())
            .sum();
        let downloaded = t.elapsed();
        let t = Instant::now();
        let root = scratch.join("root");
        for deb in &debs {
            unpack_matching(deb, &root, modules::UNPACK)?;
        }
        let unpacked = t.elapsed();
        let first = |candidates: &[String]| {
            candidates
                .iter()
                .map(|c| root.join(c))
                .find(|p| p.exists())
                .ok_or_else(|| {
                    format!(
                        "none of {} in the packages {}",
                        candidates.join(", "),
                        packages.join(" ")
                    )
                })
        };
        let vmlinuz = first(&[
            format!("boot/vmlinuz-{abi}"),
            format!("usr/lib/modules/{abi}/vmlinuz"),
            format!("lib/modules/{abi}/vmlinuz"),
        ])?;
        let config = first(&[
            format!("boot/config-{abi}"),
            format!("usr/lib/modules/{abi}/config"),
            format!("lib/modules/{abi}/config"),
        ])?;
        let moddir = first(&[
            format!("lib/modules/{abi}"),
            format!("usr/lib/modules/{abi}"),
        ])?;

        mkdirs(&dir.join("modules"))?;
        let t = Instant::now();
        vmlinux::extract(&vmlinuz, &dir.join("vmlinux"), &scratch)?;
        let extracted = t.elapsed();
        write_atomic(&dir.join("config"), &read(&config)?)?;
        let t = Instant::now();
        let mods = modules::closure(&moddir, modules::WANTED)?;
        eprintln!(
            "vmtest: {abi}: downloaded {:.1} MB in {}, unpacked in {}, vmlinux in {}, {} modules in {}",
            size as f64 / 1e6,
            secs(downloaded),
            secs(unpacked),
            secs(extracted),
            mods.len(),
            secs(t.elapsed())
        );
        let mut order = String::new();
        for m in &mods {
            write_atomic(&dir.join(format!("modules/{}.ko", m.name)), &m.data)?;
            order.push_str(&m.name);
            order.push('\n');
        }
        write_atomic(&dir.join("modules/order"), order.as_bytes())?;
        let names: Vec<String> = debs
            .iter()
            .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        write_atomic(
            &dir.join("ready"),
            format!("{}\n", names.join("\n")).as_bytes(),
        )?;
        remove_tree(&scratch)?;
        Ok(kernel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_plain_amd64_kernels_of_the_series() {
        let abi = |s, p| abi_of(s, p);
        assert_eq!(
            abi("6.1", "linux-image-6.1.0-56-amd64").as_deref(),
            Some("6.1.0-56-amd64")
        );
        assert_eq!(
            abi("6.12", "linux-image-6.12.117+deb12-amd64").as_deref(),
            Some("6.12.117+deb12-amd64")
        );
        assert_eq!(
            abi("7.2", "linux-image-7.2.13+deb14-amd64").as_deref(),
            Some("7.2.13+deb14-amd64")
        );
        assert_eq!(abi("6.1", "linux-image-6.12.117+deb12-amd64"), None);
        assert_eq!(abi("6.1", "linux-image-6.1.0-56-cloud-amd64"), None);
        assert_eq!(abi("6.1", "linux-image-6.1.0-56-amd64-dbg"), None);
        assert_eq!(abi("6.1", "linux-image-6.1.0-56-amd64-unsigned"), None);
        assert_eq!(abi("7.2", "linux-image-7.2.13+deb14-rt-amd64"), None);
        assert_eq!(
            abi("5.10", "linux-image-5.10.0-46-amd64").as_deref(),
            Some("5.10.0-46-amd64")
        );
    }

    #[test]
    fn orders_abis_numerically() {
        let mut v = vec!["6.1.0-9-amd64", "6.1.0-56-amd64", "6.1.0-48-amd64"];
        v.sort_by_key(|a| abi_key(a));
        assert_eq!(v, ["6.1.0-9-amd64", "6.1.0-48-amd64", "6.1.0-56-amd64"]);
    }
}
