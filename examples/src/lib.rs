//! Shared bits of the example apps: the generated skeletons and small helpers.

/// Generated skeletons, one module per `src/bpf/*.bpf.c`.
#[allow(missing_docs)]
pub mod skel {
    /// `bootstrap.bpf.c`.
    pub mod bootstrap {
        include!(concat!(env!("OUT_DIR"), "/bootstrap.skel.rs"));
    }
    /// `minimal.bpf.c`.
    pub mod minimal {
        include!(concat!(env!("OUT_DIR"), "/minimal.skel.rs"));
    }
    /// `fentry.bpf.c`.
    pub mod fentry {
        include!(concat!(env!("OUT_DIR"), "/fentry.skel.rs"));
    }
    /// `kprobe.bpf.c`.
    pub mod kprobe {
        include!(concat!(env!("OUT_DIR"), "/kprobe.skel.rs"));
    }
    /// `profile.bpf.c`.
    pub mod profile {
        include!(concat!(env!("OUT_DIR"), "/profile.skel.rs"));
    }
    /// `sockfilter.bpf.c`.
    pub mod sockfilter {
        include!(concat!(env!("OUT_DIR"), "/sockfilter.skel.rs"));
    }
    /// `task_iter.bpf.c`.
    pub mod task_iter {
        include!(concat!(env!("OUT_DIR"), "/task_iter.skel.rs"));
    }
    /// `tc.bpf.c`.
    pub mod tc {
        include!(concat!(env!("OUT_DIR"), "/tc.skel.rs"));
    }
    /// `uprobe.bpf.c`.
    pub mod uprobe {
        include!(concat!(env!("OUT_DIR"), "/uprobe.skel.rs"));
    }
    /// `usdt.bpf.c`.
    pub mod usdt {
        include!(concat!(env!("OUT_DIR"), "/usdt.skel.rs"));
    }
    /// `xdp.bpf.c`.
    pub mod xdp {
        include!(concat!(env!("OUT_DIR"), "/xdp.skel.rs"));
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

/// Moves this (single-threaded) process into a new network namespace and brings its `lo` up, so
/// the network examples touch nothing of the host.
pub fn enter_new_netns() -> std::io::Result<()> {
    // SAFETY: unshare has no memory-safety preconditions; it only changes this thread's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let st = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()?;
    if !st.success() {
        return Err(std::io::Error::other("ip link set lo up failed"));
    }
    Ok(())
}

/// Sends `n` UDP datagrams of `len` bytes to 127.0.0.1:`port`.
pub fn send_udp(port: u16, n: usize, len: usize) -> std::io::Result<()> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
    for _ in 0..n {
        s.send_to(&vec![0x5a; len], ("127.0.0.1", port))?;
    }
    Ok(())
}

/// The text of a NUL-terminated byte array from a BPF event.
pub fn text(bytes: &[u8]) -> String {
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..n]).into_owned()
}

/// Polls ring buffer map `rb` for `duration`, handing each record to `on_event`; stdout is flushed
/// after each poll so the output can be followed through a pipe.
pub fn stream_events(
    rb: &oxbpf::map::MapHandle,
    duration: std::time::Duration,
    on_event: impl FnMut(&[u8]),
) {
    use std::io::Write;
    let mut builder = oxbpf::ringbuf::RingBuffer::builder();
    builder
        .add(rb, on_event)
        .unwrap_or_else(|e| die("ring buffer", &e));
    let mut ring = builder.build().unwrap_or_else(|e| die("ring buffer", &e));
    let end = std::time::Instant::now() + duration;
    let _ = std::io::stdout().flush();
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        if let Err(e) = ring.poll(left.min(std::time::Duration::from_millis(100))) {
            die("polling the ring buffer", &e);
        }
        let _ = std::io::stdout().flush();
    }
    let _ = ring.consume();
    let _ = std::io::stdout().flush();
}
