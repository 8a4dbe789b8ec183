//! Pure relocation: subprogram calls, map and global data references, externs, CO-RE.

pub mod core;
