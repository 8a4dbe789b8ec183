// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* BTF-defined maps of several kinds, map-in-map with initial values, globals in every data section. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

const volatile u32 rodata_cfg = 7;
u64 data_val = 42;
u64 bss_val;
u64 custom_val SEC(".data.custom") = 5;
const volatile char msg[8] SEC(".rodata.str") = "hello";

static __noinline u64 bump(u32 key)
{
	u64 one = 1, *v = bpf_map_lookup_elem(&counts, &key);

	/* The result of the add is not used: a plain atomic add (5.10 and older), not a fetching one
	 * (BPF_FETCH needs 5.12). */
	if (v) {
		__sync_fetch_and_add(v, 1);
		return *v;
	}
	bpf_map_update_elem(&counts, &key, &one, BPF_ANY);
	return 0;
}

SEC("raw_tp/sys_enter")
int on_enter(void *ctx)
{
	u32 key = 0, *inner_v;
	u64 *pc = bpf_map_lookup_elem(&percpu, &key);
	void *inner = bpf_map_lookup_elem(&outer, &key);

	if (pc)
		*pc += rodata_cfg + data_val + custom_val + msg[0];
	if (inner) {
		inner_v = bpf_map_lookup_elem(inner, &key);
		if (inner_v)
			*inner_v += 1;
	}
	bss_val += bump(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

SEC("tp/syscalls/sys_exit_write")
int on_exit_write(void *ctx)
{
	u64 *e = bpf_ringbuf_reserve(&events, sizeof(u64), 0);

	if (!e)
		return 0;
	*e = bump(1);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
