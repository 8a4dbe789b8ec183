// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Every BTF map definition style: sizes instead of types, flags, map_extra, perf event array sized
 * by CPU count, LRU/LPM/queue/stack/bloom maps, hash-of-maps with an anonymous inner definition
 * and initial values, and a prog array whose slots are initialised with programs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__uint(key_size, sizeof(u32));
	__uint(value_size, 24);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sized SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32);
	__type(key, u64);
	__type(value, struct { u64 a; u32 b; });
} lru SEC(".maps");

struct lpm_key {
	u32 prefixlen;
	u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 8);
	__type(key, struct lpm_key);
	__type(value, u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, u32);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, u32);
	__uint(map_extra, 3);
} bloom SEC(".maps");

struct leaf {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} leaf0 SEC(".maps"), leaf1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct leaf);
} hom SEC(".maps") = {
	.values = { [1] = &leaf1, [3] = &leaf0 },
};

/* An inner definition written inline (anonymous struct), without initial values. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 8);
		__type(key, u32);
		__type(value, u32);
	});
} aom SEC(".maps");

SEC("tp/syscalls/sys_enter_getpid")
int tail_a(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_getpid")
int tail_b(void *ctx)
{
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, int (void *));
} jump SEC(".maps") = {
	.values = { [0] = (void *)&tail_a, [2] = (void *)&tail_b },
};

SEC("tp/syscalls/sys_enter_getpid")
int entry(void *ctx)
{
	u32 k = 1, v = 7, *inner;
	u64 *lv, val[3] = { 1, 2, 3 };
	struct lpm_key lk = { .prefixlen = 32, .addr = 1 };

	bpf_map_update_elem(&sized, &k, val, BPF_ANY);
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &v, sizeof(v));
	lv = bpf_map_lookup_elem(&lru, &lk);
	if (lv)
		*lv += 1;
	bpf_map_lookup_elem(&lpm, &lk);
	bpf_map_push_elem(&queue, &v, 0);
	bpf_map_push_elem(&bloom, &v, 0);
	inner = bpf_map_lookup_elem(&hom, &k);
	if (inner)
		bpf_map_lookup_elem(inner, &k);
	bpf_tail_call(ctx, &jump, 0);
	return 0;
}
