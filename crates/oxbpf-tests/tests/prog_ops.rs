//! Programs by handle: test_run, info/tag/xlated/jited, pin, ids, bind_map, stats, streams.

mod sys_util;

use oxbpf::insn::{reg::*, Insn};
use oxbpf::kernel::features::{supported, Feature};
use oxbpf::map::{MapHandle, MapType};
use oxbpf::program::{program_ids, ProgLoadOpts, ProgramHandle, ProgramType};
use oxbpf::sys::bpf::{self as sys, MapCreateOpts, TestRunOpts};
use oxbpf::ErrorKind;
use sys_util::{root, FdGuard};

fn ret(t: ProgramType, v: i32, opts: &ProgLoadOpts<'_>) -> ProgramHandle {
    ProgramHandle::load(
        t,
        Some("ret"),
        "GPL",
        &[Insn::mov64_imm(R0, v), Insn::exit()],
        opts,
    )
    .unwrap()
}

#[test]
fn xdp_test_run_with_data_out_and_repeat() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let p = ret(
        ProgramType::Xdp,
        2, /* XDP_PASS */
        &ProgLoadOpts::default(),
    );
    let pkt: Vec<u8> = (0..64u8).collect();
    let r = p.test_run(&pkt, &[], 100, 256, 0).unwrap();
    assert_eq!(r.retval, 2);
    assert_eq!(r.data_out, pkt, "XDP_PASS hands the packet back unchanged");
    // Raw options: a too-small output buffer is ENOSPC, with the needed size reported.
    let mut small = [0u8; 8];
    let mut o = TestRunOpts {
        data_in: &pkt,
        data_out: Some(&mut small),
        ..Default::default()
    };
    let err = p.test_run_opts(&mut o).unwrap_err();
    assert_eq!(err.errno(), Some(libc::ENOSPC), "{err}");
    assert_eq!(o.data_size_out, 64);
}

#[test]
fn info_tag_xlated_jited() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let a = ret(ProgramType::SocketFilter, 1, &ProgLoadOpts::default());
    let b = ret(ProgramType::SocketFilter, 1, &ProgLoadOpts::default());
    let c = ret(ProgramType::SocketFilter, 2, &ProgLoadOpts::default());
    let (ia, ib, ic) = (a.info().unwrap(), b.info().unwrap(), c.info().unwrap());
    // The tag is a hash of the instructions: equal programs, equal tags.
    assert_eq!(ia.tag, ib.tag);
    assert_ne!(ia.tag, ic.tag);
    assert_ne!(ia.id, ib.id);
    assert_eq!(ia.tag_hex().len(), 16);
    assert_eq!(ia.xlated_prog_len, 16);
    assert_eq!(
        a.xlated().unwrap(),
        vec![Insn::mov64_imm(R0, 1), Insn::exit()]
    );
    assert_eq!(a.jited().unwrap().len(), ia.jited_prog_len as usize);
    // `verified_insns` arrived in 5.16; older kernels have no such field and report 0.
    if oxbpf_tests::kernel_at_least(5, 16) {
        assert!(
            ia.verified_insns >= 2,
            "verified_insns {}",
            ia.verified_insns
        );
    } else {
        assert_eq!(ia.verified_insns, 0);
    }
    assert!(program_ids().unwrap().contains(&ia.id));
    let listed = oxbpf::program::list_programs().unwrap();
    assert_eq!(
        listed.iter().find(|i| i.id == ia.id).map(|i| i.tag),
        Some(ia.tag)
    );
    let again = ProgramHandle::from_id(ia.id).unwrap();
    assert_eq!(again.tag().unwrap(), ia.tag);
    assert_eq!(again.prog_type(), Some(ProgramType::SocketFilter));
}

#[test]
fn pin_reopen_and_bind_map() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let dir = sys_util::bpffs_tempdir();
    let p = ret(ProgramType::SocketFilter, 0, &ProgLoadOpts::default());
    let path = dir.path().join("p");
    p.pin(&path).unwrap();
    let q = ProgramHandle::from_pinned_path(&path).unwrap();
    assert_eq!(q.id().unwrap(), p.id().unwrap());
    std::fs::remove_file(&path).unwrap();

    let m = MapHandle::create(
        MapType::Array,
        Some("bound"),
        4,
        4,
        1,
        &MapCreateOpts::default(),
    )
    .unwrap();
    assert!(p.map_ids().unwrap().is_empty());
    p.bind_map(&m).unwrap();
    assert_eq!(p.map_ids().unwrap(), vec![m.id().unwrap()]);
}

#[test]
fn load_options_reach_the_kernel() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    // expected_attach_type is checked for cgroup sock_addr programs: connect4 may return 1.
    let o = ProgLoadOpts {
        expected_attach_type: oxbpf::program::AttachType::CgroupInet4Connect.as_u32(),
        ..Default::default()
    };
    let p = ret(ProgramType::CgroupSockAddr, 1, &o);
    assert_eq!(p.prog_type(), Some(ProgramType::CgroupSockAddr));
    // A license that is not GPL-compatible is recorded as such.
    let q = ProgramHandle::load(
        ProgramType::SocketFilter,
        None,
        "Proprietary",
        &[Insn::mov64_imm(R0, 0), Insn::exit()],
        &ProgLoadOpts::default(),
    )
    .unwrap();
    assert!(!q.info().unwrap().gpl_compatible);
    // An unknown program type is refused with EINVAL and no log.
    let err = sys::prog_load(
        999,
        None,
        "GPL",
        &[Insn::exit()],
        &ProgLoadOpts::default(),
        None,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("BPF_PROG_LOAD"), "{err}");
}

