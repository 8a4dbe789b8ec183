//! libbpf 1.7's `SEC()` table: which ELF section name gives which program type, expected attach type
//! and load flags, and libbpf's rules for matching a section name against it.
//!
//! Matching is libbpf 1.x's strict matching. A table entry ending in `/` matches any section that
//! starts with it; an entry ending in `+` matches the bare name or the name followed by `/extras`;
//! any other entry matches only the exact name. Custom definitions are tried first, then the
//! built-in table in its order, then an optional custom fallback. A leading `?` on a section
//! name (no autoload) is stripped before matching.

use std::borrow::Cow;

bitflags::bitflags! {
    /// What a `SEC()` family asks of the loader (libbpf's `enum sec_def_flags`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct SecFlags: u32 {
        /// Nothing special (libbpf's `SEC_NONE`).
        const NONE = 0;
        /// The expected attach type may be dropped on kernels that do not know it.
        const EXP_ATTACH_OPT = 1;
        /// Attachable through `BPF_PROG_ATTACH` (informational, used for type-name listings).
        const ATTACHABLE = 2;
        /// `ATTACHABLE | EXP_ATTACH_OPT`.
        const ATTACHABLE_OPT = 3;
        /// The attach target is a BTF id, named after the first `/` of the section.
        const ATTACH_BTF = 4;
        /// Load with `BPF_F_SLEEPABLE`.
        const SLEEPABLE = 8;
        /// Load XDP programs with `BPF_F_XDP_HAS_FRAGS`.
        const XDP_FRAGS = 16;
        /// USDT: uses the uprobe-multi attach type when the kernel has it.
        const USDT = 32;
    }
}

/// One `SEC()` family: a section pattern and what programs in it are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecDef {
    /// The pattern, in libbpf's notation: `"xdp"` (exact), `"kprobe+"` (bare or `/extras`),
    /// `"tc/ingress"` (exact), or a prefix ending in `/`.
    pub section: Cow<'static, str>,
    /// `enum bpf_prog_type`.
    pub prog_type: u32,
    /// `enum bpf_attach_type`; 0 means none (as in libbpf).
    pub expected_attach_type: u32,
    /// Load flags and attach properties.
    pub flags: SecFlags,
}

const fn def(
    section: &'static str,
    prog_type: u32,
    expected_attach_type: u32,
    flags: SecFlags,
) -> SecDef {
    SecDef {
        section: Cow::Borrowed(section),
        prog_type,
        expected_attach_type,
        flags,
    }
}

use attach_type as a;
use SecFlags as F;

