// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* An ARENA map with __arena globals (initialised and zero): they live at the end of the arena and
 * are reached through ld_imm64 of the arena plus addr_space_cast. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";
#define __arena __attribute__((address_space(1)))
struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4);
} arena SEC(".maps");
int __arena counter = 5;
int __arena zeroed;
SEC("syscall")
int inc(void *ctx)
{
	counter++;
	zeroed += 2;
	return 0;
}
