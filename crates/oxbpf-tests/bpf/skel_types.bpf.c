// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Layouts for the skeleton generator (tests/skeleton.rs): a hash map whose key and value are structs
 * with padding, nesting, arrays, a union, bitfields, an enum and an anonymous struct; a rodata config
 * struct; a .bss copy of the last value; an array map whose value is all bitfields (both signs, an
 * enum, a bool, a packed part with fields spanning nine bytes). The program fills every field with a
 * known value when the target process calls getppid(), and user space reads them back through the
 * generated types and their bitfield accessors. Types no global or map holds (a subprogram's
 * parameters, a pointer's target, a typedef'd anonymous struct, a tag that a typedef also names) must
 * be generated too. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum skel_kind { SKEL_A = 1, SKEL_B = 7, SKEL_NEG = -3 };

struct skel_key {
	u32 pid;
	enum skel_kind kind;
};

struct skel_inner {
	u16 c;
	u32 arr[3];
};

struct skel_value {
	u8 a;
	u64 b;
	struct skel_inner inner;
	union {
		u32 x;
		u8 y[6];
	} u;
	u32 lo : 4, hi : 12;
	u8 tail;
	struct {
		s16 s;
		char comm[16];
	} anon;
	enum skel_kind kind;
};

struct __attribute__((packed)) skel_packed_bits {
	u8 a : 3;
	u64 b : 62;
	s64 c : 63;
};

struct skel_bits {
	u32 lo : 4, hi : 12;
	s32 neg : 5;
	s32 pos : 7;
	enum skel_kind kind : 4;
	bool flag : 1;
	u64 wide : 40;
	u8 tail;
	struct skel_packed_bits pk;
};

/* Reach the BTF only as a subprogram's parameters or through a pointer. */
typedef struct {
	u32 pid;
	u64 ts;
} skel_event_t;
typedef struct {
	u32 a;
} skel_pair;
struct skel_pair {
	u64 b;
};
struct skel_only_ptr {
	u64 x;
};

struct skel_config {
	u32 target_pid;
	u8 flag;
	u64 mul;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct skel_key);
	__type(value, struct skel_value);
} values SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct skel_bits);
} bits SEC(".maps");

const volatile struct skel_config cfg = { .mul = 1 };
struct skel_value last;
u64 calls;
struct skel_only_ptr *only_ptr;

static __noinline int stamp(skel_event_t *e, skel_pair *p, struct skel_pair *q)
{
	e->ts = bpf_ktime_get_ns();
	return e->ts > 0 && p->a == 0 && q->b == 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int fill(void *ctx)
{
	struct skel_key k = {};
	struct skel_value *v = &last;
	struct skel_bits *b;
	u32 pid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	skel_event_t ev = { .pid = pid };
	skel_pair p = {};
	struct skel_pair q = {};

	if (pid != cfg.target_pid)
		return 0;
	calls += stamp(&ev, &p, &q);
	b = bpf_map_lookup_elem(&bits, &zero);
	if (b) {
		b->lo = 9;
		b->hi = 0xabc;
		b->neg = -7;
		b->pos = 63;
		b->kind = SKEL_NEG;
		b->flag = true;
		b->wide = 0xabcdef0123ULL;
		b->tail = 0x5d;
		b->pk.a = 5;
		b->pk.b = 0x2aaabbbbccccddddULL;
		b->pk.c = -0x123456789abcdefLL;
	}
	v->a = 0x11;
	v->b = 0x2222222233333333ULL * cfg.mul;
	v->inner.c = 0x4444;
	v->inner.arr[0] = 5;
	v->inner.arr[1] = 6;
	v->inner.arr[2] = 7;
	v->u.x = 0x88888888;
	v->lo = 9;
	v->hi = 0xabc;
	v->tail = 0x5d;
	v->anon.s = -2;
	bpf_get_current_comm(v->anon.comm, sizeof(v->anon.comm));
	v->kind = cfg.flag ? SKEL_NEG : SKEL_B;
	k.pid = pid;
	k.kind = SKEL_B;
	bpf_map_update_elem(&values, &k, v, BPF_ANY);
	return 0;
}