/// libbpf 1.7's built-in `SEC()` table, in its matching order.
pub static SECTION_DEFS: &[SecDef] = &[
    def("socket", p::SOCKET_FILTER, a::NONE, F::NONE),
    def(
        "sk_reuseport/migrate",
        p::SK_REUSEPORT,
        a::SK_REUSEPORT_SELECT_OR_MIGRATE,
        F::ATTACHABLE,
    ),
    def(
        "sk_reuseport",
        p::SK_REUSEPORT,
        a::SK_REUSEPORT_SELECT,
        F::ATTACHABLE,
    ),
    def("kprobe+", p::KPROBE, a::NONE, F::NONE),
    def("uprobe+", p::KPROBE, a::NONE, F::NONE),
    def("uprobe.s+", p::KPROBE, a::NONE, F::SLEEPABLE),
    def("kretprobe+", p::KPROBE, a::NONE, F::NONE),
    def("uretprobe+", p::KPROBE, a::NONE, F::NONE),
    def("uretprobe.s+", p::KPROBE, a::NONE, F::SLEEPABLE),
    def("kprobe.multi+", p::KPROBE, a::TRACE_KPROBE_MULTI, F::NONE),
    def(
        "kretprobe.multi+",
        p::KPROBE,
        a::TRACE_KPROBE_MULTI,
        F::NONE,
    ),
    def(
        "kprobe.session+",
        p::KPROBE,
        a::TRACE_KPROBE_SESSION,
        F::NONE,
    ),
    def("uprobe.multi+", p::KPROBE, a::TRACE_UPROBE_MULTI, F::NONE),
    def(
        "uretprobe.multi+",
        p::KPROBE,
        a::TRACE_UPROBE_MULTI,
        F::NONE,
    ),
    def(
        "uprobe.session+",
        p::KPROBE,
        a::TRACE_UPROBE_SESSION,
        F::NONE,
    ),
    def(
        "uprobe.multi.s+",
        p::KPROBE,
        a::TRACE_UPROBE_MULTI,
        F::SLEEPABLE,
    ),
    def(
        "uretprobe.multi.s+",
        p::KPROBE,
        a::TRACE_UPROBE_MULTI,
        F::SLEEPABLE,
    ),
    def(
        "uprobe.session.s+",
        p::KPROBE,
        a::TRACE_UPROBE_SESSION,
        F::SLEEPABLE,
    ),
    def("ksyscall+", p::KPROBE, a::NONE, F::NONE),
    def("kretsyscall+", p::KPROBE, a::NONE, F::NONE),
    def("usdt+", p::KPROBE, a::NONE, F::USDT),
    def("usdt.s+", p::KPROBE, a::NONE, F::USDT.union(F::SLEEPABLE)),
    def("tc/ingress", p::SCHED_CLS, a::TCX_INGRESS, F::NONE),
    def("tc/egress", p::SCHED_CLS, a::TCX_EGRESS, F::NONE),
    def("tcx/ingress", p::SCHED_CLS, a::TCX_INGRESS, F::NONE),
    def("tcx/egress", p::SCHED_CLS, a::TCX_EGRESS, F::NONE),
    def("tc", p::SCHED_CLS, a::NONE, F::NONE),
    def("classifier", p::SCHED_CLS, a::NONE, F::NONE),
    def("action", p::SCHED_ACT, a::NONE, F::NONE),
    def("netkit/primary", p::SCHED_CLS, a::NETKIT_PRIMARY, F::NONE),
    def("netkit/peer", p::SCHED_CLS, a::NETKIT_PEER, F::NONE),
    def("tracepoint+", p::TRACEPOINT, a::NONE, F::NONE),
    def("tp+", p::TRACEPOINT, a::NONE, F::NONE),
    def("raw_tracepoint+", p::RAW_TRACEPOINT, a::NONE, F::NONE),
    def("raw_tp+", p::RAW_TRACEPOINT, a::NONE, F::NONE),
    def(
        "raw_tracepoint.w+",
        p::RAW_TRACEPOINT_WRITABLE,
        a::NONE,
        F::NONE,
    ),
    def("raw_tp.w+", p::RAW_TRACEPOINT_WRITABLE, a::NONE, F::NONE),
    def("tp_btf+", p::TRACING, a::TRACE_RAW_TP, F::ATTACH_BTF),
    def("fentry+", p::TRACING, a::TRACE_FENTRY, F::ATTACH_BTF),
    def("fmod_ret+", p::TRACING, a::MODIFY_RETURN, F::ATTACH_BTF),
    def("fexit+", p::TRACING, a::TRACE_FEXIT, F::ATTACH_BTF),
    def(
        "fentry.s+",
        p::TRACING,
        a::TRACE_FENTRY,
        F::ATTACH_BTF.union(F::SLEEPABLE),
    ),
    def(
        "fmod_ret.s+",
        p::TRACING,
        a::MODIFY_RETURN,
        F::ATTACH_BTF.union(F::SLEEPABLE),
    ),
    def(
        "fexit.s+",
        p::TRACING,
        a::TRACE_FEXIT,
        F::ATTACH_BTF.union(F::SLEEPABLE),
    ),
    def("fsession+", p::TRACING, a::TRACE_FSESSION, F::ATTACH_BTF),
    def(
        "fsession.s+",
        p::TRACING,
        a::TRACE_FSESSION,
        F::ATTACH_BTF.union(F::SLEEPABLE),
    ),
    def("freplace+", p::EXT, a::NONE, F::ATTACH_BTF),
    def("lsm+", p::LSM, a::LSM_MAC, F::ATTACH_BTF),
    def(
        "lsm.s+",
        p::LSM,
        a::LSM_MAC,
        F::ATTACH_BTF.union(F::SLEEPABLE),
    ),
    def("lsm_cgroup+", p::LSM, a::LSM_CGROUP, F::ATTACH_BTF),
    def("iter+", p::TRACING, a::TRACE_ITER, F::ATTACH_BTF),
    def(
        "iter.s+",
        p::TRACING,
        a::TRACE_ITER,
        F::ATTACH_BTF.union(F::SLEEPABLE),
    ),
    def("syscall", p::SYSCALL, a::NONE, F::SLEEPABLE),
    def("xdp.frags/devmap", p::XDP, a::XDP_DEVMAP, F::XDP_FRAGS),
    def("xdp/devmap", p::XDP, a::XDP_DEVMAP, F::ATTACHABLE),
    def("xdp.frags/cpumap", p::XDP, a::XDP_CPUMAP, F::XDP_FRAGS),
    def("xdp/cpumap", p::XDP, a::XDP_CPUMAP, F::ATTACHABLE),
    def("xdp.frags", p::XDP, a::XDP, F::XDP_FRAGS),
    def("xdp", p::XDP, a::XDP, F::ATTACHABLE_OPT),
    def("perf_event", p::PERF_EVENT, a::NONE, F::NONE),
    def("lwt_in", p::LWT_IN, a::NONE, F::NONE),
    def("lwt_out", p::LWT_OUT, a::NONE, F::NONE),
    def("lwt_xmit", p::LWT_XMIT, a::NONE, F::NONE),
    def("lwt_seg6local", p::LWT_SEG6LOCAL, a::NONE, F::NONE),
    def(
        "sockops",
        p::SOCK_OPS,
        a::CGROUP_SOCK_OPS,
        F::ATTACHABLE_OPT,
    ),
    def(
        "sk_skb/stream_parser",
        p::SK_SKB,
        a::SK_SKB_STREAM_PARSER,
        F::ATTACHABLE_OPT,
    ),
    def(
        "sk_skb/stream_verdict",
        p::SK_SKB,
        a::SK_SKB_STREAM_VERDICT,
        F::ATTACHABLE_OPT,
    ),
    def(
        "sk_skb/verdict",
        p::SK_SKB,
        a::SK_SKB_VERDICT,
        F::ATTACHABLE_OPT,
    ),
    def("sk_skb", p::SK_SKB, a::NONE, F::NONE),
    def("sk_msg", p::SK_MSG, a::SK_MSG_VERDICT, F::ATTACHABLE_OPT),
    def(
        "lirc_mode2",
        p::LIRC_MODE2,
        a::LIRC_MODE2,
        F::ATTACHABLE_OPT,
    ),
    def(
        "flow_dissector",
        p::FLOW_DISSECTOR,
        a::FLOW_DISSECTOR,
        F::ATTACHABLE_OPT,
    ),
    def(
        "cgroup_skb/ingress",
        p::CGROUP_SKB,
        a::CGROUP_INET_INGRESS,
        F::ATTACHABLE_OPT,
    ),
    def(
        "cgroup_skb/egress",
        p::CGROUP_SKB,
        a::CGROUP_INET_EGRESS,
        F::ATTACHABLE_OPT,
    ),
    def("cgroup/skb", p::CGROUP_SKB, a::NONE, F::NONE),
    def(
        "cgroup/sock_create",
        p::CGROUP_SOCK,
        a::CGROUP_INET_SOCK_CREATE,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/sock_release",
        p::CGROUP_SOCK,
        a::CGROUP_INET_SOCK_RELEASE,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/sock",
        p::CGROUP_SOCK,
        a::CGROUP_INET_SOCK_CREATE,
        F::ATTACHABLE_OPT,
    ),
    def(
        "cgroup/post_bind4",
        p::CGROUP_SOCK,
        a::CGROUP_INET4_POST_BIND,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/post_bind6",
        p::CGROUP_SOCK,
        a::CGROUP_INET6_POST_BIND,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/bind4",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_INET4_BIND,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/bind6",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_INET6_BIND,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/connect4",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_INET4_CONNECT,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/connect6",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_INET6_CONNECT,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/connect_unix",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_UNIX_CONNECT,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/sendmsg4",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_UDP4_SENDMSG,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/sendmsg6",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_UDP6_SENDMSG,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/sendmsg_unix",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_UNIX_SENDMSG,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/recvmsg4",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_UDP4_RECVMSG,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/recvmsg6",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_UDP6_RECVMSG,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/recvmsg_unix",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_UNIX_RECVMSG,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/getpeername4",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_INET4_GETPEERNAME,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/getpeername6",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_INET6_GETPEERNAME,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/getpeername_unix",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_UNIX_GETPEERNAME,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/getsockname4",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_INET4_GETSOCKNAME,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/getsockname6",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_INET6_GETSOCKNAME,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/getsockname_unix",
        p::CGROUP_SOCK_ADDR,
        a::CGROUP_UNIX_GETSOCKNAME,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/sysctl",
        p::CGROUP_SYSCTL,
        a::CGROUP_SYSCTL,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/getsockopt",
        p::CGROUP_SOCKOPT,
        a::CGROUP_GETSOCKOPT,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/setsockopt",
        p::CGROUP_SOCKOPT,
        a::CGROUP_SETSOCKOPT,
        F::ATTACHABLE,
    ),
    def(
        "cgroup/dev",
        p::CGROUP_DEVICE,
        a::CGROUP_DEVICE,
        F::ATTACHABLE_OPT,
    ),
    def("struct_ops+", p::STRUCT_OPS, a::NONE, F::NONE),
    def("struct_ops.s+", p::STRUCT_OPS, a::NONE, F::SLEEPABLE),
    def("sk_lookup", p::SK_LOOKUP, a::SK_LOOKUP, F::ATTACHABLE),
    def("netfilter", p::NETFILTER, a::NETFILTER, F::NONE),
];

