// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Trampoline programs (fentry, fexit, fmod_ret, LSM): attached where the kernel allows them and shown
 * to fire on the test's own getpgid calls and file opens; on a kernel that refuses them, their load
 * error must say so. __x64_sys_getpgid and security_task_getpgid are in the BTF of every kernel from
 * 5.10 on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1

/* Slots of `vars`: set by the test (the process whose calls count, the value fmod_ret makes getpgid
 * return with 0 leaving it alone, the inode whose opens LSM refuses) and what the programs saw. */
enum {
	V_TGID,
	V_FMOD_VALUE,
	V_DENY_INO,
	V_ENTRY_HITS,
	V_ENTRY_ARG,
	V_EXIT_HITS,
	V_EXIT_RET,
	V_FMOD_HITS,
	V_LSM_HITS,
	V_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, V_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vars SEC(".maps");

static __always_inline __u64 get(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&vars, &slot);

	return v ? *v : 0;
}

static __always_inline void set(__u32 slot, __u64 value)
{
	__u64 *v = bpf_map_lookup_elem(&vars, &slot);

	if (v)
		*v = value;
}

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&vars, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline int is_target(void)
{
	__u64 tgid = get(V_TGID);

	return tgid && tgid == bpf_get_current_pid_tgid() >> 32;
}

SEC("fentry/__x64_sys_getpgid")
int BPF_PROG(on_getpgid_entry, struct pt_regs *regs)
{
	if (is_target()) {
		bump(V_ENTRY_HITS);
		set(V_ENTRY_ARG, PT_REGS_PARM1_CORE_SYSCALL(regs));
	}
	return 0;
}

SEC("fexit/__x64_sys_getpgid")
int BPF_PROG(on_getpgid_exit, struct pt_regs *regs, long ret)
{
	if (is_target()) {
		bump(V_EXIT_HITS);
		set(V_EXIT_RET, ret);
	}
	return 0;
}

/* getpgid(pid) asks the LSMs through security_task_getpgid(), which fmod_ret may override (every
 * security_* function may): a non-zero return skips the function and becomes its result. */
SEC("fmod_ret/security_task_getpgid")
int BPF_PROG(on_getpgid_modify, struct task_struct *p, int ret)
{
	if (!is_target())
		return 0;
	bump(V_FMOD_HITS);
	return get(V_FMOD_VALUE);
}

SEC("lsm/file_open")
int BPF_PROG(on_file_open, struct file *file)
{
	__u64 deny = get(V_DENY_INO);

	if (!is_target() || !deny || BPF_CORE_READ(file, f_inode, i_ino) != deny)
		return 0;
	bump(V_LSM_HITS);
	return -EPERM;
}
