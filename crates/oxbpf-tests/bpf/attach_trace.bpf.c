// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Programs for the attach tests: each counts its firings for one target process into `counts`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

enum { C_TP, C_RAW_TP, C_TP_BTF, C_PERF, C_KPROBE, C_FENTRY, C_TP_COOKIE, C_MAX };

#include "attach_target.h"
#include "attach_counts.h"

SEC("tp/syscalls/sys_enter_getppid")
int tp_getppid(void *ctx)
{
	if (is_target()) {
		bump(C_TP, 1);
		/* Cookies arrived in 5.15: on older kernels this CO-RE check is false and the verifier
		 * never reaches the unknown helper. */
		if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_attach_cookie))
			bump(C_TP_COOKIE, bpf_get_attach_cookie(ctx));
	}
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(__u64 *args)
{
	/* args[1] is the syscall number (plain u64 array: no CO-RE relocation) */
	if (is_target() && args[1] == 110 /* __NR_getppid on x86_64 */)
		bump(C_RAW_TP, 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	if (is_target() && id == 110)
		bump(C_TP_BTF, 1);
	return 0;
}

SEC("perf_event")
int on_cpu_clock(void *ctx)
{
	bump(C_PERF, 1);
	return 0;
}

/* The getpgid syscall wrapper: present (and probeable) on every kernel from 5.10 on. */
SEC("kprobe/__x64_sys_getpgid")
int kp_getpgid(void *ctx)
{
	if (is_target())
		bump(C_KPROBE, 1);
	return 0;
}

/* The task fields are read with CO-RE, so their offsets follow the running kernel's BTF. */
SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	char comm[16];
	int tgid;

	if (!task)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	BPF_CORE_READ_STR_INTO(&comm, task, comm);
	BPF_SEQ_PRINTF(seq, "%d %s\n", tgid, comm);
	return 0;
}
