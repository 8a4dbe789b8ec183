// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Every kprobe flavour libbpf auto-attaches, on the getpgid system call: the test calls getpgid(own pid)
 * in a loop, and each program counts its firings for the test's process and records the argument
 * (entry probes) or the return value (return probes) it saw, so the test can check both. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

enum {
	K_KPROBE,
	K_KRETPROBE,
	K_KSYSCALL,
	K_KRETSYSCALL,
	K_MULTI,
	K_MULTI_RET,
	K_SESSION,
	K_COOKIE,
	K_MAX,
};

#define C_MAX K_MAX
#include "attach_target.h"
/* How often each program fired for the target process. */
#include "attach_counts.h"

/* The last argument (entry) or return value (return probes) each program saw; K_COOKIE: the cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, K_MAX);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

static __always_inline void record(__u32 slot, __u64 value)
{
	__u64 *v;

	bump(slot, 1);
	v = bpf_map_lookup_elem(&seen, &slot);
	if (v)
		*v = value;
}

/* The syscall wrapper's one argument is the user's pt_regs; the pid is its first syscall argument. */
SEC("kprobe/__x64_sys_getpgid")
int BPF_KPROBE(kp_getpgid, struct pt_regs *regs)
{
	if (!is_target())
		return 0;
	record(K_KPROBE, PT_REGS_PARM1_CORE_SYSCALL(regs));
	/* Cookies arrived in 5.15: kernels without the helper never reach the call. */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_attach_cookie))
		record(K_COOKIE, bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("kretprobe/__x64_sys_getpgid")
int BPF_KRETPROBE(krp_getpgid, long ret)
{
	if (is_target())
		record(K_KRETPROBE, ret);
	return 0;
}

SEC("ksyscall/getpgid")
int BPF_KSYSCALL(ks_getpgid, int pid)
{
	if (is_target())
		record(K_KSYSCALL, pid);
	return 0;
}

SEC("kretsyscall/getpgid")
int BPF_KRETPROBE(krs_getpgid, long ret)
{
	if (is_target())
		record(K_KRETSYSCALL, ret);
	return 0;
}

SEC("kprobe.multi/__x64_sys_getpgi*")
int BPF_KPROBE(kpm_getpgid, struct pt_regs *regs)
{
	if (is_target())
		record(K_MULTI, PT_REGS_PARM1_CORE_SYSCALL(regs));
	return 0;
}

SEC("kretprobe.multi/__x64_sys_getpgi*")
int BPF_KRETPROBE(krpm_getpgid, long ret)
{
	if (is_target())
		record(K_MULTI_RET, ret);
	return 0;
}

/* A session program runs at entry and, because it returns 0 there, again at return. */
SEC("kprobe.session/__x64_sys_getpgi*")
int kps_getpgid(struct pt_regs *ctx)
{
	if (is_target())
		record(K_SESSION, 0);
	return 0;
}
