// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Trampoline programs (fentry, fexit, fmod_ret, LSM): attached where the kernel allows them; on a
 * kernel that refuses them, their load error must say so. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 hits = 0;

SEC("fentry/do_unlinkat")
int BPF_PROG(on_unlink_entry)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(on_unlink_exit)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(on_file_open, struct file *file)
{
	return 0;
}
