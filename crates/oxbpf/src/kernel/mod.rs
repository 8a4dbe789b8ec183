//! Host facts, discovered once per process: kernel version, kconfig, kallsyms, BTF location, features.

pub mod features;
