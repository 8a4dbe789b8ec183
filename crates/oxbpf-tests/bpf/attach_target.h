/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The `target_pid` array the attach tests fill with the pid of the process whose events count, and
 * is_target() to ask whether the current task belongs to it. Include it after vmlinux.h and
 * bpf_helpers.h. */
#ifndef __ATTACH_TARGET_H
#define __ATTACH_TARGET_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target_pid SEC(".maps");

static __always_inline int is_target(void)
{
	__u32 zero = 0, *pid = bpf_map_lookup_elem(&target_pid, &zero);

	return pid && *pid == (__u32)(bpf_get_current_pid_tgid() >> 32);
}

#endif
