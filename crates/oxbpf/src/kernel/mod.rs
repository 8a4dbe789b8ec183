//! Host facts, discovered once per process: kernel version, kconfig, kallsyms, BTF location, features.

pub mod btf_object;
pub mod features;
pub mod kallsyms;
pub mod kconfig;
pub mod module_btf;
pub mod version;
pub mod vmlinux;
