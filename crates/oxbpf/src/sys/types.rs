//! The UAPI's object-type enums with libbpf's names: [`MapType`], [`ProgramType`], [`AttachType`],
//! [`LinkType`].
//!
//! `name()` returns the string `libbpf_bpf_{map,prog,attach,link}_type_str` gives (`"percpu_array"`,
//! `"socket_filter"`, `"trace_fentry"`, `"tcx"`), `from_name` parses it back, `as_u32`/`from_u32` convert
//! to and from the kernel's numbers. Values newer than this build come back as `None` from `from_u32`.

macro_rules! kernel_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $n:literal => $s:literal,)* }) => {
        $(#[$m])*
        #[repr(u32)]
        #[non_exhaustive]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $v = $n,)* }

        impl $name {
            /// Every value this build knows, in UAPI order.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];

            /// The UAPI number.
            pub const fn as_u32(self) -> u32 { self as u32 }

            /// The value for a UAPI number, if this build knows it.
            pub fn from_u32(n: u32) -> Option<Self> {
                match n { $($n => Some($name::$v),)* _ => None }
            }

            /// libbpf's name for the value (what `libbpf_bpf_*_type_str` returns).
            pub const fn name(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }

            /// The value for a libbpf name.
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$v),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

kernel_enum! {
    /// `enum bpf_map_type`, with libbpf's names (`"hash"`, `"percpu_array"`, `"ringbuf"`, ...).
    MapType {
        /// Invalid / unspecified.
        Unspec = 0 => "unspec",
        /// Hash table.
        Hash = 1 => "hash",
        /// Array indexed by u32.
        Array = 2 => "array",
        /// Program array for tail calls.
        ProgArray = 3 => "prog_array",
        /// Per-CPU perf event ring buffers.
        PerfEventArray = 4 => "perf_event_array",
        /// Per-CPU hash table.
        PercpuHash = 5 => "percpu_hash",
        /// Per-CPU array.
        PercpuArray = 6 => "percpu_array",
        /// Stack traces.
        StackTrace = 7 => "stack_trace",
        /// cgroup fds.
        CgroupArray = 8 => "cgroup_array",
        /// LRU hash.
        LruHash = 9 => "lru_hash",
        /// LRU per-CPU hash.
        LruPercpuHash = 10 => "lru_percpu_hash",
        /// Longest-prefix-match trie.
        LpmTrie = 11 => "lpm_trie",
        /// Array of maps.
        ArrayOfMaps = 12 => "array_of_maps",
        /// Hash of maps.
        HashOfMaps = 13 => "hash_of_maps",
        /// XDP redirect to devices.
        Devmap = 14 => "devmap",
        /// Sockets for redirection.
        Sockmap = 15 => "sockmap",
        /// XDP redirect to CPUs.
        Cpumap = 16 => "cpumap",
        /// AF_XDP sockets.
        Xskmap = 17 => "xskmap",
        /// Sockets by key.
        Sockhash = 18 => "sockhash",
        /// cgroup local storage (deprecated flavour).
        CgroupStorage = 19 => "cgroup_storage",
        /// SO_REUSEPORT socket array.
        ReuseportSockarray = 20 => "reuseport_sockarray",
        /// Per-CPU cgroup local storage.
        PercpuCgroupStorage = 21 => "percpu_cgroup_storage",
        /// FIFO queue.
        Queue = 22 => "queue",
        /// LIFO stack.
        Stack = 23 => "stack",
        /// Socket local storage.
        SkStorage = 24 => "sk_storage",
        /// Devices by key.
        DevmapHash = 25 => "devmap_hash",
        /// Kernel struct implemented in BPF.
        StructOps = 26 => "struct_ops",
        /// BPF ring buffer.
        Ringbuf = 27 => "ringbuf",
        /// Inode local storage.
        InodeStorage = 28 => "inode_storage",
        /// Task local storage.
        TaskStorage = 29 => "task_storage",
        /// Bloom filter.
        BloomFilter = 30 => "bloom_filter",
        /// User-space-produced ring buffer.
        UserRingbuf = 31 => "user_ringbuf",
        /// cgroup local storage.
        CgrpStorage = 32 => "cgrp_storage",
        /// Sparse shared memory region.
        Arena = 33 => "arena",
        /// Instruction array (jump tables).
        InsnArray = 34 => "insn_array",
    }
}

impl MapType {
    /// True for the types that store one value per possible CPU.
    pub fn is_percpu(self) -> bool {
        matches!(
            self,
            MapType::PercpuHash
                | MapType::PercpuArray
                | MapType::LruPercpuHash
                | MapType::PercpuCgroupStorage
        )
    }

    /// True for the types whose elements have no key (queue, stack, bloom filter).
    pub fn is_keyless(self) -> bool {
        matches!(self, MapType::Queue | MapType::Stack | MapType::BloomFilter)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_libbpf() {
        assert_eq!(MapType::PercpuArray.name(), "percpu_array");
        assert_eq!(MapType::from_name("ringbuf"), Some(MapType::Ringbuf));
        assert_eq!(MapType::from_u32(33), Some(MapType::Arena));
        assert_eq!(MapType::from_u32(1000), None);
        assert_eq!(ProgramType::Kprobe.name(), "kprobe");
        assert_eq!(ProgramType::Tracing.name(), "tracing");
        assert_eq!(ProgramType::SocketFilter.name(), "socket_filter");
        assert_eq!(
            ProgramType::from_name("sched_cls"),
            Some(ProgramType::SchedCls)
        );
        assert_eq!(AttachType::TraceFentry.name(), "trace_fentry");
        assert_eq!(LinkType::Tcx.to_string(), "tcx");
    }

    #[test]
    fn values_are_dense_from_zero() {
        let all: [Vec<u32>; 4] = [
            MapType::ALL.iter().map(|t| t.as_u32()).collect(),
            ProgramType::ALL.iter().map(|t| t.as_u32()).collect(),
            AttachType::ALL.iter().map(|t| t.as_u32()).collect(),
            LinkType::ALL.iter().map(|t| t.as_u32()).collect(),
        ];
        for v in all {
            assert!(v.iter().enumerate().all(|(i, n)| *n as usize == i));
        }
    }
}
