//! # oxbpf — libbpf, rebuilt in pure Rust
//!
//! oxbpf opens BPF objects built by clang (`.bpf.o`), lets you adjust them, loads them into the kernel
//! with the same instructions libbpf would submit (relocations, CO-RE, func/line info), attaches the
//! programs and tears everything down when the handles drop. No C library is linked.
//!
//! The lifecycle follows libbpf's: open (pure, no syscalls) → adjust → load → attach.
//!
//! ```no_run
//! use oxbpf::map::MapFlags;
//! use oxbpf::Object;
//!
//! fn main() -> oxbpf::Result<()> {
//!     // Open: parse the ELF, its BTF and BTF.ext. No syscalls yet.
//!     let mut open = Object::open_file("bootstrap.bpf.o")?;
//!
//!     // Adjust: autoload, map sizes, pin paths, attach targets, initial global data.
//!     open.set_autoload("handle_exit", false)?;
//!     if let Some(map) = open.map_mut("exec_start") {
//!         map.max_entries = 16384;
//!     }
//!
//!     // Load: probe the kernel, create maps, relocate (CO-RE included), load every program.
//!     let obj = open.load()?;
//!
//!     // Attach every program whose SEC() says where; dropping a link detaches it.
//!     let links = obj.attach_all()?;
//!
//!     if let Some(map) = obj.map("exec_start").and_then(|m| m.handle()) {
//!         let first = map.next_key(None)?;
//!         if let Some(key) = first {
//!             println!("{:?}", map.lookup(&key, MapFlags::ANY)?);
//!         }
//!     }
//!     drop(links);
//!     Ok(())
//! }
//! ```
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

pub mod perf_buffer;
pub mod ringbuf;
mod stream;
pub mod user_ringbuf;

pub use error::{Error, ErrorKind, Result, ResultExt};
pub use link::Link;
pub use object::{Map, Object, OpenObject, Program};
