/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * oxbpf: tracing helpers, with the names of libbpf 1.7's <bpf/bpf_tracing.h>.
 *
 *  - PT_REGS_PARM1(ctx) ... : function arguments, return value and registers out of a kprobe/uprobe
 *    `struct pt_regs *`, per architecture (pick it with -D__TARGET_ARCH_<arch>; without one the
 *    compiler's own target is used, which is only right when not compiling with -target bpf).
 *    _CORE variants read through BPF_CORE_READ (for program types that cannot dereference ctx),
 *    _SYSCALL variants follow the syscall calling convention.
 *  - BPF_PROG / BPF_PROG2 (tp_btf, fentry, fexit, lsm, struct_ops, iter), BPF_KPROBE / BPF_KRETPROBE,
 *    BPF_KSYSCALL, BPF_UPROBE / BPF_URETPROBE: declare a program with typed, named arguments.
 */
#ifndef __BPF_TRACING_H__
#define __BPF_TRACING_H__

#include "bpf_helpers.h"

/* ------------------------------------------------------------------------------------------------
 * Target architecture: bpf_target_<arch> plus bpf_target_defined.
 */
#if defined(__TARGET_ARCH_x86)
#define bpf_target_x86
#elif defined(__TARGET_ARCH_s390)
#define bpf_target_s390
#elif defined(__TARGET_ARCH_arm)
#define bpf_target_arm
#elif defined(__TARGET_ARCH_arm64)
#define bpf_target_arm64
#elif defined(__TARGET_ARCH_mips)
#define bpf_target_mips
#elif defined(__TARGET_ARCH_powerpc)
#define bpf_target_powerpc
#elif defined(__TARGET_ARCH_sparc)
#define bpf_target_sparc
#elif defined(__TARGET_ARCH_riscv)
#define bpf_target_riscv
#elif defined(__TARGET_ARCH_arc)
#define bpf_target_arc
#elif defined(__TARGET_ARCH_loongarch)
#define bpf_target_loongarch
/* No __TARGET_ARCH_*: go by what the compiler targets. */
#elif defined(__x86_64__)
#define bpf_target_x86
#elif defined(__s390__)
#define bpf_target_s390
#elif defined(__arm__)
#define bpf_target_arm
#elif defined(__aarch64__)
#define bpf_target_arm64
#elif defined(__mips__)
#define bpf_target_mips
#elif defined(__powerpc__)
#define bpf_target_powerpc
#elif defined(__sparc__)
#define bpf_target_sparc
#elif defined(__riscv) && __riscv_xlen == 64
#define bpf_target_riscv
#elif defined(__arc__)
#define bpf_target_arc
#elif defined(__loongarch__)
#define bpf_target_loongarch
#endif

#if defined(bpf_target_x86) || defined(bpf_target_s390) || defined(bpf_target_arm) ||	\
	defined(bpf_target_arm64) || defined(bpf_target_mips) || defined(bpf_target_powerpc) ||	\
	defined(bpf_target_sparc) || defined(bpf_target_riscv) || defined(bpf_target_arc) ||	\
	defined(bpf_target_loongarch)
#define bpf_target_defined
#endif

#ifndef __BPF_TARGET_MISSING
#define __BPF_TARGET_MISSING "GCC error \"Must specify a BPF target arch via __TARGET_ARCH_xxx\""
#endif

/* ------------------------------------------------------------------------------------------------
 * Register tables. For each architecture: which pt_regs member holds argument 1..8 of a function
 * call (__PT_PARMn_REG), argument 1..7 of a syscall (__PT_PARMn_SYSCALL_REG), the return address
 * (RET), frame pointer (FP), return value (RC), stack pointer (SP) and instruction pointer (IP).
 * __PT_REGS_CAST names the struct when user space sees pt_regs under another name.
 */
#if defined(bpf_target_x86)

#if defined(__KERNEL__) || defined(__VMLINUX_H__)
/* The kernel's struct pt_regs (vmlinux.h): short register names. System V AMD64 argument order. */
#define __PT_PARM1_REG di
#define __PT_PARM2_REG si
#define __PT_PARM3_REG dx
#define __PT_PARM4_REG cx
#define __PT_PARM5_REG r8
#define __PT_PARM6_REG r9
#define __PT_PARM1_SYSCALL_REG di
#define __PT_PARM2_SYSCALL_REG si
#define __PT_PARM3_SYSCALL_REG dx
#define __PT_PARM4_SYSCALL_REG r10	/* the syscall instruction clobbers rcx */
#define __PT_PARM5_SYSCALL_REG r8
#define __PT_PARM6_SYSCALL_REG r9
#define __PT_RET_REG sp
#define __PT_FP_REG bp
#define __PT_RC_REG ax
#define __PT_SP_REG sp
#define __PT_IP_REG ip
#elif defined(__i386__)
/* User-space i386 pt_regs; the kernel is built with -mregparm=3, syscalls use their own order. */
#define __PT_PARM1_REG eax
#define __PT_PARM2_REG edx
#define __PT_PARM3_REG ecx
#define __PT_PARM1_SYSCALL_REG ebx
#define __PT_PARM2_SYSCALL_REG ecx
#define __PT_PARM3_SYSCALL_REG edx
#define __PT_PARM4_SYSCALL_REG esi
#define __PT_PARM5_SYSCALL_REG edi
#define __PT_PARM6_SYSCALL_REG ebp
#define __PT_RET_REG esp
#define __PT_FP_REG ebp
#define __PT_RC_REG eax
#define __PT_SP_REG esp
#define __PT_IP_REG eip
#else
/* User-space x86-64 pt_regs (<asm/ptrace.h>): r-prefixed names. */
#define __PT_PARM1_REG rdi
#define __PT_PARM2_REG rsi
#define __PT_PARM3_REG rdx
#define __PT_PARM4_REG rcx
#define __PT_PARM5_REG r8
#define __PT_PARM6_REG r9
#define __PT_PARM1_SYSCALL_REG rdi
#define __PT_PARM2_SYSCALL_REG rsi
#define __PT_PARM3_SYSCALL_REG rdx
#define __PT_PARM4_SYSCALL_REG r10
#define __PT_PARM5_SYSCALL_REG r8
#define __PT_PARM6_SYSCALL_REG r9
#define __PT_RET_REG rsp
#define __PT_FP_REG rbp
#define __PT_RC_REG rax
#define __PT_SP_REG rsp
#define __PT_IP_REG rip
#endif

#elif defined(bpf_target_s390)

/* The first syscall argument is saved in orig_gpr2, a member user_pt_regs lacks. */
struct pt_regs___s390 {
	unsigned long orig_gpr2;
} __attribute__((preserve_access_index));

#define __PT_REGS_CAST(x) ((const user_pt_regs *)(x))
#define __PT_PARM1_REG gprs[2]
#define __PT_PARM2_REG gprs[3]
#define __PT_PARM3_REG gprs[4]
#define __PT_PARM4_REG gprs[5]
#define __PT_PARM5_REG gprs[6]
#define __PT_PARM1_SYSCALL_REG orig_gpr2
#define __PT_PARM2_SYSCALL_REG gprs[3]
#define __PT_PARM3_SYSCALL_REG gprs[4]
#define __PT_PARM4_SYSCALL_REG gprs[5]
#define __PT_PARM5_SYSCALL_REG gprs[6]
#define __PT_PARM6_SYSCALL_REG gprs[7]
#define PT_REGS_PARM1_SYSCALL(x) (((const struct pt_regs___s390 *)(x))->__PT_PARM1_SYSCALL_REG)
#define PT_REGS_PARM1_CORE_SYSCALL(x) \
	BPF_CORE_READ((const struct pt_regs___s390 *)(x), __PT_PARM1_SYSCALL_REG)
#define __PT_RET_REG gprs[14]
#define __PT_FP_REG gprs[11]	/* needs CONFIG_FRAME_POINTER */
#define __PT_RC_REG gprs[2]
#define __PT_SP_REG gprs[15]
#define __PT_IP_REG psw.addr

#elif defined(bpf_target_arm)

/* AAPCS32: four arguments in r0-r3; syscalls take up to seven in r0-r6. */
#define __PT_PARM1_REG uregs[0]
#define __PT_PARM2_REG uregs[1]
#define __PT_PARM3_REG uregs[2]
#define __PT_PARM4_REG uregs[3]
#define __PT_PARM1_SYSCALL_REG uregs[0]
#define __PT_PARM2_SYSCALL_REG uregs[1]
#define __PT_PARM3_SYSCALL_REG uregs[2]
#define __PT_PARM4_SYSCALL_REG uregs[3]
#define __PT_PARM5_SYSCALL_REG uregs[4]
#define __PT_PARM6_SYSCALL_REG uregs[5]
#define __PT_PARM7_SYSCALL_REG uregs[6]
#define __PT_RET_REG uregs[14]
#define __PT_FP_REG uregs[11]	/* needs CONFIG_FRAME_POINTER */
#define __PT_RC_REG uregs[0]
#define __PT_SP_REG uregs[13]
#define __PT_IP_REG uregs[12]

#elif defined(bpf_target_arm64)

/* The first syscall argument is saved in orig_x0, a member user_pt_regs lacks. */
struct pt_regs___arm64 {
	unsigned long orig_x0;
} __attribute__((preserve_access_index));

#define __PT_REGS_CAST(x) ((const struct user_pt_regs *)(x))
#define __PT_PARM1_REG regs[0]
#define __PT_PARM2_REG regs[1]
#define __PT_PARM3_REG regs[2]
#define __PT_PARM4_REG regs[3]
#define __PT_PARM5_REG regs[4]
#define __PT_PARM6_REG regs[5]
#define __PT_PARM7_REG regs[6]
#define __PT_PARM8_REG regs[7]
#define __PT_PARM1_SYSCALL_REG orig_x0
#define __PT_PARM2_SYSCALL_REG regs[1]
#define __PT_PARM3_SYSCALL_REG regs[2]
#define __PT_PARM4_SYSCALL_REG regs[3]
#define __PT_PARM5_SYSCALL_REG regs[4]
#define __PT_PARM6_SYSCALL_REG regs[5]
#define PT_REGS_PARM1_SYSCALL(x) (((const struct pt_regs___arm64 *)(x))->__PT_PARM1_SYSCALL_REG)
#define PT_REGS_PARM1_CORE_SYSCALL(x) \
	BPF_CORE_READ((const struct pt_regs___arm64 *)(x), __PT_PARM1_SYSCALL_REG)
#define __PT_RET_REG regs[30]
#define __PT_FP_REG regs[29]	/* needs CONFIG_FRAME_POINTER */
#define __PT_RC_REG regs[0]
#define __PT_SP_REG sp
#define __PT_IP_REG pc

#elif defined(bpf_target_mips)

/* N64 ABI: arguments in a0-a7 ($4-$11). */
#define __PT_PARM1_REG regs[4]
#define __PT_PARM2_REG regs[5]
#define __PT_PARM3_REG regs[6]
#define __PT_PARM4_REG regs[7]
#define __PT_PARM5_REG regs[8]
#define __PT_PARM6_REG regs[9]
#define __PT_PARM7_REG regs[10]
#define __PT_PARM8_REG regs[11]
#define __PT_PARM1_SYSCALL_REG regs[4]
#define __PT_PARM2_SYSCALL_REG regs[5]
#define __PT_PARM3_SYSCALL_REG regs[6]
#define __PT_PARM4_SYSCALL_REG regs[7]
#define __PT_PARM5_SYSCALL_REG regs[8]	/* N32/N64 only */
#define __PT_PARM6_SYSCALL_REG regs[9]	/* N32/N64 only */
#define __PT_RET_REG regs[31]
#define __PT_FP_REG regs[30]	/* needs CONFIG_FRAME_POINTER */
#define __PT_RC_REG regs[2]
#define __PT_SP_REG regs[29]
#define __PT_IP_REG cp0_epc

#elif defined(bpf_target_powerpc)

/* Arguments in r3-r10; no syscall wrapper, so syscall arguments sit in the probe's own pt_regs. */
#define __PT_PARM1_REG gpr[3]
#define __PT_PARM2_REG gpr[4]
#define __PT_PARM3_REG gpr[5]
#define __PT_PARM4_REG gpr[6]
#define __PT_PARM5_REG gpr[7]
#define __PT_PARM6_REG gpr[8]
#define __PT_PARM7_REG gpr[9]
#define __PT_PARM8_REG gpr[10]
#define PT_REGS_SYSCALL_REGS(ctx) ctx
#define __PT_PARM1_SYSCALL_REG orig_gpr3
#define __PT_PARM2_SYSCALL_REG gpr[4]
#define __PT_PARM3_SYSCALL_REG gpr[5]
#define __PT_PARM4_SYSCALL_REG gpr[6]
#define __PT_PARM5_SYSCALL_REG gpr[7]
#define __PT_PARM6_SYSCALL_REG gpr[8]
#if !defined(__arch64__)
#define __PT_PARM7_SYSCALL_REG gpr[9]	/* 32-bit powerpc only */
#endif
#define __PT_RET_REG regs[31]
#define __PT_FP_REG __unsupported__
#define __PT_RC_REG gpr[3]
#define __PT_SP_REG gpr[1]
#define __PT_IP_REG nip

#elif defined(bpf_target_sparc)

/* Arguments in the in-registers i0-i5. */
#define __PT_PARM1_REG u_regs[UREG_I0]
#define __PT_PARM2_REG u_regs[UREG_I1]
#define __PT_PARM3_REG u_regs[UREG_I2]
#define __PT_PARM4_REG u_regs[UREG_I3]
#define __PT_PARM5_REG u_regs[UREG_I4]
#define __PT_PARM6_REG u_regs[UREG_I5]
#define __PT_PARM1_SYSCALL_REG u_regs[UREG_I0]
#define __PT_PARM2_SYSCALL_REG u_regs[UREG_I1]
#define __PT_PARM3_SYSCALL_REG u_regs[UREG_I2]
#define __PT_PARM4_SYSCALL_REG u_regs[UREG_I3]
#define __PT_PARM5_SYSCALL_REG u_regs[UREG_I4]
#define __PT_PARM6_SYSCALL_REG u_regs[UREG_I5]
#define __PT_RET_REG u_regs[UREG_I7]
#define __PT_FP_REG __unsupported__
#define __PT_RC_REG u_regs[UREG_I0]
#define __PT_SP_REG u_regs[UREG_FP]
#if defined(__arch64__)
#define __PT_IP_REG tpc
#else
#define __PT_IP_REG pc
#endif

#elif defined(bpf_target_riscv)

/* The first syscall argument is saved in orig_a0, a member user_regs_struct lacks. */
struct pt_regs___riscv {
	unsigned long orig_a0;
} __attribute__((preserve_access_index));

#define __PT_REGS_CAST(x) ((const struct user_regs_struct *)(x))
#define __PT_PARM1_REG a0
#define __PT_PARM2_REG a1
#define __PT_PARM3_REG a2
#define __PT_PARM4_REG a3
#define __PT_PARM5_REG a4
#define __PT_PARM6_REG a5
#define __PT_PARM7_REG a6
#define __PT_PARM8_REG a7
#define __PT_PARM1_SYSCALL_REG orig_a0
#define __PT_PARM2_SYSCALL_REG a1
#define __PT_PARM3_SYSCALL_REG a2
#define __PT_PARM4_SYSCALL_REG a3
#define __PT_PARM5_SYSCALL_REG a4
#define __PT_PARM6_SYSCALL_REG a5
#define PT_REGS_PARM1_SYSCALL(x) (((const struct pt_regs___riscv *)(x))->__PT_PARM1_SYSCALL_REG)
#define PT_REGS_PARM1_CORE_SYSCALL(x) \
	BPF_CORE_READ((const struct pt_regs___riscv *)(x), __PT_PARM1_SYSCALL_REG)
#define __PT_RET_REG ra
#define __PT_FP_REG s0
#define __PT_RC_REG a0
#define __PT_SP_REG sp
#define __PT_IP_REG pc

#elif defined(bpf_target_arc)

/* ARCv2: arguments in r0-r7; no syscall wrapper. */
#define __PT_REGS_CAST(x) ((const struct user_regs_struct *)(x))
#define __PT_PARM1_REG scratch.r0
#define __PT_PARM2_REG scratch.r1
#define __PT_PARM3_REG scratch.r2
#define __PT_PARM4_REG scratch.r3
#define __PT_PARM5_REG scratch.r4
#define __PT_PARM6_REG scratch.r5
#define __PT_PARM7_REG scratch.r6
#define __PT_PARM8_REG scratch.r7
#define PT_REGS_SYSCALL_REGS(ctx) ctx
#define __PT_PARM1_SYSCALL_REG scratch.r0
#define __PT_PARM2_SYSCALL_REG scratch.r1
#define __PT_PARM3_SYSCALL_REG scratch.r2
#define __PT_PARM4_SYSCALL_REG scratch.r3
#define __PT_PARM5_SYSCALL_REG scratch.r4
#define __PT_PARM6_SYSCALL_REG scratch.r5
#define __PT_RET_REG scratch.blink
#define __PT_FP_REG scratch.fp
#define __PT_RC_REG scratch.r0
#define __PT_SP_REG scratch.sp
#define __PT_IP_REG scratch.ret

#elif defined(bpf_target_loongarch)

/* Arguments in a0-a7 ($r4-$r11); no syscall wrapper. */
#define __PT_REGS_CAST(x) ((const struct user_pt_regs *)(x))
#define __PT_PARM1_REG regs[4]
#define __PT_PARM2_REG regs[5]
#define __PT_PARM3_REG regs[6]
#define __PT_PARM4_REG regs[7]
#define __PT_PARM5_REG regs[8]
#define __PT_PARM6_REG regs[9]
#define __PT_PARM7_REG regs[10]
#define __PT_PARM8_REG regs[11]
#define PT_REGS_SYSCALL_REGS(ctx) ctx
#define __PT_PARM1_SYSCALL_REG regs[4]
#define __PT_PARM2_SYSCALL_REG regs[5]
#define __PT_PARM3_SYSCALL_REG regs[6]
#define __PT_PARM4_SYSCALL_REG regs[7]
#define __PT_PARM5_SYSCALL_REG regs[8]
#define __PT_PARM6_SYSCALL_REG regs[9]
#define __PT_RET_REG regs[1]
#define __PT_FP_REG regs[22]
#define __PT_RC_REG regs[4]
#define __PT_SP_REG regs[3]
#define __PT_IP_REG csr_era

#endif /* register tables */

/* ------------------------------------------------------------------------------------------------
 * Register accessors.
 */
#if defined(bpf_target_defined)

struct pt_regs;

#ifndef __PT_REGS_CAST
#define __PT_REGS_CAST(x) (x)
#endif

/* Slots an architecture does not pass in registers name a member that does not exist, so using them
 * is a compile error rather than a wrong value. */
#ifndef __PT_PARM4_REG
#define __PT_PARM4_REG __unsupported__
#endif
#ifndef __PT_PARM5_REG
#define __PT_PARM5_REG __unsupported__
#endif
#ifndef __PT_PARM6_REG
#define __PT_PARM6_REG __unsupported__
#endif
#ifndef __PT_PARM7_REG
#define __PT_PARM7_REG __unsupported__
#endif
#ifndef __PT_PARM8_REG
#define __PT_PARM8_REG __unsupported__
#endif
#ifndef __PT_PARM7_SYSCALL_REG
#define __PT_PARM7_SYSCALL_REG __unsupported__
#endif

/* Direct reads (ctx is a pt_regs the program may dereference: kprobe, uprobe, perf_event). */
#define ___oxbpf_reg(x, reg)	(__PT_REGS_CAST(x)->reg)
#define PT_REGS_PARM1(x)	___oxbpf_reg(x, __PT_PARM1_REG)
#define PT_REGS_PARM2(x)	___oxbpf_reg(x, __PT_PARM2_REG)
#define PT_REGS_PARM3(x)	___oxbpf_reg(x, __PT_PARM3_REG)
#define PT_REGS_PARM4(x)	___oxbpf_reg(x, __PT_PARM4_REG)
#define PT_REGS_PARM5(x)	___oxbpf_reg(x, __PT_PARM5_REG)
#define PT_REGS_PARM6(x)	___oxbpf_reg(x, __PT_PARM6_REG)
#define PT_REGS_PARM7(x)	___oxbpf_reg(x, __PT_PARM7_REG)
#define PT_REGS_PARM8(x)	___oxbpf_reg(x, __PT_PARM8_REG)
#define PT_REGS_RET(x)		___oxbpf_reg(x, __PT_RET_REG)
#define PT_REGS_FP(x)		___oxbpf_reg(x, __PT_FP_REG)
#define PT_REGS_RC(x)		___oxbpf_reg(x, __PT_RC_REG)
#define PT_REGS_SP(x)		___oxbpf_reg(x, __PT_SP_REG)
#define PT_REGS_IP(x)		___oxbpf_reg(x, __PT_IP_REG)

/* CO-RE reads (for a pt_regs pointer that must be probe-read, e.g. the inner regs of a syscall). */
#define ___oxbpf_reg_core(x, reg)	BPF_CORE_READ(__PT_REGS_CAST(x), reg)
#define PT_REGS_PARM1_CORE(x)	___oxbpf_reg_core(x, __PT_PARM1_REG)
#define PT_REGS_PARM2_CORE(x)	___oxbpf_reg_core(x, __PT_PARM2_REG)
#define PT_REGS_PARM3_CORE(x)	___oxbpf_reg_core(x, __PT_PARM3_REG)
#define PT_REGS_PARM4_CORE(x)	___oxbpf_reg_core(x, __PT_PARM4_REG)
#define PT_REGS_PARM5_CORE(x)	___oxbpf_reg_core(x, __PT_PARM5_REG)
#define PT_REGS_PARM6_CORE(x)	___oxbpf_reg_core(x, __PT_PARM6_REG)
#define PT_REGS_PARM7_CORE(x)	___oxbpf_reg_core(x, __PT_PARM7_REG)
#define PT_REGS_PARM8_CORE(x)	___oxbpf_reg_core(x, __PT_PARM8_REG)
#define PT_REGS_RET_CORE(x)	___oxbpf_reg_core(x, __PT_RET_REG)
#define PT_REGS_FP_CORE(x)	___oxbpf_reg_core(x, __PT_FP_REG)
#define PT_REGS_RC_CORE(x)	___oxbpf_reg_core(x, __PT_RC_REG)
#define PT_REGS_SP_CORE(x)	___oxbpf_reg_core(x, __PT_SP_REG)
#define PT_REGS_IP_CORE(x)	___oxbpf_reg_core(x, __PT_IP_REG)

/* The caller's return address, at entry (kprobe) and at return (kretprobe). */
#if defined(bpf_target_powerpc)
#define BPF_KPROBE_READ_RET_IP(ip, ctx)		({ (ip) = (ctx)->link; })
#define BPF_KRETPROBE_READ_RET_IP		BPF_KPROBE_READ_RET_IP
#elif defined(bpf_target_sparc) || defined(bpf_target_arm64)
#define BPF_KPROBE_READ_RET_IP(ip, ctx)		({ (ip) = PT_REGS_RET(ctx); })
#define BPF_KRETPROBE_READ_RET_IP		BPF_KPROBE_READ_RET_IP
#else
/* On the stack: at the stack pointer on entry, just above the saved frame pointer on return. */
#define BPF_KPROBE_READ_RET_IP(ip, ctx)					\
	({ bpf_probe_read_kernel(&(ip), sizeof(ip), (void *)PT_REGS_RET(ctx)); })
#define BPF_KRETPROBE_READ_RET_IP(ip, ctx)				\
	({ bpf_probe_read_kernel(&(ip), sizeof(ip), (void *)(PT_REGS_FP(ctx) + sizeof(ip))); })
#endif

/* Syscall arguments (architectures may have defined PARM1 above, for orig_* members). */
#ifndef PT_REGS_PARM1_SYSCALL
#define PT_REGS_PARM1_SYSCALL(x)	___oxbpf_reg(x, __PT_PARM1_SYSCALL_REG)
#define PT_REGS_PARM1_CORE_SYSCALL(x)	___oxbpf_reg_core(x, __PT_PARM1_SYSCALL_REG)
#endif
#define PT_REGS_PARM2_SYSCALL(x)	___oxbpf_reg(x, __PT_PARM2_SYSCALL_REG)
#define PT_REGS_PARM2_CORE_SYSCALL(x)	___oxbpf_reg_core(x, __PT_PARM2_SYSCALL_REG)
#define PT_REGS_PARM3_SYSCALL(x)	___oxbpf_reg(x, __PT_PARM3_SYSCALL_REG)
#define PT_REGS_PARM3_CORE_SYSCALL(x)	___oxbpf_reg_core(x, __PT_PARM3_SYSCALL_REG)
#define PT_REGS_PARM4_SYSCALL(x)	___oxbpf_reg(x, __PT_PARM4_SYSCALL_REG)
#define PT_REGS_PARM4_CORE_SYSCALL(x)	___oxbpf_reg_core(x, __PT_PARM4_SYSCALL_REG)
#define PT_REGS_PARM5_SYSCALL(x)	___oxbpf_reg(x, __PT_PARM5_SYSCALL_REG)
#define PT_REGS_PARM5_CORE_SYSCALL(x)	___oxbpf_reg_core(x, __PT_PARM5_SYSCALL_REG)
#define PT_REGS_PARM6_SYSCALL(x)	___oxbpf_reg(x, __PT_PARM6_SYSCALL_REG)
#define PT_REGS_PARM6_CORE_SYSCALL(x)	___oxbpf_reg_core(x, __PT_PARM6_SYSCALL_REG)
#define PT_REGS_PARM7_SYSCALL(x)	___oxbpf_reg(x, __PT_PARM7_SYSCALL_REG)
#define PT_REGS_PARM7_CORE_SYSCALL(x)	___oxbpf_reg_core(x, __PT_PARM7_SYSCALL_REG)

#else /* !bpf_target_defined */

/* Any use is a compile error naming the missing -D__TARGET_ARCH_<arch>. */
#define ___oxbpf_no_target ({ _Pragma(__BPF_TARGET_MISSING); 0l; })
#define PT_REGS_PARM1(x) ___oxbpf_no_target
#define PT_REGS_PARM2(x) ___oxbpf_no_target
#define PT_REGS_PARM3(x) ___oxbpf_no_target
#define PT_REGS_PARM4(x) ___oxbpf_no_target
#define PT_REGS_PARM5(x) ___oxbpf_no_target
#define PT_REGS_PARM6(x) ___oxbpf_no_target
#define PT_REGS_PARM7(x) ___oxbpf_no_target
#define PT_REGS_PARM8(x) ___oxbpf_no_target
#define PT_REGS_RET(x) ___oxbpf_no_target
#define PT_REGS_FP(x) ___oxbpf_no_target
#define PT_REGS_RC(x) ___oxbpf_no_target
#define PT_REGS_SP(x) ___oxbpf_no_target
#define PT_REGS_IP(x) ___oxbpf_no_target
#define PT_REGS_PARM1_CORE(x) ___oxbpf_no_target
#define PT_REGS_PARM2_CORE(x) ___oxbpf_no_target
#define PT_REGS_PARM3_CORE(x) ___oxbpf_no_target
#define PT_REGS_PARM4_CORE(x) ___oxbpf_no_target
#define PT_REGS_PARM5_CORE(x) ___oxbpf_no_target
#define PT_REGS_PARM6_CORE(x) ___oxbpf_no_target
#define PT_REGS_PARM7_CORE(x) ___oxbpf_no_target
#define PT_REGS_PARM8_CORE(x) ___oxbpf_no_target
#define PT_REGS_RET_CORE(x) ___oxbpf_no_target
#define PT_REGS_FP_CORE(x) ___oxbpf_no_target
#define PT_REGS_RC_CORE(x) ___oxbpf_no_target
#define PT_REGS_SP_CORE(x) ___oxbpf_no_target
#define PT_REGS_IP_CORE(x) ___oxbpf_no_target
#define BPF_KPROBE_READ_RET_IP(ip, ctx) ___oxbpf_no_target
#define BPF_KRETPROBE_READ_RET_IP(ip, ctx) ___oxbpf_no_target
#define PT_REGS_PARM1_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM2_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM3_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM4_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM5_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM6_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM7_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM1_CORE_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM2_CORE_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM3_CORE_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM4_CORE_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM5_CORE_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM6_CORE_SYSCALL(x) ___oxbpf_no_target
#define PT_REGS_PARM7_CORE_SYSCALL(x) ___oxbpf_no_target

#endif /* bpf_target_defined */

/*
 * From a kprobe on a syscall entry point, the pt_regs holding the syscall's arguments: most
 * architectures wrap syscalls so the entry point's only argument is the user pt_regs.
 */
#ifndef PT_REGS_SYSCALL_REGS
#define PT_REGS_SYSCALL_REGS(ctx) ((struct pt_regs *)PT_REGS_PARM1(ctx))
#endif

/* ------------------------------------------------------------------------------------------------
 * Typed program wrappers. Each expands to
 *
 *	name(<raw ctx>);                                         -- the declaration the user's return type prefixes
 *	static __always_inline typeof(name(0)) ____name(ctx, args...);
 *	typeof(name(0)) name(<raw ctx>) { return ____name(ctx, <args pulled out of ctx>); }
 *	static __always_inline typeof(name(0)) ____name(ctx, args...)   -- the user's body follows
 *
 * so `int BPF_KPROBE(x, struct file *f) { ... }` defines program `x` whose body sees `f` and `ctx`.
 * The arguments come out of ctx as integers and convert implicitly to the declared types, which is why
 * -Wint-conversion is silenced around the call.
 */
#define ___oxbpf_wrap(name, raw_ctx, pass_args, args...)			\
name(raw_ctx);									\
static __always_inline typeof(name(0)) ____##name(raw_ctx, ##args);		\
typeof(name(0)) name(raw_ctx)							\
{										\
	_Pragma("GCC diagnostic push")						\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")			\
	return ____##name(pass_args);						\
	_Pragma("GCC diagnostic pop")						\
}										\
static __always_inline typeof(name(0)) ____##name(raw_ctx, ##args)

/* BPF_PROG: ctx is an array of u64, one per argument. Argument i is ctx[i]. */
#define ___bpf_ctx_cast0()		ctx
#define ___bpf_ctx_cast1(x)		___bpf_ctx_cast0(), ctx[0]
#define ___bpf_ctx_cast2(x, args...)	___bpf_ctx_cast1(args), ctx[1]
#define ___bpf_ctx_cast3(x, args...)	___bpf_ctx_cast2(args), ctx[2]
#define ___bpf_ctx_cast4(x, args...)	___bpf_ctx_cast3(args), ctx[3]
#define ___bpf_ctx_cast5(x, args...)	___bpf_ctx_cast4(args), ctx[4]
#define ___bpf_ctx_cast6(x, args...)	___bpf_ctx_cast5(args), ctx[5]
#define ___bpf_ctx_cast7(x, args...)	___bpf_ctx_cast6(args), ctx[6]
#define ___bpf_ctx_cast8(x, args...)	___bpf_ctx_cast7(args), ctx[7]
#define ___bpf_ctx_cast9(x, args...)	___bpf_ctx_cast8(args), ctx[8]
#define ___bpf_ctx_cast10(x, args...)	___bpf_ctx_cast9(args), ctx[9]
#define ___bpf_ctx_cast11(x, args...)	___bpf_ctx_cast10(args), ctx[10]
#define ___bpf_ctx_cast12(x, args...)	___bpf_ctx_cast11(args), ctx[11]
#define ___bpf_ctx_cast(args...)	___bpf_apply(___bpf_ctx_cast, ___bpf_narg(args))(args)

/* int BPF_PROG(name, struct task_struct *p, int x) { ... } for tp_btf/fentry/fexit/lsm/iter/... */
#define BPF_PROG(name, args...) \
	___oxbpf_wrap(name, unsigned long long *ctx, ___bpf_ctx_cast(args), ##args)

/*
 * BPF_PROG2(name, type1, arg1, type2, arg2, ...): like BPF_PROG but types and names are separate
 * arguments, which lets it handle structs passed by value: a struct of up to 16 bytes occupies one or
 * two consecutive u64 slots of ctx, so each argument's slot is the sum of the slots before it, and
 * the value is rebuilt through a union of u64s and the declared type.
 */
#ifndef ___bpf_nth2
#define ___bpf_nth2(_, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13,	\
		    _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, N, ...) N
#endif
#ifndef ___bpf_narg2
/* The number of (type, name) pairs. */
#define ___bpf_narg2(...)							\
	___bpf_nth2(_, ##__VA_ARGS__, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8, 7, 7,	\
		    6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0)
#endif

/* u64 slots an argument of type t occupies (void, a compile error, for sizes a register cannot hold). */
#define ___bpf_treg_cnt(t)						\
	__builtin_choose_expr(sizeof(t) == 1, 1,			\
	__builtin_choose_expr(sizeof(t) == 2, 1,			\
	__builtin_choose_expr(sizeof(t) == 4, 1,			\
	__builtin_choose_expr(sizeof(t) == 8, 1,			\
	__builtin_choose_expr(sizeof(t) == 16, 2,			\
			      (void)0)))))

/* Total u64 slots of a (type, name, type, name, ...) list. */
#define ___oxbpf_slots0()			0
#define ___oxbpf_slots1(t, x)			___bpf_treg_cnt(t)
#define ___oxbpf_slots2(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots1(args))
#define ___oxbpf_slots3(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots2(args))
#define ___oxbpf_slots4(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots3(args))
#define ___oxbpf_slots5(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots4(args))
#define ___oxbpf_slots6(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots5(args))
#define ___oxbpf_slots7(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots6(args))
#define ___oxbpf_slots8(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots7(args))
#define ___oxbpf_slots9(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots8(args))
#define ___oxbpf_slots10(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots9(args))
#define ___oxbpf_slots11(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots10(args))
#define ___oxbpf_slots12(t, x, args...)		(___bpf_treg_cnt(t) + ___oxbpf_slots11(args))
#define ___bpf_reg_cnt(args...) ___bpf_apply(___oxbpf_slots, ___bpf_narg2(args))(args)

/* The value of type t starting at slot n: the low bytes of ctx[n] (and ctx[n + 1] for 16 bytes). */
#define ___oxbpf_slot_as(zt, cnt, t, x, init)					\
	({ union { zt z[cnt]; t x; } ___t = { .z = init }; ___t.x; })
#define ___bpf_union_arg(t, x, n)						\
	__builtin_choose_expr(sizeof(t) == 1, ___oxbpf_slot_as(__u8, 1, t, x, {ctx[n]}),	\
	__builtin_choose_expr(sizeof(t) == 2, ___oxbpf_slot_as(__u16, 1, t, x, {ctx[n]}),	\
	__builtin_choose_expr(sizeof(t) == 4, ___oxbpf_slot_as(__u32, 1, t, x, {ctx[n]}),	\
	__builtin_choose_expr(sizeof(t) == 8, ___oxbpf_slot_as(__u64, 1, t, x, {ctx[n]}),	\
	__builtin_choose_expr(sizeof(t) == 16,						\
			      ___oxbpf_slot_as(__u64, 2, t, x, ___oxbpf_two(ctx[n], ctx[n + 1])), \
			      (void)0)))))
#define ___oxbpf_two(a, b) {a, b}

/* The call arguments: pair k is read from slot `off`, the sum of the slots of pairs before it. */
#define ___oxbpf_p2_args0(off)
#define ___oxbpf_p2_args1(off, t, x)		, ___bpf_union_arg(t, x, off)
#define ___oxbpf_p2_args2(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args1(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args3(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args2(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args4(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args3(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args5(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args4(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args6(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args5(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args7(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args6(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args8(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args7(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args9(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args8(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args10(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args9(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args11(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args10(off + ___bpf_treg_cnt(t), args)
#define ___oxbpf_p2_args12(off, t, x, args...)	, ___bpf_union_arg(t, x, off) ___oxbpf_p2_args11(off + ___bpf_treg_cnt(t), args)
#define ___bpf_ctx_arg(args...) \
	___bpf_apply(___oxbpf_p2_args, ___bpf_narg2(args))(0, args)

/* The parameter list: `, t1 x1, t2 x2, ...`. */
#define ___bpf_ctx_decl0()
#define ___bpf_ctx_decl1(t, x)			, t x
#define ___bpf_ctx_decl2(t, x, args...)		, t x ___bpf_ctx_decl1(args)
#define ___bpf_ctx_decl3(t, x, args...)		, t x ___bpf_ctx_decl2(args)
#define ___bpf_ctx_decl4(t, x, args...)		, t x ___bpf_ctx_decl3(args)
#define ___bpf_ctx_decl5(t, x, args...)		, t x ___bpf_ctx_decl4(args)
#define ___bpf_ctx_decl6(t, x, args...)		, t x ___bpf_ctx_decl5(args)
#define ___bpf_ctx_decl7(t, x, args...)		, t x ___bpf_ctx_decl6(args)
#define ___bpf_ctx_decl8(t, x, args...)		, t x ___bpf_ctx_decl7(args)
#define ___bpf_ctx_decl9(t, x, args...)		, t x ___bpf_ctx_decl8(args)
#define ___bpf_ctx_decl10(t, x, args...)	, t x ___bpf_ctx_decl9(args)
#define ___bpf_ctx_decl11(t, x, args...)	, t x ___bpf_ctx_decl10(args)
#define ___bpf_ctx_decl12(t, x, args...)	, t x ___bpf_ctx_decl11(args)
#define ___bpf_ctx_decl(args...) \
	___bpf_apply(___bpf_ctx_decl, ___bpf_narg2(args))(args)

#define BPF_PROG2(name, args...)						\
name(unsigned long long *ctx);							\
static __always_inline typeof(name(0))						\
____##name(unsigned long long *ctx ___bpf_ctx_decl(args));			\
typeof(name(0)) name(unsigned long long *ctx)					\
{										\
	return ____##name(ctx ___bpf_ctx_arg(args));				\
}										\
static __always_inline typeof(name(0))						\
____##name(unsigned long long *ctx ___bpf_ctx_decl(args))

struct pt_regs;

/* BPF_KPROBE: argument i is PT_REGS_PARMi(ctx), as an integer. */
#define ___bpf_kprobe_args0()		ctx
#define ___bpf_kprobe_args1(x)		___bpf_kprobe_args0(), (unsigned long long)PT_REGS_PARM1(ctx)
#define ___bpf_kprobe_args2(x, args...)	___bpf_kprobe_args1(args), (unsigned long long)PT_REGS_PARM2(ctx)
#define ___bpf_kprobe_args3(x, args...)	___bpf_kprobe_args2(args), (unsigned long long)PT_REGS_PARM3(ctx)
#define ___bpf_kprobe_args4(x, args...)	___bpf_kprobe_args3(args), (unsigned long long)PT_REGS_PARM4(ctx)
#define ___bpf_kprobe_args5(x, args...)	___bpf_kprobe_args4(args), (unsigned long long)PT_REGS_PARM5(ctx)
#define ___bpf_kprobe_args6(x, args...)	___bpf_kprobe_args5(args), (unsigned long long)PT_REGS_PARM6(ctx)
#define ___bpf_kprobe_args7(x, args...)	___bpf_kprobe_args6(args), (unsigned long long)PT_REGS_PARM7(ctx)
#define ___bpf_kprobe_args8(x, args...)	___bpf_kprobe_args7(args), (unsigned long long)PT_REGS_PARM8(ctx)
#define ___bpf_kprobe_args(args...)	___bpf_apply(___bpf_kprobe_args, ___bpf_narg(args))(args)

/* int BPF_KPROBE(name, struct file *f, int mode) { ... } */
#define BPF_KPROBE(name, args...) \
	___oxbpf_wrap(name, struct pt_regs *ctx, ___bpf_kprobe_args(args), ##args)

/* BPF_KRETPROBE: the only (optional) argument is the return value. */
#define ___bpf_kretprobe_args0()	ctx
#define ___bpf_kretprobe_args1(x)	___bpf_kretprobe_args0(), (unsigned long long)PT_REGS_RC(ctx)
#define ___bpf_kretprobe_args(args...)	___bpf_apply(___bpf_kretprobe_args, ___bpf_narg(args))(args)

/* int BPF_KRETPROBE(name, long ret) { ... } */
#define BPF_KRETPROBE(name, args...) \
	___oxbpf_wrap(name, struct pt_regs *ctx, ___bpf_kretprobe_args(args), ##args)

/* BPF_KSYSCALL, kernels without the syscall wrapper: arguments sit in ctx itself (here `regs`). */
#define ___bpf_syscall_args0()		ctx
#define ___bpf_syscall_args1(x)		___bpf_syscall_args0(), (unsigned long long)PT_REGS_PARM1_SYSCALL(regs)
#define ___bpf_syscall_args2(x, args...)	___bpf_syscall_args1(args), (unsigned long long)PT_REGS_PARM2_SYSCALL(regs)
#define ___bpf_syscall_args3(x, args...)	___bpf_syscall_args2(args), (unsigned long long)PT_REGS_PARM3_SYSCALL(regs)
#define ___bpf_syscall_args4(x, args...)	___bpf_syscall_args3(args), (unsigned long long)PT_REGS_PARM4_SYSCALL(regs)
#define ___bpf_syscall_args5(x, args...)	___bpf_syscall_args4(args), (unsigned long long)PT_REGS_PARM5_SYSCALL(regs)
#define ___bpf_syscall_args6(x, args...)	___bpf_syscall_args5(args), (unsigned long long)PT_REGS_PARM6_SYSCALL(regs)
#define ___bpf_syscall_args7(x, args...)	___bpf_syscall_args6(args), (unsigned long long)PT_REGS_PARM7_SYSCALL(regs)
#define ___bpf_syscall_args(args...)	___bpf_apply(___bpf_syscall_args, ___bpf_narg(args))(args)

/* ... and with the wrapper: `regs` is the user pt_regs, which has to be probe-read (CO-RE). */
#define ___bpf_syswrap_args0()		ctx
#define ___bpf_syswrap_args1(x)		___bpf_syswrap_args0(), (unsigned long long)PT_REGS_PARM1_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args2(x, args...)	___bpf_syswrap_args1(args), (unsigned long long)PT_REGS_PARM2_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args3(x, args...)	___bpf_syswrap_args2(args), (unsigned long long)PT_REGS_PARM3_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args4(x, args...)	___bpf_syswrap_args3(args), (unsigned long long)PT_REGS_PARM4_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args5(x, args...)	___bpf_syswrap_args4(args), (unsigned long long)PT_REGS_PARM5_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args6(x, args...)	___bpf_syswrap_args5(args), (unsigned long long)PT_REGS_PARM6_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args7(x, args...)	___bpf_syswrap_args6(args), (unsigned long long)PT_REGS_PARM7_CORE_SYSCALL(regs)
#define ___bpf_syswrap_args(args...)	___bpf_apply(___bpf_syswrap_args, ___bpf_narg(args))(args)

/*
 * int BPF_KSYSCALL(name, int fd, const char *path) { ... } on a syscall entry kprobe
 * (SEC("ksyscall/openat")). Whether the kernel wraps syscalls is the virtual kconfig value
 * LINUX_HAS_SYSCALL_WRAPPER, filled in by the loader. Quirky calling conventions (old mmap, clone
 * variants, socketcall, compat syscalls) are not handled.
 */
#define BPF_KSYSCALL(name, args...)						\
name(struct pt_regs *ctx);							\
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;				\
static __always_inline typeof(name(0)) ____##name(struct pt_regs *ctx, ##args);	\
typeof(name(0)) name(struct pt_regs *ctx)					\
{										\
	struct pt_regs *regs = LINUX_HAS_SYSCALL_WRAPPER			\
			       ? (struct pt_regs *)PT_REGS_PARM1(ctx)		\
			       : ctx;						\
	_Pragma("GCC diagnostic push")						\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")			\
	if (LINUX_HAS_SYSCALL_WRAPPER)						\
		return ____##name(___bpf_syswrap_args(args));			\
	else									\
		return ____##name(___bpf_syscall_args(args));			\
	_Pragma("GCC diagnostic pop")						\
}										\
static __always_inline typeof(name(0)) ____##name(struct pt_regs *ctx, ##args)

#define BPF_KPROBE_SYSCALL BPF_KSYSCALL

/* The user-space flavours are the same thing under the names SEC("uprobe") programs expect. */
#define BPF_UPROBE(name, args...)	BPF_KPROBE(name, ##args)
#define BPF_URETPROBE(name, args...)	BPF_KRETPROBE(name, ##args)

/*
 * BPF_STRUCT_OPS(name, args...): a struct_ops callback in SEC("struct_ops/<name>"), its arguments
 * arriving like BPF_PROG's; BPF_STRUCT_OPS_SLEEPABLE for SEC("struct_ops.s/<name>").
 *
 * libbpf's headers do not have these, so programs define their own. The spelling here is token for
 * token sched_ext's, so repeating that definition is accepted silently; a program whose own
 * definition differs (older kernel selftests pass `args` without `##`) gets a "macro redefined"
 * warning: define OXBPF_NO_STRUCT_OPS_MACROS before including this header to leave them out.
 */
#ifndef OXBPF_NO_STRUCT_OPS_MACROS
#ifndef BPF_STRUCT_OPS
#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/"#name) BPF_PROG(name, ##args)
#endif
#ifndef BPF_STRUCT_OPS_SLEEPABLE
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) SEC("struct_ops.s/"#name) BPF_PROG(name, ##args)
#endif
#endif

#endif /* __BPF_TRACING_H__ */
