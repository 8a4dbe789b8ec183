//! The attach-side commands on hooks this host has: cgroup (link and legacy attach), XDP and tcx on
//! `lo`, raw tracepoints, task fd query, iterators, tokens.

mod sys_util;

use std::os::fd::AsFd;

use oxbpf::insn::{reg::*, Insn};
use oxbpf::program::{link_ids, AttachType, LinkType, ProgLoadOpts, ProgramHandle, ProgramType};
use oxbpf::sys::bpf as sys;
use oxbpf::sys::link::{self, LinkExtra, ProgAttachOpts, Relative, Target, BPF_F_ALLOW_MULTI};
use oxbpf::ErrorKind;
use sys_util::{root, FdGuard};

const LO: u32 = 1;

fn prog(t: ProgramType, attach: Option<AttachType>, r0: i32) -> ProgramHandle {
    let o = ProgLoadOpts {
        expected_attach_type: attach.map_or(0, AttachType::as_u32),
        ..Default::default()
    };
    ProgramHandle::load(
        t,
        Some("hook"),
        "GPL",
        &[Insn::mov64_imm(R0, r0), Insn::exit()],
        &o,
    )
    .unwrap()
}

#[test]
fn cgroup_link_and_legacy_attach() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let Some(cg) = sys_util::cgroup2_dir() else {
        return oxbpf_tests::skip("no cgroup2 mount");
    };
    let cg = std::fs::File::open(cg).unwrap();
    let egress = AttachType::CgroupInetEgress;
    let p = prog(ProgramType::CgroupSkb, Some(egress), 1);
    let q = prog(ProgramType::CgroupSkb, Some(egress), 1);
    let pid = p.id().unwrap();

    let l = link::link_create(
        p.as_fd(),
        Target::Fd(cg.as_fd()),
        egress.as_u32(),
        0,
        &LinkExtra::None,
    )
    .unwrap();
    let info = sys::link_info(l.as_fd()).unwrap();
    assert_eq!(LinkType::from_u32(info.type_), Some(LinkType::Cgroup));
    let cg_ino = std::os::unix::fs::MetadataExt::ino(&cg.metadata().unwrap());
    assert_eq!(
        info.details(),
        sys::LinkDetails::Cgroup {
            cgroup_id: cg_ino,
            attach_type: egress.as_u32()
        }
    );
    assert_eq!(info.prog_id, pid);
    assert!(link_ids().unwrap().contains(&info.id));
    let summary = oxbpf::program::list_links()
        .unwrap()
        .into_iter()
        .find(|s| s.id == info.id)
        .unwrap();
    assert_eq!(
        (summary.link_type, summary.prog_id),
        (Some(LinkType::Cgroup), pid)
    );
    let listed = link::prog_query(Target::Fd(cg.as_fd()), egress.as_u32(), 0).unwrap();
    assert!(listed.prog_ids.contains(&pid), "{listed:?}");

    // Swap the program under the link, then detach it while keeping the fd.
    link::link_update(l.as_fd(), q.as_fd(), Some(p.as_fd())).unwrap();
    assert_eq!(sys::link_info(l.as_fd()).unwrap().prog_id, q.id().unwrap());
    let err = link::link_update(l.as_fd(), p.as_fd(), Some(p.as_fd())).unwrap_err();
    assert_eq!(
        err.errno(),
        Some(libc::EPERM),
        "old program no longer matches: {err}"
    );
    link::link_detach(l.as_fd()).unwrap();
    assert!(
        !link::prog_query(Target::Fd(cg.as_fd()), egress.as_u32(), 0)
            .unwrap()
            .prog_ids
            .contains(&q.id().unwrap())
    );
    drop(l);

    // Legacy attach/detach with BPF_F_ALLOW_MULTI.
    let multi = ProgAttachOpts {
        flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    link::prog_attach(p.as_fd(), Target::Fd(cg.as_fd()), egress.as_u32(), &multi).unwrap();
    let listed = link::prog_query(Target::Fd(cg.as_fd()), egress.as_u32(), 0).unwrap();
    let at = listed
        .prog_ids
        .iter()
        .position(|&i| i == pid)
        .expect("attached");
    if oxbpf_tests::kernel_at_least(6, 0) {
        assert_eq!(listed.prog_attach_flags[at], BPF_F_ALLOW_MULTI);
    } else {
        // Per-program attach flags are reported since 6.0; before, only the hook's flags.
        assert!(listed.prog_attach_flags.is_empty(), "{listed:?}");
        assert_eq!(listed.attach_flags, BPF_F_ALLOW_MULTI);
    }
    link::prog_detach(
        Some(p.as_fd()),
        Target::Fd(cg.as_fd()),
        egress.as_u32(),
        &ProgAttachOpts::default(),
    )
    .unwrap();
    assert!(
        !link::prog_query(Target::Fd(cg.as_fd()), egress.as_u32(), 0)
            .unwrap()
            .prog_ids
            .contains(&pid)
    );
}

