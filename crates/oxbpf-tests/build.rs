//! Compiles every `bpf/*.bpf.c` fixture with clang-19 into `$OUT_DIR/bpf/<name>.bpf.o`.
//!
//! Each fixture is built once per header set: `libbpf` (libbpf 1.7's headers from libbpf-sys) and, once
//! oxbpf ships its own, `oxbpf`. A `vmlinux.h` is generated from the running kernel's BTF by oxbpf's
//! own BTF dumper.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let bpf_dir = manifest.join("bpf");
    let obj_dir = out.join("bpf");
    std::fs::create_dir_all(&obj_dir).unwrap();
    println!("cargo:rerun-if-changed={}", bpf_dir.display());

    let clang = oxbpf_gen::find_clang().unwrap_or_else(|e| panic!("{e}"));
    let vmlinux_dir = out.join("vmlinux");
    std::fs::create_dir_all(&vmlinux_dir).unwrap();
    // vmlinux.h from the running kernel's BTF, written by oxbpf's own C dumper (bpftool's output is
    // equivalent; tests/btf_dump.rs compares the two).
    oxbpf_gen::vmlinux_h(Path::new("/sys/kernel/btf/vmlinux"), &vmlinux_dir)
        .unwrap_or_else(|e| panic!("{e}"));

    let libbpf_inc =
        PathBuf::from(env::var("DEP_BPF_INCLUDE").expect("libbpf-sys exports its include dir"));
    let oxbpf_inc = oxbpf_gen::include_dir();
    let mut header_sets = vec![("libbpf", libbpf_inc)];
    if oxbpf_inc.join("bpf/bpf_helpers.h").exists() {
        println!("cargo:rerun-if-changed={}", oxbpf_inc.display());
        header_sets.push(("oxbpf", oxbpf_inc));
    }

    // For the header tests: where the generated vmlinux.h, libbpf's headers and clang are.
    println!(
        "cargo:rustc-env=OXBPF_TESTS_VMLINUX_DIR={}",
        vmlinux_dir.display()
    );
    println!(
        "cargo:rustc-env=OXBPF_TESTS_LIBBPF_INCLUDE={}",
        header_sets[0].1.display()
    );
    println!("cargo:rustc-env=OXBPF_TESTS_CLANG={}", clang.display());

    let ctx = Ctx {
        clang,
        vmlinux_dir,
        obj_dir,
        header_sets,
    };
    let mut index = String::from("/// (fixture name, header set, object path)\npub const FIXTURES: &[(&str, &str, &str)] = &[\n");
    index.push_str(&build_dir(&ctx, &bpf_dir, &[&bpf_dir]));
    index.push_str("];\n");
    // bpf/headers/: the header-compatibility fixtures (tests/headers.rs), kept apart from the loader
    // fixtures because they exercise features (CO-RE, struct_ops, USDT) before oxbpf loads them.
    let hdr_dir = bpf_dir.join("headers");
    index.push_str("/// Header-compatibility fixtures: (fixture name, header set, object path)\npub const HEADER_FIXTURES: &[(&str, &str, &str)] = &[\n");
    index.push_str(&build_dir(&ctx, &hdr_dir, &[&hdr_dir, &bpf_dir]));
    index.push_str("];\n");
    std::fs::write(out.join("fixtures.rs"), index).unwrap();
    gen_skeletons(&ctx.obj_dir, &out);

    build_test_binaries(&manifest.join("testbin"), &out);
}

struct Ctx {
    clang: PathBuf,
    vmlinux_dir: PathBuf,
    obj_dir: PathBuf,
    header_sets: Vec<(&'static str, PathBuf)>,
}

/// Compiles every `*.bpf.c` of `dir` with each header set; returns the index entries.
fn build_dir(ctx: &Ctx, dir: &Path, extra_includes: &[&Path]) -> String {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.sort();

    let mut index = String::new();
    for src in &sources {
        let name = src
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".bpf.c")
            .to_string();
        for (set, inc) in &ctx.header_sets {
            let obj = ctx.obj_dir.join(format!("{name}.{set}.bpf.o"));
            let mut includes: Vec<&Path> = vec![&ctx.vmlinux_dir, inc];
            includes.extend_from_slice(extra_includes);
            compile(&ctx.clang, src, &obj, &includes);
            index.push_str(&format!(
                "    ({name:?}, {set:?}, {:?}),\n",
                obj.display().to_string()
            ));
        }
    }
    index
}

