// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* CO-RE fixture: every relocation kind against the running kernel, in programs that all load.
 * No maps, no global data, no subprograms: the loaded instructions are the section's instructions
 * with CO-RE applied, so they can be compared one by one with libbpf's. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Flavors: two layouts of task_struct's state field, only one exists on a given kernel. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct task_struct___new {
	unsigned int __state;
} __attribute__((preserve_access_index));

/* A bitfield declared at a different position than the kernel's. */
struct task_struct___bits {
	unsigned int pad: 3;
	unsigned int in_execve: 1;
	unsigned int sched_reset_on_fork: 1;
} __attribute__((preserve_access_index));

/* A type the kernel does not have. */
struct oxbpf_not_in_kernel {
	int a;
} __attribute__((preserve_access_index));

/* Enumerators that do and do not exist, through a flavored enum. */
enum bpf_func_id___x {
	BPF_FUNC_ktime_get_ns___x = 5,
	BPF_FUNC_oxbpf_not_a_helper___x = 99999,
};

/* A local enum64 flavor of a kernel enum64. */
enum perf_callchain_context___x {
	PERF_CONTEXT_USER___x = 0xfffffffffffffe00ULL,
	PERF_CONTEXT_OXBPF___x = 0x123456789ULL,
};

/* A layout that only type_matches can tell apart: pid is unsigned here. */
struct task_struct___mismatch {
	unsigned int pid;
} __attribute__((preserve_access_index));

SEC("tp/syscalls/sys_enter_getpid")
int core_read_task(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	char c = 0;
	long r;

	r = BPF_CORE_READ(t, pid);
	r += BPF_CORE_READ(t, real_parent, tgid);
	r += BPF_CORE_READ(t, mm, mmap_base);
	bpf_core_read(&c, 1, &t->comm[3]);
	r += c;
	r += ctx->id;
	r += ctx->args[1];
	return r;
}

SEC("tp/syscalls/sys_enter_getppid")
int core_flavors(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	long state;

	if (bpf_core_field_exists(((struct task_struct___new *)t)->__state))
		state = BPF_CORE_READ((struct task_struct___new *)t, __state);
	else
		state = BPF_CORE_READ((struct task_struct___old *)t, state);
	return state;
}

SEC("tp/syscalls/sys_enter_getuid")
int core_queries(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	long r = 0;

	r += bpf_core_field_size(struct task_struct, comm);
	r += bpf_core_field_offset(struct task_struct, pid);
	r += __builtin_preserve_field_info(t->pid, BPF_FIELD_SIGNED);
	r += bpf_core_field_exists(struct task_struct___old, state);
	r += bpf_core_type_exists(struct task_struct);
	r += bpf_core_type_exists(struct oxbpf_not_in_kernel);
	r += bpf_core_type_size(struct task_struct);
	r += bpf_core_type_size(struct oxbpf_not_in_kernel);
	r += bpf_core_type_matches(struct task_struct);
	r += bpf_core_type_matches(struct task_struct___mismatch);
	r += bpf_core_type_id_kernel(struct task_struct);
	r += bpf_core_type_id_local(struct task_struct);
	r += bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_ns);
	r += bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_ktime_get_ns);
	r += bpf_core_enum_value_exists(enum bpf_func_id___x, BPF_FUNC_oxbpf_not_a_helper___x);
	r += bpf_core_enum_value(enum bpf_func_id___x, BPF_FUNC_ktime_get_ns___x);
	r += bpf_core_enum_value(enum perf_callchain_context___x, PERF_CONTEXT_USER___x);
	r += bpf_core_enum_value_exists(enum perf_callchain_context___x, PERF_CONTEXT_OXBPF___x);
	return r;
}

SEC("tp/syscalls/sys_enter_getgid")
int core_bitfields(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct___bits *b = (void *)t;
	long r;

	r = BPF_CORE_READ_BITFIELD_PROBED(t, in_execve);
	r += BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork);
	r += BPF_CORE_READ_BITFIELD_PROBED(b, in_execve);
	r += BPF_CORE_READ_BITFIELD_PROBED(b, sched_reset_on_fork);
	return r;
}

SEC("raw_tp/sys_enter")
int core_raw_args(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	struct sk_buff *skb = (void *)ctx->args[1];
	long r = 0;
	char cb = 0;

	r += (long)BPF_CORE_READ(skb, dev);
	r += BPF_CORE_READ(skb, len);
	bpf_core_read(&cb, 1, &skb->cb[4]);
	r += cb;
	r += PT_REGS_PARM1_CORE(regs);
	return r;
}
