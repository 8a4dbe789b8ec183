//! ELF → `ObjectSpec`: programs by `SEC()`, maps, global data, externs, BTF. Pure: no syscalls.

pub mod sections;
