/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * oxbpf: the core header of BPF C programs.
 *
 * Source-compatible with libbpf 1.7's <bpf/bpf_helpers.h>: the same macro names take the same arguments
 * and compile to the same instructions, so a libbpf program builds against oxbpf by changing only -I.
 *
 * Include vmlinux.h (or <linux/types.h>) first: the helper prototypes use __u32, __u64 and friends.
 */
#ifndef __BPF_HELPERS__
#define __BPF_HELPERS__

#include "bpf_helper_defs.h"

/* ------------------------------------------------------------------------------------------------
 * Argument counting and token pasting, shared by every variadic macro of these headers (and used by
 * programs that build their own variadic wrappers, so the names are kept).
 */
#ifndef ___bpf_concat
#define ___bpf_concat(a, b) a ## b
#endif
#ifndef ___bpf_apply
#define ___bpf_apply(fn, n) ___bpf_concat(fn, n)
#endif
#ifndef ___bpf_nth
/* The 14th argument: with 12 counted slots plus the leading placeholder this yields the count. */
#define ___bpf_nth(_, _1, _2, _3, _4, _5, _6, _7, _8, _9, _a, _b, _c, N, ...) N
#endif
#ifndef ___bpf_narg
/* 0..12: how many arguments were passed (the GNU ## swallows the comma when there are none). */
#define ___bpf_narg(...) \
	___bpf_nth(_, ##__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#endif

/* ------------------------------------------------------------------------------------------------
 * BTF-defined maps. A map definition is a struct whose members only carry types: the value of
 * `__uint(max_entries, 64)` lives in the array length of a pointer-to-array, `__type(key, u32)` in
 * the pointee type of a pointer. The loader reads them back from BTF.
 */
#define __uint(name, val)	int (*name)[val]
#define __type(name, val)	typeof(val) *name
#define __array(name, val)	typeof(val) *name[]
/*
 * A 64-bit value (e.g. map_extra) as the value of a one-member anonymous enum; the enumerator is
 * named __unique_value<N> as with libbpf, so the BTF comes out the same.
 */
#define __ulong(name, val) \
	enum { ___bpf_concat(__unique_value, __COUNTER__) = val } name

/* Map pinning (`__uint(pinning, LIBBPF_PIN_BY_NAME)`) and kconfig tristates. */
enum libbpf_pin_type {
	LIBBPF_PIN_NONE,
	LIBBPF_PIN_BY_NAME,	/* pinned as <pin root>/<map name>, /sys/fs/bpf by default */
};

enum libbpf_tristate {
	TRI_NO = 0,
	TRI_YES = 1,
	TRI_MODULE = 2,
};

/* ------------------------------------------------------------------------------------------------
 * Placement and linkage.
 */

/*
 * SEC("kprobe/do_unlinkat") puts a program, map or variable into the named ELF section; the loader
 * derives program types and attach points from it. `used` keeps otherwise unreferenced objects.
 * clang warns when the section attribute lands on an extern (SEC(".maps") on an extern map), which
 * is legitimate here, hence the scoped -Wignored-attributes.
 */
#if __GNUC__ && !__clang__
/* GCC cannot scope diagnostics inside a macro expansion. */
#define SEC(name) __attribute__((section(name), used))
#else
#define SEC(name)							\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wignored-attributes\"")	\
	__attribute__((section(name), used))				\
	_Pragma("GCC diagnostic pop")
#endif

/* linux/stddef.h has its own __always_inline; BPF code wants exactly this one. */
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))

#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif

/*
 * A global function marked __hidden is verified like a static one (in its caller's context) while
 * still being emitted once.
 */
#define __hidden __attribute__((visibility("hidden")))

/* Externs the loader resolves: kconfig values (CONFIG_*, LINUX_KERNEL_VERSION, ...) and kernel symbols. */
#define __kconfig	__attribute__((section(".kconfig")))
#define __ksym		__attribute__((section(".ksyms")))

