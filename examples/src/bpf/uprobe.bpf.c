// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* uprobe: arguments and return value of a user-space function (uprobed_add in the example binary). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

u64 calls;
s32 last_a, last_b, last_ret;

SEC("uprobe")
int BPF_UPROBE(uprobe_add, int a, int b)
{
	calls++;
	last_a = a;
	last_b = b;
	bpf_printk("uprobed_add ENTRY: a = %d, b = %d", a, b);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(uretprobe_add, int ret)
{
	last_ret = ret;
	bpf_printk("uprobed_add EXIT: return = %d", ret);
	return 0;
}
