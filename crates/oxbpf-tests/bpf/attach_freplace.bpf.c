// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* freplace: xdp_entry asks the global function verdict() for its answer; new_verdict, loaded as an
 * extension of a loaded xdp_entry, replaces that function while its link exists. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

int pass_value = XDP_PASS;
__u64 replaced_calls = 0;

/* Global (verified on its own, so it can be replaced); the answer depends on the packet. */
__noinline int verdict(struct xdp_md *ctx)
{
	return ctx->data_end > ctx->data ? pass_value : XDP_ABORTED;
}

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
	return verdict(ctx);
}

SEC("freplace/verdict")
int new_verdict(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&replaced_calls, 1);
	return XDP_DROP;
}
