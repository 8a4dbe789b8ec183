// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* CO-RE fixture: relocations that cannot resolve on this kernel. Reachable ones are poisoned and
 * the verifier rejects the program; guarded ones are poisoned in dead code and the program loads.
 * No maps, no global data, no subprograms. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* The kernel's id is a long: a 4-byte signed load of it cannot be resized safely. */
struct trace_event_raw_sys_enter___int {
	struct trace_entry ent;
	int id;
} __attribute__((preserve_access_index));

enum bpf_func_id___x {
	BPF_FUNC_oxbpf_not_a_helper___x = 99999,
};

struct oxbpf_missing {
	int a;
	int b;
} __attribute__((preserve_access_index));

SEC("tp/syscalls/sys_enter_getpid")
int poison_missing_field(void *ctx)
{
	struct task_struct___old *t = (void *)bpf_get_current_task();

	return BPF_CORE_READ(t, state);
}

SEC("tp/syscalls/sys_enter_getpid")
int poison_guarded(void *ctx)
{
	struct task_struct___old *t = (void *)bpf_get_current_task();

	if (!bpf_core_field_exists(t->state))
		return 1;
	return BPF_CORE_READ(t, state);
}

SEC("tp/syscalls/sys_enter_getppid")
int poison_wrong_size(struct trace_event_raw_sys_enter___int *ctx)
{
	return ctx->id;
}

SEC("tp/syscalls/sys_enter_getuid")
int poison_enum_value(void *ctx)
{
	return bpf_core_enum_value(enum bpf_func_id___x, BPF_FUNC_oxbpf_not_a_helper___x);
}

SEC("tp/syscalls/sys_enter_getgid")
int poison_missing_type(void *ctx)
{
	struct oxbpf_missing *m = (void *)bpf_get_current_task();

	if (bpf_core_type_exists(struct oxbpf_missing))
		return BPF_CORE_READ(m, b);
	return bpf_core_type_size(struct oxbpf_missing);
}
