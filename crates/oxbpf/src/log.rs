//! Logging: libbpf's print levels, `LIBBPF_LOG_LEVEL`, a print callback and a bridge to the `log` crate.
