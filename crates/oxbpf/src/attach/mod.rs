//! Attaching loaded programs to their hooks, one file per mechanism.
//!
//! Every attacher takes the program as a [`BorrowedFd`](std::os::fd::BorrowedFd) plus an option struct and
//! returns a `Link` whose drop detaches. The pure helpers (USDT notes and argument
//! specs, ELF symbols, library lookup) make no system calls.

pub mod elf_sym;
pub mod libpath;
pub mod usdt_spec;
