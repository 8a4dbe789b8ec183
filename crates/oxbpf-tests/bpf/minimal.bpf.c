// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The smallest useful object: a tracepoint program, a .bss counter, a .rodata filter. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile int target_pid = 0;
long hits = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_write(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid && pid != target_pid)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	bpf_printk("write from pid %d", pid);
	return 0;
}
