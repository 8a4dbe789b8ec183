// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* kprobe: entry and return of vfs_unlink() (every file deletion), with the file name and the result,
 * streamed through a ring buffer. vfs_unlink() gained a leading mount-idmapping argument in 5.12: the
 * dentry is its second argument before and its third after. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NAME_LEN 64

struct event {
	int pid;
	int ret;
	bool exit;
	char filename[NAME_LEN];
};

/* Makes `struct event` part of the object's BTF, so the skeleton generates it for user space. */
struct event _event = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} rb SEC(".maps");

extern int LINUX_KERNEL_VERSION __kconfig;

SEC("kprobe/vfs_unlink")
int BPF_KPROBE(vfs_unlink_entry)
{
	/* Both registers are read first: the verifier allows only fixed offsets into the context. */
	unsigned long arg2 = PT_REGS_PARM2(ctx), arg3 = PT_REGS_PARM3(ctx);
	struct dentry *dentry;
	struct event *e;

	barrier_var(arg2);
	barrier_var(arg3);
	dentry = (struct dentry *)(LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 12, 0) ? arg3 : arg2);
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = 0;
	e->exit = false;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(dentry, d_name.name));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kretprobe/vfs_unlink")
int BPF_KRETPROBE(vfs_unlink_exit, long ret)
{
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = ret;
	e->exit = true;
	e->filename[0] = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
