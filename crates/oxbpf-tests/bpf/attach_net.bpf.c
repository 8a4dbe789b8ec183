// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Network programs for the attach tests: each counts the packets (or sockets) it sees. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum {
	C_XDP, C_TC_IN, C_TC_OUT, C_SKB_IN, C_SKB_OUT, C_SOCK, C_SOCKF, C_XDP2, C_NK_PRIMARY, C_NK_PEER,
	C_MAX
};

#include "attach_counts.h"

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	bump(C_XDP, 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_count2(struct xdp_md *ctx)
{
	bump(C_XDP2, 1);
	return XDP_PASS;
}

SEC("tc")
int tc_in(struct __sk_buff *skb)
{
	bump(C_TC_IN, 1);
	return 0; /* TC_ACT_OK */
}

SEC("tc")
int tc_out(struct __sk_buff *skb)
{
	bump(C_TC_OUT, 1);
	return 0;
}

SEC("cgroup_skb/ingress")
int skb_in(struct __sk_buff *skb)
{
	bump(C_SKB_IN, 1);
	return 1;
}

SEC("cgroup_skb/egress")
int skb_out(struct __sk_buff *skb)
{
	bump(C_SKB_OUT, 1);
	return 1;
}

SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk)
{
	bump(C_SOCK, 1);
	return 1;
}

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	bump(C_SOCKF, 1);
	return 0xffff; /* keep the whole packet (no ctx field access: no CO-RE needed) */
}

/* netkit (6.7+): the primary's programs run on what the primary device transmits, the peer's on what
 * the peer transmits. 0 is NETKIT_PASS. */
SEC("netkit/primary")
int nk_primary(struct __sk_buff *skb)
{
	bump(C_NK_PRIMARY, 1);
	return 0;
}

SEC("netkit/peer")
int nk_peer(struct __sk_buff *skb)
{
	bump(C_NK_PEER, 1);
	return 0;
}
