// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* BPF_STRUCT_OPS: a minimal TCP congestion control. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hdr_compat.h"

char LICENSE[] SEC("license") = "GPL";

u64 calls;

SEC("struct_ops")
__u32 BPF_PROG(hdrcc_ssthresh, struct sock *sk)
{
	calls++;
	return 2;
}

__u32 BPF_STRUCT_OPS(hdrcc_undo_cwnd, struct sock *sk)
{
	calls++;
	return 10;
}

void BPF_STRUCT_OPS(hdrcc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	calls += ack + acked;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops hdrcc = {
	.ssthresh = (void *)hdrcc_ssthresh,
	.undo_cwnd = (void *)hdrcc_undo_cwnd,
	.cong_avoid = (void *)hdrcc_cong_avoid,
	.name = "hdrcc",
};
