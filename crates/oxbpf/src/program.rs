//! Programs by handle: [`ProgramHandle`] loads raw instructions (libbpf's `bpf_prog_load`), runs them
//! with `BPF_PROG_TEST_RUN`, and reports what the kernel made of them (tag, xlated/jited code, ids).
//!
//! Loading follows libbpf's log strategy: the first attempt runs without a verifier log (fast path);
//! when it fails, the load is repeated with a log buffer, grown until the whole log fits, and the error
//! comes back as [`ErrorKind::Verifier`] carrying that log.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::insn::Insn;
use crate::map::{cstr_field, kernel_enum};
use crate::sys::attr::{BpfProgInfo, BPF_TAG_SIZE};
use crate::sys::bpf::{self as sys, IdKind, LoadLog, TestRunOpts};

pub use crate::sys::bpf::ProgLoadOpts;

kernel_enum! {
    /// `enum bpf_prog_type`, with libbpf's names (`"socket_filter"`, `"kprobe"`, `"tracing"`, ...).
    ProgramType {
        /// Invalid / unspecified.
        Unspec = 0 => "unspec",
        /// Socket filter.
        SocketFilter = 1 => "socket_filter",
        /// kprobe / uprobe.
        Kprobe = 2 => "kprobe",
        /// tc classifier.
        SchedCls = 3 => "sched_cls",
        /// tc action.
        SchedAct = 4 => "sched_act",
        /// Tracepoint.
        Tracepoint = 5 => "tracepoint",
        /// XDP.
        Xdp = 6 => "xdp",
        /// perf event.
        PerfEvent = 7 => "perf_event",
        /// cgroup skb.
        CgroupSkb = 8 => "cgroup_skb",
        /// cgroup sock.
        CgroupSock = 9 => "cgroup_sock",
        /// Lightweight tunnel input.
        LwtIn = 10 => "lwt_in",
        /// Lightweight tunnel output.
        LwtOut = 11 => "lwt_out",
        /// Lightweight tunnel xmit.
        LwtXmit = 12 => "lwt_xmit",
        /// Socket ops.
        SockOps = 13 => "sock_ops",
        /// sk_skb (sockmap parser/verdict).
        SkSkb = 14 => "sk_skb",
        /// cgroup device.
        CgroupDevice = 15 => "cgroup_device",
        /// sk_msg.
        SkMsg = 16 => "sk_msg",
        /// Raw tracepoint.
        RawTracepoint = 17 => "raw_tracepoint",
        /// cgroup sock_addr.
        CgroupSockAddr = 18 => "cgroup_sock_addr",
        /// seg6local LWT.
        LwtSeg6local = 19 => "lwt_seg6local",
        /// LIRC mode2.
        LircMode2 = 20 => "lirc_mode2",
        /// SO_REUSEPORT selection.
        SkReuseport = 21 => "sk_reuseport",
        /// Flow dissector.
        FlowDissector = 22 => "flow_dissector",
        /// cgroup sysctl.
        CgroupSysctl = 23 => "cgroup_sysctl",
        /// Writable raw tracepoint.
        RawTracepointWritable = 24 => "raw_tracepoint_writable",
        /// cgroup sockopt.
        CgroupSockopt = 25 => "cgroup_sockopt",
        /// fentry/fexit/fmod_ret/iter/raw BTF tracepoint.
        Tracing = 26 => "tracing",
        /// struct_ops member.
        StructOps = 27 => "struct_ops",
        /// freplace extension.
        Ext = 28 => "ext",
        /// LSM.
        Lsm = 29 => "lsm",
        /// Socket lookup.
        SkLookup = 30 => "sk_lookup",
        /// Syscall program.
        Syscall = 31 => "syscall",
        /// Netfilter hook.
        Netfilter = 32 => "netfilter",
    }
}

