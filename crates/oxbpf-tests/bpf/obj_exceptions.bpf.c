// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* BPF exceptions: a program names its exception callback with an "exception_callback:<name>"
 * decl tag; the loader appends that (global) subprogram even though nothing calls it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern void bpf_throw(u64 cookie) __ksym;

#define __exception_cb(name) __attribute__((btf_decl_tag("exception_callback:" #name)))

__noinline int exc_handler(u64 cookie)
{
	return cookie + 1;
}

static __noinline int helper(int x)
{
	return x * 2;
}

/* No context field reads (vmlinux.h's __sk_buff would need CO-RE): a global decides. */
volatile int should_throw;

SEC("tc")
__exception_cb(exc_handler)
int throwing(void *ctx)
{
	if (should_throw)
		bpf_throw(32);
	return helper(should_throw) & 1;
}

SEC("tc")
int plain(void *ctx)
{
	return helper(should_throw) & 1;
}
