//! struct_ops: a BPF `tcp_congestion_ops` registered through an oxbpf link, used by a real TCP
//! connection, swapped for another implementation through the link, unregistered on drop.

mod attach_util;

use std::os::fd::AsFd;

use attach_util::{first_bss_u64, setup, struct_ops_links, Loaded};
use oxbpf::attach::struct_ops::attach_struct_ops;
use oxbpf::link::link_type;
use oxbpf::map::MapFlags;

const CC: &str = "oxbpf_cc";

fn available() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap()
}

/// Opens a loopback TCP connection whose client socket uses congestion control `cc`.
fn connect_with(cc: &str) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let sock = std::net::TcpStream::connect(listener.local_addr()?)?;
    // SAFETY: valid fd, option buffer of the given length.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            cc.as_ptr().cast(),
            cc.len() as u32,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let (_peer, _) = listener.accept()?;
    Ok(())
}

fn bss_u64(obj: &Loaded, off: usize) -> u64 {
    let bss = obj.map(".bss");
    let v = bss
        .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
        .unwrap()
        .unwrap();
    u64::from_ne_bytes(v[off..off + 8].try_into().unwrap())
}

#[test]
fn plain_struct_ops_map_registered_by_update_and_unregistered_on_drop() {
    let Some(_serial) = setup() else { return };
    let obj =
        match oxbpf::object::Object::open_file(oxbpf_tests::fixture("attach_struct_ops_legacy"))
            .unwrap()
            .load()
        {
            Ok(o) => o,
            Err(e) if e.errno() == Some(libc::EPERM) => {
                return oxbpf_tests::skip(format!("kernel refused struct_ops programs: {e}"))
            }
            Err(e) => panic!("{e}"),
        };
    let before = oxbpf_tests::LeakCheck::start();
    let link = obj.map("oxccl").unwrap().attach_struct_ops().unwrap();
    assert!(link.fd().is_none(), "a plain struct_ops map has no link fd");
    assert!(
        available().split_whitespace().any(|c| c == "oxbpf_ccl"),
        "registered: {}",
        available()
    );
    connect_with("oxbpf_ccl").unwrap();
    let inits = first_bss_u64(&obj);
    println!("plain struct_ops: the BPF init ran {inits} times");
    assert!(inits >= 1, "the BPF init ran for the new connection");
    drop(link);
    assert!(
        !available().split_whitespace().any(|c| c == "oxbpf_ccl"),
        "unregistered on drop: {}",
        available()
    );
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn tcp_congestion_ops_registered_used_swapped_unregistered() {
    let Some(_serial) = setup() else { return };
    let mut obj = match Loaded::load("attach_struct_ops", &[]) {
        Ok(o) => o,
        Err(e) if e.contains("Operation not permitted") || e.contains("not supported") => {
            return oxbpf_tests::skip(format!("kernel refused struct_ops programs: {e}"))
        }
        // struct_ops maps with BPF_F_LINK (.struct_ops.link) arrived in 6.4; the plain map
        // registration of older kernels is tested below.
        Err(e)
            if e.contains("map 'oxcc'")
                && e.contains("Invalid argument")
                && !struct_ops_links() =>
        {
            return oxbpf_tests::skip(format!(
                "struct_ops links unknown to this kernel (added in 6.4): {e}"
            ))
        }
        Err(e) => panic!("{e}"),
    };
    obj.prime_struct_ops("oxcc2");
    obj.prime_struct_ops("oxcc");
    let before = oxbpf_tests::LeakCheck::start();
    let (m1, m2) = (obj.map("oxcc"), obj.map("oxcc2"));
    let mut link = attach_struct_ops(m1.as_fd()).unwrap();
    assert_eq!(link.info().unwrap().link_type, link_type::STRUCT_OPS);
    assert!(
        available().split_whitespace().any(|c| c == CC),
        "registered: {}",
        available()
    );
    connect_with(CC).unwrap();
    assert!(
        bss_u64(&obj, 0) >= 1,
        "the BPF init ran for the new connection"
    );

    // Swap the implementation behind the same name without unregistering.
    link.update_prog(m2.as_fd()).unwrap();
    connect_with(CC).unwrap();
    assert!(
        bss_u64(&obj, 8) >= 1,
        "the second implementation's init ran"
    );

    drop(link);
    assert!(
        !available().split_whitespace().any(|c| c == CC),
        "unregistered on drop: {}",
        available()
    );
    assert!(connect_with(CC).is_err(), "the algorithm is gone");
    drop((m1, m2));
    before.assert_clean("fds and BPF mappings");
}