/* BTF type tags on pointers stored in map values. */
#define __kptr_untrusted	__attribute__((btf_type_tag("kptr_untrusted")))
#define __kptr			__attribute__((btf_type_tag("kptr")))
#define __percpu_kptr		__attribute__((btf_type_tag("percpu_kptr")))
#define __uptr			__attribute__((btf_type_tag("uptr")))

/* BTF decl tags on global-function arguments, telling the verifier what the argument is. */
#define __arg_ctx		__attribute__((btf_decl_tag("arg:ctx")))
#define __arg_nonnull		__attribute__((btf_decl_tag("arg:nonnull")))
#define __arg_nullable		__attribute__((btf_decl_tag("arg:nullable")))
#define __arg_trusted		__attribute__((btf_decl_tag("arg:trusted")))
#define __arg_untrusted		__attribute__((btf_decl_tag("arg:untrusted")))
#define __arg_arena		__attribute__((btf_decl_tag("arg:arena")))

/*
 * bpf_ksym_exists(sym): whether a __weak __ksym extern was found in the running kernel. Only a weak
 * extern can be absent, so insist on it: for a non-weak symbol the address is a known non-zero
 * constant and the check would be meaningless.
 */
#if defined(__clang__)
#define bpf_ksym_exists(sym) ({						\
	_Static_assert(!__builtin_constant_p(!!sym),			\
		       #sym " should be marked as __weak");		\
	!!sym;								\
})
#elif __GNUC__ > 8
#define bpf_ksym_exists(sym) ({						\
	_Static_assert(__builtin_has_attribute(*sym, __weak__),		\
		       #sym " should be marked as __weak");		\
	!!sym;								\
})
#else
#define bpf_ksym_exists(sym) !!sym
#endif

/* ------------------------------------------------------------------------------------------------
 * Things vmlinux.h users would otherwise have to define themselves.
 */
#ifndef NULL
#define NULL ((void *)0)
#endif

#ifndef KERNEL_VERSION
/* The sublevel saturates at 255, as in the kernel's own macro. */
#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
#endif

#ifndef likely
#define likely(x)	(__builtin_expect(!!(x), 1))
#endif
#ifndef unlikely
#define unlikely(x)	(__builtin_expect(!!(x), 0))
#endif

/*
 * offsetof()/container_of() as plain pointer arithmetic on a null base: __builtin_offsetof would not
 * carry a CO-RE field relocation through, this form does. Both replace any earlier definition.
 */
#undef offsetof
#define offsetof(type, member)	((unsigned long)&((type *)0)->member)

#undef container_of
#define container_of(ptr, type, member)					\
	({								\
		void *__mptr = (void *)(ptr);				\
		((type *)(__mptr - offsetof(type, member)));		\
	})

/* ------------------------------------------------------------------------------------------------
 * Optimisation fences.
 */

/* Memory clobber: the compiler may not move memory accesses across it. */
#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif

/*
 * Makes `var` opaque: the compiler must assume the (empty) asm changed it, so it materialises the
 * value (including any pending 32->64 bit extension) before this point and cannot reason about its
 * range afterwards. Useful to keep the verifier's view and the compiler's view of a value in step.
 */
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

/*
 * A path that must be optimised away. The BPF back end has no trap instruction, so if this survives
 * into code generation the build fails, which is the point.
 */
#ifndef __bpf_unreachable
#define __bpf_unreachable() __builtin_trap()
#endif

/* ------------------------------------------------------------------------------------------------
 * Tail call with a constant slot.
 *
 * The kernel's x86-64 JIT turns a tail call whose map and index are known at verification time into
 * a direct jump. That needs r2 and r3 loaded right before the call on every path reaching it, which
 * the compiler would not guarantee for a plain bpf_tail_call(): so the call is written in assembly.
 * r0-r5 are clobbered as by any helper call.
 */
