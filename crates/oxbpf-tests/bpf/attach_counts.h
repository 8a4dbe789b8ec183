/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The `counts` array the attach fixtures count into, one __u64 slot per thing counted, and bump() to
 * add to a slot. Include it after vmlinux.h and bpf_helpers.h, where the fixture's slot enum (ending
 * in C_MAX) is declared. */
#ifndef __ATTACH_COUNTS_H
#define __ATTACH_COUNTS_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void bump(__u32 slot, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);

	if (v)
		__sync_fetch_and_add(v, by);
}

#endif
