// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* sk_lookup, flow_dissector, netfilter and sockmap programs for the attach tests. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum { C_LOOKUP, C_NF, C_MSG, C_SKB, C_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} socks SEC(".maps");

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("sk_lookup")
int lookup(struct bpf_sk_lookup *ctx)
{
	bump(C_LOOKUP);
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
	bump(C_NF);
	return 1; /* NF_ACCEPT */
}

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	bump(C_MSG);
	return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int skb_verdict(struct __sk_buff *skb)
{
	bump(C_SKB);
	return SK_PASS;
}