kernel_enum! {
    /// `enum bpf_attach_type`, with libbpf's names (`"cgroup_inet_ingress"`, `"trace_fentry"`, ...).
    AttachType {
        /// cgroup ingress.
        CgroupInetIngress = 0 => "cgroup_inet_ingress",
        /// cgroup egress.
        CgroupInetEgress = 1 => "cgroup_inet_egress",
        /// cgroup socket creation.
        CgroupInetSockCreate = 2 => "cgroup_inet_sock_create",
        /// cgroup sock_ops.
        CgroupSockOps = 3 => "cgroup_sock_ops",
        /// sockmap stream parser.
        SkSkbStreamParser = 4 => "sk_skb_stream_parser",
        /// sockmap stream verdict.
        SkSkbStreamVerdict = 5 => "sk_skb_stream_verdict",
        /// cgroup device.
        CgroupDevice = 6 => "cgroup_device",
        /// sk_msg verdict.
        SkMsgVerdict = 7 => "sk_msg_verdict",
        /// IPv4 bind.
        CgroupInet4Bind = 8 => "cgroup_inet4_bind",
        /// IPv6 bind.
        CgroupInet6Bind = 9 => "cgroup_inet6_bind",
        /// IPv4 connect.
        CgroupInet4Connect = 10 => "cgroup_inet4_connect",
        /// IPv6 connect.
        CgroupInet6Connect = 11 => "cgroup_inet6_connect",
        /// IPv4 post-bind.
        CgroupInet4PostBind = 12 => "cgroup_inet4_post_bind",
        /// IPv6 post-bind.
        CgroupInet6PostBind = 13 => "cgroup_inet6_post_bind",
        /// UDPv4 sendmsg.
        CgroupUdp4Sendmsg = 14 => "cgroup_udp4_sendmsg",
        /// UDPv6 sendmsg.
        CgroupUdp6Sendmsg = 15 => "cgroup_udp6_sendmsg",
        /// LIRC mode2.
        LircMode2 = 16 => "lirc_mode2",
        /// Flow dissector.
        FlowDissector = 17 => "flow_dissector",
        /// cgroup sysctl.
        CgroupSysctl = 18 => "cgroup_sysctl",
        /// UDPv4 recvmsg.
        CgroupUdp4Recvmsg = 19 => "cgroup_udp4_recvmsg",
        /// UDPv6 recvmsg.
        CgroupUdp6Recvmsg = 20 => "cgroup_udp6_recvmsg",
        /// getsockopt.
        CgroupGetsockopt = 21 => "cgroup_getsockopt",
        /// setsockopt.
        CgroupSetsockopt = 22 => "cgroup_setsockopt",
        /// BTF raw tracepoint.
        TraceRawTp = 23 => "trace_raw_tp",
        /// fentry.
        TraceFentry = 24 => "trace_fentry",
        /// fexit.
        TraceFexit = 25 => "trace_fexit",
        /// fmod_ret.
        ModifyReturn = 26 => "modify_return",
        /// LSM.
        LsmMac = 27 => "lsm_mac",
        /// Iterator.
        TraceIter = 28 => "trace_iter",
        /// IPv4 getpeername.
        CgroupInet4Getpeername = 29 => "cgroup_inet4_getpeername",
        /// IPv6 getpeername.
        CgroupInet6Getpeername = 30 => "cgroup_inet6_getpeername",
        /// IPv4 getsockname.
        CgroupInet4Getsockname = 31 => "cgroup_inet4_getsockname",
        /// IPv6 getsockname.
        CgroupInet6Getsockname = 32 => "cgroup_inet6_getsockname",
        /// XDP in a devmap.
        XdpDevmap = 33 => "xdp_devmap",
        /// cgroup socket release.
        CgroupInetSockRelease = 34 => "cgroup_inet_sock_release",
        /// XDP in a cpumap.
        XdpCpumap = 35 => "xdp_cpumap",
        /// Socket lookup.
        SkLookup = 36 => "sk_lookup",
        /// XDP.
        Xdp = 37 => "xdp",
        /// sockmap verdict.
        SkSkbVerdict = 38 => "sk_skb_verdict",
        /// SO_REUSEPORT select.
        SkReuseportSelect = 39 => "sk_reuseport_select",
        /// SO_REUSEPORT select or migrate.
        SkReuseportSelectOrMigrate = 40 => "sk_reuseport_select_or_migrate",
        /// perf event link.
        PerfEvent = 41 => "perf_event",
        /// kprobe.multi.
        TraceKprobeMulti = 42 => "trace_kprobe_multi",
        /// LSM per cgroup.
        LsmCgroup = 43 => "lsm_cgroup",
        /// struct_ops.
        StructOps = 44 => "struct_ops",
        /// netfilter.
        Netfilter = 45 => "netfilter",
        /// tcx ingress.
        TcxIngress = 46 => "tcx_ingress",
        /// tcx egress.
        TcxEgress = 47 => "tcx_egress",
        /// uprobe.multi.
        TraceUprobeMulti = 48 => "trace_uprobe_multi",
        /// unix connect.
        CgroupUnixConnect = 49 => "cgroup_unix_connect",
        /// unix sendmsg.
        CgroupUnixSendmsg = 50 => "cgroup_unix_sendmsg",
        /// unix recvmsg.
        CgroupUnixRecvmsg = 51 => "cgroup_unix_recvmsg",
        /// unix getpeername.
        CgroupUnixGetpeername = 52 => "cgroup_unix_getpeername",
        /// unix getsockname.
        CgroupUnixGetsockname = 53 => "cgroup_unix_getsockname",
        /// netkit primary.
        NetkitPrimary = 54 => "netkit_primary",
        /// netkit peer.
        NetkitPeer = 55 => "netkit_peer",
        /// kprobe session.
        TraceKprobeSession = 56 => "trace_kprobe_session",
        /// uprobe session.
        TraceUprobeSession = 57 => "trace_uprobe_session",
        /// fsession.
        TraceFsession = 58 => "trace_fsession",
    }
}

