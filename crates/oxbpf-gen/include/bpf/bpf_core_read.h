/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * oxbpf: CO-RE (compile once, run everywhere) reads and checks, with the names of libbpf 1.7's
 * <bpf/bpf_core_read.h>.
 *
 * clang records, for every field access wrapped in one of its preserve_* builtins, a relocation in
 * .BTF.ext: "this instruction uses the offset (or size, existence, ...) of field X of local type T".
 * At load time the loader finds the matching type in the running kernel's BTF and patches the
 * instruction. Everything here is a thin shape around those builtins.
 */
#ifndef __BPF_CORE_READ_H__
#define __BPF_CORE_READ_H__

#include "bpf_helpers.h"

/* What __builtin_preserve_field_info(field, kind) returns. The values are clang's. */
enum bpf_field_info_kind {
	BPF_FIELD_BYTE_OFFSET = 0,	/* offset of the field (of its containing storage, for bitfields) */
	BPF_FIELD_BYTE_SIZE = 1,	/* size of the field (of its storage unit, for bitfields) */
	BPF_FIELD_EXISTS = 2,		/* 1 if the kernel's type has the field */
	BPF_FIELD_SIGNED = 3,		/* 1 if the field is a signed integer */
	BPF_FIELD_LSHIFT_U64 = 4,	/* left shift that puts a bitfield's top bit at bit 63 */
	BPF_FIELD_RSHIFT_U64 = 5,	/* right shift that then brings it down to bit 0 */
};

/* What __builtin_btf_type_id(type, kind) returns. */
enum bpf_type_id_kind {
	BPF_TYPE_ID_LOCAL = 0,		/* the type's id in the program's own BTF */
	BPF_TYPE_ID_TARGET = 1,		/* the id of the matching type in the kernel's BTF, or 0 */
};

/* What __builtin_preserve_type_info(type, kind) returns. */
enum bpf_type_info_kind {
	BPF_TYPE_EXISTS = 0,		/* 1 if a compatible type exists in the kernel */
	BPF_TYPE_SIZE = 1,		/* its size */
	BPF_TYPE_MATCHES = 2,		/* 1 if it matches by the stricter "type match" rules */
};

/* What __builtin_preserve_enum_value(value, kind) returns. */
enum bpf_enum_value_kind {
	BPF_ENUMVAL_EXISTS = 0,		/* 1 if the kernel's enum has the enumerator */
	BPF_ENUMVAL_VALUE = 1,		/* its value in the kernel */
};

/* One relocated fact about s->field. */
#define __CORE_RELO(src, field, info) \
	__builtin_preserve_field_info((src)->field, BPF_FIELD_##info)

/* ------------------------------------------------------------------------------------------------
 * Bitfields. The storage unit holding the bitfield is loaded into a u64 (1, 2, 4 or 8 bytes, as the
 * kernel lays it out), shifted left so the field's top bit is bit 63, then shifted right (arithmetic
 * for signed fields) so it ends at bit 0. Offsets, sizes, shifts and signedness are all relocated.
 */

/* Reads the storage unit with bpf_probe_read_kernel; on big endian it lands in the low-order bytes. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define __CORE_BITFIELD_PROBE_READ(dst, src, fld)			\
	bpf_probe_read_kernel((void *)dst,				\
			      __CORE_RELO(src, fld, BYTE_SIZE),		\
			      (const void *)src + __CORE_RELO(src, fld, BYTE_OFFSET))
#else
#define __CORE_BITFIELD_PROBE_READ(dst, src, fld)			\
	bpf_probe_read_kernel((void *)dst + (8 - __CORE_RELO(src, fld, BYTE_SIZE)), \
			      __CORE_RELO(src, fld, BYTE_SIZE),		\
			      (const void *)src + __CORE_RELO(src, fld, BYTE_OFFSET))
#endif

/* Shifts the loaded unit `v` (a u64 lvalue) so that it holds just the field's value. */
#define ___oxbpf_bitfield_extract(v, s, field)				\
	v <<= __CORE_RELO(s, field, LSHIFT_U64);			\
	if (__CORE_RELO(s, field, SIGNED))				\
		v = ((long long)v) >> __CORE_RELO(s, field, RSHIFT_U64);	\
	else								\
		v = v >> __CORE_RELO(s, field, RSHIFT_U64)

/* s->field as a u64, read with bpf_probe_read_kernel (any program type that may probe-read). */
#define BPF_CORE_READ_BITFIELD_PROBED(s, field) ({			\
	unsigned long long ___bf_v = 0;					\
									\
	__CORE_BITFIELD_PROBE_READ(&___bf_v, s, field);			\
	___oxbpf_bitfield_extract(___bf_v, s, field);			\
	___bf_v;							\
})

