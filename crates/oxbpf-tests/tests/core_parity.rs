//! CO-RE against the running kernel: the `core_*` fixtures relocated by oxbpf's engine must give
//! exactly libbpf's instructions, and loading them must give libbpf's verdicts and tags; a program
//! the verifier rejects at a poisoned instruction must be explained in words.
//!
//! The fixtures have no maps, globals or subprograms, so a program's final instructions are its
//! section's instructions with CO-RE applied; this lets the engine be checked before the object
//! loader exists.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;

use oxbpf::insn::Insn;
use oxbpf::reloc::core::{
    poisoned_insn_in_log, CoreOutcome, CoreRelocator, CoreTargets, TargetBtf,
};
use oxbpf::sys::bpf::{prog_info, prog_load, LoadLog, ProgLoadOpts};
use oxbpf_tests::libbpf_ref::{insns_after, Stage};
use oxbpf_tests::raw_progs::{raw_programs, relocate_core};

struct Prog {
    name: String,
    section: String,
    insns: Vec<Insn>,
    outcomes: Vec<CoreOutcome>,
}

/// The kernel's BTF as the loader sees it (parsed once per process, shared with its caches).
fn vmlinux() -> Arc<TargetBtf> {
    TargetBtf::shared(
        "vmlinux",
        &oxbpf::kernel::vmlinux::vmlinux_btf().expect("vmlinux BTF"),
    )
}

/// Module BTFs in BTF object id order, as libbpf's `load_module_btfs` sees them.
fn modules() -> oxbpf::Result<Vec<Arc<TargetBtf>>> {
    Ok(oxbpf::kernel::module_btf::module_btfs()?
        .iter()
        .map(|m| TargetBtf::shared(&m.name, &m.btf))
        .collect())
}

/// Applies CO-RE to `path`'s programs with oxbpf against `targets`, in libbpf's order (sections,
/// then records).
fn relocate_against(path: &Path, targets: &CoreTargets) -> oxbpf::Result<Vec<Prog>> {
    let (mut raw, btf, ext) = raw_programs(path);
    let mut core = CoreRelocator::new(&btf, targets);
    let mut outcomes: Vec<Vec<CoreOutcome>> = raw.iter().map(|_| Vec::new()).collect();
    relocate_core(&mut raw, &ext, &mut core, |p, o| outcomes[p].push(o))?;
    Ok(raw
        .into_iter()
        .zip(outcomes)
        .map(|((name, section, _, insns), outcomes)| Prog {
            name,
            section,
            insns,
            outcomes,
        })
        .collect())
}

