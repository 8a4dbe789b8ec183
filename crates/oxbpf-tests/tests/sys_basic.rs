//! The first real kernel test (issue 2, item 7): create a map and load a program through oxbpf's
//! low-level API, then check what the kernel reports back.

mod sys_util;

use std::os::fd::AsRawFd;

use oxbpf::insn::{reg::*, Insn, BPF_ADD, BPF_JEQ, BPF_W};
use oxbpf::map::{MapFlags, MapHandle, MapType};
use oxbpf::program::{ProgLoadOpts, ProgramHandle, ProgramType};
use oxbpf::sys::bpf::MapCreateOpts;
use oxbpf::ErrorKind;

/// `return array[0]`: looks key 0 up in `map` and returns the value (0 when absent).
fn return_map_value(map: &MapHandle) -> Vec<Insn> {
    let mut v = vec![
        Insn::st_mem(BPF_W, R10, -4, 0),
        Insn::mov64_reg(R2, R10),
        Insn::alu64_imm(BPF_ADD, R2, -4),
    ];
    v.extend(Insn::ld_map_fd(R1, map.as_fd_raw()));
    v.extend([
        Insn::call_helper(1), // bpf_map_lookup_elem
        Insn::jmp_imm(BPF_JEQ, R0, 0, 2),
        Insn::ldx_mem(BPF_W, R0, R0, 0),
        Insn::exit(),
        Insn::mov64_imm(R0, 0),
        Insn::exit(),
    ]);
    v
}

trait RawFdOf {
    fn as_fd_raw(&self) -> i32;
}
impl RawFdOf for MapHandle {
    fn as_fd_raw(&self) -> i32 {
        use std::os::fd::AsFd;
        self.as_fd().as_raw_fd()
    }
}

#[test]
fn create_map_and_load_socket_filter() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot create maps or load programs");
    }
    let _g = sys_util::FdGuard::new();
    {
        let map = MapHandle::create(
            MapType::Array,
            Some("sys_basic"),
            4,
            4,
            4,
            &MapCreateOpts::default(),
        )
        .unwrap();
        assert_eq!(
            (map.key_size(), map.value_size(), map.max_entries()),
            (4, 4, 4)
        );
        map.update(&0u32.to_ne_bytes(), &42u32.to_ne_bytes(), MapFlags::ANY)
            .unwrap();
        assert_eq!(
            map.lookup(&0u32.to_ne_bytes(), MapFlags::ANY).unwrap(),
            Some(42u32.to_ne_bytes().to_vec())
        );
        assert_eq!(
            map.lookup_pod::<u32, u32>(&1, MapFlags::ANY).unwrap(),
            Some(0)
        );
        let info = map.info().unwrap();
        assert_eq!(info.map_type, Some(MapType::Array));
        assert_eq!(info.name, "sys_basic");
        assert!(info.id > 0);

        let insns = return_map_value(&map);
        let prog = ProgramHandle::load(
            ProgramType::SocketFilter,
            Some("ret_value"),
            "GPL",
            &insns,
            &ProgLoadOpts::default(),
        )
        .unwrap();
        let pinfo = prog.info().unwrap();
        assert_eq!(pinfo.prog_type, Some(ProgramType::SocketFilter));
        assert_eq!(pinfo.name, "ret_value");
        assert_ne!(pinfo.tag, [0u8; 8], "a loaded program has a non-zero tag");
        assert!(pinfo.gpl_compatible);
        assert_eq!(prog.map_ids().unwrap(), vec![info.id]);
        let xlated = prog.xlated().unwrap();
        assert!(!xlated.is_empty());

        // Run it: a socket filter needs at least an Ethernet header of input.
        let r = prog.test_run(&[0u8; 64], &[], 1, 0, 0).unwrap();
        assert_eq!(r.retval, 42);
        map.update_pod(&0u32, &7u32, MapFlags::EXIST).unwrap();
        assert_eq!(prog.test_run(&[0u8; 64], &[], 1, 0, 0).unwrap().retval, 7);
    }
}

#[test]
fn rejected_program_returns_verifier_log() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot load programs");
    }
    let _g = sys_util::FdGuard::new();
    // `exit` with R0 never written: the verifier refuses it.
    let err = ProgramHandle::load(
        ProgramType::SocketFilter,
        Some("bad"),
        "GPL",
        &[Insn::exit()],
        &ProgLoadOpts::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verifier, "{err:?}");
    assert_eq!(err.errno(), Some(libc::EACCES));
    let log = err.verifier_log().expect("the error carries the log");
    assert!(log.contains("R0 !read_ok"), "{log}");
    assert!(err.to_string().contains("prog 'bad'"), "{err}");
    assert!(err.to_string().contains("BPF_PROG_LOAD"), "{err}");

    // With a log requested up front, a good program returns its log too.
    let (_p, log) = ProgramHandle::load_with_log(
        ProgramType::SocketFilter,
        None,
        "GPL",
        &[Insn::mov64_imm(R0, 0), Insn::exit()],
        &ProgLoadOpts::default(),
        2,
    )
    .unwrap();
    assert!(log.contains("processed 2 insns"), "{log}");
}