kernel_enum! {
    /// `enum bpf_link_type`, with libbpf's names (`"raw_tracepoint"`, `"tcx"`, ...).
    LinkType {
        /// Unspecified.
        Unspec = 0 => "unspec",
        /// Raw tracepoint.
        RawTracepoint = 1 => "raw_tracepoint",
        /// Tracing (fentry/fexit/lsm/...).
        Tracing = 2 => "tracing",
        /// cgroup.
        Cgroup = 3 => "cgroup",
        /// Iterator.
        Iter = 4 => "iter",
        /// Network namespace.
        Netns = 5 => "netns",
        /// XDP.
        Xdp = 6 => "xdp",
        /// perf event.
        PerfEvent = 7 => "perf_event",
        /// kprobe.multi.
        KprobeMulti = 8 => "kprobe_multi",
        /// struct_ops.
        StructOps = 9 => "struct_ops",
        /// netfilter.
        Netfilter = 10 => "netfilter",
        /// tcx.
        Tcx = 11 => "tcx",
        /// uprobe.multi.
        UprobeMulti = 12 => "uprobe_multi",
        /// netkit.
        Netkit = 13 => "netkit",
        /// sockmap.
        Sockmap = 14 => "sockmap",
    }
}

/// The first verifier log buffer size of a retry (grown as the kernel asks).
const LOG_SIZE_START: usize = 64 * 1024;
/// The largest verifier log the kernel accepts (`UINT_MAX >> 2`).
const LOG_SIZE_MAX: usize = (u32::MAX >> 2) as usize;

