/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * oxbpf: USDT (user statically defined tracepoint) support for BPF programs, with the names of
 * libbpf 1.7's <bpf/usdt.bpf.h>.
 *
 *	SEC("usdt/./app:provider:probe")
 *	int BPF_USDT(on_probe, int id, const char *name) { ... }
 *
 * A USDT probe's arguments live wherever the compiler of the traced program put them: a constant, a
 * register, memory at register+offset, or base+index*scale+offset. The attaching side (oxbpf's USDT
 * attach, or libbpf's: the layout below is the same, so either can attach an object built with either
 * header) parses the probe's ELF note, writes one *spec* per distinct argument layout into the
 * __bpf_usdt_specs map, and tells the program which spec applies at each probe hit. The functions
 * here decode the spec at run time.
 *
 * ================================  THE SPEC CONTRACT  ================================
 *
 * Map __bpf_usdt_specs: BPF_MAP_TYPE_ARRAY, key int (spec id), value struct __bpf_usdt_spec,
 *   max_entries BPF_USDT_MAX_SPEC_CNT (default 256; the attacher may resize it).
 * Map __bpf_usdt_ip_to_spec_id: BPF_MAP_TYPE_HASH, key long (probe address as seen in PT_REGS_IP at
 *   the uprobe hit), value __u32 (spec id), max_entries BPF_USDT_MAX_IP_CNT (default 4 * spec count).
 *   Only used when the kernel lacks BPF cookies; otherwise the attacher puts the spec id in the
 *   uprobe link's BPF cookie and this map may be shrunk to 1 entry.
 * Both maps are __weak, so every object file linked together shares one pair.
 * Kconfig extern LINUX_HAS_BPF_COOKIE (virtual, filled in by the loader) picks the lookup path.
 *
 * struct __bpf_usdt_spec (304 bytes, 8-aligned):
 *   offset   0  struct __bpf_usdt_arg_spec args[12]   (24 bytes each)
 *   offset 288  __u64 usdt_cookie                     user cookie, returned by bpf_usdt_cookie()
 *   offset 296  short arg_cnt                         number of valid args[] entries
 *   (6 bytes tail padding)
 *
 * struct __bpf_usdt_arg_spec (24 bytes, 8-aligned), little endian:
 *   offset  0  __u64 val_off     CONST: the value; REG_DEREF and SIB: the memory offset added
 *   offset  8  __u8 (bitfield)   arg_type (enum __bpf_usdt_arg_type, see below); byte 9 unused
 *   offset 10  __u16 (bitfields) bits 0-11: idx_reg_off = offsetof(struct pt_regs, index register)
 *                                (SIB only); bits 12-15: scale_bitshift = log2 of the SIB scale (0..3)
 *   offset 12  __u8 (bitfield)   reserved, zero; byte 13 unused
 *   offset 14  short reg_off     offsetof(struct pt_regs, register) (REG, REG_DEREF, SIB base)
 *   offset 16  bool arg_signed   sign-extend the value
 *   offset 17  char arg_bitshift 64 - 8 * argument size in bytes (0, 32, 48 or 56)
 *   (6 bytes tail padding)
 * Big endian declares the bitfields in reverse order: reserved in byte 8, idx_reg_off in the top 12
 * bits and scale_bitshift in the low 4 bits of the big-endian __u16 at offset 10, arg_type in byte 12.
 * Everything else is at the same offset. This is exactly the layout of libbpf 1.7's declaration
 * (tests/headers.rs has the compiler check every offset above under both header sets).
 *
 * enum __bpf_usdt_arg_type: 0 CONST, 1 REG, 2 REG_DEREF, 3 SIB (SIB needs libbpf 1.7+ / oxbpf).
 *
 * Argument value (as bpf_usdt_arg computes it), 64-bit unsigned arithmetic:
 *   CONST:     v = val_off
 *   REG:       v = *(u64 *)((void *)regs + reg_off)
 *   REG_DEREF: v = user u64 at (*(u64 *)(regs + reg_off) + val_off)
 *   SIB:       v = user u64 at (base + (index << scale_bitshift) + val_off), base/index from regs
 *   (big endian: memory reads are then shifted right by arg_bitshift)
 *   then v <<= arg_bitshift; v = arg_signed ? (s64)v >> arg_bitshift : v >> arg_bitshift.
 * =====================================================================================
 */
#ifndef __USDT_BPF_H__
#define __USDT_BPF_H__

#include "bpf_helpers.h"
#include "bpf_tracing.h"

/* The errno values returned below (same tokens as <linux/errno.h>, so including both is fine). */
#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef ESRCH
#define ESRCH 3
#endif
#ifndef EINVAL
#define EINVAL 22
#endif