#if (defined(__clang__) && __clang_major__ >= 8) || (!defined(__clang__) && __GNUC__ > 12)
#if defined(__bpf__)
static __always_inline void
bpf_tail_call_static(void *ctx, const void *map, const __u32 slot)
{
	if (!__builtin_constant_p(slot))
		__bpf_unreachable();

	asm volatile("r1 = %[c]\n\t"
		     "r2 = %[m]\n\t"
		     "r3 = %[s]\n\t"
		     "call 12"
		     :
		     : [c] "r"(ctx), [m] "r"(map), [s] "i"(slot)
		     : "r0", "r1", "r2", "r3", "r4", "r5");
}
#endif
#endif

/* ------------------------------------------------------------------------------------------------
 * Formatted output.
 *
 * The format string becomes a static const array (.rodata); the arguments are widened to u64 and
 * stored, in order, into an on-stack array whose address and size go to the helper.
 */
#define ___bpf_fill0(arr, p, x) do {} while (0)
#define ___bpf_fill1(arr, p, x) arr[p] = x
#define ___bpf_fill2(arr, p, x, args...) arr[p] = x; ___bpf_fill1(arr, p + 1, args)
#define ___bpf_fill3(arr, p, x, args...) arr[p] = x; ___bpf_fill2(arr, p + 1, args)
#define ___bpf_fill4(arr, p, x, args...) arr[p] = x; ___bpf_fill3(arr, p + 1, args)
#define ___bpf_fill5(arr, p, x, args...) arr[p] = x; ___bpf_fill4(arr, p + 1, args)
#define ___bpf_fill6(arr, p, x, args...) arr[p] = x; ___bpf_fill5(arr, p + 1, args)
#define ___bpf_fill7(arr, p, x, args...) arr[p] = x; ___bpf_fill6(arr, p + 1, args)
#define ___bpf_fill8(arr, p, x, args...) arr[p] = x; ___bpf_fill7(arr, p + 1, args)
#define ___bpf_fill9(arr, p, x, args...) arr[p] = x; ___bpf_fill8(arr, p + 1, args)
#define ___bpf_fill10(arr, p, x, args...) arr[p] = x; ___bpf_fill9(arr, p + 1, args)
#define ___bpf_fill11(arr, p, x, args...) arr[p] = x; ___bpf_fill10(arr, p + 1, args)
#define ___bpf_fill12(arr, p, x, args...) arr[p] = x; ___bpf_fill11(arr, p + 1, args)
/* arr[0] = first; arr[1] = second; ... (pointers are stored as integers, hence -Wint-conversion). */
#define ___bpf_fill(arr, args...) \
	___bpf_apply(___bpf_fill, ___bpf_narg(args))(arr, 0, args)

/*
 * Declares the `___fmt` and `___param` locals every array-style formatter needs, fills the array,
 * and evaluates `call` (which refers to both).
 */
