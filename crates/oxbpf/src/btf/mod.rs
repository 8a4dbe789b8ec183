//! BTF: parse, index, write, sanitize and dump the BPF Type Format. Pure: no syscalls.
