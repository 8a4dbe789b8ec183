/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Definitions the header fixtures use that libbpf 1.7's headers do not ship (oxbpf's do): when the
 * fixture is built against libbpf's headers these fill in, following the semantics of the kernel
 * selftests' bpf_experimental.h (bpf_cmp_*) and sched_ext's common.bpf.h (BPF_STRUCT_OPS), so both
 * builds must still produce the same instructions.
 */
#ifndef __HDR_COMPAT_H__
#define __HDR_COMPAT_H__

#ifndef bpf_cmp_likely
#define __hdr_sign_free(op) \
	(__builtin_strcmp(#op, "==") == 0 || __builtin_strcmp(#op, "!=") == 0 || __builtin_strcmp(#op, "&") == 0)
#define __hdr_signed(t) (((t)(-1)) < (t)1)
#define __hdr_cmp_asm(l, op, pred, r, dflt) ({				\
	__label__ hit;							\
	bool res = dflt;						\
	asm volatile goto("if %[lhs] " op " %[rhs] goto %l[hit]"	\
			  :: [lhs] "r"((short)l), [rhs] pred (r) :: hit); \
	res = !dflt;							\
hit:									\
	res;								\
})
#define __hdr_cmp(L, OP, R, dflt) ({					\
	typeof(L) __l = (L);						\
	typeof(R) __r = (R);						\
	bool res;							\
	_Static_assert(sizeof(&(L)), "lvalue");				\
	(void)(__l OP __r);						\
	if (__hdr_sign_free(OP) || !__hdr_signed(typeof(__l))) {	\
		if (sizeof(__r) == 8)					\
			res = __hdr_cmp_asm(__l, #OP, "r", __r, dflt);	\
		else							\
			res = __hdr_cmp_asm(__l, #OP, "ri", __r, dflt);	\
	} else {							\
		if (sizeof(__r) == 8)					\
			res = __hdr_cmp_asm(__l, "s"#OP, "r", __r, dflt); \
		else							\
			res = __hdr_cmp_asm(__l, "s"#OP, "ri", __r, dflt); \
	}								\
	res;								\
})
#define bpf_cmp_unlikely(L, OP, R) __hdr_cmp(L, OP, R, true)
#define bpf_cmp_likely(L, OP, R) ({					\
	bool res = 0;							\
	if (__builtin_strcmp(#OP, "==") == 0)				\
		res = __hdr_cmp(L, !=, R, false);			\
	else if (__builtin_strcmp(#OP, "!=") == 0)			\
		res = __hdr_cmp(L, ==, R, false);			\
	else if (__builtin_strcmp(#OP, "<=") == 0)			\
		res = __hdr_cmp(L, >, R, false);			\
	else if (__builtin_strcmp(#OP, "<") == 0)			\
		res = __hdr_cmp(L, >=, R, false);			\
	else if (__builtin_strcmp(#OP, ">") == 0)			\
		res = __hdr_cmp(L, <=, R, false);			\
	else if (__builtin_strcmp(#OP, ">=") == 0)			\
		res = __hdr_cmp(L, <, R, false);			\
	else								\
		asm volatile("r0 " #OP " invalid compare");		\
	res;								\
})
#endif

#ifndef BPF_STRUCT_OPS
#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/"#name) BPF_PROG(name, ##args)
#endif

#endif