#[test]
fn xdp_link_on_lo() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let p = prog(ProgramType::Xdp, Some(AttachType::Xdp), 2);
    let l = match link::link_create(
        p.as_fd(),
        Target::Ifindex(LO),
        AttachType::Xdp.as_u32(),
        0,
        &LinkExtra::None,
    ) {
        Ok(l) => l,
        Err(e) if e.errno() == Some(libc::EBUSY) => {
            return oxbpf_tests::skip(format!("lo already has XDP: {e}"))
        }
        Err(e) => panic!("{e}"),
    };
    let info = sys::link_info(l.as_fd()).unwrap();
    assert_eq!(LinkType::from_u32(info.type_), Some(LinkType::Xdp));
    assert_eq!(info.details(), sys::LinkDetails::Xdp { ifindex: LO });
    // A second XDP link on the same device is refused while the first holds it.
    let q = prog(ProgramType::Xdp, Some(AttachType::Xdp), 2);
    let err = link::link_create(
        q.as_fd(),
        Target::Ifindex(LO),
        AttachType::Xdp.as_u32(),
        0,
        &LinkExtra::None,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
}

#[test]
fn tcx_links_ordered_and_queried() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let ingress = AttachType::TcxIngress;
    let a = prog(ProgramType::SchedCls, Some(ingress), 0);
    let b = prog(ProgramType::SchedCls, Some(ingress), 0);
    let before = match link::prog_query(Target::Ifindex(LO), ingress.as_u32(), 0) {
        Ok(q) => q,
        // Kernels before 6.6 know no tcx attach types.
        Err(e) if e.errno() == Some(libc::EINVAL) => {
            return oxbpf_tests::skip("tcx attach types unknown to this kernel (added in 6.6)")
        }
        Err(e) => panic!("BPF_PROG_QUERY tcx: {e}"),
    };
    let la = link::link_create(
        a.as_fd(),
        Target::Ifindex(LO),
        ingress.as_u32(),
        0,
        &LinkExtra::None,
    )
    .unwrap();
    // b goes before a, anchored by a's program id, with the revision we just saw + 1.
    let extra = LinkExtra::Multi {
        relative: Relative::Id(a.id().unwrap()),
        expected_revision: before.revision + 1,
    };
    let lb = link::link_create(
        b.as_fd(),
        Target::Ifindex(LO),
        ingress.as_u32(),
        link::BPF_F_BEFORE,
        &extra,
    )
    .unwrap();
    let q = link::prog_query(Target::Ifindex(LO), ingress.as_u32(), 0).unwrap();
    let (ia, ib) = (a.id().unwrap(), b.id().unwrap());
    let pos = |id| q.prog_ids.iter().position(|&x| x == id).unwrap();
    assert!(pos(ib) < pos(ia), "{q:?}");
    assert_eq!(q.revision, before.revision + 2);
    let lid = sys::link_info(lb.as_fd()).unwrap().id;
    assert_eq!(q.link_ids[pos(ib)], lid);
    assert_eq!(
        LinkType::from_u32(sys::link_info(la.as_fd()).unwrap().type_),
        Some(LinkType::Tcx)
    );
    assert_eq!(
        sys::link_info(la.as_fd()).unwrap().details(),
        sys::LinkDetails::Tcx {
            ifindex: LO,
            attach_type: ingress.as_u32()
        }
    );
    drop((la, lb));
    let after = link::prog_query(Target::Ifindex(LO), ingress.as_u32(), 0).unwrap();
    assert!(!after.prog_ids.contains(&ia) && !after.prog_ids.contains(&ib));
}

