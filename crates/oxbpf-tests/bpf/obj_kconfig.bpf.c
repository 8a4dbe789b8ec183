// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* .kconfig externs of every kind (int, bool, tristate, char, string, weak missing) and
 * LINUX_KERNEL_VERSION. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern u32 LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern char CONFIG_BPF_EVENTS __kconfig __weak;
extern const char CONFIG_DEFAULT_HOSTNAME[16] __kconfig __weak;
extern u64 CONFIG_OXBPF_DOES_NOT_EXIST __kconfig __weak;
extern bool CONFIG_OXBPF_MISSING_BOOL __kconfig __weak;

u64 out[8];

SEC("tp/syscalls/sys_enter_write")
int read_kconfig(void *ctx)
{
	out[0] = LINUX_KERNEL_VERSION;
	out[1] = CONFIG_HZ;
	out[2] = CONFIG_BPF_SYSCALL;
	out[3] = CONFIG_BPF_JIT;
	out[4] = CONFIG_BPF_EVENTS;
	out[5] = CONFIG_DEFAULT_HOSTNAME[0];
	out[6] = CONFIG_OXBPF_DOES_NOT_EXIST;
	out[7] = CONFIG_OXBPF_MISSING_BOOL;
	return 0;
}