fn compile(clang: &Path, src: &Path, obj: &Path, includes: &[&Path]) {
    let mut cmd = Command::new(clang);
    cmd.args([
        "-g",
        "-O2",
        "-target",
        "bpf",
        "-D__TARGET_ARCH_x86",
        "-Wall",
        "-Werror",
    ]);
    cmd.arg("-Wno-unused-function");
    // vmlinux.h of a 7.x kernel has anonymous members of named types (`struct foo;`), which only
    // -fms-extensions reads as members; the kernel's own BPF selftests build with it too.
    cmd.args(["-fms-extensions", "-Wno-microsoft-anon-tag"]);
    for inc in includes {
        cmd.arg("-I").arg(inc);
    }
    // -target bpf does not search the multiarch directory, where <asm/errno.h> (pulled in by
    // libbpf's usdt.bpf.h through <linux/errno.h>) lives; add it last, as libbpf-bootstrap does.
    let multiarch = format!("/usr/include/{}-linux-gnu", env::consts::ARCH);
    if Path::new(&multiarch).is_dir() {
        cmd.arg("-idirafter").arg(multiarch);
    }
    cmd.arg("-c").arg(src).arg("-o").arg(obj);
    let out = cmd.output().unwrap();
    if !out.status.success() {
        panic!(
            "compiling {}:\n{}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Compiles each `testbin/*.c` (user-space targets for the attach tests, e.g. with `sys/sdt.h` USDT
/// probes) with the host C compiler into `$OUT_DIR/testbin/<name>`, without optimisation of the probed
/// functions' symbols away (`-O1 -g`, not stripped).
fn build_test_binaries(src_dir: &Path, out: &Path) {
    println!("cargo:rerun-if-changed={}", src_dir.display());
    let Ok(dir) = std::fs::read_dir(src_dir) else {
        return;
    };
    let bin_dir = out.join("testbin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    for entry in dir {
        let src = entry.unwrap().path();
        if src.extension().and_then(|e| e.to_str()) != Some("c") {
            continue;
        }
        let name = src.file_stem().unwrap().to_string_lossy().to_string();
        let dst = bin_dir.join(&name);
        let out = Command::new(&cc)
            .args(["-O1", "-g", "-Wall", "-o"])
            .arg(&dst)
            .arg(&src)
            .output()
            .unwrap_or_else(|e| panic!("running {cc} for {}: {e}", src.display()));
        if !out.status.success() {
            panic!(
                "compiling {}:\n{}",
                src.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    println!("cargo:rustc-env=OXBPF_TESTBIN_DIR={}", bin_dir.display());
}

/// Generates the Rust skeleton of every fixture built with oxbpf's headers into
/// `$OUT_DIR/skel/<name>.skel.rs` and an index `$OUT_DIR/skeletons.rs` of `pub mod <name>` items
/// (tests/skeleton.rs includes it: that it compiles is the proof). A fixture the generator refuses
/// becomes a module with `GENERATE_ERROR`, which that test reports, so the build itself never breaks.
fn gen_skeletons(obj_dir: &Path, out: &Path) {
    let skel_dir = out.join("skel");
    std::fs::create_dir_all(&skel_dir).unwrap();
    let mut objs: Vec<PathBuf> = std::fs::read_dir(obj_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".oxbpf.bpf.o"))
        .collect();
    objs.sort();
    let mut index = String::new();
    let mut list = String::from(
        "/// (fixture, generator error or \"\")\npub const GENERATED: &[(&str, &str)] = &[\n",
    );
    for obj in objs {
        let file = obj.file_name().unwrap().to_string_lossy().to_string();
        let name = file.trim_end_matches(".oxbpf.bpf.o").to_string();
        let data = std::fs::read(&obj).unwrap();
        let gen = oxbpf_gen::Generator::new(&name, oxbpf_gen::Embed::IncludeBytes(obj.clone()));
        match gen.generate(&data) {
            Ok(src) => {
                let path = skel_dir.join(format!("{name}.skel.rs"));
                std::fs::write(&path, src).unwrap();
                index.push_str(&format!(
                    "pub mod {name} {{ include!({:?}); }}\n",
                    path.display().to_string()
                ));
                list.push_str(&format!("    ({name:?}, \"\"),\n"));
            }
            Err(e) => list.push_str(&format!("    ({name:?}, {:?}),\n", e.to_string())),
        }
    }
    list.push_str("];\n");
    index.push_str(&list);
    std::fs::write(out.join("skeletons.rs"), index).unwrap();
}
