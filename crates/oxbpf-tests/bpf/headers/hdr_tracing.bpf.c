// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* bpf_tracing.h: BPF_PROG/BPF_PROG2, kprobes, ksyscall, uprobes, PT_REGS_* accessors, seq printf. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

u64 seen;
long last_ret;

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	seen += preempt + prev->pid + next->pid;
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(on_unlink, int dfd, struct filename *name)
{
	seen += dfd;
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(on_unlink_exit, int dfd, struct filename *name, long ret)
{
	last_ret = ret;
	return 0;
}

SEC("fentry/bpf_fentry_test1")
int BPF_PROG(no_args)
{
	seen++;
	return 0;
}

SEC("fentry/tcp_v4_connect")
int BPF_PROG2(prog2_conn, struct sock *, sk, struct sockaddr *, uaddr, int, addr_len)
{
	seen += addr_len;
	return 0;
}

/* A 16-byte struct by value takes two ctx slots: the argument after it moves. */
struct two_words {
	u64 lo, hi;
};

SEC("fentry/bpf_testmod_test_struct_arg_1")
int BPF_PROG2(prog2_struct, struct two_words, a, int, b, char, c, short, d)
{
	seen += a.lo + a.hi + b + c + d;
	return 0;
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(kp_unlink, int dfd, struct filename *name)
{
	const char *fname = BPF_CORE_READ(name, name);
	unsigned long ip = PT_REGS_IP(ctx), sp = PT_REGS_SP(ctx), fp = PT_REGS_FP(ctx);
	unsigned long ret_ip = 0;

	BPF_KPROBE_READ_RET_IP(ret_ip, ctx);
	seen += dfd + (long)fname + ip + sp + fp + ret_ip + PT_REGS_RET(ctx);
	seen += PT_REGS_PARM3(ctx) + PT_REGS_PARM4(ctx) + PT_REGS_PARM5(ctx) + PT_REGS_PARM6(ctx);
	return 0;
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(kp_six, struct file *f, char *buf, size_t count, loff_t *pos, long e, long f6)
{
	seen += count + e + f6 + (long)pos;
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(krp_unlink, long ret)
{
	unsigned long ret_ip = 0;

	BPF_KRETPROBE_READ_RET_IP(ret_ip, ctx);
	last_ret = ret + PT_REGS_RC(ctx) + ret_ip;
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(krp_noarg)
{
	seen++;
	return 0;
}

SEC("ksyscall/openat")
int BPF_KSYSCALL(sys_openat, int dfd, const char *path, int flags, umode_t mode)
{
	char buf[32];

	bpf_probe_read_user_str(buf, sizeof(buf), path);
	seen += dfd + flags + mode + buf[0];
	return 0;
}

SEC("kprobe/__x64_sys_pread64")
int BPF_KPROBE_SYSCALL(sys_pread, int fd, void *buf, size_t count, long off)
{
	seen += fd + count + off;
	return 0;
}

SEC("kprobe/__x64_sys_close")
int manual_syscall(struct pt_regs *ctx)
{
	struct pt_regs *regs = PT_REGS_SYSCALL_REGS(ctx);

	seen += PT_REGS_PARM1_CORE_SYSCALL(regs) + PT_REGS_PARM2_CORE_SYSCALL(regs) +
		PT_REGS_PARM3_CORE_SYSCALL(regs) + PT_REGS_PARM4_CORE_SYSCALL(regs) +
		PT_REGS_PARM5_CORE_SYSCALL(regs) + PT_REGS_PARM6_CORE_SYSCALL(regs);
	seen += PT_REGS_PARM1_CORE(regs) + PT_REGS_PARM2_CORE(regs) + PT_REGS_RC_CORE(regs) +
		PT_REGS_IP_CORE(regs) + PT_REGS_SP_CORE(regs) + PT_REGS_FP_CORE(regs) +
		PT_REGS_RET_CORE(regs) + PT_REGS_PARM6_CORE(regs);
	seen += PT_REGS_PARM1_SYSCALL(ctx) + PT_REGS_PARM4_SYSCALL(ctx) + PT_REGS_PARM6_SYSCALL(ctx);
	return 0;
}

SEC("uprobe//proc/self/exe:main")
int BPF_UPROBE(up_main, int argc, char **argv)
{
	seen += argc + (long)argv;
	return 0;
}

SEC("uretprobe//proc/self/exe:main")
int BPF_URETPROBE(urp_main, int ret)
{
	last_ret = ret;
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_enter, struct pt_regs *regs, long id)
{
	seen += id;
	return 0;
}

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task) {
		BPF_SEQ_PRINTF(seq, "    pid comm\n");
		return 0;
	}
	BPF_SEQ_PRINTF(seq, "%8d %s %d %llu\n", task->pid, task->comm, task->tgid, ctx->meta->seq_num);
	return 0;
}

SEC("iter/task")
int BPF_PROG(dump_task_prog, struct bpf_iter_meta *meta, struct task_struct *task)
{
	if (task)
		BPF_SEQ_PRINTF(meta->seq, "%d\n", task->pid);
	return 0;
}
