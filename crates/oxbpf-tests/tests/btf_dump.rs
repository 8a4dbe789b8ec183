//! `vmlinux.h` from oxbpf's C dumper: it compiles, it defines what bpftool's defines, and a BPF program
//! built against it is the same program (same instructions, same kernel tag) as one built against
//! bpftool's.

use std::path::{Path, PathBuf};
use std::process::Command;

use oxbpf::btf::Btf;

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

fn clang() -> String {
    std::env::var("CLANG").unwrap_or_else(|_| "clang-19".to_string())
}

/// Kernels built with `-fms-extensions` (7.x) have anonymous members of a named struct or union
/// type (`union { struct ns_tree; ... }`), which vmlinux.h spells that way, as bpftool and libbpf
/// do; C compilers read them as declaring nothing unless given the Microsoft extension, as the
/// kernel's BPF selftests are.
const MS_EXTENSIONS: [&str; 2] = ["-fms-extensions", "-Wno-microsoft-anon-tag"];

fn our_header() -> Option<String> {
    let bytes = std::fs::read(VMLINUX).ok()?;
    Some(Btf::parse(&bytes).unwrap().to_c_header().unwrap())
}

fn bpftool_header() -> String {
    let out = Command::new("bpftool")
        .args(["btf", "dump", "file", VMLINUX, "format", "c"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bpftool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The first line of every top-level definition (`struct x {`, `struct x;`, `typedef ... t;`,
/// `enum {`), sorted: the multiset of named definitions and forward declarations.
fn definitions(header: &str) -> Vec<&str> {
    let mut v: Vec<&str> = header
        .lines()
        .filter(|l| {
            ["struct", "union", "enum", "typedef"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn vmlinux_h_compiles_and_matches_bpftool_definitions() {
    let Some(ours) = our_header() else {
        oxbpf_tests::skip("no kernel BTF");
        return;
    };
    assert!(ours.starts_with("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"));
    assert!(ours.contains(
        "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)"
    ));
    assert!(ours.ends_with("#endif /* __VMLINUX_H__ */\n"));

    let theirs = bpftool_header();
    let (a, b) = (definitions(&ours), definitions(&theirs));
    let only_ours: Vec<_> = a
        .iter()
        .filter(|l| b.binary_search(l).is_err())
        .take(10)
        .collect();
    let only_theirs: Vec<_> = b
        .iter()
        .filter(|l| a.binary_search(l).is_err())
        .take(10)
        .collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only ours: {only_ours:?}\nonly bpftool's: {only_theirs:?}"
    );
    assert_eq!(a.len(), b.len());
    // The definitions come in the same (dependency) order too.
    let order = |h: &str| -> Vec<String> {
        h.lines()
            .filter(|l| l.starts_with("struct") || l.starts_with("union"))
            .map(String::from)
            .collect()
    };
    assert_eq!(order(&ours), order(&theirs));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vmlinux.h");
    std::fs::write(&path, &ours).unwrap();
    let out = Command::new(clang())
        .args([
            "-target",
            "bpf",
            "-fsyntax-only",
            "-Wall",
            "-Werror",
            "-x",
            "c",
        ])
        .args(MS_EXTENSIONS)
        .arg(&path)
        .output()
        .expect("clang-19");
    assert!(
        out.status.success(),
        "clang rejects our vmlinux.h:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The libbpf headers the fixtures are built with (libbpf-sys's build output next to ours).
fn libbpf_include() -> Option<PathBuf> {
    let fixture = oxbpf_tests::fixture("minimal");
    let build = fixture
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))?;
    std::fs::read_dir(build)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("libbpf-sys-"))
        .map(|e| e.path().join("out/include"))
        .find(|p| p.join("bpf/bpf_helpers.h").exists())
}

const CORE_PROG: &str = r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";
int parent_tgid = 0;
unsigned long long flags = 0;

SEC("tp/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
	flags = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	if (bpf_core_field_exists(task->mm))
		flags |= bpf_core_field_size(task->comm) << 8;
	return 0;
}
"#;

fn compile(dir: &Path, header: &str, include: &Path) -> PathBuf {
    std::fs::write(dir.join("vmlinux.h"), header).unwrap();
    std::fs::write(dir.join("prog.bpf.c"), CORE_PROG).unwrap();
    let obj = dir.join("prog.bpf.o");
    let out = Command::new(clang())
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            "-Wall",
            "-Werror",
        ])
        .args(MS_EXTENSIONS)
        .arg("-I")
        .arg(dir)
        .arg("-I")
        .arg(include)
        .arg("-c")
        .arg(dir.join("prog.bpf.c"))
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    obj
}

fn section_bytes(obj: &Path, name: &str) -> Vec<u8> {
    use object::{Object, ObjectSection};
    let data = std::fs::read(obj).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.section_by_name(name).unwrap().data().unwrap().to_vec()
}

#[test]
fn program_built_on_our_vmlinux_h_is_the_same_program() {
    let Some(ours) = our_header() else {
        oxbpf_tests::skip("no kernel BTF");
        return;
    };
    let include = libbpf_include().expect("libbpf-sys include dir next to the fixtures");
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = compile(d1.path(), &ours, &include);
    let b = compile(d2.path(), &bpftool_header(), &include);
    let sec = "tp/syscalls/sys_enter_getpid";
    assert_eq!(
        section_bytes(&a, sec),
        section_bytes(&b, sec),
        "instructions differ"
    );

    let fds = oxbpf_tests::LeakCheck::start();
    let (va, vb) = match (
        oxbpf_tests::libbpf_ref::load(&a),
        oxbpf_tests::libbpf_ref::load(&b),
    ) {
        (Ok(va), Ok(vb)) => (va, vb),
        (ra, rb) => {
            oxbpf_tests::skip(format!(
                "libbpf could not load: {:?} / {:?}",
                ra.err(),
                rb.err()
            ));
            return;
        }
    };
    assert_eq!(va.len(), 1);
    if !va[0].loaded {
        oxbpf_tests::skip(format!("kernel refused the program: {:?}", va[0].error));
        return;
    }
    assert_eq!(va[0].tag, vb[0].tag, "kernel tags differ: {va:?} vs {vb:?}");
    fds.assert_clean("fds and BPF mappings");
}