impl SecDef {
    /// A custom definition, as `libbpf_register_prog_handler` takes it.
    pub fn custom(
        section: impl Into<String>,
        prog_type: u32,
        expected_attach_type: u32,
        flags: SecFlags,
    ) -> Self {
        SecDef {
            section: Cow::Owned(section.into()),
            prog_type,
            expected_attach_type,
            flags,
        }
    }

    /// Whether `sec_name` (already without a leading `?`) belongs to this family.
    pub fn matches(&self, sec_name: &str) -> bool {
        let pat = self.section.as_ref();
        if pat.ends_with('/') {
            return sec_name.starts_with(pat);
        }
        if let Some(base) = pat.strip_suffix('+') {
            return match sec_name.strip_prefix(base) {
                Some(rest) => rest.is_empty() || rest.starts_with('/'),
                None => false,
            };
        }
        sec_name == pat
    }

    /// Whether programs of this family load with `BPF_F_SLEEPABLE`.
    pub fn is_sleepable(&self) -> bool {
        self.flags.contains(SecFlags::SLEEPABLE)
    }

    /// libbpf's name of this family's program type (`"kprobe"`, `"tracing"`, ...).
    pub fn prog_type_name(&self) -> &'static str {
        prog_type_name(self.prog_type)
    }
}