/// Runs `load` with a log of `level`, growing the buffer until the whole log fits, and returns the
/// outcome of the last attempt with the log text. Used for programs and BTF alike.
pub fn load_with_growing_log(
    level: u32,
    mut load: impl FnMut(&mut LoadLog<'_>) -> Result<OwnedFd>,
) -> (Result<OwnedFd>, String) {
    let mut size = LOG_SIZE_START;
    loop {
        let mut buf = vec![0u8; size];
        let mut log = LoadLog {
            level,
            buf: &mut buf,
            true_size: 0,
        };
        let r = load(&mut log);
        let text = log.text();
        let wanted = log.true_size as usize;
        let truncated = wanted > size
            || (wanted == 0 && matches!(&r, Err(e) if e.errno() == Some(libc::ENOSPC)));
        if !truncated || size >= LOG_SIZE_MAX {
            return (r, text);
        }
        // A successful load whose log did not fit still loaded; keep it and the partial log.
        if r.is_ok() {
            return (r, text);
        }
        size = if wanted > size {
            wanted.min(LOG_SIZE_MAX)
        } else {
            (size * 4).min(LOG_SIZE_MAX)
        };
    }
}

/// Turns a failed load with its log into the error callers see: kind `Verifier` when the kernel wrote a
/// log, the errno and command otherwise.
pub(crate) fn verifier_error(err: Error, log: String) -> Error {
    if log.trim().is_empty() {
        return err;
    }
    err.with_kind(ErrorKind::Verifier).with_log(log)
}

/// What the kernel reports about a program (`struct bpf_prog_info`, decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramInfo {
    /// The raw UAPI program type.
    pub prog_type_raw: u32,
    /// The program type, if this build knows it.
    pub prog_type: Option<ProgramType>,
    /// Kernel id.
    pub id: u32,
    /// The tag: a hash of the submitted instructions (with map fds zeroed).
    pub tag: [u8; BPF_TAG_SIZE],
    /// JIT image length.
    pub jited_prog_len: u32,
    /// Length of the kernel-rewritten instructions in bytes.
    pub xlated_prog_len: u32,
    /// Load time (ns since boot).
    pub load_time: u64,
    /// Who loaded it.
    pub created_by_uid: u32,
    /// How many maps it uses.
    pub nr_map_ids: u32,
    /// Name (up to 15 bytes).
    pub name: String,
    /// Offload device.
    pub ifindex: u32,
    /// GPL-compatible license.
    pub gpl_compatible: bool,
    /// BTF object id (0: none).
    pub btf_id: u32,
    /// Run time (with stats enabled).
    pub run_time_ns: u64,
    /// Run count (with stats enabled).
    pub run_cnt: u64,
    /// Recursion misses.
    pub recursion_misses: u64,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
    /// BTF object id of the attach target.
    pub attach_btf_obj_id: u32,
    /// BTF type id of the attach target.
    pub attach_btf_id: u32,
}

impl From<&BpfProgInfo> for ProgramInfo {
    fn from(i: &BpfProgInfo) -> Self {
        ProgramInfo {
            prog_type_raw: i.type_,
            prog_type: ProgramType::from_u32(i.type_),
            id: i.id,
            tag: i.tag,
            jited_prog_len: i.jited_prog_len,
            xlated_prog_len: i.xlated_prog_len,
            load_time: i.load_time,
            created_by_uid: i.created_by_uid,
            nr_map_ids: i.nr_map_ids,
            name: cstr_field(&i.name),
            ifindex: i.ifindex,
            gpl_compatible: i.gpl_compatible & 1 != 0,
            btf_id: i.btf_id,
            run_time_ns: i.run_time_ns,
            run_cnt: i.run_cnt,
            recursion_misses: i.recursion_misses,
            verified_insns: i.verified_insns,
            attach_btf_obj_id: i.attach_btf_obj_id,
            attach_btf_id: i.attach_btf_id,
        }
    }
}

