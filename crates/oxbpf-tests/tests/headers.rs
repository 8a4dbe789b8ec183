//! oxbpf's BPF-side headers against libbpf 1.7's: every fixture is built twice (build.rs), once per
//! header set, and the two objects must carry the same program: same instruction bytes, same data,
//! same relocations and symbols, and under libbpf the same load verdicts and kernel tags. Plus each
//! header compiles on its own with -Wall -Werror, and the generated helper table matches libbpf's.

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionKind, SymbolKind};
use oxbpf_tests::{fixture_with, libbpf_ref};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const OURS: &str = "oxbpf";

/// Every fixture: the loader fixtures and the header fixtures (bpf/headers/).
fn fixture_names() -> Vec<&'static str> {
    let mut names = oxbpf_tests::fixture_names();
    names.extend(oxbpf_tests::header_fixture_names());
    names
}
const THEIRS: &str = "libbpf";

/// Every `__TARGET_ARCH_*` bpf_tracing.h knows.
const ARCHES: [&str; 10] = [
    "x86",
    "arm64",
    "s390",
    "riscv",
    "powerpc",
    "arm",
    "mips",
    "sparc",
    "arc",
    "loongarch",
];

/// Sections that describe the source rather than the program: DWARF, and BTF/BTF.ext (their line info
/// embeds the text of the source lines, headers included, so they differ whenever the header text does).
fn is_source_description(name: &str) -> bool {
    name.starts_with(".debug")
        || name.starts_with(".rel.debug")
        || name.starts_with(".BTF")
        || name.starts_with(".rel.BTF")
        || name.starts_with(".llvm")
        || name == ".symtab"
        || name == ".strtab"
        || name.is_empty()
}

/// The comparable content of one object: section bytes (program, data, maps, license, struct_ops, ...),
/// relocations by target section, and symbols.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    sections: BTreeMap<String, Vec<u8>>,
    relocations: BTreeMap<String, Vec<(u64, String, String, i64)>>,
    symbols: Vec<(String, String, u64, u64, String)>,
}

fn shape(path: &Path) -> Shape {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let file =
        object::File::parse(&*data).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    let section_name = |idx| {
        file.section_by_index(idx)
            .ok()
            .and_then(|s| s.name().ok().map(str::to_owned))
    };

    let mut sections = BTreeMap::new();
    let mut relocations = BTreeMap::new();
    for s in file.sections() {
        let name = s.name().unwrap().to_string();
        if is_source_description(&name) {
            continue;
        }
        let bytes = if s.kind() == SectionKind::UninitializedData {
            // .bss: only the size exists.
            s.size().to_le_bytes().to_vec()
        } else {
            s.data().unwrap().to_vec()
        };
        sections.insert(name.clone(), bytes);
        let mut relocs = Vec::new();
        for (off, r) in s.relocations() {
            let target = match r.target() {
                RelocationTarget::Symbol(idx) => {
                    let sym = file.symbol_by_index(idx).unwrap();
                    if sym.kind() == SymbolKind::Section {
                        format!(
                            "section {}",
                            sym.section_index()
                                .and_then(section_name)
                                .unwrap_or_default()
                        )
                    } else {
                        sym.name().unwrap().to_string()
                    }
                }
                other => format!("{other:?}"),
            };
            relocs.push((off, format!("{:?}", r.flags()), target, r.addend()));
        }
        if !relocs.is_empty() {
            relocations.insert(name, relocs);
        }
    }

    let mut symbols = Vec::new();
    for sym in file.symbols() {
        let sec = sym
            .section_index()
            .and_then(section_name)
            .unwrap_or_else(|| "(none)".into());
        if matches!(sym.kind(), SymbolKind::File | SymbolKind::Section)
            || is_source_description(&sec)
        {
            continue;
        }
        symbols.push((
            sym.name().unwrap().to_string(),
            sec,
            sym.address(),
            sym.size(),
            format!("{:?} {:?} weak={}", sym.kind(), sym.scope(), sym.is_weak()),
        ));
    }
    symbols.sort();
    Shape {
        sections,
        relocations,
        symbols,
    }
}

