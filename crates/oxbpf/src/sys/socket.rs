//! Socket options: `setsockopt(2)` for the BPF socket options (`SO_ATTACH_BPF`, `SO_DETACH_BPF`)
//! and the few other options oxbpf sets on its own sockets (netlink's extended ACK, receive
//! timeouts).

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::error::{Error, Result};

/// `setsockopt(socket, level, name, value)`, the option value being `value`'s bytes. `what`
/// names the option in the error (`"SO_ATTACH_BPF"`).
pub fn set_option<T: Copy>(
    socket: BorrowedFd<'_>,
    level: i32,
    name: i32,
    value: &T,
    what: &str,
) -> Result<()> {
    // SAFETY: the option value points at a live `T` of the size passed; the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(Error::last_os_error(&format!("setsockopt({what})")));
    }
    Ok(())
}

/// `SO_ATTACH_BPF`: runs socket-filter program `prog` on every packet `socket` receives.
pub fn attach_bpf(socket: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<()> {
    let fd: i32 = prog.as_raw_fd();
    set_option(
        socket,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_BPF,
        &fd,
        "SO_ATTACH_BPF",
    )
}

/// `SO_DETACH_BPF`: removes the socket filter of `socket`.
pub fn detach_bpf(socket: BorrowedFd<'_>) -> Result<()> {
    // The kernel ignores the value, but wants one of an int's size.
    set_option(
        socket,
        libc::SOL_SOCKET,
        libc::SO_DETACH_BPF,
        &0i32,
        "SO_DETACH_BPF",
    )
}

/// `SO_RCVTIMEO`: makes blocking receives on `socket` fail with `EAGAIN` after `timeout`.
pub fn set_recv_timeout(socket: BorrowedFd<'_>, timeout: std::time::Duration) -> Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    set_option(
        socket,
        libc::SOL_SOCKET,
        libc::SO_RCVTIMEO,
        &tv,
        "SO_RCVTIMEO",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn options_on_a_udp_socket() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        set_recv_timeout(s.as_fd(), std::time::Duration::from_millis(1500)).unwrap();
        assert_eq!(
            s.read_timeout().unwrap(),
            Some(std::time::Duration::from_millis(1500))
        );
        // Nothing attached: the kernel says ENOENT, and the error names the option.
        let e = detach_bpf(s.as_fd()).unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOENT));
        assert!(e.to_string().contains("SO_DETACH_BPF"), "{e}");
    }
}
