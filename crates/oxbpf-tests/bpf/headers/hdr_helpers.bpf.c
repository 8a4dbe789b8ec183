// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* bpf_helpers.h: every map definition style, linkage and attribute macros, printk, loops, cmp. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "hdr_compat.h"

char LICENSE[] SEC("license") = "GPL";

/* Map definitions: __uint/__type, key_size/value_size, __array (map-in-map and prog array),
 * __ulong (map_extra), pinning. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, u32);
	__type(value, u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} by_type SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u64));
	__uint(max_entries, 4);
} by_size SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_NONE);
} pin_none SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, u32);
	__ulong(map_extra, 3);
} bloom SEC(".maps");

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u32);
} inner1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, u32);
	__array(values, struct inner_map);
} outer SEC(".maps") = {
	.values = { [1] = &inner1 },
};

int tail_target(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [2] = (void *)&tail_target },
};

/* kptr-carrying map value: __kptr, __kptr_untrusted, __percpu_kptr type tags. */
struct pc_val {
	u64 x;
};

/* Makes clang emit pc_val's full definition (a local percpu kptr type must be complete in BTF). */
struct pc_val pc_template;

struct kptr_val {
	struct task_struct __kptr *task;
	struct task_struct __kptr_untrusted *untrusted;
	struct pc_val __percpu_kptr *pc;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct kptr_val);
} kptrs SEC(".maps");

/* Externs: kconfig values, a typed ksym, weak kfuncs. */
extern u32 LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF_SYSCALL __kconfig __weak;
extern const struct rq oxbpf_no_such_runqueues __ksym __weak;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
extern void bpf_this_kfunc_does_not_exist(void) __ksym __weak;

const volatile u32 cfg_limit = 10;
u64 out_val;
char out_buf[64];

struct pair {
	u64 a;
	u32 b;
};

static __always_inline u64 twice(u64 x)
{
	return x * 2;
}

static __noinline u64 slow_add(u64 a, u64 b)
{
	return a + b;
}

__weak int weak_fn(int x)
{
	return x + 1;
}

__hidden int hidden_fn(void *ctx __arg_ctx, struct pair *p __arg_nonnull, u64 *maybe __arg_nullable)
{
	if (maybe)
		*maybe = p->a;
	return p->b;
}

__hidden int trusted_fn(struct task_struct *t __arg_trusted)
{
	return t->pid;
}

/* Not called from any program: compiled (and compared), never verified. */
__hidden int untrusted_fn(struct task_struct *t __arg_untrusted)
{
	return t ? 1 : 0;
}

__hidden int arena_fn(u64 *p __arg_arena)
{
	return p ? *p : 0;
}

SEC("tp/syscalls/sys_enter_getpid")
int tail_target(void *ctx)
{
	out_val = 1;
	return 0;
}

SEC("tp/syscalls/sys_enter_getpid")
int printing(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 now = bpf_ktime_get_ns();

	bpf_printk("no args");
	bpf_printk("one %d", pid);
	bpf_printk("three %d %llu %s", pid, now, "x");
	bpf_printk("five %d %llu %d %d %d", pid, now, 3, 4, 5);
	bpf_printk("twelve %d %d %d %d %d %d %d %d %d %d %d %d", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, pid);
	BPF_SNPRINTF(out_buf, sizeof(out_buf), "pid=%u now=%llu", pid, now);
	BPF_SNPRINTF(out_buf, sizeof(out_buf), "plain");
	return 0;
}

SEC("tp/syscalls/sys_enter_getpid")
int control(void *ctx)
{
	struct pair p = { .a = 7, .b = 9 };
	u64 sum = 0, maybe = 0;
	struct pair *pp;
	u32 cpu;

	cpu = bpf_get_smp_processor_id();
	sum += cpu + twice(cfg_limit) + slow_add(sum, cpu) + weak_fn(cpu);
	sum += hidden_fn(ctx, &p, &maybe) + maybe;

	barrier();
	barrier_var(sum);
	if (likely(sum > 3))
		sum -= 1;
	if (unlikely(sum == 12345))
		sum += 2;

	pp = container_of(&p.b, struct pair, b);
	sum += pp->a + offsetof(struct pair, b);
	sum += KERNEL_VERSION(6, 1, 300) + (LINUX_KERNEL_VERSION > KERNEL_VERSION(5, 0, 0));
	sum += CONFIG_HZ + (CONFIG_BPF_SYSCALL == TRI_YES) + (CONFIG_BPF_SYSCALL == TRI_MODULE);
	sum += LIBBPF_PIN_BY_NAME + LIBBPF_PIN_NONE + TRI_NO;

	switch (cfg_limit & 1) {
	case 0:
		sum += 10;
		break;
	case 1:
		sum += 11;
		break;
	default:
		__bpf_unreachable();
	}
	out_val = sum;
	bpf_tail_call_static(ctx, &jumps, 2);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpid")
int loops(void *ctx)
{
	u64 sum = 0;
	int i, *elem;

	bpf_for(i, 0, 16) {
		if (i >= (int)cfg_limit)
			break;
		sum += i;
	}
	bpf_for_each(num, elem, 2, 6)
		sum += *elem;
	bpf_repeat(3)
		sum++;
	out_val = sum;
	return 0;
}

SEC("tp/syscalls/sys_enter_getpid")
int compares(void *ctx)
{
	u64 sum = bpf_ktime_get_ns(), *v;
	u32 key = 0, cpu = bpf_get_smp_processor_id();
	int i = sum & 7;

	v = bpf_map_lookup_elem(&by_type, &key);
	if (v && bpf_cmp_likely(*v, <, 100))
		sum += *v;
	if (bpf_cmp_unlikely(sum, ==, 77))
		sum = 0;
	if (bpf_cmp_likely(i, >=, 4))
		sum++;
	if (bpf_cmp_unlikely(key, !=, cpu))
		sum++;
	if (bpf_cmp_likely(sum, !=, 0x100000000ULL))
		sum++;
	bpf_map_update_elem(&by_size, &key, &sum, BPF_ANY);
	bpf_map_push_elem(&bloom, &key, 0);
	if (bpf_map_lookup_elem(&outer, &key) == NULL)
		sum++;
	if (bpf_map_lookup_elem(&pin_none, &key))
		sum++;
	if (bpf_map_lookup_elem(&kptrs, &key))
		sum++;
	out_val = sum;
	return 0;
}

SEC("tp_btf/sys_enter")
int ksyms(u64 *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf(), *acq;
	const struct rq *rq;

	out_val = pc_template.x;
	/* A weak typed ksym the loader does not find is NULL, and the verifier drops this branch. */
	if (bpf_ksym_exists(&oxbpf_no_such_runqueues)) {
		rq = bpf_this_cpu_ptr(&oxbpf_no_such_runqueues);
		out_val += rq->cpu;
	}
	if (bpf_ksym_exists(bpf_task_acquire) && bpf_ksym_exists(bpf_task_release)) {
		acq = bpf_task_acquire(t);
		if (acq) {
			out_val += trusted_fn(acq);
			bpf_task_release(acq);
		}
	}
	if (bpf_ksym_exists(bpf_this_kfunc_does_not_exist))
		bpf_this_kfunc_does_not_exist();
	return 0;
}