#[test]
fn every_fixture_is_built_with_both_header_sets() {
    let sets = oxbpf_tests::header_sets();
    assert_eq!(sets, vec![THEIRS, OURS]);
    for name in fixture_names() {
        assert!(fixture_with(name, OURS).exists(), "{name}");
        assert!(fixture_with(name, THEIRS).exists(), "{name}");
    }
    // The header fixtures cover each header area.
    let areas = oxbpf_tests::header_fixture_names();
    for area in [
        "hdr_helpers",
        "hdr_tracing",
        "hdr_core",
        "hdr_endian",
        "hdr_usdt",
        "hdr_structops",
    ] {
        assert!(areas.contains(&area), "missing fixture {area}");
    }
    // The default fixture is the oxbpf-header build.
    assert_eq!(
        oxbpf_tests::fixture("minimal"),
        fixture_with("minimal", OURS)
    );
}

#[test]
fn objects_are_identical_apart_from_source_description() {
    let mut programs = 0;
    for name in fixture_names() {
        let ours = shape(&fixture_with(name, OURS));
        let theirs = shape(&fixture_with(name, THEIRS));
        assert_eq!(
            ours.sections.keys().collect::<Vec<_>>(),
            theirs.sections.keys().collect::<Vec<_>>(),
            "{name}: section lists differ"
        );
        for (sec, bytes) in &theirs.sections {
            assert!(
                ours.sections[sec] == *bytes,
                "{name}: section {sec} differs ({} vs {} bytes)",
                ours.sections[sec].len(),
                bytes.len()
            );
        }
        assert_eq!(
            ours.relocations, theirs.relocations,
            "{name}: relocations differ"
        );
        assert_eq!(ours.symbols, theirs.symbols, "{name}: symbols differ");
        programs += ours
            .symbols
            .iter()
            .filter(|s| s.4.starts_with("Text"))
            .count();
    }
    // The comparison sees differences: two different fixtures do not compare equal.
    assert_ne!(
        shape(&fixture_with("minimal", OURS)),
        shape(&fixture_with("maps", OURS))
    );
    // Not vacuous: the fixtures hold dozens of functions.
    assert!(programs >= 40, "only {programs} functions compared");
}

#[test]
fn libbpf_loads_both_builds_identically() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load BPF programs");
    }
    let fds = oxbpf_tests::LeakCheck::start();
    let (mut loaded, mut total) = (0, 0);
    for name in fixture_names() {
        let ours = libbpf_ref::load(&fixture_with(name, OURS))
            .unwrap_or_else(|e| panic!("{name} (oxbpf): {e}"));
        let theirs = libbpf_ref::load(&fixture_with(name, THEIRS))
            .unwrap_or_else(|e| panic!("{name} (libbpf): {e}"));
        for v in &theirs {
            println!(
                "{name:14} {:22} {:40} {}",
                v.name,
                v.section,
                match (&v.tag, &v.error) {
                    (Some(t), _) => format!(
                        "tag {}",
                        t.iter().map(|b| format!("{b:02x}")).collect::<String>()
                    ),
                    (None, e) => format!("refused: {}", e.as_deref().unwrap_or("?")),
                }
            );
        }
        assert_eq!(ours, theirs, "{name}: verdicts or tags differ");
        total += theirs.len();
        loaded += theirs.iter().filter(|v| v.loaded).count();
    }
    println!("{loaded} of {total} programs loaded, all with identical tags");
    // Not vacuous: the tracepoint, kprobe, uprobe, usdt, xdp programs load on this host.
    assert!(loaded >= 15, "only {loaded} of {total} programs loaded");
    fds.assert_clean("fd leak");
}

fn clang() -> PathBuf {
    PathBuf::from(env!("OXBPF_TESTS_CLANG"))
}

