// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* usdt: a USDT probe of the example binary itself (example:tick, two arguments). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

u64 ticks;
s64 last_n;
s64 sum_arg2;

SEC("usdt")
int BPF_USDT(on_tick, int n, long v)
{
	ticks++;
	last_n = n;
	sum_arg2 += v;
	bpf_printk("USDT example:tick n = %d v = %ld", n, v);
	return 0;
}
