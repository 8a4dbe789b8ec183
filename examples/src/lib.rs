//! Shared bits of the example apps: the generated skeletons and small helpers.

/// Generated skeletons, one module per `src/bpf/*.bpf.c`.
#[allow(missing_docs)]
pub mod skel {
    /// `minimal.bpf.c`.
    pub mod minimal {
        include!(concat!(env!("OUT_DIR"), "/minimal.skel.rs"));
    }
}

/// Prints `e` the way the examples report failures and exits with status 1.
pub fn die(what: &str, e: &oxbpf::Error) -> ! {
    eprintln!("{what}: {e}");
    if e.kind() == oxbpf::ErrorKind::PermissionDenied {
        eprintln!("hint: run as root (CAP_BPF, CAP_PERFMON)");
    }
    std::process::exit(1)
}