/// User-registered `SEC()` handlers, tried before the built-in table, and an optional fallback
/// used when nothing else matches (libbpf's `libbpf_register_prog_handler`).
#[derive(Debug, Clone, Default)]
pub struct SecDefs {
    custom: Vec<SecDef>,
    fallback: Option<SecDef>,
}

impl SecDefs {
    /// Only the built-in table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a custom family, tried before the built-in ones (in the order added).
    pub fn register(&mut self, def: SecDef) -> &mut Self {
        self.custom.push(def);
        self
    }

    /// Sets the family used for sections nothing else matches.
    pub fn set_fallback(&mut self, def: SecDef) -> &mut Self {
        self.fallback = Some(def);
        self
    }

    /// The family of `sec_name`, by libbpf's rules; a leading `?` is ignored.
    pub fn find(&self, sec_name: &str) -> Option<&SecDef> {
        let name = sec_name.strip_prefix('?').unwrap_or(sec_name);
        self.custom
            .iter()
            .find(|d| d.matches(name))
            .or_else(|| SECTION_DEFS.iter().find(|d| d.matches(name)))
            .or(self.fallback.as_ref())
    }
}

/// The built-in family of `sec_name` (a leading `?` is ignored), or `None` if libbpf would not
/// recognise it.
pub fn find_sec_def(sec_name: &str) -> Option<&'static SecDef> {
    let name = sec_name.strip_prefix('?').unwrap_or(sec_name);
    SECTION_DEFS.iter().find(|d| d.matches(name))
}

