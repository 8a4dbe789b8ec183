// A custom data section ending in an array, for resizing it before load (the skeleton's
// "resizable array" pattern): `count` stays, `slots` grows to fill the new size.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

int count SEC(".data.slots") = 3;
int slots[1] SEC(".data.slots") = {7};

const volatile int scale = 2;

SEC("tp/syscalls/sys_enter_getpid")
int resize_slots(void *ctx)
{
	slots[0] += count * scale;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
