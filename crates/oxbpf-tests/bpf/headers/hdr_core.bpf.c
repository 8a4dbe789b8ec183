// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* bpf_core_read.h: pointer-chasing reads of every flavour, bitfields, field/type/enum checks, casts. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* A flavour of task_struct: matched against the kernel's by name without the ___suffix. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct not_in_kernel___x {
	int nope;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct task_struct);
} task_copy SEC(".maps");

u64 acc;
char comm[16];
char path[64];

SEC("tp/syscalls/sys_enter_openat")
int core_reads(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	const unsigned char *dname;
	struct file *exe;
	pid_t ppid, tgid = 0;
	u64 flags = 0;
	int err;

	ppid = BPF_CORE_READ(task, real_parent, tgid);
	dname = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	exe = BPF_CORE_READ(task, mm, exe_file);
	acc += ppid + (long)dname + (long)exe;
	acc += BPF_CORE_READ(task, real_parent, real_parent, real_parent, real_parent, pid);
	acc += BPF_CORE_READ(task, group_leader, real_parent, group_leader, real_parent, group_leader,
			     real_parent, group_leader, real_parent, pid);

	BPF_CORE_READ_INTO(&tgid, task, tgid);
	BPF_CORE_READ_INTO(&flags, task, real_parent, flags);
	err = BPF_CORE_READ_STR_INTO(&comm, task, comm);
	err += BPF_CORE_READ_STR_INTO(&path, task, mm, exe_file, f_path.dentry, d_name.name);
	acc += tgid + flags + err;

	bpf_core_read(&tgid, sizeof(tgid), &task->pid);
	bpf_core_read_str(comm, sizeof(comm), &task->comm);
	acc += tgid;

	acc += BPF_PROBE_READ(task, pid);
	BPF_PROBE_READ_INTO(&tgid, task, real_parent, pid);
	BPF_PROBE_READ_STR_INTO(&comm, task, real_parent, comm);
	acc += tgid;

	acc += BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	acc += BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int user_reads(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how *how = (void *)ctx->args[2];
	struct iovec *iov = (void *)ctx->args[1];
	u64 fl = 0, mode;
	char buf[16];

	mode = BPF_CORE_READ_USER(how, mode);
	BPF_CORE_READ_USER_INTO(&fl, how, flags);
	bpf_core_read_user(&fl, sizeof(fl), &how->resolve);
	BPF_CORE_READ_USER_STR_INTO(&buf, iov, iov_base);
	bpf_core_read_user_str(buf, sizeof(buf), &iov->iov_base);
	acc += mode + fl + BPF_PROBE_READ_USER(iov, iov_len);
	BPF_PROBE_READ_USER_INTO(&fl, iov, iov_len);
	BPF_PROBE_READ_USER_STR_INTO(&buf, iov, iov_base);
	acc += fl + buf[0];
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int core_checks(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct___old *old = (void *)task;

	if (bpf_core_field_exists(task->pid))
		acc += bpf_core_field_size(task->pid) + bpf_core_field_offset(task->pid);
	if (bpf_core_field_exists(struct task_struct, comm))
		acc += bpf_core_field_size(struct task_struct, comm) +
		       bpf_core_field_offset(struct task_struct, comm);
	if (bpf_core_field_exists(old->state))
		acc += BPF_CORE_READ(old, state);
	acc += bpf_core_type_exists(struct task_struct) + bpf_core_type_size(struct task_struct);
	acc += bpf_core_type_matches(struct task_struct___old);
	acc += bpf_core_type_exists(struct not_in_kernel___x);
	acc += bpf_core_type_id_local(struct task_struct) + bpf_core_type_id_kernel(struct task_struct);
	if (bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_ARENA))
		acc += bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_ARENA);
	acc += bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_cgrp_storage_delete);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(direct_bitfields, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct task_struct *t;
	u32 key = 0;

	acc += BPF_CORE_READ_BITFIELD(prev, in_execve) + BPF_CORE_READ_BITFIELD(next, sched_reset_on_fork);
	t = bpf_core_cast(next, struct task_struct);
	acc += t->pid;
	t = bpf_map_lookup_elem(&task_copy, &key);
	if (t) {
		BPF_CORE_WRITE_BITFIELD(t, in_execve, 1);
		BPF_CORE_WRITE_BITFIELD(t, sched_reset_on_fork, preempt);
	}
	return 0;
}
