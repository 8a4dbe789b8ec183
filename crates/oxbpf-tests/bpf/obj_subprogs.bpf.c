// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Subprograms: called from several programs, from other subprograms, global (separately
 * verified) functions, and a callback passed by address (bpf_loop). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

u64 total = 0;

static __noinline u64 leaf(u64 x)
{
	return x * 3 + 1;
}

static __noinline u64 mid_a(u64 x)
{
	return leaf(x) + leaf(x + 1);
}

static __noinline u64 mid_b(u64 x)
{
	return leaf(x ^ 7) + 2;
}

__noinline int global_helper(int x)
{
	return x > 10 ? x - 10 : x + 10;
}

static int loop_cb(u32 idx, void *ctx)
{
	u64 *acc = ctx;

	*acc += mid_b(idx);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpid")
int only_a(void *ctx)
{
	total += mid_a(bpf_get_current_pid_tgid());
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int b_then_a(void *ctx)
{
	u64 v = bpf_get_current_pid_tgid();

	total += mid_b(v) + mid_a(v);
	return global_helper((int)v) & 1;
}

SEC("raw_tp/sys_enter")
int with_loop(void *ctx)
{
	u64 acc = 0;

	bpf_loop(4, loop_cb, &acc, 0);
	total += acc + global_helper(3);
	return 0;
}

SEC("?tp/syscalls/sys_enter_gettid")
int not_autoloaded(void *ctx)
{
	total += leaf(1);
	return 0;
}
