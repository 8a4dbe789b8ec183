// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* profile: on each perf_event sample, count (pid, comm, kernel stack, user stack). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MAX_STACK_DEPTH 64
#define F_USER_STACK (1ULL << 8)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct sample_key {
	u32 pid;
	s32 kstack;
	s32 ustack;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct sample_key);
	__type(value, u64);
} counts SEC(".maps");

u64 samples;

SEC("perf_event")
int profile(void *ctx)
{
	struct sample_key key = {};
	u64 one = 1, *n;

	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.kstack = bpf_get_stackid(ctx, &stacks, 0);
	key.ustack = bpf_get_stackid(ctx, &stacks, F_USER_STACK);
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	__sync_fetch_and_add(&samples, 1);
	n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 0;
}