/// Applies CO-RE with oxbpf against the running kernel (vmlinux, then module BTFs).
fn relocate_with_oxbpf(path: &Path) -> Vec<Prog> {
    let targets = CoreTargets::new(vmlinux()).with_module_loader(modules);
    relocate_against(path, &targets).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// libbpf's instructions for each program after `bpf_object__load` relocated them (whether or not the
/// kernel then accepted every program).
fn libbpf_insns(path: &Path) -> HashMap<String, Vec<Insn>> {
    insns_after(path, None, Stage::Load).1
}

fn prog_type(section: &str) -> u32 {
    if section.starts_with("raw_tp/") {
        17 // BPF_PROG_TYPE_RAW_TRACEPOINT
    } else {
        5 // BPF_PROG_TYPE_TRACEPOINT
    }
}

/// Loads `p` as it is; `Ok(tag)` or `Err(verifier log)`.
fn load(p: &Prog) -> Result<[u8; 8], String> {
    let mut buf = vec![0u8; 1 << 20];
    let mut log = LoadLog {
        level: 1,
        buf: &mut buf,
        true_size: 0,
    };
    let name: String = p.name.chars().take(15).collect();
    match prog_load(
        prog_type(&p.section),
        Some(&name),
        "GPL",
        &p.insns,
        &ProgLoadOpts::default(),
        Some(&mut log),
    ) {
        Ok(fd) => Ok(prog_info(fd.as_fd()).unwrap().tag),
        Err(e) => Err(format!("{e}\n{}", log.text())),
    }
}

/// The fd-leak check counts the whole process's fds: one test at a time.
fn check(fixture: &str) -> Vec<Prog> {
    let _serial = oxbpf_tests::serial();
    if !oxbpf_tests::is_root() {
        oxbpf_tests::skip("needs root to load programs");
        return Vec::new();
    }
    let fds = oxbpf_tests::LeakCheck::start();
    let path = oxbpf_tests::fixture(fixture);
    let progs = relocate_with_oxbpf(&path);
    let reference = libbpf_insns(&path);
    let verdicts = oxbpf_tests::libbpf_ref::load(&path).unwrap();
    assert_eq!(progs.len(), reference.len());
    for p in &progs {
        let want = &reference[&p.name];
        assert!(
            &p.insns == want,
            "{}: instructions differ from libbpf's\n oxbpf: {:?}\nlibbpf: {:?}\noutcomes: {:#?}",
            p.name,
            p.insns,
            want,
            p.outcomes
        );
        let v = verdicts.iter().find(|v| v.name == p.name).unwrap();
        match load(p) {
            Ok(tag) => {
                assert!(
                    v.loaded,
                    "{}: oxbpf's loads, libbpf's does not: {:?}",
                    p.name, v.error
                );
                assert_eq!(Some(tag), v.tag, "{}: tag", p.name);
            }
            Err(log) => {
                assert!(
                    !v.loaded,
                    "{}: libbpf's loads, oxbpf's does not:\n{log}",
                    p.name
                );
                if !log.contains("unknown#195896080") {
                    // Refused for another reason (tracing programs without the privilege): the
                    // instructions were compared above; nothing to explain.
                    println!(
                        "{}: refused by the kernel, as libbpf's: {}",
                        p.name,
                        log.lines().next().unwrap_or("")
                    );
                    continue;
                }
                // The verifier tripped on a poisoned instruction: say which relocation, in words.
                let at = poisoned_insn_in_log(&log).unwrap_or_else(|| {
                    panic!("{}: rejected, but not at a poisoned insn:\n{log}", p.name)
                });
                let o = p
                    .outcomes
                    .iter()
                    .find(|o| o.insn_idx == at && o.poisoned)
                    .unwrap_or_else(|| panic!("{}: no poisoned relocation at insn #{at}", p.name));
                println!("{}: insn #{at}: {}", p.name, o.describe().unwrap());
            }
        }
    }
    fds.assert_clean("fd leak");
    progs
}

#[test]
fn core_read_matches_libbpf() {
    let progs = check("core_read");
    for p in &progs {
        println!(
            "{}: {} relocations, {} poisoned (in dead code)",
            p.name,
            p.outcomes.len(),
            p.outcomes.iter().filter(|o| o.poisoned).count()
        );
        assert!(!p.outcomes.is_empty(), "{}: no CO-RE relocations", p.name);
    }
    if let Some(q) = progs.iter().find(|p| p.name == "core_queries") {
        // Every kind shows up in this fixture.
        let mut kinds: Vec<u32> = progs
            .iter()
            .flat_map(|p| p.outcomes.iter().map(|o| o.kind as u32))
            .collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(
            kinds,
            (0..=12).collect::<Vec<_>>(),
            "{:?}",
            q.outcomes.iter().map(|o| &o.local_spec).collect::<Vec<_>>()
        );
    }
}

#[test]
fn core_poison_matches_libbpf() {
    let progs = check("core_poison");
    let by_name = |n: &str| progs.iter().find(|p| p.name == n);
    if let Some(p) = by_name("poison_missing_field") {
        let f = p.outcomes.iter().find_map(|o| o.failure.clone());
        if task_struct_has_state() {
            assert_eq!(
                f, None,
                "task_struct.state exists on this kernel (before 5.14)"
            );
        } else {
            let f = f.unwrap();
            assert!(
                f.starts_with("struct task_struct has no field state on this kernel"),
                "{f}"
            );
        }
    }
    if let Some(p) = by_name("poison_wrong_size") {
        let f = p.outcomes.iter().find_map(|o| o.failure.clone()).unwrap();
        assert!(f.contains("changed size from 4 to 8 bytes"), "{f}");
    }
}

/// Whether the running kernel's `task_struct` still has `state` (renamed `__state` in 5.14): the
/// poison fixtures read it, so before 5.14 those relocations resolve.
fn task_struct_has_state() -> bool {
    let vmlinux = oxbpf::kernel::vmlinux::vmlinux_btf().unwrap();
    let id = vmlinux
        .find_by_name_kind("task_struct", oxbpf::btf::Kind::Struct)
        .unwrap();
    let t = vmlinux.type_by_id(id).unwrap();
    t.members()
        .iter()
        .any(|m| vmlinux.str_at(m.name_off).is_ok_and(|n| n == "state"))
}

#[test]
fn core_btf_pointer_loads_match_libbpf() {
    let progs = check("core_btf_ptr");
    let by_name = |n: &str| progs.iter().find(|p| p.name == n);
    if let Some(p) = by_name("btf_signed_resize") {
        assert!(p.outcomes.iter().any(|o| o.poisoned), "{:#?}", p.outcomes);
    }
    if let Some(p) = by_name("btf_resized") {
        assert!(p.outcomes.iter().all(|o| !o.poisoned), "{:#?}", p.outcomes);
    }
}

#[test]
fn core_fixtures_have_tag_parity_through_the_loader() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("needs root to load programs");
    }
    let _serial = oxbpf_tests::serial();
    // Every core_btf_ptr program calls bpf_get_current_task_btf (5.11): before, none loads, under
    // either loader.
    let task_btf =
        oxbpf::kernel::features::probe_helper(oxbpf::program::ProgramType::Kprobe, 158).unwrap();
    for name in ["core_read", "core_poison", "core_subprog", "core_btf_ptr"] {
        let p = oxbpf_tests::parity::assert_tag_parity(&oxbpf_tests::fixture(name));
        if name == "core_btf_ptr" && !task_btf {
            assert!(p.oxbpf.iter().all(|v| !v.loaded), "{name}");
            continue;
        }
        assert!(p.oxbpf.iter().any(|v| v.loaded), "{name}");
    }
}