/* Capacity of the spec map; raise it before including this header if you attach many probes. */
#ifndef BPF_USDT_MAX_SPEC_CNT
#define BPF_USDT_MAX_SPEC_CNT 256
#endif
/* Capacity of the address-to-spec map (only used without BPF cookie support). */
#ifndef BPF_USDT_MAX_IP_CNT
#define BPF_USDT_MAX_IP_CNT (4 * BPF_USDT_MAX_SPEC_CNT)
#endif

/*
 * The flag's type: `bool` where vmlinux.h or <stdbool.h> provide it (the BTF then names the same type
 * libbpf's header does), the keyword otherwise. Same layout either way.
 */
#if defined(__VMLINUX_H__) || defined(bool)
#define ___bpf_usdt_bool bool
#else
#define ___bpf_usdt_bool _Bool
#endif

/* Where an argument lives. */
enum __bpf_usdt_arg_type {
	BPF_USDT_ARG_CONST,	/* "-4@$-9": an immediate */
	BPF_USDT_ARG_REG,	/* "8@%rax": a register */
	BPF_USDT_ARG_REG_DEREF,	/* "-4@-1204(%rbp)": memory at register + offset */
	BPF_USDT_ARG_SIB,	/* "-1@-96(%rbp,%rax,8)": memory at base + index * scale + offset */
};

/* One argument's location (layout in the contract above). */
struct __bpf_usdt_arg_spec {
	__u64 val_off;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	enum __bpf_usdt_arg_type arg_type: 8;
	__u16 idx_reg_off: 12;
	__u16 scale_bitshift: 4;
	__u8 __reserved: 8;
#else
	__u8 __reserved: 8;
	__u16 idx_reg_off: 12;
	__u16 scale_bitshift: 4;
	enum __bpf_usdt_arg_type arg_type: 8;
#endif
	short reg_off;
	___bpf_usdt_bool arg_signed;
	char arg_bitshift;
};

/* Arguments per probe the spec can describe (the attacher refuses probes with more). */
#define BPF_USDT_MAX_ARG_CNT 12

/* One probe site's argument layout plus the user's cookie (layout in the contract above). */
struct __bpf_usdt_spec {
	struct __bpf_usdt_arg_spec args[BPF_USDT_MAX_ARG_CNT];
	__u64 usdt_cookie;
	short arg_cnt;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BPF_USDT_MAX_SPEC_CNT);
	__type(key, int);
	__type(value, struct __bpf_usdt_spec);
} __bpf_usdt_specs SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BPF_USDT_MAX_IP_CNT);
	__type(key, long);
	__type(value, __u32);
} __bpf_usdt_ip_to_spec_id SEC(".maps") __weak;

extern const _Bool LINUX_HAS_BPF_COOKIE __kconfig;

/* The spec id of the probe being handled: the BPF cookie, or a lookup by address without cookies. */
static __always_inline
int __bpf_usdt_spec_id(struct pt_regs *ctx)
{
	if (!LINUX_HAS_BPF_COOKIE) {
		long ip = PT_REGS_IP(ctx);
		int *id = bpf_map_lookup_elem(&__bpf_usdt_ip_to_spec_id, &ip);

		return id ? *id : -ESRCH;
	}
	return bpf_get_attach_cookie(ctx);
}

/* The number of arguments of the probe being handled, or -ESRCH. */
__weak __hidden
int bpf_usdt_arg_cnt(struct pt_regs *ctx)
{
	struct __bpf_usdt_spec *spec;
	int id = __bpf_usdt_spec_id(ctx);

	if (id < 0)
		return -ESRCH;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
	if (!spec)
		return -ESRCH;
	return spec->arg_cnt;
}

/*
 * The size in bytes of argument arg_num (from 0), or -ESRCH / -ENOENT. The bound is checked against
 * the constant first and then, behind barrier_var, against the spec, so the verifier sees an index
 * below BPF_USDT_MAX_ARG_CNT however the compiler arranges the second test.
 */
static __always_inline
int bpf_usdt_arg_size(struct pt_regs *ctx, __u64 arg_num)
{
	struct __bpf_usdt_arg_spec *arg;
	struct __bpf_usdt_spec *spec;
	int id = __bpf_usdt_spec_id(ctx);

	if (id < 0)
		return -ESRCH;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
	if (!spec)
		return -ESRCH;
	if (arg_num >= BPF_USDT_MAX_ARG_CNT)
		return -ENOENT;
	barrier_var(arg_num);
	if (arg_num >= spec->arg_cnt)
		return -ENOENT;
	arg = &spec->args[arg_num];
	/* arg_bitshift is 64 - 8 * size. */
	return (unsigned int)(64 - arg->arg_bitshift) / 8;
}

/*
 * Stores argument arg_num (from 0) of the probe being handled, widened to 64 bits, in *res and
 * returns 0; on failure returns a negative errno and leaves *res at 0.
 */
