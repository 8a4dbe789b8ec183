// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* __arg_ctx on global subprograms. Kernels since 6.8 understand the tag; on older ones the loader
 * gives each calling program a copy of the subprogram's BTF in which the tagged argument points to
 * the program type's context struct. Covers `void *`, `struct pt_regs *` (kprobe), `u64 *`
 * (raw_tp), two tagged arguments, one subprogram called from programs of different types, and a
 * tracepoint, whose context has no named struct (no fallback: loads only with native support). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Called from socket, xdp and kprobe programs: one copy per program type. The empty asm keeps the
 * argument alive (clang does not pass an argument the callee never reads). */
__noinline int any_ctx(void *ctx __arg_ctx)
{
	asm volatile("" : : "r"(ctx));
	return bpf_get_smp_processor_id() < 100000 ? 0 : 1;
}

__noinline int skb_len(void *ctx __arg_ctx)
{
	struct __sk_buff *skb = ctx;

	return skb->len;
}

/* Both arguments are the context. */
__noinline int skb_two(void *a __arg_ctx, int x, void *b __arg_ctx)
{
	struct __sk_buff *s1 = a, *s2 = b;

	return s1->protocol + s2->mark + x;
}

SEC("socket")
int arg_ctx_socket(struct __sk_buff *skb)
{
	return skb_len(skb) + skb_two(skb, 1, skb) + any_ctx(skb);
}

__noinline int xdp_queue(void *ctx __arg_ctx)
{
	struct xdp_md *x = ctx;

	return x->rx_queue_index;
}

SEC("xdp")
int arg_ctx_xdp(struct xdp_md *ctx)
{
	return xdp_queue(ctx) + any_ctx(ctx) > 1000 ? XDP_DROP : XDP_PASS;
}

/* kprobe: `struct pt_regs *` is what C code naturally writes; the verifier wants
 * `bpf_user_pt_regs_t`. */
__noinline int kp_ip(struct pt_regs *regs __arg_ctx)
{
	return bpf_get_func_ip(regs) & 1;
}

SEC("kprobe/do_nanosleep")
int arg_ctx_kprobe(struct pt_regs *ctx)
{
	return kp_ip(ctx) + any_ctx(ctx);
}

/* raw_tp: the arguments array as `u64 *`. */
__noinline int rtp_arg1(u64 *args __arg_ctx)
{
	return args[1] != 0;
}

SEC("raw_tp/sys_enter")
int arg_ctx_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return rtp_arg1((u64 *)ctx);
}

__noinline int tp_cpu(void *ctx __arg_ctx)
{
	asm volatile("" : : "r"(ctx));
	return bpf_get_smp_processor_id() & 1;
}

SEC("tp/syscalls/sys_enter_getpid")
int arg_ctx_tracepoint(void *ctx)
{
	return tp_cpu(ctx);
}
