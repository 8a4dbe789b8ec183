// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* fentry: entry and exit of vfs_unlink() (every file deletion) through BPF trampolines, with the file
 * name and the result, streamed through a ring buffer.
 *
 * vfs_unlink() gained a leading mount-idmapping argument in 5.12, so each program comes in two
 * variants; user space loads the one matching the running kernel's BTF. */
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

static __always_inline int emit(struct dentry *dentry, bool exit, int ret)
{
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ret = ret;
	e->exit = exit;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(dentry, d_name.name));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* 5.12 and later: vfs_unlink(idmap, dir, dentry, delegated_inode). */
SEC("fentry/vfs_unlink")
int BPF_PROG(vfs_unlink_entry, void *idmap, struct inode *dir, struct dentry *dentry)
{
	return emit(dentry, false, 0);
}

SEC("fexit/vfs_unlink")
int BPF_PROG(vfs_unlink_exit, void *idmap, struct inode *dir, struct dentry *dentry,
	     struct inode **delegated, int ret)
{
	return emit(dentry, true, ret);
}

/* Before 5.12: vfs_unlink(dir, dentry, delegated_inode). */
SEC("fentry/vfs_unlink")
int BPF_PROG(vfs_unlink_entry_old, struct inode *dir, struct dentry *dentry)
{
	return emit(dentry, false, 0);
}

SEC("fexit/vfs_unlink")
int BPF_PROG(vfs_unlink_exit_old, struct inode *dir, struct dentry *dentry,
	     struct inode **delegated, int ret)
{
	return emit(dentry, true, ret);
}
