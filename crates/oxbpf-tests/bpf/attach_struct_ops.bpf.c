// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A minimal TCP congestion control (Reno-like) registered through a struct_ops link. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 init_calls = 0;
__u64 init2_calls = 0;

SEC("struct_ops")
void BPF_PROG(oxcc_init, struct sock *sk)
{
	__sync_fetch_and_add(&init_calls, 1);
}

/* A fixed window: enough for the test's loopback connection, and no tcp_sock field access (so the
 * object needs no CO-RE relocation). */
SEC("struct_ops")
__u32 BPF_PROG(oxcc_ssthresh, struct sock *sk)
{
	return 10;
}

SEC("struct_ops")
void BPF_PROG(oxcc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(oxcc_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops oxcc = {
	.init = (void *)oxcc_init,
	.ssthresh = (void *)oxcc_ssthresh,
	.cong_avoid = (void *)oxcc_cong_avoid,
	.undo_cwnd = (void *)oxcc_undo_cwnd,
	.name = "oxbpf_cc",
};

/* A second implementation of the same algorithm name, for swapping through the link. */
SEC("struct_ops")
void BPF_PROG(oxcc2_init, struct sock *sk)
{
	__sync_fetch_and_add(&init2_calls, 1);
}

SEC("struct_ops")
__u32 BPF_PROG(oxcc2_ssthresh, struct sock *sk)
{
	return 10;
}

SEC("struct_ops")
void BPF_PROG(oxcc2_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(oxcc2_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops oxcc2 = {
	.init = (void *)oxcc2_init,
	.ssthresh = (void *)oxcc2_ssthresh,
	.cong_avoid = (void *)oxcc2_cong_avoid,
	.undo_cwnd = (void *)oxcc2_undo_cwnd,
	.name = "oxbpf_cc",
};