/// The attach target written in a section name: what follows the first `/`
/// (`"fentry/do_unlinkat"` → `"do_unlinkat"`, `"tp/syscalls/sys_enter_write"` → `"syscalls/sys_enter_write"`).
pub fn attach_target(sec_name: &str) -> Option<&str> {
    let name = sec_name.strip_prefix('?').unwrap_or(sec_name);
    name.split_once('/')
        .map(|(_, t)| t)
        .filter(|t| !t.is_empty())
}

/// A tracepoint section's `(category, name)`: `"tp/syscalls/sys_enter_write"` → `("syscalls", "sys_enter_write")`.
pub fn tracepoint_target(sec_name: &str) -> Option<(&str, &str)> {
    let (cat, name) = attach_target(sec_name)?.split_once('/')?;
    (!cat.is_empty() && !name.is_empty()).then_some((cat, name))
}

/// A kprobe section's `(function, offset)`: `"kprobe/do_sys_open+0x10"` → `("do_sys_open", 16)`.
pub fn kprobe_target(sec_name: &str) -> Option<(&str, u64)> {
    let target = attach_target(sec_name)?;
    match target.split_once('+') {
        None => Some((target, 0)),
        Some((func, off)) => {
            let off = match off.strip_prefix("0x").or_else(|| off.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok()?,
                None => off.parse().ok()?,
            };
            (!func.is_empty()).then_some((func, off))
        }
    }
}

/// A uprobe section's `(binary path, function or offset)`: `"uprobe//bin/bash:readline"` →
/// `("/bin/bash", "readline")`.
pub fn uprobe_target(sec_name: &str) -> Option<(&str, &str)> {
    let (path, func) = attach_target(sec_name)?.rsplit_once(':')?;
    (!path.is_empty() && !func.is_empty()).then_some((path, func))
}

/// libbpf's name of a program type (`libbpf_bpf_prog_type_str`), `"unknown"` past the table.
pub fn prog_type_name(prog_type: u32) -> &'static str {
    const NAMES: &[&str] = &[
        "unspec",
        "socket_filter",
        "kprobe",
        "sched_cls",
        "sched_act",
        "tracepoint",
        "xdp",
        "perf_event",
        "cgroup_skb",
        "cgroup_sock",
        "lwt_in",
        "lwt_out",
        "lwt_xmit",
        "sock_ops",
        "sk_skb",
        "cgroup_device",
        "sk_msg",
        "raw_tracepoint",
        "cgroup_sock_addr",
        "lwt_seg6local",
        "lirc_mode2",
        "sk_reuseport",
        "flow_dissector",
        "cgroup_sysctl",
        "raw_tracepoint_writable",
        "cgroup_sockopt",
        "tracing",
        "struct_ops",
        "ext",
        "lsm",
        "sk_lookup",
        "syscall",
        "netfilter",
    ];
    NAMES.get(prog_type as usize).copied().unwrap_or("unknown")
}

