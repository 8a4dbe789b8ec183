// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* bpf_endian.h: constant and runtime byte-order conversions in a packet program. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* Constants fold, so they work in static initialisers. */
const volatile __be16 want_proto = __bpf_constant_htons(ETH_P_IP);
const volatile __be32 want_addr = __bpf_constant_htonl(0x7f000001);
const volatile __be64 magic = __bpf_constant_cpu_to_be64(0x0102030405060708ULL);
u64 counters[8];

SEC("xdp")
int xdp_endian(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	u64 wide;

	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		counters[0]++;
		break;
	case bpf_htons(ETH_P_IPV6):
		counters[1]++;
		return XDP_PASS;
	default:
		return XDP_PASS;
	}
	counters[2] += bpf_ntohs(eth->h_proto) + bpf_ntohs(ip->tot_len);
	counters[3] += bpf_ntohl(ip->saddr) + (ip->daddr == bpf_htonl(0x7f000001));
	counters[4] += bpf_htonl(counters[3]) + bpf_htons(counters[2]);
	wide = bpf_cpu_to_be64(counters[4]);
	counters[5] += bpf_be64_to_cpu(wide) + bpf_be64_to_cpu(magic) + bpf_cpu_to_be64(42);
	counters[6] += __bpf_constant_ntohs(0x1234) + __bpf_constant_ntohl(0x12345678) +
		       __bpf_constant_be64_to_cpu(1ULL) + bpf_ntohl(want_addr) + bpf_ntohs(want_proto);
	counters[7] += __bpf_htons(ip->id) + __bpf_ntohl(ip->saddr) + __bpf_be64_to_cpu(wide);
	return XDP_PASS;
}