#define ___oxbpf_with_params(fmt, call, args...)			\
({									\
	static const char ___fmt[] = fmt;				\
	unsigned long long ___param[___bpf_narg(args)];			\
									\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")		\
	___bpf_fill(___param, args);					\
	_Pragma("GCC diagnostic pop")					\
									\
	call;								\
})

/* BPF_SEQ_PRINTF(seq, "%d %s\n", a, b): bpf_seq_printf with C varargs, for iterator programs. */
#define BPF_SEQ_PRINTF(seq, fmt, args...)				\
	___oxbpf_with_params(fmt, bpf_seq_printf(seq, ___fmt, sizeof(___fmt),	\
						 ___param, sizeof(___param)), ##args)

/* BPF_SNPRINTF(buf, size, fmt, args...): bpf_snprintf with C varargs. */
#define BPF_SNPRINTF(out, out_size, fmt, args...)			\
	___oxbpf_with_params(fmt, bpf_snprintf(out, out_size, ___fmt,	\
					       ___param, sizeof(___param)), ##args)

/* bpf_stream_printk(stream, fmt, args...): print into a BPF stream (kfunc bpf_stream_vprintk). */
#define bpf_stream_printk(stream_id, fmt, args...)			\
	___oxbpf_with_params(fmt, bpf_stream_vprintk(stream_id, ___fmt,	\
						     ___param, sizeof(___param)), ##args)

/*
 * bpf_printk(fmt, args...): up to 3 arguments go straight to bpf_trace_printk (which every kernel
 * has); more need bpf_trace_vprintk (5.16+) and the array form. With BPF_NO_GLOBAL_DATA the format
 * stays on the stack, for kernels without global data support.
 */
#ifdef BPF_NO_GLOBAL_DATA
#define BPF_PRINTK_FMT_MOD
#else
#define BPF_PRINTK_FMT_MOD static const
#endif

#define __bpf_printk(fmt, ...)						\
({									\
	BPF_PRINTK_FMT_MOD char ____fmt[] = fmt;			\
	bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);	\
})

#define __bpf_vprintk(fmt, args...)					\
	___oxbpf_with_params(fmt, bpf_trace_vprintk(___fmt, sizeof(___fmt),	\
						    ___param, sizeof(___param)), ##args)

/* Counts the arguments like ___bpf_narg, but answers with the printer to use. */
#define ___bpf_pick_printk(...)						\
	___bpf_nth(_, ##__VA_ARGS__,					\
		   __bpf_vprintk, __bpf_vprintk, __bpf_vprintk,		/* 12..10 */	\
		   __bpf_vprintk, __bpf_vprintk, __bpf_vprintk,		/* 9..7 */	\
		   __bpf_vprintk, __bpf_vprintk, __bpf_vprintk,		/* 6..4 */	\
		   __bpf_printk, __bpf_printk, __bpf_printk, __bpf_printk)	/* 3..0 */

#define bpf_printk(fmt, args...) ___bpf_pick_printk(args)(fmt, ##args)

/* ------------------------------------------------------------------------------------------------
 * Open-coded iterators (kernel 6.4+): loops the verifier can check without unrolling.
 *
 * Each macro is a for() whose first clause declares the iterator state on the stack (8-byte aligned,
 * destroyed by a cleanup attribute when the loop is left in any way) plus a dummy pointer whose
 * initialiser calls the constructor exactly once. The `(void)destroy` mention makes clang emit BTF for
 * the destructor, which it otherwise forgets when the only use is the cleanup attribute.
 */
struct bpf_iter_num;

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __weak __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __weak __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __weak __ksym;

#define ___oxbpf_iter_init(type, ctor_args...)				\
	struct bpf_iter_##type ___it					\
		__attribute__((aligned(8), cleanup(bpf_iter_##type##_destroy))), \
		*___p __attribute__((unused)) = (			\
			bpf_iter_##type##_new(&___it, ##ctor_args),	\
			(void)bpf_iter_##type##_destroy, (void *)0)

#ifndef bpf_for_each
/*
 * bpf_for_each(type, cur, args...): walk iterator `type` (bpf_iter_<type>_new/next/destroy kfuncs),
 * with `cur` set to each element in turn. break and continue work as in any loop.
 */
#define bpf_for_each(type, cur, args...)				\
	for (___oxbpf_iter_init(type, ##args);				\
	     (((cur) = bpf_iter_##type##_next(&___it)));)
#endif

#ifndef bpf_for
/*
 * bpf_for(i, start, end): i = start .. end-1, and the verifier learns start <= i < end (the bounds
 * are re-checked on the value the iterator hands out). start and end must not change in the loop.
 */
#define bpf_for(i, start, end)						\
	for (___oxbpf_iter_init(num, (start), (end));			\
	     ({								\
		int *___t = bpf_iter_num_next(&___it);			\
		(___t && ((i) = *___t, (i) >= (start) && (i) < (end)));	\
	     });)
#endif

#ifndef bpf_repeat
/* bpf_repeat(n): run the body n times. */
#define bpf_repeat(N)							\
	for (___oxbpf_iter_init(num, 0, (N));				\
	     bpf_iter_num_next(&___it);)
#endif

/* ------------------------------------------------------------------------------------------------
 * bpf_cmp_likely(a, op, b) / bpf_cmp_unlikely(a, op, b): a comparison the compiler cannot rewrite.
 *
 * clang sometimes turns `if (a < b)` into a form the verifier cannot use to bound `a` (comparing a
 * copy, or after a shift). These emit the conditional jump in assembly on `a`'s own register, so the
 * verifier sees exactly `if a op b`. The comparison is signed when `a` has a signed type (except ==,
 * != and &), and a 64-bit right-hand side is passed in a register (an immediate is only 32 bits).
 * `unlikely` puts the taken branch out of line; `likely` tests the inverted condition, so the
 * expected path falls through.
 */
#define ___oxbpf_cmp_sign_free(op)					\
	(__builtin_strcmp(#op, "==") == 0 || __builtin_strcmp(#op, "!=") == 0 || \
	 __builtin_strcmp(#op, "&") == 0)

#define ___oxbpf_is_signed(type) (((type)(-1)) < (type)1)

/* Jumps when `lhs OPSTR rhs` holds; the value is !fallthrough when it jumped, fallthrough otherwise. */
#define ___oxbpf_cmp_asm(lhs, opstr, rhs_constraint, rhs, jumped)		\
	({								\
		__label__ l_true;					\
		_Bool ___r = jumped;					\
		asm volatile goto("if %[l] " opstr " %[r] goto %l[l_true]"	\
				  :: [l] "r"((short)lhs), [r] rhs_constraint (rhs) \
				  :: l_true);				\
		___r = !jumped;						\
	l_true:								\
		___r;							\
	})

#define ___oxbpf_cmp(LHS, OP, RHS, jumped)					\
	({								\
		typeof(LHS) __lhs = (LHS);				\
		typeof(RHS) __rhs = (RHS);				\
		_Bool ___c;						\
		_Static_assert(sizeof(&(LHS)), "1st argument must be an lvalue expression"); \
		(void)(__lhs OP __rhs); /* type-checks the comparison (-Wsign-compare) */ \
		if (___oxbpf_cmp_sign_free(OP) || !___oxbpf_is_signed(typeof(__lhs))) { \
			if (sizeof(__rhs) == 8)				\
				___c = ___oxbpf_cmp_asm(__lhs, #OP, "r", __rhs, jumped); \
			else						\
				___c = ___oxbpf_cmp_asm(__lhs, #OP, "ri", __rhs, jumped); \
		} else {						\
			if (sizeof(__rhs) == 8)				\
				___c = ___oxbpf_cmp_asm(__lhs, "s" #OP, "r", __rhs, jumped); \
			else						\
				___c = ___oxbpf_cmp_asm(__lhs, "s" #OP, "ri", __rhs, jumped); \
		}							\
		___c;							\
	})

#ifndef bpf_cmp_unlikely
#define bpf_cmp_unlikely(LHS, OP, RHS) ___oxbpf_cmp(LHS, OP, RHS, 1)
#endif

#ifndef bpf_cmp_likely
#define bpf_cmp_likely(LHS, OP, RHS)					\
	({								\
		_Bool ___l = 0;						\
		if (__builtin_strcmp(#OP, "==") == 0)			\
			___l = ___oxbpf_cmp(LHS, !=, RHS, 0);		\
		else if (__builtin_strcmp(#OP, "!=") == 0)		\
			___l = ___oxbpf_cmp(LHS, ==, RHS, 0);		\
		else if (__builtin_strcmp(#OP, "<=") == 0)		\
			___l = ___oxbpf_cmp(LHS, >, RHS, 0);		\
		else if (__builtin_strcmp(#OP, "<") == 0)		\
			___l = ___oxbpf_cmp(LHS, >=, RHS, 0);		\
		else if (__builtin_strcmp(#OP, ">") == 0)		\
			___l = ___oxbpf_cmp(LHS, <=, RHS, 0);		\
		else if (__builtin_strcmp(#OP, ">=") == 0)		\
			___l = ___oxbpf_cmp(LHS, <, RHS, 0);		\
		else							\
			asm volatile("r0 " #OP " invalid compare");	\
		___l;							\
	})
#endif

#endif /* __BPF_HELPERS__ */