/// Compiles `source` with clang -target bpf -Wall -Werror against `include`: -fsyntax-only, unless
/// `extra` asks for an object with -c.
fn syntax_check(source: &str, include: &Path, extra: &[&str]) -> Result<(), String> {
    let mut child = Command::new(clang())
        .args(["-target", "bpf", "-Wall", "-Werror", "-x", "c"])
        .args(if extra.contains(&"-c") {
            &[][..]
        } else {
            &["-fsyntax-only"][..]
        })
        .args(extra)
        .arg("-I")
        .arg(include)
        .arg("-I")
        .arg(env!("OXBPF_TESTS_VMLINUX_DIR"))
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running clang");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), source.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn each_header_compiles_on_its_own() {
    let inc = oxbpf_gen::include_dir();
    for (header, _) in oxbpf_gen::HEADERS {
        // Like libbpf's, the headers take their types (__u32, struct pt_regs, ...) from vmlinux.h.
        let src = format!("#include \"vmlinux.h\"\n#include <bpf/{header}>\n");
        syntax_check(&src, &inc, &["-D__TARGET_ARCH_x86"])
            .unwrap_or_else(|e| panic!("{header}:\n{e}"));
    }
    // bpf_endian.h needs nothing before it; libbpf's neither.
    syntax_check("#include <bpf/bpf_endian.h>\n", &inc, &[]).unwrap();
    // bpf_tracing.h for every architecture it knows, and without a target (usable until PT_REGS is used).
    for arch in ARCHES {
        let src = "#include \"vmlinux.h\"\n#include <bpf/bpf_tracing.h>\n#include <bpf/bpf_core_read.h>\n";
        syntax_check(src, &inc, &[&format!("-D__TARGET_ARCH_{arch}")])
            .unwrap_or_else(|e| panic!("{arch}:\n{e}"));
    }
    syntax_check(
        "#include \"vmlinux.h\"\n#include <bpf/bpf_tracing.h>\n",
        &inc,
        &[],
    )
    .unwrap();
    // The helper macros programs build their own wrappers from behave as libbpf's (both sets).
    let helpers = r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
_Static_assert(___bpf_narg() == 0 && ___bpf_narg(a, b, c) == 3, "narg");
_Static_assert(___narg(a, b, c, d) == 4, "core narg");
_Static_assert(___bpf_reg_cnt(int, a, struct bpf_dynptr, b, long, c) == 4, "slots");
_Static_assert(___bpf_reg_cnt() == 0, "no slots");
_Static_assert(___last(1, 2, 3) == 3 && ___nolast(7, 3) == 7, "last/nolast");
#define N 5
_Static_assert(___empty() == 0 && ___empty(1, 2) == 5, "empty");
_Static_assert(___bpf_concat(1, 2) == 12, "concat");
"#;
    for inc in [
        inc.clone(),
        PathBuf::from(env!("OXBPF_TESTS_LIBBPF_INCLUDE")),
    ] {
        syntax_check(helpers, &inc, &["-D__TARGET_ARCH_x86"])
            .unwrap_or_else(|e| panic!("{}:\n{e}", inc.display()));
    }
    // Using PT_REGS without a target is an error that names the fix, as with libbpf.
    let e = syntax_check(
        "#include \"vmlinux.h\"\n#include <bpf/bpf_tracing.h>\nlong f(struct pt_regs *ctx) { return PT_REGS_PARM1(ctx); }\n",
        &inc,
        &[],
    )
    .unwrap_err();
    assert!(
        e.contains("Must specify a BPF target arch via __TARGET_ARCH_xxx"),
        "{e}"
    );
}

