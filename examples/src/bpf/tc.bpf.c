// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* tc: a tcx ingress program that counts IPv4 packets and prints their length and TTL. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800

char LICENSE[] SEC("license") = "Dual BSD/GPL";

u64 ip_packets;
u32 last_ttl;
u32 last_len;

SEC("tc")
int tc_ingress(struct __sk_buff *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if (ctx->protocol != bpf_htons(ETH_P_IP) || (void *)(ip + 1) > end)
		return TC_ACT_OK;
	__sync_fetch_and_add(&ip_packets, 1);
	last_ttl = ip->ttl;
	last_len = bpf_ntohs(ip->tot_len);
	bpf_printk("Got IP packet: tot_len: %d, ttl: %d", last_len, last_ttl);
	return TC_ACT_OK;
}