/*
 * s->field as a u64, read by direct loads (for programs that may dereference kernel pointers, such as
 * tp_btf and fentry). The empty asm pins the relocated address in a register, so the relocation is
 * applied once rather than once per load width in the switch.
 */
#define BPF_CORE_READ_BITFIELD(s, field) ({				\
	const void *___bf_p = (const void *)s + __CORE_RELO(s, field, BYTE_OFFSET); \
	unsigned long long ___bf_v;					\
									\
	asm volatile("" : "=r"(___bf_p) : "0"(___bf_p));		\
									\
	switch (__CORE_RELO(s, field, BYTE_SIZE)) {			\
	case 1: ___bf_v = *(const unsigned char *)___bf_p; break;	\
	case 2: ___bf_v = *(const unsigned short *)___bf_p; break;	\
	case 4: ___bf_v = *(const unsigned int *)___bf_p; break;	\
	case 8: ___bf_v = *(const unsigned long long *)___bf_p; break;	\
	default: ___bf_v = 0; break;					\
	}								\
	___oxbpf_bitfield_extract(___bf_v, s, field);			\
	___bf_v;							\
})

/*
 * s->field = new_val for a bitfield, by direct loads and stores: read the storage unit, replace the
 * field's bits, write it back.
 */
#define BPF_CORE_WRITE_BITFIELD(s, field, new_val) ({			\
	void *___bf_p = (void *)s + __CORE_RELO(s, field, BYTE_OFFSET);	\
	unsigned int ___bf_size = __CORE_RELO(s, field, BYTE_SIZE);	\
	unsigned int ___bf_lsh = __CORE_RELO(s, field, LSHIFT_U64);	\
	unsigned int ___bf_rsh = __CORE_RELO(s, field, RSHIFT_U64);	\
	unsigned long long ___bf_mask, ___bf_v, ___bf_new = new_val;	\
	unsigned int ___bf_pad = ___bf_rsh - ___bf_lsh;			\
									\
	asm volatile("" : "+r"(___bf_p));				\
									\
	switch (___bf_size) {						\
	case 1: ___bf_v = *(unsigned char *)___bf_p; break;		\
	case 2: ___bf_v = *(unsigned short *)___bf_p; break;		\
	case 4: ___bf_v = *(unsigned int *)___bf_p; break;		\
	case 8: ___bf_v = *(unsigned long long *)___bf_p; break;	\
	}								\
									\
	___bf_mask = (~0ULL << ___bf_rsh) >> ___bf_lsh;			\
	___bf_v = (___bf_v & ~___bf_mask) | ((___bf_new << ___bf_pad) & ___bf_mask); \
									\
	switch (___bf_size) {						\
	case 1: *(unsigned char *)___bf_p = ___bf_v; break;		\
	case 2: *(unsigned short *)___bf_p = ___bf_v; break;		\
	case 4: *(unsigned int *)___bf_p = ___bf_v; break;		\
	case 8: *(unsigned long long *)___bf_p = ___bf_v; break;	\
	}								\
})

/* ------------------------------------------------------------------------------------------------
 * Field, type and enum checks.
 */

/*
 * A typed null pointer standing in for `type` in the builtins. GCC folds such casts too early to see
 * the type, so it gets a fresh extern of the type instead.
 */
#ifdef __clang__
#define ___bpf_typeof(type) ((typeof(type) *) 0)
#else
#define ___bpf_typeof1(type, NR) ({					\
	extern typeof(type) *___concat(bpf_type_tmp_, NR);		\
	___concat(bpf_type_tmp_, NR);					\
})
#define ___bpf_typeof(type) ___bpf_typeof1(type, __COUNTER__)
#endif