__weak __hidden
int bpf_usdt_arg(struct pt_regs *ctx, __u64 arg_num, long *res)
{
	struct __bpf_usdt_spec *spec;
	struct __bpf_usdt_arg_spec *arg;
	unsigned long v, index;
	int err, id;

	*res = 0;

	id = __bpf_usdt_spec_id(ctx);
	if (id < 0)
		return -ESRCH;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
	if (!spec)
		return -ESRCH;
	if (arg_num >= BPF_USDT_MAX_ARG_CNT)
		return -ENOENT;
	barrier_var(arg_num);
	if (arg_num >= spec->arg_cnt)
		return -ENOENT;

	arg = &spec->args[arg_num];
	switch (arg->arg_type) {
	case BPF_USDT_ARG_CONST:
		v = arg->val_off;
		break;
	case BPF_USDT_ARG_REG:
		/* The register's saved value, at its offset within pt_regs. */
		err = bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + arg->reg_off);
		if (err)
			return err;
		break;
	case BPF_USDT_ARG_REG_DEREF:
		/* The register holds an address in the traced process; the argument is at +val_off. */
		err = bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + arg->reg_off);
		if (err)
			return err;
		err = bpf_probe_read_user(&v, sizeof(v), (void *)v + arg->val_off);
		if (err)
			return err;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		v >>= arg->arg_bitshift;
#endif
		break;
	case BPF_USDT_ARG_SIB:
		/* base + (index << scale) + val_off, base and index from their registers. */
		err = bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + arg->reg_off);
		if (err)
			return err;
		err = bpf_probe_read_kernel(&index, sizeof(index), (void *)ctx + arg->idx_reg_off);
		if (err)
			return err;
		err = bpf_probe_read_user(&v, sizeof(v),
					  (void *)(v + (index << arg->scale_bitshift) + arg->val_off));
		if (err)
			return err;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		v >>= arg->arg_bitshift;
#endif
		break;
	default:
		return -EINVAL;
	}

	/* Keep the low (64 - arg_bitshift) bits, sign- or zero-extended. */
	v <<= arg->arg_bitshift;
	if (arg->arg_signed)
		v = ((long)v) >> arg->arg_bitshift;
	else
		v = v >> arg->arg_bitshift;
	*res = v;
	return 0;
}

/*
 * The cookie given at attach time (the USDT attach options' usdt_cookie), or 0. USDT uses the BPF
 * cookie itself for the spec id, so programs read their own cookie through this.
 */
__weak __hidden
long bpf_usdt_cookie(struct pt_regs *ctx)
{
	struct __bpf_usdt_spec *spec;
	int id = __bpf_usdt_spec_id(ctx);

	if (id < 0)
		return 0;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &id);
	if (!spec)
		return 0;
	return spec->usdt_cookie;
}

/* BPF_USDT: argument i is fetched with bpf_usdt_arg(ctx, i - 1, ...) (0 when absent). */
#define ___oxbpf_usdt_fetch(i) ({ long _x; bpf_usdt_arg(ctx, i, &_x); _x; })
#define ___bpf_usdt_args0()		ctx
#define ___bpf_usdt_args1(x)		___bpf_usdt_args0(), ___oxbpf_usdt_fetch(0)
#define ___bpf_usdt_args2(x, args...)	___bpf_usdt_args1(args), ___oxbpf_usdt_fetch(1)
#define ___bpf_usdt_args3(x, args...)	___bpf_usdt_args2(args), ___oxbpf_usdt_fetch(2)
#define ___bpf_usdt_args4(x, args...)	___bpf_usdt_args3(args), ___oxbpf_usdt_fetch(3)
#define ___bpf_usdt_args5(x, args...)	___bpf_usdt_args4(args), ___oxbpf_usdt_fetch(4)
#define ___bpf_usdt_args6(x, args...)	___bpf_usdt_args5(args), ___oxbpf_usdt_fetch(5)
#define ___bpf_usdt_args7(x, args...)	___bpf_usdt_args6(args), ___oxbpf_usdt_fetch(6)
#define ___bpf_usdt_args8(x, args...)	___bpf_usdt_args7(args), ___oxbpf_usdt_fetch(7)
#define ___bpf_usdt_args9(x, args...)	___bpf_usdt_args8(args), ___oxbpf_usdt_fetch(8)
#define ___bpf_usdt_args10(x, args...)	___bpf_usdt_args9(args), ___oxbpf_usdt_fetch(9)
#define ___bpf_usdt_args11(x, args...)	___bpf_usdt_args10(args), ___oxbpf_usdt_fetch(10)
#define ___bpf_usdt_args12(x, args...)	___bpf_usdt_args11(args), ___oxbpf_usdt_fetch(11)
#define ___bpf_usdt_args(args...)	___bpf_apply(___bpf_usdt_args, ___bpf_narg(args))(args)

/* int BPF_USDT(name, int a, long b) { ... }: typed USDT arguments plus the raw `ctx`. */
#define BPF_USDT(name, args...) \
	___oxbpf_wrap(name, struct pt_regs *ctx, ___bpf_usdt_args(args), ##args)

#endif /* __USDT_BPF_H__ */
