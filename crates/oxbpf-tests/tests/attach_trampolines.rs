//! fentry, fexit, fmod_ret and LSM programs: on a kernel that allows them, auto-attached from their
//! sections and shown to fire on this process's getpgid calls and file opens (arguments, return
//! values, a replaced return value, a refused open); on a kernel that refuses them, the load error
//! says so. Which case applies is decided by what the kernel does with the load.

mod attach_util;

use std::os::fd::AsFd;

use attach_util::{first_bss_u64, map_handle, read_u64, reset_u64, setup};
use oxbpf::attach::{attach_type, tracing};
use oxbpf::map::{MapFlags, MapHandle};
use oxbpf::object::{Object, OpenObject};
use oxbpf::ErrorKind;

const V_TGID: u32 = 0;
const V_FMOD_VALUE: u32 = 1;
const V_DENY_INO: u32 = 2;
const V_ENTRY_HITS: u32 = 3;
const V_ENTRY_ARG: u32 = 4;
const V_EXIT_HITS: u32 = 5;
const V_EXIT_RET: u32 = 6;
const V_FMOD_HITS: u32 = 7;
const V_LSM_HITS: u32 = 8;
const ROUNDS: u32 = 6;
const PROGS: [&str; 4] = [
    "on_getpgid_entry",
    "on_getpgid_exit",
    "on_getpgid_modify",
    "on_file_open",
];

/// The fixture with only `prog` set to load.
fn open_only(prog: &str) -> OpenObject {
    let mut open = Object::open_file(oxbpf_tests::fixture("attach_tramp")).unwrap();
    for p in PROGS {
        open.set_autoload(p, p == prog).unwrap();
    }
    open
}

fn set(vars: &MapHandle, slot: u32, value: u64) {
    vars.update(&slot.to_ne_bytes(), &value.to_ne_bytes(), MapFlags::ANY)
        .unwrap();
}

/// Calls getpgid(own pid) `n` times; returns this process's pid and the last result.
fn getpgid_loop(n: u32) -> (u64, i64) {
    let me = std::process::id() as i32;
    let mut r = 0;
    for _ in 0..n {
        // SAFETY: getpgid has no memory arguments.
        r = unsafe { libc::getpgid(me) };
    }
    (me as u64, i64::from(r))
}

/// Checks the refusal of a trampoline program's load: EPERM, explained as the kernel's refusal.
fn assert_refusal_explained(e: &oxbpf::Error, what: &str) {
    let msg = e.to_string();
    println!("{what}: {msg}");
    assert_eq!(e.errno(), Some(libc::EPERM), "{msg}");
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert!(
        msg.contains(&format!("the kernel refused {what} programs (EPERM)")),
        "{msg}"
    );
}