/* A field named either as an expression (p->f) or as (type, f). */
#ifdef __clang__
#define ___bpf_field_ref1(field)	(field)
#define ___bpf_field_ref2(type, field)	(___bpf_typeof(type)->field)
#else
#define ___bpf_field_ref1(field)	(&(field))
#define ___bpf_field_ref2(type, field)	(&(___bpf_typeof(type)->field))
#endif
#define ___bpf_field_ref(args...) \
	___bpf_apply(___bpf_field_ref, ___bpf_narg(args))(args)

/* bpf_core_field_exists(p->f) or (struct t, f): 1 if the kernel's type has the field, else 0. */
#define bpf_core_field_exists(field...) \
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_EXISTS)

/* bpf_core_field_size(p->f) or (struct t, f): the field's size in the kernel. */
#define bpf_core_field_size(field...) \
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_BYTE_SIZE)

/* bpf_core_field_offset(p->f) or (struct t, f): the field's byte offset in the kernel. */
#define bpf_core_field_offset(field...) \
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_BYTE_OFFSET)

/* The BTF id of `type` in the program's own BTF. */
#define bpf_core_type_id_local(type) \
	__builtin_btf_type_id(*___bpf_typeof(type), BPF_TYPE_ID_LOCAL)

/* The BTF id of the kernel's matching type, 0 if there is none. */
#define bpf_core_type_id_kernel(type) \
	__builtin_btf_type_id(*___bpf_typeof(type), BPF_TYPE_ID_TARGET)

/* 1 if the kernel has a type compatible with `type` (struct, union, enum, typedef), else 0. */
#define bpf_core_type_exists(type) \
	__builtin_preserve_type_info(*___bpf_typeof(type), BPF_TYPE_EXISTS)

/* 1 if the kernel's type matches `type` member by member, else 0. */
#define bpf_core_type_matches(type) \
	__builtin_preserve_type_info(*___bpf_typeof(type), BPF_TYPE_MATCHES)

/* The size of the kernel's type, 0 if there is none. */
#define bpf_core_type_size(type) \
	__builtin_preserve_type_info(*___bpf_typeof(type), BPF_TYPE_SIZE)

/* bpf_core_enum_value_exists(enum t, ENUMERATOR): 1 if the kernel's enum has it, else 0. */
#ifdef __clang__
#define bpf_core_enum_value_exists(enum_type, enum_value) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enum_value, BPF_ENUMVAL_EXISTS)
#else
#define bpf_core_enum_value_exists(enum_type, enum_value) \
	__builtin_preserve_enum_value(___bpf_typeof(enum_type), enum_value, BPF_ENUMVAL_EXISTS)
#endif

/* bpf_core_enum_value(enum t, ENUMERATOR): its value in the kernel (64-bit), 0 if absent. */
#ifdef __clang__
#define bpf_core_enum_value(enum_type, enum_value) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enum_value, BPF_ENUMVAL_VALUE)
#else
#define bpf_core_enum_value(enum_type, enum_value) \
	__builtin_preserve_enum_value(___bpf_typeof(enum_type), enum_value, BPF_ENUMVAL_VALUE)
#endif

/* ------------------------------------------------------------------------------------------------
 * Single reads: the probe-read helpers with the source address relocated.
 */
#define bpf_core_read(dst, sz, src) \
	bpf_probe_read_kernel(dst, sz, (const void *)__builtin_preserve_access_index(src))

/* User memory laid out by kernel (UAPI) types: the types still have to exist in kernel BTF. */
#define bpf_core_read_user(dst, sz, src) \
	bpf_probe_read_user(dst, sz, (const void *)__builtin_preserve_access_index(src))

#define bpf_core_read_str(dst, sz, src) \
	bpf_probe_read_kernel_str(dst, sz, (const void *)__builtin_preserve_access_index(src))

