// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Producers for the event-stream tests and benches, driven by BPF_PROG_TEST_RUN on raw_tp programs.
 *
 * Arguments come in the raw_tp context: args[0] = record count, args[1] = record size in bytes
 * (8..1024), args[2] = first sequence number. Each record starts with its u64 sequence number,
 * followed (from 16 bytes on) by the sequence number's low byte. Each program returns how many records the
 * kernel refused (ring full). One run emits at most MAX_RECORDS records: the loops are plain bounded
 * loops (5.3+) rather than bpf_for (open-coded iterators, 6.4+), so the producers load on 5.10. The
 * user ring buffer drain lives in stream_user_ring.bpf.c (BPF_MAP_TYPE_USER_RINGBUF needs 6.1). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_SAMPLE 1024
#define MAX_RECORDS 1024

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ring_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 14);
} ring_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct sample_buf {
	__u8 bytes[MAX_SAMPLE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_buf);
} scratch SEC(".maps");

/* Prepares the scratch buffer for record `seq`; returns the clamped size or 0. */
static __always_inline __u32 fill(struct sample_buf *b, __u64 seq, __u64 size)
{
	__u32 sz = size;

	if (sz < 8)
		sz = 8;
	if (sz > MAX_SAMPLE)
		sz = MAX_SAMPLE;
	*(__u64 *)b->bytes = seq;
	b->bytes[8] = (__u8)seq;
	return sz;
}

static __always_inline int ring_out(void *ring, __u64 *args)
{
	__u32 zero = 0, fails = 0, sz;
	struct sample_buf *b = bpf_map_lookup_elem(&scratch, &zero);
	__u64 count = args[0], size = args[1], seq = args[2];
	int i;

	if (!b)
		return -1;
	for (i = 0; i < MAX_RECORDS && i < count; i++) {
		sz = fill(b, seq + i, size);
		if (sz > MAX_SAMPLE)
			break;
		if (bpf_ringbuf_output(ring, b, sz, 0))
			fails++;
	}
	return fails;
}

SEC("raw_tp")
int produce_ring_a(__u64 *ctx)
{
	return ring_out(&ring_a, ctx);
}

SEC("raw_tp")
int produce_ring_b(__u64 *ctx)
{
	return ring_out(&ring_b, ctx);
}

/* Reserves 16-byte records in ring_a and discards those whose sequence number is a multiple of 3. */
SEC("raw_tp")
int produce_discards(__u64 *ctx)
{
	__u64 count = ctx[0], seq = ctx[2];
	__u32 fails = 0;
	int i;

	for (i = 0; i < MAX_RECORDS && i < count; i++) {
		__u64 *r = bpf_ringbuf_reserve(&ring_a, 16, 0);

		if (!r) {
			fails++;
			continue;
		}
		r[0] = seq + i;
		r[1] = 0;
		if ((seq + i) % 3 == 0)
			bpf_ringbuf_discard(r, 0);
		else
			bpf_ringbuf_submit(r, 0);
	}
	return fails;
}

SEC("raw_tp")
int produce_perf(__u64 *ctx)
{
	__u32 zero = 0, fails = 0, sz;
	struct sample_buf *b = bpf_map_lookup_elem(&scratch, &zero);
	__u64 count = ctx[0], size = ctx[1], seq = ctx[2];
	int i;

	if (!b)
		return -1;
	for (i = 0; i < MAX_RECORDS && i < count; i++) {
		sz = fill(b, seq + i, size);
		if (sz > MAX_SAMPLE)
			break;
		if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, b, sz))
			fails++;
	}
	return fails;
}