#[test]
fn usdt_spec_layout_is_the_documented_contract_under_both_headers() {
    // The layout written down in usdt.bpf.h (and DESIGN.md), checked by the compiler for both header
    // sets; the arg_type/idx_reg_off/scale_bitshift bit positions are checked through a union.
    let src = r#"
#include "vmlinux.h"
#include <bpf/usdt.bpf.h>
#define AT(type, field, off) _Static_assert(__builtin_offsetof(type, field) == off, #field)
_Static_assert(sizeof(struct __bpf_usdt_arg_spec) == 24, "arg spec size");
_Static_assert(sizeof(struct __bpf_usdt_spec) == 304, "spec size");
_Static_assert(_Alignof(struct __bpf_usdt_spec) == 8, "spec align");
_Static_assert(BPF_USDT_MAX_ARG_CNT == 12, "max args");
_Static_assert(BPF_USDT_ARG_CONST == 0 && BPF_USDT_ARG_REG == 1 && BPF_USDT_ARG_REG_DEREF == 2 &&
	       BPF_USDT_ARG_SIB == 3, "arg types");
AT(struct __bpf_usdt_arg_spec, val_off, 0);
AT(struct __bpf_usdt_arg_spec, reg_off, 14);
AT(struct __bpf_usdt_arg_spec, arg_signed, 16);
AT(struct __bpf_usdt_arg_spec, arg_bitshift, 17);
AT(struct __bpf_usdt_spec, args, 0);
AT(struct __bpf_usdt_spec, usdt_cookie, 288);
AT(struct __bpf_usdt_spec, arg_cnt, 296);
/* Bitfield placement, read back from the object's .data by the test. */
struct __bpf_usdt_arg_spec probe = {
	.val_off = 0x1122334455667788ULL, .arg_type = 3, .idx_reg_off = 0xabc, .scale_bitshift = 2,
	.__reserved = 0x5a, .reg_off = -2, .arg_signed = 1, .arg_bitshift = 56,
};
"#;
    let dir = tempfile::tempdir().unwrap();
    for (set, inc) in [
        (OURS, oxbpf_gen::include_dir()),
        (THEIRS, PathBuf::from(env!("OXBPF_TESTS_LIBBPF_INCLUDE"))),
    ] {
        let multiarch = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
        let obj = dir.path().join(format!("{set}.o"));
        let o = obj.to_str().unwrap();
        syntax_check(
            src,
            &inc,
            &[
                "-D__TARGET_ARCH_x86",
                "-idirafter",
                &multiarch,
                "-c",
                "-o",
                o,
            ],
        )
        .unwrap_or_else(|e| panic!("{set}:\n{e}"));
        let bytes = std::fs::read(&obj).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        let data = file
            .section_by_name(".data")
            .unwrap()
            .data()
            .unwrap()
            .to_vec();
        let mut want = vec![0u8; 24];
        want[0..8].copy_from_slice(&0x1122334455667788u64.to_le_bytes());
        want[8] = 3; // arg_type
        want[10..12].copy_from_slice(&(0xabcu16 | 2 << 12).to_le_bytes()); // idx_reg_off | scale << 12
        want[12] = 0x5a; // __reserved
        want[14..16].copy_from_slice(&(-2i16).to_le_bytes()); // reg_off
        want[16] = 1; // arg_signed
        want[17] = 56; // arg_bitshift
        assert_eq!(data, want, "{set}: struct __bpf_usdt_arg_spec bytes");
    }
}

#[test]
fn big_endian_builds_are_identical() {
    // build.rs compiles for the host's byte order; the headers' big-endian branches (byte swaps,
    // bitfield probe reads, USDT spec bitfields and value shifts) are checked here with bpfeb.
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("bpf/headers");
    let multiarch = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    for name in [
        "hdr_core",
        "hdr_endian",
        "hdr_usdt",
        "hdr_helpers",
        "hdr_tracing",
    ] {
        let source = std::fs::read_to_string(fixtures.join(format!("{name}.bpf.c"))).unwrap();
        let mut shapes = Vec::new();
        for (set, inc) in [
            (OURS, oxbpf_gen::include_dir()),
            (THEIRS, PathBuf::from(env!("OXBPF_TESTS_LIBBPF_INCLUDE"))),
        ] {
            let obj = dir.path().join(format!("{name}.{set}.o"));
            let args = [
                "-target",
                "bpfeb",
                "-g",
                "-O2",
                "-D__TARGET_ARCH_x86",
                "-I",
                fixtures.to_str().unwrap(),
                "-idirafter",
                &multiarch,
                "-c",
                "-o",
                obj.to_str().unwrap(),
            ];
            syntax_check(&source, &inc, &args).unwrap_or_else(|e| panic!("{name} {set}:\n{e}"));
            let bytes = std::fs::read(&obj).unwrap();
            let file = object::File::parse(&*bytes).unwrap();
            assert_eq!(
                file.endianness(),
                object::Endianness::Big,
                "{name}: not big endian"
            );
            shapes.push(shape(&obj));
        }
        assert_eq!(shapes[0], shapes[1], "{name}: big-endian objects differ");
    }
}