#define bpf_core_read_user_str(dst, sz, src) \
	bpf_probe_read_user_str(dst, sz, (const void *)__builtin_preserve_access_index(src))

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * bpf_core_cast(ptr, type): `ptr` as a `type *` the verifier knows is the kernel's type, so its
 * fields can be read directly (read-only) instead of through BPF_CORE_READ.
 */
#define bpf_core_cast(ptr, type) \
	((typeof(type) *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))

/* ------------------------------------------------------------------------------------------------
 * Pointer chasing: BPF_CORE_READ(s, a.b, c, d) reads s->a.b->c->d with one probe read per arrow.
 *
 * Each step reads a pointer into the scratch `const void *__t`, then casts __t back to the type the
 * chain has at that point (recovered with typeof on the same arrow expression) to relocate the next
 * field. The last step reads into the destination. Up to 9 accessors.
 */

/* Small preprocessor tools, under the names existing programs use. */
#define ___concat(a, b) a ## b
#define ___apply(fn, n) ___concat(fn, n)
#define ___nth(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, __11, N, ...) N
/* Argument count, 0..10. */
#define ___narg(...) ___nth(_, ##__VA_ARGS__, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)

/* ___arrow(s, a, b) is s->a->b. */
#define ___arrow1(a) a
#define ___arrow2(a, b) a->b
#define ___arrow3(a, b, c) a->b->c
#define ___arrow4(a, b, c, d) a->b->c->d
#define ___arrow5(a, b, c, d, e) a->b->c->d->e
#define ___arrow6(a, b, c, d, e, f) a->b->c->d->e->f
#define ___arrow7(a, b, c, d, e, f, g) a->b->c->d->e->f->g
#define ___arrow8(a, b, c, d, e, f, g, h) a->b->c->d->e->f->g->h
#define ___arrow9(a, b, c, d, e, f, g, h, i) a->b->c->d->e->f->g->h->i
#define ___arrow10(a, b, c, d, e, f, g, h, i, j) a->b->c->d->e->f->g->h->i->j
#define ___arrow(...) ___apply(___arrow, ___narg(__VA_ARGS__))(__VA_ARGS__)

/* ___empty(...) is 0 without arguments and N with any; ___last and ___nolast split off the last one. */
#define ___empty(...) ___nth(_, ##__VA_ARGS__, N, N, N, N, N, N, N, N, N, N, 0)
#define ___last1(x) x
#define ___last2(a, x) x
#define ___last3(a, b, x) x
#define ___last4(a, b, c, x) x
#define ___last5(a, b, c, d, x) x
#define ___last6(a, b, c, d, e, x) x
#define ___last7(a, b, c, d, e, f, x) x
#define ___last8(a, b, c, d, e, f, g, x) x
#define ___last9(a, b, c, d, e, f, g, h, x) x
#define ___last10(a, b, c, d, e, f, g, h, i, x) x
#define ___last(...) ___apply(___last, ___narg(__VA_ARGS__))(__VA_ARGS__)
#define ___nolast2(a, x) a
#define ___nolast3(a, b, x) a, b
#define ___nolast4(a, b, c, x) a, b, c
#define ___nolast5(a, b, c, d, x) a, b, c, d
#define ___nolast6(a, b, c, d, e, x) a, b, c, d, e
#define ___nolast7(a, b, c, d, e, f, x) a, b, c, d, e, f
#define ___nolast8(a, b, c, d, e, f, g, x) a, b, c, d, e, f, g
#define ___nolast9(a, b, c, d, e, f, g, h, x) a, b, c, d, e, f, g, h
#define ___nolast10(a, b, c, d, e, f, g, h, i, x) a, b, c, d, e, f, g, h, i
#define ___nolast(...) ___apply(___nolast, ___narg(__VA_ARGS__))(__VA_ARGS__)

/* The type of the arrow chain, without qualifiers (so `const volatile` sources give a plain local). */
#if defined(__clang__) && (__clang_major__ >= 19)
#define ___type(...) __typeof_unqual__(___arrow(__VA_ARGS__))
#elif defined(__GNUC__) && (__GNUC__ >= 14)
#define ___type(...) __typeof_unqual__(___arrow(__VA_ARGS__))
#else
#define ___type(...) typeof(___arrow(__VA_ARGS__))
#endif

