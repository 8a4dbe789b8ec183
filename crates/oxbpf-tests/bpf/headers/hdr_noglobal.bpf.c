// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* bpf_printk with BPF_NO_GLOBAL_DATA: the format string is built on the stack, no .rodata. */
#define BPF_NO_GLOBAL_DATA
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp/syscalls/sys_enter_getppid")
int stack_fmt(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;

	bpf_printk("no globals");
	bpf_printk("pid %d", pid);
	bpf_printk("%d %d %d", pid, 1, 2);
	return 0;
}