#[test]
fn loader_explains_a_poisoned_relocation() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("needs root to load programs");
    }
    let _serial = oxbpf_tests::serial();
    // Before 5.14 task_struct still has `state`, so the missing-field program loads there; the
    // missing enum value is missing everywhere.
    let old_state = task_struct_has_state();
    let (prog, reason, relo) = if old_state {
        (
            "poison_enum_value",
            "enum bpf_func_id has no value BPF_FUNC_oxbpf_not_a_helper___x on this kernel",
            "<enumval_value>",
        )
    } else {
        (
            "poison_missing_field",
            "struct task_struct has no field state on this kernel",
            "<byte_off>",
        )
    };
    let mut open = oxbpf::Object::open_file(oxbpf_tests::fixture("core_poison")).unwrap();
    for p in open
        .spec_mut()
        .programs
        .iter_mut()
        .filter(|p| !p.is_subprog)
    {
        p.autoload = p.name == prog;
    }
    let e = open.load().unwrap_err();
    let text = format!("{e:#}");
    assert!(text.contains(reason), "{text}");
    assert_eq!(e.kind(), oxbpf::ErrorKind::Verifier);
    let log = e.verifier_log().unwrap();
    assert!(
        log.contains(&format!(
            "<invalid CO-RE relocation>\nfailed to resolve CO-RE relocation {relo}"
        )),
        "{log}"
    );
    println!("{text}");
    if old_state {
        return oxbpf_tests::skip(
            "poisoned relocation in a subprogram: its fixture reads task_struct.state, which this \
             kernel still has (renamed __state in 5.14)",
        );
    }

    // The same, for a relocation inside a subprogram appended to its caller.
    let mut open = oxbpf::Object::open_file(oxbpf_tests::fixture("core_subprog")).unwrap();
    for p in open
        .spec_mut()
        .programs
        .iter_mut()
        .filter(|p| !p.is_subprog)
    {
        p.autoload = p.name == "subprog_poisoned";
    }
    let e = open.load().unwrap_err();
    let text = format!("{e:#}");
    assert!(
        text.contains("struct task_struct has no field state on this kernel"),
        "{text}"
    );
    println!("{text}");
}