#[test]
fn btf_load_with_log_and_info() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let good = sys_util::int_btf_bytes();
    let fd = sys::btf_load(&good, None, None).unwrap();
    let info = sys::btf_info(std::os::fd::AsFd::as_fd(&fd)).unwrap();
    assert_eq!(info.btf_size as usize, good.len());
    let (bytes, name) = sys::btf_data(std::os::fd::AsFd::as_fd(&fd)).unwrap();
    assert_eq!(bytes, good, "the kernel hands back the BTF it was given");
    assert_eq!(name, "");
    assert!(oxbpf::program::btf_ids().unwrap().contains(&info.id));
    let all = sys::list_btf().unwrap();
    // BTF object names, the kernel_btf flag and a listed vmlinux BTF object came with module BTF
    // (5.11): before, only loaded BTF is listed, nameless.
    let names = supported(Feature::ModuleBtf).unwrap();
    if names {
        let vmlinux = all
            .iter()
            .find(|b| b.name == "vmlinux")
            .expect("vmlinux BTF is listed");
        assert!(
            vmlinux.kernel_btf && vmlinux.size > 1_000_000,
            "{vmlinux:?}"
        );
    } else {
        assert!(
            all.iter().all(|b| b.name.is_empty() && !b.kernel_btf),
            "{all:?}"
        );
    }
    let ours = all
        .iter()
        .find(|b| b.id == info.id)
        .expect("our BTF is listed");
    assert!(!ours.kernel_btf && ours.name.is_empty());
    // Corrupt the INT encoding (64 bits in 4 bytes): the BTF verifier rejects it and explains in the log.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 5 - 4..n - 5].copy_from_slice(&((1u32 << 24) | 64).to_ne_bytes());
    let (r, log) = oxbpf::program::load_with_growing_log(1, |l| sys::btf_load(&bad, Some(l), None));
    let err = r.unwrap_err();
    assert_eq!(err.errno(), Some(libc::EINVAL));
    assert!(log.contains("[1] INT int"), "{log}");
}

#[test]
fn stats_and_stream_read() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let p = ret(ProgramType::SocketFilter, 0, &ProgLoadOpts::default());
    let stats = sys::enable_stats(0).unwrap();
    p.test_run(&[0u8; 64], &[], 10, 0, 0).unwrap();
    let info = p.info().unwrap();
    drop(stats);
    assert!(info.run_cnt >= 10, "run_cnt {}", info.run_cnt);
    assert!(info.run_time_ns > 0);
    let mut buf = [0u8; 256];
    match sys::prog_stream_read(std::os::fd::AsFd::as_fd(&p), 2, &mut buf) {
        Ok(n) => assert_eq!(n, 0, "nothing was printed"),
        Err(e) if e.kind() == ErrorKind::InvalidInput => {
            oxbpf_tests::skip(format!("BPF_PROG_STREAM_READ_BY_FD: {e}"))
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn isa_v4_instructions_run() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    use oxbpf::insn::{BPF_ADD, BPF_DIV};
    let insns = [
        Insn::mov64_imm(R1, 0x1234),
        Insn::bswap(R1, 16), // 0x3412
        Insn::mov64_reg(R0, R1),
        Insn::mov64_imm(R2, 0xff),
        Insn::movsx64(R3, R2, 8), // (s8)0xff = -1
        Insn::alu64_imm(BPF_ADD, R3, 1),
        Insn::alu64_reg(BPF_ADD, R0, R3),
        Insn::mov64_imm(R4, -10),
        Insn::alu64_signed_imm(BPF_DIV, R4, 3), // -3
        Insn::alu64_imm(BPF_ADD, R4, 3),
        Insn::alu64_reg(BPF_ADD, R0, R4),
        Insn::ja32(0),
        Insn::exit(),
    ];
    let p = match ProgramHandle::load(
        ProgramType::SocketFilter,
        Some("v4"),
        "GPL",
        &insns,
        &ProgLoadOpts::default(),
    ) {
        Ok(p) => p,
        // cpu=v4 instructions (bswap, movsx, sdiv, ja32) arrived in 6.6.
        Err(e)
            if !oxbpf_tests::kernel_at_least(6, 6)
                && e.errno() == Some(libc::EINVAL)
                && format!("{e:#}").contains("unknown opcode") =>
        {
            return oxbpf_tests::skip(format!("cpu v4 instructions need 6.6: {e}"));
        }
        Err(e) => panic!("{e:#}"),
    };
    assert_eq!(p.test_run(&[0u8; 64], &[], 1, 0, 0).unwrap().retval, 0x3412);
}
