//! New kernel objects never land on fds 0–2 (the UAPI reads fd 0 as "none" in several fields, and stdio
//! must not be shadowed): with stdin closed, a new map's fd is moved above 2. Its own test binary,
//! because it closes stdin for a moment.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use oxbpf::map::{MapFlags, MapHandle, MapType};
use oxbpf::sys::bpf::MapCreateOpts;

#[test]
fn fds_below_3_are_moved_up() {
    if !oxbpf_tests::is_root() {
        return oxbpf_tests::skip("not root: cannot create maps");
    }
    // SAFETY: dup of stdin returns a new fd (or -1), checked below.
    let saved = unsafe { libc::dup(0) };
    assert!(saved > 2);
    // SAFETY: fd 0 is closed on purpose and restored below; nothing else in this binary uses stdin.
    unsafe { libc::close(0) };
    let m = MapHandle::create(
        MapType::Array,
        Some("low_fd"),
        4,
        4,
        1,
        &MapCreateOpts::default(),
    );
    // SAFETY: restores stdin from the saved copy, then closes the copy.
    unsafe {
        libc::dup2(saved, 0);
        libc::close(saved);
    }
    let m = m.unwrap();
    assert!(
        m.as_fd().as_raw_fd() > 2,
        "map fd {}",
        m.as_fd().as_raw_fd()
    );
    m.update_pod(&0u32, &1u32, MapFlags::ANY).unwrap();
    // fd 0 is stdin again, not the map.
    // SAFETY: fd 0 is open (restored above) and stays open for this borrow.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    assert!(oxbpf::sys::bpf::map_info(stdin).is_err());
}
