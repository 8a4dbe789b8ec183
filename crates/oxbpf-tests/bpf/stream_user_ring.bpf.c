// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The BPF side of the user ring buffer tests (BPF_MAP_TYPE_USER_RINGBUF and bpf_user_ringbuf_drain,
 * 6.1+), apart from stream_producer.bpf.c so that the ring buffer producers still load on kernels
 * without user ring buffers. Driven by BPF_PROG_TEST_RUN on a raw_tp program. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 1 << 14);
} user_ring SEC(".maps");

/* Where the drained samples are echoed. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} echo SEC(".maps");

struct echo_ctx {
	__u64 bad;
};

/* Each user sample is {u64 seq; u64 value}: echo {seq, value * 2} into the echo ring. */
static long echo_one(struct bpf_dynptr *dynptr, void *data)
{
	struct echo_ctx *c = data;
	__u64 rec[2];

	if (bpf_dynptr_read(rec, sizeof(rec), dynptr, 0, 0)) {
		c->bad++;
		return 0;
	}
	rec[1] *= 2;
	if (bpf_ringbuf_output(&echo, rec, sizeof(rec), 0))
		c->bad++;
	return 0;
}

/* Drains the user ring buffer; returns the number of samples drained (or a negative error), and
 * counts malformed samples in the upper 16 bits. */
SEC("raw_tp")
int drain_user_ring(__u64 *ctx)
{
	struct echo_ctx c = {};
	long n = bpf_user_ringbuf_drain(&user_ring, echo_one, &c, 0);

	if (n < 0)
		return n;
	return n | (c.bad << 16);
}
