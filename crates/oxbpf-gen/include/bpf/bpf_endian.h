/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * oxbpf: byte-order conversion for BPF programs (and for user space sharing the same header), with the
 * names of libbpf 1.7's <bpf/bpf_endian.h>.
 *
 * bpf_htons(x) and friends fold to a constant when x is one (so they work in case labels and static
 * initialisers) and otherwise become a single BPF_END instruction via __builtin_bswap*.
 *
 * The byte order is the compiler's target's (__BYTE_ORDER__): -target bpf follows the build host,
 * bpfel/bpfeb choose explicitly. libc's __BYTE_ORDER is not consulted, it describes the host.
 */
#ifndef __BPF_ENDIAN__
#define __BPF_ENDIAN__

/*
 * Constant-foldable byte swaps: byte n of the b-bit value x, moved to byte position m. Shifting left
 * drops the bytes above n, shifting right by b-8 leaves byte n alone at the bottom, and the final
 * shift puts it at m.
 */
#define ___bpf_mvb(x, b, n, m) ((__u##b)(x) << (b - (n + 1) * 8) >> (b - 8) << (m * 8))

#define ___bpf_swab16(x) ((__u16)(___bpf_mvb(x, 16, 0, 1) | ___bpf_mvb(x, 16, 1, 0)))

#define ___bpf_swab32(x) ((__u32)(___bpf_mvb(x, 32, 0, 3) | ___bpf_mvb(x, 32, 1, 2) |	\
				  ___bpf_mvb(x, 32, 2, 1) | ___bpf_mvb(x, 32, 3, 0)))

#define ___bpf_swab64(x) ((__u64)(___bpf_mvb(x, 64, 0, 7) | ___bpf_mvb(x, 64, 1, 6) |	\
				  ___bpf_mvb(x, 64, 2, 5) | ___bpf_mvb(x, 64, 3, 4) |	\
				  ___bpf_mvb(x, 64, 4, 3) | ___bpf_mvb(x, 64, 5, 2) |	\
				  ___bpf_mvb(x, 64, 6, 1) | ___bpf_mvb(x, 64, 7, 0)))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Network order is big endian: every conversion is a swap. */
#define __bpf_htons(x)			__builtin_bswap16(x)
#define __bpf_ntohs(x)			__builtin_bswap16(x)
#define __bpf_htonl(x)			__builtin_bswap32(x)
#define __bpf_ntohl(x)			__builtin_bswap32(x)
#define __bpf_cpu_to_be64(x)		__builtin_bswap64(x)
#define __bpf_be64_to_cpu(x)		__builtin_bswap64(x)
#define __bpf_constant_htons(x)		___bpf_swab16(x)
#define __bpf_constant_ntohs(x)		___bpf_swab16(x)
#define __bpf_constant_htonl(x)		___bpf_swab32(x)
#define __bpf_constant_ntohl(x)		___bpf_swab32(x)
#define __bpf_constant_cpu_to_be64(x)	___bpf_swab64(x)
#define __bpf_constant_be64_to_cpu(x)	___bpf_swab64(x)
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
/* Already network order: every conversion is the identity. */
#define __bpf_htons(x)			(x)
#define __bpf_ntohs(x)			(x)
#define __bpf_htonl(x)			(x)
#define __bpf_ntohl(x)			(x)
#define __bpf_cpu_to_be64(x)		(x)
#define __bpf_be64_to_cpu(x)		(x)
#define __bpf_constant_htons(x)		(x)
#define __bpf_constant_ntohs(x)		(x)
#define __bpf_constant_htonl(x)		(x)
#define __bpf_constant_ntohl(x)		(x)
#define __bpf_constant_cpu_to_be64(x)	(x)
#define __bpf_constant_be64_to_cpu(x)	(x)
#else
#error "bpf_endian.h: __BYTE_ORDER__ is neither little nor big endian; check the compiler target"
#endif

/* Pick the folding form for compile-time constants, the instruction otherwise. */
#define ___bpf_endian_pick(conv, x) \
	(__builtin_constant_p(x) ? __bpf_constant_##conv(x) : __bpf_##conv(x))

#define bpf_htons(x)		___bpf_endian_pick(htons, x)
#define bpf_ntohs(x)		___bpf_endian_pick(ntohs, x)
#define bpf_htonl(x)		___bpf_endian_pick(htonl, x)
#define bpf_ntohl(x)		___bpf_endian_pick(ntohl, x)
#define bpf_cpu_to_be64(x)	___bpf_endian_pick(cpu_to_be64, x)
#define bpf_be64_to_cpu(x)	___bpf_endian_pick(be64_to_cpu, x)

#endif /* __BPF_ENDIAN__ */
