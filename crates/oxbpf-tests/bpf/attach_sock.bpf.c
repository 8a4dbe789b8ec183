// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* sk_lookup, flow_dissector, netfilter and sockmap programs for the attach tests. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum { C_LOOKUP, C_NF, C_MSG, C_SKB, C_MAX };

#include "attach_counts.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} socks SEC(".maps");

SEC("sk_lookup")
int lookup(struct bpf_sk_lookup *ctx)
{
	bump(C_LOOKUP, 1);
	return SK_PASS;
}

SEC("flow_dissector")
int dissect(struct __sk_buff *skb)
{
	return BPF_FLOW_DISSECTOR_CONTINUE;
}

SEC("netfilter")
int nf_count(struct bpf_nf_ctx *ctx)
{
	bump(C_NF, 1);
	return 1; /* NF_ACCEPT */
}

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	bump(C_MSG, 1);
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int skb_verdict(struct __sk_buff *skb)
{
	bump(C_SKB, 1);
	return SK_PASS;
}
