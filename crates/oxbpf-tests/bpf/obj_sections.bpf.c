// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* One trivial program per SEC() family: both loaders must agree, family by family, on the program
 * type, expected attach type and flags they load with (and so on the verdict and tag). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define PROG(sec, name, ret)                                                                       \
	SEC(sec) int name(void *ctx)                                                                \
	{                                                                                           \
		return ret;                                                                         \
	}

PROG("socket", p_socket, 0)
PROG("sk_reuseport", p_sk_reuseport, 1)
PROG("sk_reuseport/migrate", p_sk_reuseport_migrate, 1)
PROG("kprobe/do_unlinkat", p_kprobe, 0)
PROG("kretprobe/do_unlinkat", p_kretprobe, 0)
PROG("uprobe//bin/true:main", p_uprobe, 0)
PROG("uprobe.s//bin/true:main", p_uprobe_s, 0)
PROG("kprobe.multi/do_unlinkat", p_kprobe_multi, 0)
PROG("kprobe.session/do_unlinkat", p_kprobe_session, 0)
PROG("uprobe.multi//bin/true:main", p_uprobe_multi, 0)
PROG("uprobe.session//bin/true:main", p_uprobe_session, 0)
PROG("ksyscall/unlinkat", p_ksyscall, 0)
PROG("usdt", p_usdt, 0)
PROG("tc/ingress", p_tc_ingress, 0)
PROG("tcx/egress", p_tcx_egress, 0)
PROG("tc", p_tc, 0)
PROG("classifier", p_classifier, 0)
PROG("action", p_action, 0)
PROG("netkit/primary", p_netkit, 0)
PROG("tp/syscalls/sys_enter_openat", p_tp, 0)
PROG("raw_tp/sys_exit", p_raw_tp, 0)
PROG("raw_tp.w/sys_exit", p_raw_tp_w, 0)
PROG("tp_btf/sched_switch", p_tp_btf, 0)
PROG("fentry/do_unlinkat", p_fentry, 0)
PROG("fexit.s/do_unlinkat", p_fexit_s, 0)
PROG("lsm/file_open", p_lsm, 0)
PROG("lsm.s/bprm_check_security", p_lsm_s, 0)
PROG("iter/task", p_iter, 0)
PROG("syscall", p_syscall, 0)
PROG("xdp", p_xdp, 2)
PROG("xdp.frags", p_xdp_frags, 2)
PROG("xdp/devmap", p_xdp_devmap, 2)
PROG("xdp.frags/cpumap", p_xdp_cpumap, 2)
PROG("perf_event", p_perf_event, 0)
PROG("lwt_in", p_lwt_in, 0)
PROG("lwt_xmit", p_lwt_xmit, 0)
PROG("sockops", p_sockops, 1)
PROG("sk_skb/stream_parser", p_sk_skb_parser, 0)
PROG("sk_skb/stream_verdict", p_sk_skb_verdict, 0)
PROG("sk_msg", p_sk_msg, 1)
PROG("flow_dissector", p_flow_dissector, 0)
PROG("cgroup_skb/ingress", p_cgroup_skb, 1)
PROG("cgroup/skb", p_cgroup_skb_any, 1)
PROG("cgroup/sock_create", p_cgroup_sock, 1)
PROG("cgroup/post_bind4", p_post_bind4, 1)
PROG("cgroup/connect4", p_connect4, 1)
PROG("cgroup/sendmsg_unix", p_sendmsg_unix, 1)
PROG("cgroup/getsockname6", p_getsockname6, 1)
PROG("cgroup/sysctl", p_sysctl, 1)
PROG("cgroup/getsockopt", p_getsockopt, 1)
PROG("cgroup/dev", p_dev, 1)
PROG("sk_lookup", p_sk_lookup, 1)
PROG("netfilter", p_netfilter, 1)
PROG("?xdp", p_xdp_noautoload, 2)