/// A tracing program for any architecture: it brings its own minimal register structs (vmlinux.h is
/// this host's), so PT_REGS_* and the kprobe/ksyscall wrappers can be compiled for every target.
const ARCH_PROGRAM: &str = r#"
typedef unsigned char __u8; typedef unsigned short __u16; typedef unsigned int __u32;
typedef unsigned long long __u64; typedef signed char __s8; typedef short __s16; typedef int __s32;
typedef long long __s64; typedef __u16 __be16; typedef __u32 __be32; typedef __u32 __wsum;
enum bpf_map_type { BPF_MAP_TYPE_ARRAY = 2 };

#if defined(__TARGET_ARCH_x86)
struct pt_regs { unsigned long r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi,
	rdi, orig_rax, rip, cs, eflags, rsp, ss; };
#define NARGS 6
#elif defined(__TARGET_ARCH_s390)
typedef struct { struct { unsigned long mask, addr; } psw; unsigned long gprs[16];
	unsigned int acrs[16]; unsigned long orig_gpr2; } user_pt_regs;
#define NARGS 5
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs { __u64 regs[31]; __u64 sp; __u64 pc; __u64 pstate; };
#define NARGS 8
#elif defined(__TARGET_ARCH_riscv)
struct user_regs_struct { unsigned long pc, ra, sp, gp, tp, t0, t1, t2, s0, s1, a0, a1, a2, a3, a4,
	a5, a6, a7; };
#define NARGS 8
#elif defined(__TARGET_ARCH_powerpc)
struct pt_regs { unsigned long gpr[32]; unsigned long nip, msr, orig_gpr3, ctr, link, xer, ccr; };
#define NARGS 8
#define NO_FP
#define NO_RET
#elif defined(__TARGET_ARCH_arm)
struct pt_regs { long uregs[18]; };
#define NARGS 4
#elif defined(__TARGET_ARCH_mips)
struct pt_regs { __u64 regs[32]; __u64 lo, hi, cp0_epc, cp0_badvaddr, cp0_status, cp0_cause; };
#define NARGS 8
#elif defined(__TARGET_ARCH_loongarch)
struct user_pt_regs { unsigned long regs[32]; unsigned long orig_a0, csr_era, csr_badv; };
#define NARGS 8
#elif defined(__TARGET_ARCH_sparc)
enum { UREG_I0 = 8, UREG_I1, UREG_I2, UREG_I3, UREG_I4, UREG_I5, UREG_FP, UREG_I7 };
struct pt_regs { unsigned long u_regs[16]; unsigned long tstate, tpc, tnpc, pc; };
#define NARGS 6
#define NO_FP
#elif defined(__TARGET_ARCH_arc)
struct user_regs_struct { unsigned long pad; struct { unsigned long bta, lp_start, lp_end, lp_count,
	status32, ret, blink, fp, gp, r12, r11, r10, r9, r8, r7, r6, r5, r4, r3, r2, r1, r0, sp; }
	scratch; };
#define NARGS 8
#endif

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";
unsigned long out;

