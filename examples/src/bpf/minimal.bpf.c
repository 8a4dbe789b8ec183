// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* minimal: a tracepoint on write(2) that counts and bpf_printk()s the calls of one process. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile int my_pid = 0;
u64 hits = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (pid != my_pid)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	bpf_printk("BPF triggered from PID %d.", pid);
	return 0;
}
