// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* One program the verifier accepts and one it rejects (out-of-bounds stack read), so both loaders
 * must fall back to loading programs one by one and agree on each verdict. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

u64 sink;

SEC("tp/syscalls/sys_enter_write")
int accepted(void *ctx)
{
	sink++;
	return 0;
}

SEC("tp/syscalls/sys_enter_read")
int rejected(void *ctx)
{
	u64 buf[2] = {};
	u32 i = bpf_get_prandom_u32();

	sink += buf[i];
	return 0;
}
