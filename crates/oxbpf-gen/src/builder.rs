//! [`SkeletonBuilder`]: compile a `.bpf.c` in a build script and generate its skeleton.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::skeleton::{Embed, Generator};

/// Why a skeleton build failed (clang missing, compile error, generator error, I/O).
#[derive(Debug)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// What [`SkeletonBuilder::build`] wrote.
#[derive(Debug, Clone)]
pub struct Built {
    /// The compiled object (`<out>/<name>.bpf.o`).
    pub object: PathBuf,
    /// The skeleton source (`<out>/<name>.skel.rs`), to `include!` in a module.
    pub skeleton: PathBuf,
}

/// Compiles one BPF C source with clang against oxbpf's headers and a `vmlinux.h` made from the
/// running kernel's BTF by oxbpf's own dumper, then writes the object's skeleton.
///
/// ```no_run
/// // build.rs
/// oxbpf_gen::SkeletonBuilder::new("src/bpf/minimal.bpf.c").build().unwrap();
/// // src/main.rs: mod minimal { include!(concat!(env!("OUT_DIR"), "/minimal.skel.rs")); }
/// ```
#[derive(Debug, Clone)]
pub struct SkeletonBuilder {
    source: PathBuf,
    name: Option<String>,
    clang: Option<PathBuf>,
    clang_args: Vec<String>,
    includes: Vec<PathBuf>,
    out_dir: Option<PathBuf>,
    btf: PathBuf,
}

impl SkeletonBuilder {
    /// A builder for `source` (`foo.bpf.c`; the object name is `foo`).
    pub fn new(source: impl Into<PathBuf>) -> SkeletonBuilder {
        SkeletonBuilder {
            source: source.into(),
            name: None,
            clang: None,
            clang_args: Vec::new(),
            includes: Vec::new(),
            out_dir: None,
            btf: PathBuf::from("/sys/kernel/btf/vmlinux"),
        }
    }

    /// The object name (default: the source file name up to its first `.`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The clang to run (default: `$CLANG`, then `clang-19`, then `clang`).
    pub fn clang(mut self, clang: impl Into<PathBuf>) -> Self {
        self.clang = Some(clang.into());
        self
    }

    /// An extra clang argument (e.g. `-DFOO=1`).
    pub fn clang_arg(mut self, arg: impl Into<String>) -> Self {
        self.clang_args.push(arg.into());
        self
    }

    /// An extra include directory.
    pub fn include(mut self, dir: impl Into<PathBuf>) -> Self {
        self.includes.push(dir.into());
        self
    }

    /// Where to write the object and skeleton (default: `$OUT_DIR`).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The BTF `vmlinux.h` is made from (default: `/sys/kernel/btf/vmlinux`).
    pub fn vmlinux_btf(mut self, path: impl Into<PathBuf>) -> Self {
        self.btf = path.into();
        self
    }

    fn object_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.source
                .file_name()
                .map(|f| {
                    f.to_string_lossy()
                        .split('.')
                        .next()
                        .unwrap_or("")
                        .to_string()
                })
                .unwrap_or_default()
        })
    }

    /// Compiles, generates, writes; prints `cargo:rerun-if-changed` for the source and its directory.
    pub fn build(&self) -> Result<Built, BuildError> {
        let out = match &self.out_dir {
            Some(d) => d.clone(),
            None => PathBuf::from(std::env::var_os("OUT_DIR").ok_or_else(|| {
                BuildError("OUT_DIR is not set: call from a build script or set out_dir()".into())
            })?),
        };
        std::fs::create_dir_all(&out)
            .map_err(|e| BuildError(format!("creating {}: {e}", out.display())))?;
        println!("cargo:rerun-if-changed={}", self.source.display());
        if let Some(dir) = self.source.parent().filter(|d| !d.as_os_str().is_empty()) {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
        println!("cargo:rerun-if-env-changed=CLANG");
        let name = self.object_name();
        let vmlinux_dir = out.join("oxbpf-vmlinux");
        vmlinux_h(&self.btf, &vmlinux_dir)?;
        let object = out.join(format!("{name}.bpf.o"));
        self.compile(&object, &vmlinux_dir)?;
        let data = std::fs::read(&object)
            .map_err(|e| BuildError(format!("reading {}: {e}", object.display())))?;
        let src = Generator::new(&name, Embed::IncludeBytes(object.clone()))
            .generate(&data)
            .map_err(|e| BuildError(format!("skeleton of {}: {e}", self.source.display())))?;
        let skeleton = out.join(format!("{name}.skel.rs"));
        std::fs::write(&skeleton, src)
            .map_err(|e| BuildError(format!("writing {}: {e}", skeleton.display())))?;
        Ok(Built { object, skeleton })
    }

    fn compile(&self, object: &Path, vmlinux_dir: &Path) -> Result<(), BuildError> {
        let clang = match &self.clang {
            Some(c) => c.clone(),
            None => find_clang()?,
        };
        let mut cmd = Command::new(&clang);
        cmd.args(["-g", "-O2", "-target", "bpf", "-Wall"]);
        // Kernels built with -fms-extensions (7.x) have anonymous members of named struct types,
        // which vmlinux.h can only spell `struct foo;`; without the extension clang drops them.
        cmd.args(["-fms-extensions", "-Wno-microsoft-anon-tag"]);
        cmd.arg(format!("-D__TARGET_ARCH_{}", target_arch()));
        cmd.arg("-I").arg(vmlinux_dir);
        cmd.arg("-I").arg(crate::include_dir());
        for inc in &self.includes {
            cmd.arg("-I").arg(inc);
        }
        // `-target bpf` skips the multiarch directory where <asm/*.h> lives on Debian.
        let multiarch = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
        if Path::new(&multiarch).is_dir() {
            cmd.arg("-idirafter").arg(multiarch);
        }
        cmd.args(&self.clang_args);
        cmd.arg("-c").arg(&self.source).arg("-o").arg(object);
        let res = cmd.output().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                BuildError(format!(
                    "clang not found at {}: building BPF programs needs clang (19 recommended); \
                     install it (`apt-get install clang-19`) or set CLANG",
                    clang.display()
                ))
            } else {
                BuildError(format!("running {}: {e}", clang.display()))
            }
        })?;
        if !res.status.success() {
            return Err(BuildError(format!(
                "clang failed on {}:\n{}",
                self.source.display(),
                String::from_utf8_lossy(&res.stderr)
            )));
        }
        Ok(())
    }
}

