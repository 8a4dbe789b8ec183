//! The kernel edge: every `bpf(2)` command and the other system calls oxbpf makes, typed.
//!
//! Nearly all `unsafe` of the crate lives here; every block carries a `// SAFETY:` line.

pub mod netlink;
pub mod perf;
pub mod tracefs;