#[test]
fn fentry_fexit_and_fmod_ret_fire_or_their_refusal_is_explained() {
    let Some(_serial) = setup() else { return };
    for (prog, what) in [
        ("on_getpgid_entry", "fentry"),
        ("on_getpgid_exit", "fexit"),
        ("on_getpgid_modify", "fmod_ret"),
    ] {
        let obj = match open_only(prog).load() {
            Ok(obj) => obj,
            Err(e) => {
                assert_refusal_explained(&e, what);
                continue;
            }
        };
        let vars = map_handle(&obj, "vars");
        set(&vars, V_TGID, u64::from(std::process::id()));
        // SAFETY: getpgid has no memory arguments.
        let pgid = i64::from(unsafe { libc::getpgid(0) });
        let before = oxbpf_tests::LeakCheck::start();
        // Auto-attach from the section name.
        let link = obj.attach_program(prog).unwrap();
        assert_eq!(
            link.info().unwrap().link_type,
            oxbpf::link::link_type::TRACING
        );
        let (pid, last) = getpgid_loop(ROUNDS);
        match prog {
            "on_getpgid_entry" => {
                let hits = read_u64(&vars, V_ENTRY_HITS);
                println!("fentry fired {hits} times for {ROUNDS} getpgid calls");
                assert_eq!(hits, u64::from(ROUNDS));
                assert_eq!(read_u64(&vars, V_ENTRY_ARG), pid, "argument");
                assert_eq!(last, pgid);
            }
            "on_getpgid_exit" => {
                let hits = read_u64(&vars, V_EXIT_HITS);
                println!("fexit fired {hits} times for {ROUNDS} getpgid calls");
                assert_eq!(hits, u64::from(ROUNDS));
                assert_eq!(read_u64(&vars, V_EXIT_RET) as i64, pgid, "return value");
            }
            _ => {
                // Returning 0 leaves the call alone; a value replaces the LSM check's result,
                // which getpgid then reports.
                assert_eq!(last, pgid);
                set(&vars, V_FMOD_VALUE, (-libc::EACCES) as u64);
                let mut refused = 0;
                for _ in 0..ROUNDS {
                    // SAFETY: getpgid has no memory arguments.
                    let r = unsafe { libc::getpgid(pid as i32) };
                    let errno = std::io::Error::last_os_error().raw_os_error();
                    if r == -1 && errno == Some(libc::EACCES) {
                        refused += 1;
                    }
                }
                set(&vars, V_FMOD_VALUE, 0);
                assert_eq!(getpgid_loop(1).1, pgid, "returning 0 again leaves it alone");
                let hits = read_u64(&vars, V_FMOD_HITS);
                println!(
                    "fmod_ret fired {hits} times for {} getpgid calls; {refused} failed with EACCES",
                    2 * ROUNDS + 1
                );
                assert_eq!(refused, ROUNDS, "fmod_ret replaced the LSM check's result");
                assert_eq!(hits, 2 * u64::from(ROUNDS) + 1);
            }
        }
        drop(link);
        reset_u64(&vars, V_ENTRY_HITS);
        reset_u64(&vars, V_EXIT_HITS);
        reset_u64(&vars, V_FMOD_HITS);
        getpgid_loop(ROUNDS);
        for slot in [V_ENTRY_HITS, V_EXIT_HITS, V_FMOD_HITS] {
            assert_eq!(read_u64(&vars, slot), 0, "{what}: detached");
        }
        before.assert_clean("fds and BPF mappings");
    }
}

/// The active LSMs (`/sys/kernel/security/lsm`), when securityfs is mounted.
fn active_lsms() -> Option<String> {
    std::fs::read_to_string("/sys/kernel/security/lsm").ok()
}