#[allow(dead_code)]
/// `enum bpf_prog_type` values used by the table.
pub(crate) mod p {
    pub const UNSPEC: u32 = 0;
    pub const SOCKET_FILTER: u32 = 1;
    pub const KPROBE: u32 = 2;
    pub const SCHED_CLS: u32 = 3;
    pub const SCHED_ACT: u32 = 4;
    pub const TRACEPOINT: u32 = 5;
    pub const XDP: u32 = 6;
    pub const PERF_EVENT: u32 = 7;
    pub const CGROUP_SKB: u32 = 8;
    pub const CGROUP_SOCK: u32 = 9;
    pub const LWT_IN: u32 = 10;
    pub const LWT_OUT: u32 = 11;
    pub const LWT_XMIT: u32 = 12;
    pub const SOCK_OPS: u32 = 13;
    pub const SK_SKB: u32 = 14;
    pub const CGROUP_DEVICE: u32 = 15;
    pub const SK_MSG: u32 = 16;
    pub const RAW_TRACEPOINT: u32 = 17;
    pub const CGROUP_SOCK_ADDR: u32 = 18;
    pub const LWT_SEG6LOCAL: u32 = 19;
    pub const LIRC_MODE2: u32 = 20;
    pub const SK_REUSEPORT: u32 = 21;
    pub const FLOW_DISSECTOR: u32 = 22;
    pub const CGROUP_SYSCTL: u32 = 23;
    pub const RAW_TRACEPOINT_WRITABLE: u32 = 24;
    pub const CGROUP_SOCKOPT: u32 = 25;
    pub const TRACING: u32 = 26;
    pub const STRUCT_OPS: u32 = 27;
    pub const EXT: u32 = 28;
    pub const LSM: u32 = 29;
    pub const SK_LOOKUP: u32 = 30;
    pub const SYSCALL: u32 = 31;
    pub const NETFILTER: u32 = 32;
}

