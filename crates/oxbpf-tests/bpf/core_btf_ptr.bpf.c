// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* CO-RE fixture: direct loads through BTF pointers (tp_btf), where CO-RE patches load offsets and
 * sizes themselves, and BPF_CORE_READ_BITFIELD's non-probed form. The kernel may refuse tracing
 * programs here; the relocated instructions are compared with libbpf's all the same. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Local views of task_struct with other field types than the kernel's. */
struct task_struct___u16 {
	unsigned short flags;
} __attribute__((preserve_access_index));

struct task_struct___s16 {
	short pid;
} __attribute__((preserve_access_index));

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_direct, struct pt_regs *regs, long id)
{
	struct task_struct *t = bpf_get_current_task_btf();
	long r = t->pid + t->tgid;

	r += BPF_CORE_READ_BITFIELD(t, in_execve);
	r += BPF_CORE_READ_BITFIELD(t, sched_reset_on_fork);
	r += t->comm[2];
	return r + id;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_resized, struct pt_regs *regs, long id)
{
	/* an unsigned 2-byte view of a 4-byte unsigned field: the load is resized */
	struct task_struct___u16 *t = (void *)bpf_get_current_task_btf();

	return t->flags;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_signed_resize, struct pt_regs *regs, long id)
{
	/* a signed 2-byte view: resizing would change the value, so the load is poisoned */
	struct task_struct___s16 *t = (void *)bpf_get_current_task_btf();

	return t->pid;
}