/// `__TARGET_ARCH_*` of the host, as bpf_tracing.h spells it.
fn target_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        "s390x" => "s390",
        "powerpc64" => "powerpc",
        "riscv64" => "riscv",
        "loongarch64" => "loongarch",
        "arm" => "arm",
        other => other,
    }
}

/// The clang to use: `$CLANG`, `clang-19`, `clang`; a clear error when there is none.
pub fn find_clang() -> Result<PathBuf, BuildError> {
    let works = |c: &Path| {
        Command::new(c)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if let Some(c) = std::env::var_os("CLANG") {
        let c = PathBuf::from(c);
        if works(&c) {
            return Ok(c);
        }
        return Err(BuildError(format!(
            "CLANG={} does not run; point it at a BPF-capable clang",
            c.display()
        )));
    }
    for c in ["clang-19", "/usr/lib/llvm-19/bin/clang", "clang"] {
        if works(Path::new(c)) {
            return Ok(PathBuf::from(c));
        }
    }
    Err(BuildError(
        "clang not found: building BPF programs needs clang (19 recommended). Install it \
         (`apt-get install clang-19`) or set CLANG to a BPF-capable clang."
            .into(),
    ))
}

/// Writes `dir/vmlinux.h` from the BTF at `btf` with oxbpf's C dumper, unless it is already there.
pub fn vmlinux_h(btf: &Path, dir: &Path) -> Result<PathBuf, BuildError> {
    let dst = dir.join("vmlinux.h");
    if dst.exists() {
        return Ok(dst);
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| BuildError(format!("creating {}: {e}", dir.display())))?;
    let parsed = oxbpf::kernel::vmlinux::parse_btf_file(btf)
        .map_err(|e| BuildError(format!("vmlinux.h: {e}")))?;
    let tmp = dir.join(format!("vmlinux.h.{}", std::process::id()));
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&tmp)
            .map_err(|e| BuildError(format!("creating {}: {e}", tmp.display())))?,
    );
    parsed
        .write_c_header(&mut f)
        .map_err(|e| BuildError(format!("vmlinux.h from {}: {e}", btf.display())))?;
    std::io::Write::flush(&mut f)
        .map_err(|e| BuildError(format!("writing {}: {e}", tmp.display())))?;
    drop(f);
    std::fs::rename(&tmp, &dst)
        .map_err(|e| BuildError(format!("renaming {}: {e}", tmp.display())))?;
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_clang_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("oxbpf-gen-noclang-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("oxbpf-vmlinux")).unwrap();
        // A vmlinux.h already in place: the test needs no kernel BTF.
        std::fs::write(dir.join("oxbpf-vmlinux/vmlinux.h"), "").unwrap();
        let err = SkeletonBuilder::new("x.bpf.c")
            .clang("/nonexistent/clang-19")
            .out_dir(&dir)
            .build()
            .unwrap_err();
        assert!(err.0.contains("clang not found"), "{err}");
        assert!(err.0.contains("apt-get install clang-19"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn object_name_is_the_file_name_up_to_the_first_dot() {
        assert_eq!(
            SkeletonBuilder::new("src/bpf/boot.strap.bpf.c").object_name(),
            "boot"
        );
        assert_eq!(SkeletonBuilder::new("a.bpf.c").name("b").object_name(), "b");
    }
}