#if NARGS == 4
#define ARGS long a, long b, long c, long d
#define SUM (a + b + c + d)
#elif NARGS == 5
#define ARGS long a, long b, long c, long d, long e
#define SUM (a + b + c + d + e)
#elif NARGS == 6
#define ARGS long a, long b, long c, long d, long e, long f
#define SUM (a + b + c + d + e + f)
#else
#define ARGS long a, long b, long c, long d, long e, long f, long g, long h
#define SUM (a + b + c + d + e + f + g + h)
#endif

SEC("kprobe/x")
int BPF_KPROBE(kp, ARGS)
{
	unsigned long ip = 0;

	out = SUM + PT_REGS_RC(ctx) + PT_REGS_SP(ctx) + PT_REGS_IP(ctx);
	out += PT_REGS_PARM1_CORE(ctx) + PT_REGS_RC_CORE(ctx) + PT_REGS_IP_CORE(ctx);
#ifndef NO_FP
	out += PT_REGS_FP(ctx) + PT_REGS_FP_CORE(ctx);
#endif
#ifndef NO_RET
	out += PT_REGS_RET(ctx);
#endif
	BPF_KPROBE_READ_RET_IP(ip, ctx);
	return ip;
}

SEC("kretprobe/x")
int BPF_KRETPROBE(krp, long ret)
{
	unsigned long ip = 0;

	BPF_KRETPROBE_READ_RET_IP(ip, ctx);
	return ret + ip;
}

SEC("ksyscall/x")
int BPF_KSYSCALL(sc, long a, long b, long c, long d, long e)
{
	struct pt_regs *regs = PT_REGS_SYSCALL_REGS(ctx);

	out = a + b + c + d + e + PT_REGS_PARM1_CORE_SYSCALL(regs) + PT_REGS_PARM6_CORE_SYSCALL(regs);
	return PT_REGS_PARM1_SYSCALL(ctx) + PT_REGS_PARM3_SYSCALL(ctx);
}
"#;

#[test]
fn pt_regs_code_is_identical_for_every_architecture() {
    let dir = tempfile::tempdir().unwrap();
    for arch in ARCHES {
        let mut shapes = Vec::new();
        for (set, inc) in [
            (OURS, oxbpf_gen::include_dir()),
            (THEIRS, PathBuf::from(env!("OXBPF_TESTS_LIBBPF_INCLUDE"))),
        ] {
            let obj = dir.path().join(format!("{arch}.{set}.o"));
            let def = format!("-D__TARGET_ARCH_{arch}");
            let args = ["-g", "-O2", &def, "-c", "-o", obj.to_str().unwrap()];
            syntax_check(ARCH_PROGRAM, &inc, &args)
                .unwrap_or_else(|e| panic!("{arch} {set}:\n{e}"));
            shapes.push(shape(&obj));
        }
        assert!(shapes[0].sections.contains_key("kprobe/x"), "{arch}");
        assert_eq!(
            shapes[0], shapes[1],
            "{arch}: oxbpf and libbpf headers give different code"
        );
    }
}

/// libbpf-rs 0.27's own test programs (a dependency of this crate, so its source is in the cargo
/// registry): real libbpf-style programs, none written for oxbpf.
fn libbpf_rs_programs() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let mut out = Vec::new();
    for reg in std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .flatten()
    {
        let dir = reg.path().join("libbpf-rs-0.27.2/tests/bin/src");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            out.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with(".bpf.c")),
            );
        }
    }
    out.sort();
    out
}

