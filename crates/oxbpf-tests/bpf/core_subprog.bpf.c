// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* CO-RE fixture: relocations inside subprograms, which the loader relocates on the subprogram's own
 * instructions before appending it to each program that calls it. One subprogram has a relocation
 * that cannot resolve and is reachable, so the verifier rejects its caller at an instruction of
 * the appended subprogram. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

static __noinline long read_pid(struct task_struct *t)
{
	return BPF_CORE_READ(t, pid) + bpf_core_field_size(t->comm);
}

static __noinline long read_old_state(struct task_struct___old *t)
{
	if (bpf_core_field_exists(t->state))
		return BPF_CORE_READ(t, state);
	return -1;
}

static __noinline long read_old_state_unguarded(struct task_struct___old *t)
{
	return BPF_CORE_READ(t, state);
}

SEC("tp/syscalls/sys_enter_getpid")
int subprog_ok(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();

	return read_pid(t) + read_old_state((void *)t);
}

SEC("tp/syscalls/sys_enter_getppid")
int subprog_poisoned(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();

	return read_pid(t) + read_old_state_unguarded((void *)t);
}
