// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* task_iter: one line per task (tgid, pid, state, comm) from a task iterator. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	BPF_SEQ_PRINTF(seq, "%8d %8d %8u %s\n", task->tgid, task->pid, task->__state, task->comm);
	return 0;
}