/// The kernel's `enum bpf_attach_type` values (`NONE` = 0 = "unspecified", as in libbpf's
/// section table, where 0 doubles as `CGROUP_INET_INGRESS`).
#[allow(missing_docs)]
pub mod attach_type {
    pub const NONE: u32 = 0;
    pub const CGROUP_INET_INGRESS: u32 = 0;
    pub const CGROUP_INET_EGRESS: u32 = 1;
    pub const CGROUP_INET_SOCK_CREATE: u32 = 2;
    pub const CGROUP_SOCK_OPS: u32 = 3;
    pub const SK_SKB_STREAM_PARSER: u32 = 4;
    pub const SK_SKB_STREAM_VERDICT: u32 = 5;
    pub const CGROUP_DEVICE: u32 = 6;
    pub const SK_MSG_VERDICT: u32 = 7;
    pub const CGROUP_INET4_BIND: u32 = 8;
    pub const CGROUP_INET6_BIND: u32 = 9;
    pub const CGROUP_INET4_CONNECT: u32 = 10;
    pub const CGROUP_INET6_CONNECT: u32 = 11;
    pub const CGROUP_INET4_POST_BIND: u32 = 12;
    pub const CGROUP_INET6_POST_BIND: u32 = 13;
    pub const CGROUP_UDP4_SENDMSG: u32 = 14;
    pub const CGROUP_UDP6_SENDMSG: u32 = 15;
    pub const LIRC_MODE2: u32 = 16;
    pub const FLOW_DISSECTOR: u32 = 17;
    pub const CGROUP_SYSCTL: u32 = 18;
    pub const CGROUP_UDP4_RECVMSG: u32 = 19;
    pub const CGROUP_UDP6_RECVMSG: u32 = 20;
    pub const CGROUP_GETSOCKOPT: u32 = 21;
    pub const CGROUP_SETSOCKOPT: u32 = 22;
    pub const TRACE_RAW_TP: u32 = 23;
    pub const TRACE_FENTRY: u32 = 24;
    pub const TRACE_FEXIT: u32 = 25;
    pub const MODIFY_RETURN: u32 = 26;
    pub const LSM_MAC: u32 = 27;
    pub const TRACE_ITER: u32 = 28;
    pub const CGROUP_INET4_GETPEERNAME: u32 = 29;
    pub const CGROUP_INET6_GETPEERNAME: u32 = 30;
    pub const CGROUP_INET4_GETSOCKNAME: u32 = 31;
    pub const CGROUP_INET6_GETSOCKNAME: u32 = 32;
    pub const XDP_DEVMAP: u32 = 33;
    pub const CGROUP_INET_SOCK_RELEASE: u32 = 34;
    pub const XDP_CPUMAP: u32 = 35;
    pub const SK_LOOKUP: u32 = 36;
    pub const XDP: u32 = 37;
    pub const SK_SKB_VERDICT: u32 = 38;
    pub const SK_REUSEPORT_SELECT: u32 = 39;
    pub const SK_REUSEPORT_SELECT_OR_MIGRATE: u32 = 40;
    pub const PERF_EVENT: u32 = 41;
    pub const TRACE_KPROBE_MULTI: u32 = 42;
    pub const LSM_CGROUP: u32 = 43;
    pub const STRUCT_OPS: u32 = 44;
    pub const NETFILTER: u32 = 45;
    pub const TCX_INGRESS: u32 = 46;
    pub const TCX_EGRESS: u32 = 47;
    pub const TRACE_UPROBE_MULTI: u32 = 48;
    pub const CGROUP_UNIX_CONNECT: u32 = 49;
    pub const CGROUP_UNIX_SENDMSG: u32 = 50;
    pub const CGROUP_UNIX_RECVMSG: u32 = 51;
    pub const CGROUP_UNIX_GETPEERNAME: u32 = 52;
    pub const CGROUP_UNIX_GETSOCKNAME: u32 = 53;
    pub const NETKIT_PRIMARY: u32 = 54;
    pub const NETKIT_PEER: u32 = 55;
    pub const TRACE_KPROBE_SESSION: u32 = 56;
    pub const TRACE_UPROBE_SESSION: u32 = 57;
    pub const TRACE_FSESSION: u32 = 58;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(sec: &str) -> Option<(&'static str, u32, SecFlags)> {
        find_sec_def(sec).map(|d| (d.prog_type_name(), d.expected_attach_type, d.flags))
    }

    #[test]
    fn table_has_every_libbpf_family() {
        assert_eq!(SECTION_DEFS.len(), 105);
        assert_eq!(SECTION_DEFS[0].section, "socket");
        assert_eq!(SECTION_DEFS.last().unwrap().section, "netfilter");
    }

    #[test]
    fn plus_means_bare_or_slash() {
        assert_eq!(ty("kprobe").unwrap().0, "kprobe");
        assert_eq!(ty("kprobe/do_unlinkat").unwrap().0, "kprobe");
        assert!(ty("kprobex").is_none());
        assert_eq!(ty("tp/syscalls/sys_enter_write").unwrap().0, "tracepoint");
        assert_eq!(ty("tracepoint/a/b").unwrap().0, "tracepoint");
        // "kprobe.multi" must not be eaten by "kprobe+".
        assert_eq!(ty("kprobe.multi/foo*").unwrap().1, a::TRACE_KPROBE_MULTI);
        assert_eq!(ty("kprobe.session/foo").unwrap().1, a::TRACE_KPROBE_SESSION);
        assert_eq!(
            ty("uprobe.multi//bin/x:f").unwrap().1,
            a::TRACE_UPROBE_MULTI
        );
    }