impl ProgramInfo {
    /// The tag as 16 lowercase hex digits, as bpftool prints it.
    pub fn tag_hex(&self) -> String {
        self.tag.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The outcome of [`ProgramHandle::test_run`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value.
    pub retval: u32,
    /// Average run time in ns.
    pub duration_ns: u32,
    /// The output packet (empty when none was requested).
    pub data_out: Vec<u8>,
    /// The output context (empty when none was requested).
    pub ctx_out: Vec<u8>,
}

/// A loaded program owned by fd.
#[derive(Debug)]
pub struct ProgramHandle {
    fd: OwnedFd,
    prog_type: u32,
}

impl AsFd for ProgramHandle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl ProgramHandle {
    /// `BPF_PROG_LOAD`—verify and load `insns` (libbpf's `bpf_prog_load`). On rejection the load is
    /// retried with a growing verifier log and the error (kind [`ErrorKind::Verifier`]) carries it.
    pub fn load(
        prog_type: ProgramType,
        name: Option<&str>,
        license: &str,
        insns: &[Insn],
        opts: &ProgLoadOpts<'_>,
    ) -> Result<ProgramHandle> {
        let ctx = || format!("prog '{}' ({prog_type})", name.unwrap_or(""));
        let t = prog_type.as_u32();
        match sys::prog_load(t, name, license, insns, opts, None) {
            Ok(fd) => Ok(ProgramHandle { fd, prog_type: t }),
            Err(first) => {
                let (r, log) = load_with_growing_log(1, |log| {
                    sys::prog_load(t, name, license, insns, opts, Some(log))
                });
                match r {
                    // Loads with a log may succeed where the fast path hit a transient failure.
                    Ok(fd) => Ok(ProgramHandle { fd, prog_type: t }),
                    Err(e) if log.trim().is_empty() => Err(first.context(ctx()).with_source(e)),
                    Err(e) => Err(verifier_error(e, log).context(ctx())),
                }
            }
        }
    }

    /// Loads with a verifier log of `log_level` from the start (1: basic, 2: every instruction, 4: stats)
    /// and returns it with the program.
    pub fn load_with_log(
        prog_type: ProgramType,
        name: Option<&str>,
        license: &str,
        insns: &[Insn],
        opts: &ProgLoadOpts<'_>,
        log_level: u32,
    ) -> Result<(ProgramHandle, String)> {
        let t = prog_type.as_u32();
        let (r, log) = load_with_growing_log(log_level.max(1), |log| {
            sys::prog_load(t, name, license, insns, opts, Some(log))
        });
        match r {
            Ok(fd) => Ok((ProgramHandle { fd, prog_type: t }, log)),
            Err(e) => Err(verifier_error(e, log)
                .context(format_args!("prog '{}' ({prog_type})", name.unwrap_or("")))),
        }
    }

    /// A handle for an existing program fd.
    pub fn from_fd(fd: OwnedFd) -> Result<ProgramHandle> {
        let i = sys::prog_info(fd.as_fd())?;
        Ok(ProgramHandle {
            fd,
            prog_type: i.type_,
        })
    }

    /// Opens the program with kernel id `id`.
    pub fn from_id(id: u32) -> Result<ProgramHandle> {
        ProgramHandle::from_fd(sys::get_fd_by_id(IdKind::Prog, id, 0, None)?)
    }

    /// Opens the program pinned at `path`.
    pub fn from_pinned_path(path: impl AsRef<Path>) -> Result<ProgramHandle> {
        ProgramHandle::from_fd(sys::obj_get(path.as_ref(), 0)?)
    }

    /// Pins the program at `path` on a bpffs.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<()> {
        sys::obj_pin(self.fd.as_fd(), path.as_ref())
    }

    /// A second handle to the same program (`dup`).
    pub fn try_clone(&self) -> Result<ProgramHandle> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| Error::io("dup program fd", e))?;
        Ok(ProgramHandle {
            fd,
            prog_type: self.prog_type,
        })
    }

    /// The program type (`None` for types newer than this build).
    pub fn prog_type(&self) -> Option<ProgramType> {
        ProgramType::from_u32(self.prog_type)
    }

    /// What the kernel reports about the program now.
    pub fn info(&self) -> Result<ProgramInfo> {
        Ok(ProgramInfo::from(&sys::prog_info(self.fd.as_fd())?))
    }

    /// The kernel id.
    pub fn id(&self) -> Result<u32> {
        Ok(sys::prog_info(self.fd.as_fd())?.id)
    }

    /// The tag: the kernel's hash of the submitted instructions.
    pub fn tag(&self) -> Result<[u8; BPF_TAG_SIZE]> {
        Ok(sys::prog_info(self.fd.as_fd())?.tag)
    }

    /// The instructions as the kernel rewrote them (needs CAP_SYS_ADMIN or CAP_PERFMON).
    pub fn xlated(&self) -> Result<Vec<Insn>> {
        let bytes = sys::prog_insns(self.fd.as_fd(), false)?;
        Insn::slice_from_bytes(&bytes)
            .ok_or_else(|| Error::malformed("xlated program is not whole instructions"))
    }

    /// The JIT-compiled machine code.
    pub fn jited(&self) -> Result<Vec<u8>> {
        sys::prog_insns(self.fd.as_fd(), true)
    }

    /// The ids of the maps the program uses.
    pub fn map_ids(&self) -> Result<Vec<u32>> {
        sys::prog_map_ids(self.fd.as_fd())
    }

    /// `BPF_PROG_BIND_MAP`—keep `map` alive with the program.
    pub fn bind_map(&self, map: impl AsFd) -> Result<()> {
        sys::prog_bind_map(self.fd.as_fd(), map.as_fd())
    }

    /// `BPF_PROG_TEST_RUN` with full control (libbpf's `bpf_prog_test_run_opts`).
    pub fn test_run_opts(&self, opts: &mut TestRunOpts<'_>) -> Result<()> {
        sys::prog_test_run(self.fd.as_fd(), opts).context("test_run")
    }

    /// Runs the program `repeat` times (0 = once) on `data` (and `ctx`), returning the return value,
    /// duration and output packet/context (`data_out_size`/`ctx_out_size` bytes reserved; 0 = none).
    pub fn test_run(
        &self,
        data: &[u8],
        ctx: &[u8],
        repeat: u32,
        data_out_size: usize,
        ctx_out_size: usize,
    ) -> Result<TestRunResult> {
        let mut data_out = vec![0u8; data_out_size];
        let mut ctx_out = vec![0u8; ctx_out_size];
        let mut o = TestRunOpts {
            data_in: data,
            ctx_in: ctx,
            repeat,
            data_out: (data_out_size > 0).then_some(&mut data_out[..]),
            ctx_out: (ctx_out_size > 0).then_some(&mut ctx_out[..]),
            ..Default::default()
        };
        self.test_run_opts(&mut o)?;
        let (retval, duration_ns, dn, cn) = (
            o.retval,
            o.duration,
            o.data_size_out as usize,
            o.ctx_size_out as usize,
        );
        data_out.truncate(dn.min(data_out_size));
        ctx_out.truncate(cn.min(ctx_out_size));
        Ok(TestRunResult {
            retval,
            duration_ns,
            data_out,
            ctx_out,
        })
    }
}

