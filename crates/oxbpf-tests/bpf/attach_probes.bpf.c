// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* uprobe and uretprobe programs for the attach tests. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

enum { C_UPROBE, C_URETPROBE, C_URET_SUM, C_LIBC, C_MAX };

#include "attach_counts.h"

SEC("uprobe")
int on_add(void *ctx)
{
	bump(C_UPROBE, 1);
	return 0;
}

SEC("uretprobe")
int on_add_ret(__u64 *regs)
{
	/* The return value is in rax, slot 10 of x86-64's struct pt_regs (read without CO-RE). */
	int ret = (int)regs[10];

	bump(C_URETPROBE, 1);
	bump(C_URET_SUM, ret);
	return 0;
}

SEC("uprobe.multi")
int on_add_multi(void *ctx)
{
	bump(C_UPROBE, 1);
	return 0;
}

/* Auto-attachable: the section names the library and function. */
SEC("uprobe/libc.so.6:getppid")
int on_libc(void *ctx)
{
	bump(C_LIBC, 1);
	return 0;
}