    #[test]
    fn exact_names_are_exact() {
        assert_eq!(ty("xdp").unwrap().1, a::XDP);
        assert!(ty("xdp/foo").is_none());
        assert_eq!(ty("xdp.frags").unwrap().2, F::XDP_FRAGS);
        assert_eq!(ty("xdp/devmap").unwrap().1, a::XDP_DEVMAP);
        assert_eq!(ty("tc").unwrap().0, "sched_cls");
        assert_eq!(ty("tc/ingress").unwrap().1, a::TCX_INGRESS);
        assert_eq!(ty("tcx/egress").unwrap().1, a::TCX_EGRESS);
        assert!(ty("tc/other").is_none());
        assert_eq!(ty("netkit/peer").unwrap().1, a::NETKIT_PEER);
        assert_eq!(ty("cgroup/connect4").unwrap().0, "cgroup_sock_addr");
        assert_eq!(ty("cgroup_skb/egress").unwrap().1, a::CGROUP_INET_EGRESS);
        assert_eq!(ty("syscall").unwrap().2, F::SLEEPABLE);
    }

    #[test]
    fn sleepable_and_btf_families() {
        let d = find_sec_def("fentry.s/do_unlinkat").unwrap();
        assert!(d.is_sleepable());
        assert_eq!(d.prog_type_name(), "tracing");
        assert!(d.flags.contains(F::ATTACH_BTF));
        assert_eq!(ty("lsm.s/file_open").unwrap().1, a::LSM_MAC);
        assert_eq!(ty("tp_btf/sched_switch").unwrap().1, a::TRACE_RAW_TP);
        assert_eq!(ty("iter/task").unwrap().1, a::TRACE_ITER);
        assert_eq!(ty("struct_ops.s/foo").unwrap().0, "struct_ops");
        assert_eq!(
            ty("usdt.s/lib:prov:name").unwrap().2,
            F::USDT | F::SLEEPABLE
        );
        assert_eq!(ty("raw_tp.w/foo").unwrap().0, "raw_tracepoint_writable");
    }

    #[test]
    fn question_mark_is_ignored_for_matching() {
        assert_eq!(ty("?tp/syscalls/sys_enter_read").unwrap().0, "tracepoint");
    }

    #[test]
    fn custom_before_builtin_and_fallback_last() {
        let mut defs = SecDefs::new();
        defs.register(SecDef::custom("xdp", p::SOCKET_FILTER, 0, F::NONE));
        assert_eq!(defs.find("xdp").unwrap().prog_type, p::SOCKET_FILTER);
        assert!(defs.find("weird").is_none());
        defs.set_fallback(SecDef::custom("", p::KPROBE, 0, F::NONE));
        assert_eq!(defs.find("weird").unwrap().prog_type, p::KPROBE);
    }

    #[test]
    fn attach_targets() {
        assert_eq!(attach_target("fentry/do_unlinkat"), Some("do_unlinkat"));
        assert_eq!(attach_target("fentry"), None);
        assert_eq!(
            tracepoint_target("tp/syscalls/sys_enter_write"),
            Some(("syscalls", "sys_enter_write"))
        );
        assert_eq!(
            kprobe_target("kprobe/do_sys_open+0x10"),
            Some(("do_sys_open", 16))
        );
        assert_eq!(
            kprobe_target("kretprobe/do_sys_open"),
            Some(("do_sys_open", 0))
        );
        assert_eq!(
            uprobe_target("uprobe//bin/bash:readline"),
            Some(("/bin/bash", "readline"))
        );
    }
}