#[test]
fn lsm_program_refuses_an_open_or_its_refusal_is_explained() {
    let Some(_serial) = setup() else { return };
    let obj = match open_only("on_file_open").load() {
        Ok(obj) => obj,
        Err(e) => return assert_refusal_explained(&e, "LSM"),
    };
    let lsms = active_lsms().unwrap_or_default();
    if !lsms.split(',').any(|l| l.trim() == "bpf") {
        // The program loads and attaches, but the kernel never calls the BPF LSM's hooks.
        let link = obj.attach_program("on_file_open").unwrap();
        drop(link);
        return oxbpf_tests::skip(format!(
            "the BPF LSM is not active (lsm={}): boot with lsm=...,bpf",
            lsms.trim()
        ));
    }
    let vars = map_handle(&obj, "vars");
    let file = std::env::temp_dir().join(format!("oxbpf_lsm_{}", std::process::id()));
    std::fs::write(&file, b"x").unwrap();
    let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&file).unwrap());
    set(&vars, V_TGID, u64::from(std::process::id()));
    set(&vars, V_DENY_INO, ino);
    let before = oxbpf_tests::LeakCheck::start();
    let link = obj.attach_program("on_file_open").unwrap();
    assert_eq!(
        link.info().unwrap().link_type,
        oxbpf::link::link_type::TRACING
    );
    let mut refused = 0;
    for _ in 0..ROUNDS {
        let err = std::fs::File::open(&file).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        refused += 1;
    }
    let hits = read_u64(&vars, V_LSM_HITS);
    println!("lsm/file_open fired {hits} times and refused {refused} opens");
    assert_eq!(hits, u64::from(ROUNDS));
    // Other files still open.
    drop(std::fs::File::open("/proc/self/status").unwrap());
    drop(link);
    drop(std::fs::File::open(&file).unwrap());
    assert_eq!(read_u64(&vars, V_LSM_HITS), u64::from(ROUNDS), "detached");
    before.assert_clean("fds and BPF mappings");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn raw_fentry_load_attaches_or_is_refused_with_eperm() {
    let Some(_serial) = setup() else { return };
    // A trivial fentry program on the syscall, loaded with the raw bpf(2) wrapper.
    let btf = oxbpf::kernel::vmlinux::vmlinux_btf().unwrap();
    let func = oxbpf::attach::kprobe::syscall_prefix()
        .unwrap_or("sys_")
        .to_string()
        + "getpgid";
    let id = btf
        .find_by_name_kind(&func, oxbpf::btf::Kind::Func)
        .unwrap_or_else(|| panic!("{func} in vmlinux BTF"));
    use oxbpf::insn::Insn;
    let insns = [Insn::mov64_imm(0, 0), Insn::exit()];
    let opts = oxbpf::sys::bpf::ProgLoadOpts {
        expected_attach_type: attach_type::TRACE_FENTRY,
        attach_btf_id: id,
        ..Default::default()
    };
    const BPF_PROG_TYPE_TRACING: u32 = 26;
    match oxbpf::sys::bpf::prog_load(
        BPF_PROG_TYPE_TRACING,
        Some("fe"),
        "GPL",
        &insns,
        &opts,
        None,
    ) {
        Ok(fd) => {
            // This kernel allows trampolines: attaching must work.
            let link =
                tracing::attach_trace(fd.as_fd(), attach_type::TRACE_FENTRY, &Default::default())
                    .unwrap();
            assert_eq!(
                link.info().unwrap().link_type,
                oxbpf::link::link_type::TRACING
            );
            drop(link);
        }
        Err(e) => {
            assert_eq!(e.errno(), Some(libc::EPERM), "{e}");
            let e = tracing::explain_trampoline_refusal(e, attach_type::TRACE_FENTRY);
            assert_eq!(e.kind(), ErrorKind::PermissionDenied);
            assert!(
                e.to_string()
                    .contains("the kernel refused fentry programs (EPERM)"),
                "{e}"
            );
            let lsm = tracing::explain_trampoline_refusal(
                oxbpf::Error::from_errno("BPF_PROG_LOAD", libc::EPERM),
                attach_type::LSM_MAC,
            );
            assert!(lsm.to_string().contains("refused LSM programs"), "{lsm}");
        }
    }
}

#[test]
fn freplace_replaces_a_global_function_or_its_refusal_is_explained() {
    let Some(_serial) = setup() else { return };
    let mut target = Object::open_file(oxbpf_tests::fixture("attach_freplace")).unwrap();
    target.set_autoload("new_verdict", false).unwrap();
    let target = target.load().unwrap();
    let entry = target.program("xdp_entry").unwrap().handle().unwrap();
    let packet = [0u8; 64];
    const XDP_DROP: u32 = 1;
    const XDP_PASS: u32 = 2;
    assert_eq!(
        entry.test_run(&packet, &[], 1, 0, 0).unwrap().retval,
        XDP_PASS
    );

    let mut open = Object::open_file(oxbpf_tests::fixture("attach_freplace")).unwrap();
    open.set_autoload("xdp_entry", false).unwrap();
    open.set_attach_target_prog("new_verdict", entry.as_fd(), "verdict")
        .unwrap();
    let ext = match open.load() {
        Ok(o) => o,
        Err(e) => return assert_refusal_explained(&e, "freplace"),
    };
    let before = oxbpf_tests::LeakCheck::start();
    // Auto-attach: the target was given at load time.
    let link = ext.attach_program("new_verdict").unwrap();
    assert_eq!(
        link.info().unwrap().link_type,
        oxbpf::link::link_type::TRACING
    );
    for _ in 0..ROUNDS {
        assert_eq!(
            entry.test_run(&packet, &[], 1, 0, 0).unwrap().retval,
            XDP_DROP
        );
    }
    let calls = first_bss_u64(&ext);
    println!("freplace: the replacement ran {calls} times for {ROUNDS} runs of xdp_entry");
    assert_eq!(calls, u64::from(ROUNDS));
    drop(link);
    assert_eq!(
        entry.test_run(&packet, &[], 1, 0, 0).unwrap().retval,
        XDP_PASS,
        "detached"
    );
    before.assert_clean("fds and BPF mappings");
}
