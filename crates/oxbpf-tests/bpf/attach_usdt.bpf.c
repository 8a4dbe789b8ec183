// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* USDT programs for the attach tests, reading their arguments through usdt.bpf.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

enum { C_USDT, C_GATED, C_MAX };

#include "attach_counts.h"

/* One record per USDT firing: the probe's argument values as usdt.bpf.h decodes them. */
struct usdt_rec {
	long arg0, arg1, arg2;
	long cnt;
	__u64 cookie;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct usdt_rec);
} usdt_recs SEC(".maps");

SEC("usdt")
int BPF_USDT(on_args, int i, long long big, short neg)
{
	__u32 slot;
	struct usdt_rec *r;

	slot = i;
	bump(C_USDT, 1);
	r = bpf_map_lookup_elem(&usdt_recs, &slot);
	if (!r)
		return 0;
	r->arg0 = i;
	r->arg1 = big;
	r->arg2 = neg;
	r->cnt = bpf_usdt_arg_cnt(ctx);
	r->cookie = bpf_usdt_cookie(ctx);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_gated, int v)
{
	bump(C_GATED, v + 1);
	return 0;
}