#[test]
fn third_party_programs_compile_to_the_same_objects() {
    let programs = libbpf_rs_programs();
    assert!(
        programs.len() >= 15,
        "libbpf-rs test programs not found: {programs:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let multiarch = format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    // Two compiles per program against a large vmlinux.h: spread them over a few threads.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let chunk = programs.len().div_ceil(workers);
    let results: Vec<(String, Option<bool>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = programs
            .chunks(chunk)
            .map(|part| {
                let (dir, multiarch) = (dir.path(), multiarch.as_str());
                scope.spawn(move || {
                    part.iter()
                        .map(|src| compare_third_party(src, dir, multiarch))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let identical: Vec<&String> = results
        .iter()
        .filter(|r| r.1 == Some(true))
        .map(|r| &r.0)
        .collect();
    println!(
        "identical objects: {} of {}: {identical:?}",
        identical.len(),
        programs.len()
    );
    assert!(
        identical.len() >= 15,
        "only {} programs compared",
        identical.len()
    );
}

/// Builds one third-party program with both header sets: Some(true) when the objects are the same,
/// None when it does not build with libbpf's headers on this host either. Panics on a difference.
fn compare_third_party(src: &Path, dir: &Path, multiarch: &str) -> (String, Option<bool>) {
    let name = src
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace(".bpf.c", "");
    let source = std::fs::read_to_string(src).unwrap();
    let src_dir = src.parent().unwrap().to_str().unwrap();
    let mut shapes = Vec::new();
    for (set, inc) in [
        (THEIRS, PathBuf::from(env!("OXBPF_TESTS_LIBBPF_INCLUDE"))),
        (OURS, oxbpf_gen::include_dir()),
    ] {
        let obj = dir.join(format!("{name}.{set}.o"));
        // Their code, their warnings: -Wall stays on, -Werror off.
        let args = [
            "-g",
            "-O2",
            "-Wno-error",
            "-D__TARGET_ARCH_x86",
            "-I",
            src_dir,
            "-idirafter",
            multiarch,
            "-c",
            "-o",
            obj.to_str().unwrap(),
        ];
        match syntax_check(&source, &inc, &args) {
            Ok(()) => shapes.push(shape(&obj)),
            // Needs something this host's vmlinux.h lacks: only acceptable if libbpf's fail too.
            Err(e) if set == THEIRS => {
                println!(
                    "{name}: does not build with libbpf's headers here either: {}",
                    e.lines().next().unwrap_or("")
                );
                return (name, None);
            }
            Err(e) => panic!("{name} builds with libbpf's headers but not with oxbpf's:\n{e}"),
        }
    }
    assert_eq!(shapes[0], shapes[1], "{name}: objects differ");
    (name, Some(true))
}

/// `name -> declaration` of every `static ... (* const name)(...) = (void *) id;` line, whitespace
/// normalised so the two generators' formatting does not matter.
fn helper_table(path: &Path) -> BTreeMap<String, (u32, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut table = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("static ") && l.contains("(* const "))
    {
        let name = line
            .split("(* const ")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap()
            .to_string();
        let id: u32 = line
            .rsplit("(void *)")
            .next()
            .unwrap()
            .trim()
            .trim_end_matches(';')
            .parse()
            .unwrap();
        let decl: String = line
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace("* ", "*")
            .replace(" *", "*");
        table.insert(name, (id, decl));
    }
    table
}

#[test]
fn generated_helper_defs_cover_every_helper_with_libbpfs_types() {
    let ours = helper_table(&oxbpf_gen::include_dir().join("bpf/bpf_helper_defs.h"));
    let theirs =
        helper_table(&Path::new(env!("OXBPF_TESTS_LIBBPF_INCLUDE")).join("bpf/bpf_helper_defs.h"));
    assert!(ours.len() >= 211, "{} helpers", ours.len());
    let mut ids: Vec<u32> = ours.values().map(|v| v.0).collect();
    ids.sort();
    assert_eq!(
        ids,
        (1..=ids.len() as u32).collect::<Vec<_>>(),
        "helper ids are not 1..=N"
    );
    assert_eq!(ours, theirs);

    let text =
        std::fs::read_to_string(oxbpf_gen::include_dir().join("bpf/bpf_helper_defs.h")).unwrap();
    assert!(text.contains("Generator: oxbpf xtask gen-helper-defs"));
    assert!(text.contains("Input:"));
    // Each helper carries its documentation.
    let documented = text.matches(" * Description:").count();
    assert!(
        documented >= ours.len(),
        "{documented} doc blocks for {} helpers",
        ours.len()
    );
}
