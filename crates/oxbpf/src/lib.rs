//! # oxbpf — libbpf, rebuilt in pure Rust
//!
//! oxbpf opens BPF objects built by clang (`.bpf.o`), lets you adjust them, loads them into the kernel
//! with the same instructions libbpf would submit (relocations, CO-RE, func/line info), attaches the
//! programs and tears everything down when the handles drop. No C library is linked.
//!
//! The lifecycle follows libbpf's: open (pure, no syscalls) → adjust → load → attach.
//!
//! Layers, from the inside out:
//! - pure: [`insn`], [`btf`], [`obj`], [`reloc`] — parse and rewrite bytes, never touch the kernel;
//! - edge: [`sys`] — every `bpf(2)` command and the other system calls, typed;
//! - host facts: [`kernel`] — kernel version, kconfig, kallsyms, BTF location, feature probes;
//! - lifecycle: object, maps, programs, links, event streams.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod error;
pub mod log;

pub mod btf;
pub mod insn;
pub mod obj;
pub mod reloc;

pub mod kernel;
pub mod sys;

pub mod map;
pub mod object;
pub mod program;

pub mod attach;
pub mod link;
pub mod skel;

pub use error::{Error, ErrorKind, Result, ResultExt};
pub use object::{Object, OpenObject};
