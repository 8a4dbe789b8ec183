// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* .ksyms externs: a typed per-CPU variable, a typeless symbol, a weak missing symbol, and kfuncs
 * (one weak and missing, guarded by bpf_ksym_exists). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern const struct rq runqueues __ksym;
extern const void _stext __ksym;
extern const int oxbpf_missing_var __ksym __weak;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void oxbpf_missing_kfunc(void) __ksym __weak;

u64 out[4];

/* The kernel here has no data symbols in kallsyms, so it refuses typed variables: both loaders
 * must agree on that failure. */
SEC("raw_tp/sys_enter")
int typed_var(void *ctx)
{
	out[0] = (u64)bpf_this_cpu_ptr(&runqueues);
	return 0;
}

SEC("raw_tp/sys_exit")
int typeless_and_weak(void *ctx)
{
	out[1] = (u64)&_stext;
	out[2] = (u64)&oxbpf_missing_var;
	return 0;
}

SEC("tp_btf/sys_enter")
int kfuncs(u64 *ctx)
{
	struct task_struct *t = bpf_task_from_pid(1);

	if (t) {
		out[3] = 1;
		bpf_task_release(t);
	}
	if (bpf_ksym_exists(oxbpf_missing_kfunc))
		oxbpf_missing_kfunc();
	return 0;
}