#[test]
fn raw_tracepoint_and_task_fd_query() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let p = prog(ProgramType::RawTracepoint, None, 0);
    let l = link::raw_tracepoint_open(p.as_fd(), Some("sys_enter"), 0).unwrap();
    let info = sys::link_info(l.as_fd()).unwrap();
    assert_eq!(
        LinkType::from_u32(info.type_),
        Some(LinkType::RawTracepoint)
    );
    assert_eq!(
        info.details(),
        sys::LinkDetails::RawTracepoint { cookie: 0 }
    );
    assert_eq!(
        sys::link_raw_tracepoint_name(l.as_fd()).unwrap().as_deref(),
        Some("sys_enter")
    );
    let q = sys::task_fd_query(
        std::process::id(),
        std::os::fd::AsRawFd::as_raw_fd(&l) as u32,
        0,
    )
    .unwrap();
    assert_eq!(q.prog_id, p.id().unwrap());
    assert_eq!(q.name, "sys_enter");
    assert_eq!(q.fd_type, 0, "BPF_FD_TYPE_RAW_TRACEPOINT");
    let err = link::raw_tracepoint_open(p.as_fd(), Some("no_such_tracepoint_xyz"), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[test]
fn token_create_needs_a_user_namespace() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("mount")
        .args([
            "-t",
            "bpf",
            "-o",
            "delegate_cmds=any,delegate_maps=any,delegate_progs=any,delegate_attachs=any",
            "bpf",
        ])
        .arg(dir.path())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return oxbpf_tests::skip("cannot mount a delegating bpffs");
    }
    let fs = std::fs::File::open(dir.path()).unwrap();
    let r = sys::token_create(fs.as_fd(), 0);
    drop(fs);
    let _ = std::process::Command::new("umount")
        .arg(dir.path())
        .status();
    match r {
        Ok(token) => {
            // Where the kernel allows it, the token works for map creation.
            let o = sys::MapCreateOpts {
                token_fd: Some(token.as_fd()),
                ..Default::default()
            };
            sys::map_create(2, Some("tok"), 4, 4, 1, &o).unwrap();
        }
        // Kernels before 6.9 have no BPF_TOKEN_CREATE command.
        Err(e) if e.errno() == Some(libc::EINVAL) => {
            oxbpf_tests::skip("BPF_TOKEN_CREATE unknown to this kernel (added in 6.9)")
        }
        // Tokens are refused in the initial user namespace: the kernel's documented answer.
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::NotSupported | ErrorKind::PermissionDenied
                ),
                "{e}"
            );
            assert!(e.to_string().contains("BPF_TOKEN_CREATE"), "{e}");
        }
    }
}

/// The vmlinux BTF id of function `name`, found with bpftool (the BTF parser is another issue's).
fn vmlinux_func(name: &str) -> Option<u32> {
    let out = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"])
        .output()
        .ok()?;
    let needle = format!("FUNC '{name}' ");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains(&needle))?;
    line.trim_start_matches('[').split(']').next()?.parse().ok()
}

#[test]
fn iterator_link_and_iter_create() {
    if !root() {
        return;
    }
    let _g = FdGuard::new();
    let Some(btf_id) = vmlinux_func("bpf_iter_bpf_map") else {
        return oxbpf_tests::skip("no bpf_iter_bpf_map in vmlinux BTF (or no bpftool)");
    };
    let o = ProgLoadOpts {
        expected_attach_type: AttachType::TraceIter.as_u32(),
        attach_btf_id: btf_id,
        ..Default::default()
    };
    let insns = [Insn::mov64_imm(R0, 0), Insn::exit()];
    let p = match ProgramHandle::load(ProgramType::Tracing, Some("it"), "GPL", &insns, &o) {
        Ok(p) => p,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            return oxbpf_tests::skip(format!("tracing iter load: {e}"))
        }
        Err(e) => panic!("{e:#}"),
    };
    let l = link::link_create(
        p.as_fd(),
        Target::None,
        AttachType::TraceIter.as_u32(),
        0,
        &LinkExtra::None,
    )
    .unwrap();
    assert_eq!(
        LinkType::from_u32(sys::link_info(l.as_fd()).unwrap().type_),
        Some(LinkType::Iter)
    );
    let it = link::iter_create(l.as_fd()).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut std::fs::File::from(it), &mut out).unwrap();
    assert!(out.is_empty(), "the program prints nothing");
}
