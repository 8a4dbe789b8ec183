// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* usdt.bpf.h: BPF_USDT with typed arguments and the bpf_usdt_* accessors. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

long total;
int sizes[4];

SEC("usdt/./app:prov:three")
int BPF_USDT(on_three, int a, long b, const char *c)
{
	total += a + b + (long)c + bpf_usdt_cookie(ctx);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_none)
{
	total += bpf_usdt_arg_cnt(ctx);
	return 0;
}

SEC("usdt")
int BPF_USDT(on_twelve, long a1, long a2, long a3, long a4, long a5, long a6, long a7, long a8,
	     long a9, long a10, long a11, long a12)
{
	total += a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12;
	return 0;
}

SEC("usdt")
int manual(struct pt_regs *ctx)
{
	long v = 0;
	int n = bpf_usdt_arg_cnt(ctx), i;

	for (i = 0; i < 4; i++) {
		if (i >= n)
			break;
		sizes[i] = bpf_usdt_arg_size(ctx, i);
		if (bpf_usdt_arg(ctx, i, &v) == 0)
			total += v;
	}
	return 0;
}