/// Every program in the kernel, by id (what `bpftool prog list` walks).
pub fn program_ids() -> Result<Vec<u32>> {
    sys::ids(IdKind::Prog)
}

/// Every link in the kernel, by id.
pub fn link_ids() -> Result<Vec<u32>> {
    sys::ids(IdKind::Link)
}

/// Every BTF object in the kernel, by id (vmlinux, modules, loaded programs' BTF).
pub fn btf_ids() -> Result<Vec<u32>> {
    sys::ids(IdKind::Btf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_libbpf() {
        assert_eq!(ProgramType::Kprobe.name(), "kprobe");
        assert_eq!(ProgramType::Tracing.name(), "tracing");
        assert_eq!(ProgramType::SocketFilter.name(), "socket_filter");
        assert_eq!(
            ProgramType::from_name("sched_cls"),
            Some(ProgramType::SchedCls)
        );
        assert_eq!(AttachType::TraceFentry.name(), "trace_fentry");
        assert_eq!(LinkType::Tcx.to_string(), "tcx");
        for all in [
            ProgramType::ALL
                .iter()
                .map(|t| t.as_u32())
                .collect::<Vec<_>>(),
            AttachType::ALL.iter().map(|t| t.as_u32()).collect(),
            LinkType::ALL.iter().map(|t| t.as_u32()).collect(),
        ] {
            assert!(all.iter().enumerate().all(|(i, n)| *n as usize == i));
        }
    }
}