/* fn(dst, sizeof(*dst), &((from_type)from)->field): one (relocated) read. */
#define ___read(read_fn, dst, src_type, src, accessor) \
	read_fn((void *)(dst), sizeof(*(dst)), &((src_type)(src))->accessor)

/* Pointer step k of a chain: __t = (chain up to k-1)->a_k. The first step starts from s itself. */
#define ___oxbpf_hop0(fp, s, a)		const void *__t; ___read(fp, &__t, ___type(s), s, a);
#define ___oxbpf_hop(fp, prefix_type, a)	___read(fp, &__t, prefix_type, __t, a);

/* Chains by accessor count: fn reads the final field into dst, fp reads the pointers on the way. */
#define ___oxbpf_chain1(fn, fp, dst, s, a)					\
	___read(fn, dst, ___type(s), s, a);
#define ___oxbpf_chain2(fn, fp, dst, s, a, b)					\
	___oxbpf_hop0(fp, s, a)							\
	___read(fn, dst, ___type(s, a), __t, b);
#define ___oxbpf_chain3(fn, fp, dst, s, a, b, c)				\
	___oxbpf_hop0(fp, s, a)							\
	___oxbpf_hop(fp, ___type(s, a), b)					\
	___read(fn, dst, ___type(s, a, b), __t, c);
#define ___oxbpf_chain4(fn, fp, dst, s, a, b, c, d)				\
	___oxbpf_hop0(fp, s, a)							\
	___oxbpf_hop(fp, ___type(s, a), b)					\
	___oxbpf_hop(fp, ___type(s, a, b), c)					\
	___read(fn, dst, ___type(s, a, b, c), __t, d);
#define ___oxbpf_chain5(fn, fp, dst, s, a, b, c, d, e)				\
	___oxbpf_hop0(fp, s, a)							\
	___oxbpf_hop(fp, ___type(s, a), b)					\
	___oxbpf_hop(fp, ___type(s, a, b), c)					\
	___oxbpf_hop(fp, ___type(s, a, b, c), d)				\
	___read(fn, dst, ___type(s, a, b, c, d), __t, e);
#define ___oxbpf_chain6(fn, fp, dst, s, a, b, c, d, e, f)			\
	___oxbpf_hop0(fp, s, a)							\
	___oxbpf_hop(fp, ___type(s, a), b)					\
	___oxbpf_hop(fp, ___type(s, a, b), c)					\
	___oxbpf_hop(fp, ___type(s, a, b, c), d)				\
	___oxbpf_hop(fp, ___type(s, a, b, c, d), e)				\
	___read(fn, dst, ___type(s, a, b, c, d, e), __t, f);
#define ___oxbpf_chain7(fn, fp, dst, s, a, b, c, d, e, f, g)			\
	___oxbpf_hop0(fp, s, a)							\
	___oxbpf_hop(fp, ___type(s, a), b)					\
	___oxbpf_hop(fp, ___type(s, a, b), c)					\
	___oxbpf_hop(fp, ___type(s, a, b, c), d)				\
	___oxbpf_hop(fp, ___type(s, a, b, c, d), e)				\
	___oxbpf_hop(fp, ___type(s, a, b, c, d, e), f)				\
	___read(fn, dst, ___type(s, a, b, c, d, e, f), __t, g);
#define ___oxbpf_chain8(fn, fp, dst, s, a, b, c, d, e, f, g, h)			\
	___oxbpf_hop0(fp, s, a)							\
	___oxbpf_hop(fp, ___type(s, a), b)					\
	___oxbpf_hop(fp, ___type(s, a, b), c)					\
	___oxbpf_hop(fp, ___type(s, a, b, c), d)				\
	___oxbpf_hop(fp, ___type(s, a, b, c, d), e)				\
	___oxbpf_hop(fp, ___type(s, a, b, c, d, e), f)				\
	___oxbpf_hop(fp, ___type(s, a, b, c, d, e, f), g)			\
	___read(fn, dst, ___type(s, a, b, c, d, e, f, g), __t, h);
