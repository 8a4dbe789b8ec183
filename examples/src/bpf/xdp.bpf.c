// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* xdp: count the packets an interface receives, and the UDP ones to a configured port. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define XDP_PASS_ACT 2

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile u16 udp_port = 0;
u64 packets;
u64 udp_packets;
u64 udp_bytes;

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp;

	__sync_fetch_and_add(&packets, 1);
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != 17)
		return XDP_PASS_ACT;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end || udp->dest != bpf_htons(udp_port))
		return XDP_PASS_ACT;
	__sync_fetch_and_add(&udp_packets, 1);
	__sync_fetch_and_add(&udp_bytes, bpf_ntohs(udp->len) - sizeof(*udp));
	return XDP_PASS_ACT;
}
