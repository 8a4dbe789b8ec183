// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Globals in every data section: .data, .rodata, .bss, custom .data.*, .rodata.*, .bss.*, static
 * (non-exported) variables, strings, and a long object name for internal map naming. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

int data_int = 1;
u64 data_arr[4] = { 1, 2, 3, 4 };
const volatile u32 ro_cfg = 3;
const volatile char ro_name[16] = "globals";
u64 bss_counter;
u32 bss_arr[8];
u64 custom_data SEC(".data.custom") = 11;
const volatile u64 custom_ro SEC(".rodata.custom") = 12;
u64 custom_bss SEC(".bss.custom");
static u64 hidden_static = 5;
static const u32 hidden_ro = 9;

SEC("tp/syscalls/sys_enter_write")
int use_all(void *ctx)
{
	u32 i = bpf_get_prandom_u32() & 3;

	bss_counter += data_int + data_arr[i] + ro_cfg + ro_name[0];
	bss_arr[i] += custom_data + custom_ro + hidden_static + hidden_ro;
	custom_bss++;
	hidden_static++;
	bpf_printk("counter %llu name %s", bss_counter, ro_name);
	return 0;
}
