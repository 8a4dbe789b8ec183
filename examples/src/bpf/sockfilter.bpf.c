// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* sockfilter: a socket filter that counts the packets and bytes a socket receives, keeping them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

u64 packets;
u64 bytes;

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&packets, 1);
	__sync_fetch_and_add(&bytes, skb->len);
	return skb->len;
}