#define ___oxbpf_chain9(fn, fp, dst, s, a, b, c, d, e, f, g, h, i)		\
	___oxbpf_hop0(fp, s, a)							\
	___oxbpf_hop(fp, ___type(s, a), b)					\
	___oxbpf_hop(fp, ___type(s, a, b), c)					\
	___oxbpf_hop(fp, ___type(s, a, b, c), d)				\
	___oxbpf_hop(fp, ___type(s, a, b, c, d), e)				\
	___oxbpf_hop(fp, ___type(s, a, b, c, d, e), f)				\
	___oxbpf_hop(fp, ___type(s, a, b, c, d, e, f), g)			\
	___oxbpf_hop(fp, ___type(s, a, b, c, d, e, f, g), h)			\
	___read(fn, dst, ___type(s, a, b, c, d, e, f, g, h), __t, i);

/* Dispatch on the number of accessors (a plus the rest). */
#define ___core_read(fn, fn_ptr, dst, src, a, ...)				\
	___apply(___oxbpf_chain, ___narg(a, ##__VA_ARGS__))(fn, fn_ptr, dst, src, a, ##__VA_ARGS__)

/* Read s->a...->z into *dst (the final field with bpf_core_read; the _STR_ forms read it as a string). */
#define BPF_CORE_READ_INTO(dst, src, a, ...) ({					\
	___core_read(bpf_core_read, bpf_core_read, dst, (src), a, ##__VA_ARGS__)	\
})

#define BPF_CORE_READ_USER_INTO(dst, src, a, ...) ({				\
	___core_read(bpf_core_read_user, bpf_core_read_user, dst, (src), a, ##__VA_ARGS__) \
})

#define BPF_CORE_READ_STR_INTO(dst, src, a, ...) ({				\
	___core_read(bpf_core_read_str, bpf_core_read, dst, (src), a, ##__VA_ARGS__)	\
})

#define BPF_CORE_READ_USER_STR_INTO(dst, src, a, ...) ({			\
	___core_read(bpf_core_read_user_str, bpf_core_read_user, dst, (src), a, ##__VA_ARGS__) \
})

/* The BPF_PROBE_READ* forms read the same way without relocations: any types, kernel or not. */
#define BPF_PROBE_READ_INTO(dst, src, a, ...) ({				\
	___core_read(bpf_probe_read_kernel, bpf_probe_read_kernel, dst, (src), a, ##__VA_ARGS__) \
})

#define BPF_PROBE_READ_USER_INTO(dst, src, a, ...) ({				\
	___core_read(bpf_probe_read_user, bpf_probe_read_user, dst, (src), a, ##__VA_ARGS__) \
})

#define BPF_PROBE_READ_STR_INTO(dst, src, a, ...) ({				\
	___core_read(bpf_probe_read_kernel_str, bpf_probe_read_kernel, dst, (src), a, ##__VA_ARGS__) \
})

#define BPF_PROBE_READ_USER_STR_INTO(dst, src, a, ...) ({			\
	___core_read(bpf_probe_read_user_str, bpf_probe_read_user, dst, (src), a, ##__VA_ARGS__) \
})

/* The value of s->a...->z, e.g. BPF_CORE_READ(task, mm, exe_file, f_path.dentry). */
#define ___oxbpf_read_value(into, src, a, ...) ({				\
	___type((src), a, ##__VA_ARGS__) __r;					\
	into(&__r, (src), a, ##__VA_ARGS__);					\
	__r;									\
})

#define BPF_CORE_READ(src, a, ...) \
	___oxbpf_read_value(BPF_CORE_READ_INTO, src, a, ##__VA_ARGS__)
#define BPF_CORE_READ_USER(src, a, ...) \
	___oxbpf_read_value(BPF_CORE_READ_USER_INTO, src, a, ##__VA_ARGS__)
#define BPF_PROBE_READ(src, a, ...) \
	___oxbpf_read_value(BPF_PROBE_READ_INTO, src, a, ##__VA_ARGS__)
#define BPF_PROBE_READ_USER(src, a, ...) \
	___oxbpf_read_value(BPF_PROBE_READ_USER_INTO, src, a, ##__VA_ARGS__)

#endif /* __BPF_CORE_READ_H__ */
