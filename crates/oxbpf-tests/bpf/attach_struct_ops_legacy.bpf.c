// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A minimal TCP congestion control in a plain SEC(".struct_ops") map: registered by writing the map's
 * value and unregistered by deleting it, the only way before struct_ops links (6.4). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

__u64 init_calls = 0;

SEC("struct_ops")
void BPF_PROG(oxccl_init, struct sock *sk)
{
	__sync_fetch_and_add(&init_calls, 1);
}

SEC("struct_ops")
__u32 BPF_PROG(oxccl_ssthresh, struct sock *sk)
{
	return 10;
}

SEC("struct_ops")
void BPF_PROG(oxccl_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(oxccl_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops")
struct tcp_congestion_ops oxccl = {
	.init = (void *)oxccl_init,
	.ssthresh = (void *)oxccl_ssthresh,
	.cong_avoid = (void *)oxccl_cong_avoid,
	.undo_cwnd = (void *)oxccl_undo_cwnd,
	.name = "oxbpf_ccl",
};
