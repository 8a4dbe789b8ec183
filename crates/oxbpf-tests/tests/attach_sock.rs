//! sk_lookup and flow_dissector on a network namespace, netfilter hooks (6.4+), and sockmap programs
//! (sk_msg, sk_skb) attached by oxbpf; links leak no fds.

mod attach_util;

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};

use attach_util::{enter_netns, read_u64, reset_u64, setup, Loaded};
use oxbpf::attach::attach_type;
use oxbpf::attach::netfilter::{attach_netfilter, NetfilterOpts, NFPROTO_IPV4};
use oxbpf::attach::socket::{
    attach_flow_dissector, attach_sk_lookup, attach_sockmap, current_netns, SockmapAttach,
};
use oxbpf::kernel::features::probe_prog_type;
use oxbpf::link::link_type;
use oxbpf::map::MapFlags;
use oxbpf::sys::link::{prog_query, Target};
use oxbpf::sys::types::ProgramType;

const C_LOOKUP: u32 = 0;
const C_NF: u32 = 1;
const C_MSG: u32 = 2;
const C_SKB: u32 = 3;

/// A fresh network namespace with loopback up, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("oxbpf_{tag}_{}", std::process::id());
        assert!(std::process::Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap()
            .success());
        assert!(std::process::Command::new("ip")
            .args(["-n", &name, "link", "set", "lo", "up"])
            .status()
            .unwrap()
            .success());
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

/// Sends `n` UDP datagrams over loopback to a bound socket and receives them.
fn udp_roundtrip(n: u32) {
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut buf = [0u8; 8];
    for _ in 0..n {
        tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
        rx.recv(&mut buf).unwrap();
    }
}

#[test]
fn sk_lookup_and_flow_dissector_in_a_netns() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_sock", &["lookup", "dissect"]).unwrap();
    let counts = obj.map("counts");
    let ns = Netns::new("sock");
    let before = oxbpf_tests::LeakCheck::start();
    std::thread::scope(|s| {
        s.spawn(|| {
            enter_netns(&ns.0);
            let netns = current_netns().unwrap();
            // sk_lookup: runs for every socket lookup of incoming packets in the namespace.
            reset_u64(&counts, C_LOOKUP);
            let lookup = attach_sk_lookup(obj.prog("lookup").as_fd(), netns.as_fd()).unwrap();
            assert_eq!(lookup.info().unwrap().link_type, link_type::NETNS);
            udp_roundtrip(3);
            assert!(
                read_u64(&counts, C_LOOKUP) >= 3,
                "sk_lookup ran {} times",
                read_u64(&counts, C_LOOKUP)
            );
            drop(lookup);
            let after = read_u64(&counts, C_LOOKUP);
            udp_roundtrip(2);
            assert_eq!(read_u64(&counts, C_LOOKUP), after, "detached");

            // flow_dissector: attached to the namespace (the kernel lists it).
            let fd_link =
                attach_flow_dissector(obj.prog("dissect").as_fd(), netns.as_fd()).unwrap();
            let q = prog_query(Target::Fd(netns.as_fd()), attach_type::FLOW_DISSECTOR, 0).unwrap();
            assert_eq!(q.prog_ids.len(), 1, "{q:?}");
            drop(fd_link);
            let q = prog_query(Target::Fd(netns.as_fd()), attach_type::FLOW_DISSECTOR, 0).unwrap();
            assert!(q.prog_ids.is_empty(), "{q:?}");
        })
        .join()
        .unwrap()
    });
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn netfilter_counts_a_netns_outgoing_datagrams() {
    let Some(_serial) = setup() else { return };
    let obj = match Loaded::load("attach_sock", &["nf_count"]) {
        Ok(o) => o,
        // Netfilter programs arrived in 6.4.
        Err(e) if !probe_prog_type(ProgramType::Netfilter).unwrap_or(false) => {
            assert!(e.contains("Invalid argument"), "{e}");
            return oxbpf_tests::skip(format!(
                "netfilter programs unknown to this kernel (added in 6.4): {e}"
            ));
        }
        Err(e) => panic!("{e}"),
    };
    let counts = obj.map("counts");
    let ns = Netns::new("nf");
    let before = oxbpf_tests::LeakCheck::start();
    std::thread::scope(|s| {
        s.spawn(|| {
            enter_netns(&ns.0);
            // netfilter LOCAL_OUT (hook 3) for IPv4 in this namespace only.
            reset_u64(&counts, C_NF);
            let opts = NetfilterOpts {
                pf: NFPROTO_IPV4,
                hooknum: 3,
                priority: -128,
                flags: 0,
            };
            let nf = attach_netfilter(obj.prog("nf_count").as_fd(), &opts).unwrap();
            assert_eq!(nf.info().unwrap().link_type, link_type::NETFILTER);
            udp_roundtrip(4);
            let seen = read_u64(&counts, C_NF);
            println!("netfilter LOCAL_OUT saw {seen} of 4 datagrams");
            assert_eq!(seen, 4, "netfilter saw the namespace's outgoing datagrams");
            drop(nf);
            udp_roundtrip(1);
            assert_eq!(read_u64(&counts, C_NF), 4, "detached");
        })
        .join()
        .unwrap()
    });
    before.assert_clean("fds and BPF mappings");
}

#[test]
fn sockmap_sk_msg_and_sk_skb_verdicts() {
    let Some(_serial) = setup() else { return };
    let obj = Loaded::load("attach_sock", &["msg_verdict", "skb_verdict"]).unwrap();
    let counts = obj.map("counts");
    let socks = obj.map("socks");
    reset_u64(&counts, C_MSG);
    reset_u64(&counts, C_SKB);
    let before = oxbpf_tests::LeakCheck::start();
    let l_msg = attach_sockmap(
        obj.prog("msg_verdict").as_fd(),
        socks.as_fd(),
        SockmapAttach::MsgVerdict,
    )
    .unwrap();
    let l_skb = attach_sockmap(
        obj.prog("skb_verdict").as_fd(),
        socks.as_fd(),
        SockmapAttach::StreamVerdict,
    )
    .unwrap();
    println!(
        "sockmap links: msg={:?} skb={:?}",
        l_msg.fd().is_some(),
        l_skb.fd().is_some()
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    // Sending from a socket in the map runs sk_msg; receiving into one runs the stream verdict.
    socks
        .update(
            &0u32.to_ne_bytes(),
            &(client.as_raw_fd() as u32).to_ne_bytes(),
            MapFlags::ANY,
        )
        .unwrap();
    socks
        .update(
            &1u32.to_ne_bytes(),
            &(server.as_raw_fd() as u32).to_ne_bytes(),
            MapFlags::ANY,
        )
        .unwrap();
    client.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    let (msg, skb) = (read_u64(&counts, C_MSG), read_u64(&counts, C_SKB));
    println!("sockmap: sk_msg ran {msg} times, stream verdict {skb} times for one message");
    assert!(msg >= 1, "sk_msg ran");
    assert!(skb >= 1, "sk_skb stream verdict ran");
    socks.delete(&0u32.to_ne_bytes()).unwrap();
    socks.delete(&1u32.to_ne_bytes()).unwrap();
    drop((l_msg, l_skb));
    // Detached: sockets put in the map again run nothing.
    for (k, s) in [(0u32, client.as_raw_fd()), (1, server.as_raw_fd())] {
        socks
            .update(&k.to_ne_bytes(), &(s as u32).to_ne_bytes(), MapFlags::ANY)
            .unwrap();
    }
    client.write_all(b"pong").unwrap();
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
    assert_eq!(read_u64(&counts, C_MSG), msg, "sk_msg detached");
    assert_eq!(read_u64(&counts, C_SKB), skb, "stream verdict detached");
    socks.delete(&0u32.to_ne_bytes()).unwrap();
    socks.delete(&1u32.to_ne_bytes()).unwrap();
    drop((client, server, listener));
    // The kernel lists nothing attached (BPF_PROG_QUERY on a sockmap arrived in 5.19; EINVAL before).
    match prog_query(Target::Fd(socks.as_fd()), attach_type::SK_MSG_VERDICT, 0) {
        Ok(q) => assert!(q.prog_ids.is_empty(), "detached: {q:?}"),
        Err(e) if e.errno() == Some(libc::EINVAL) => {
            println!("BPF_PROG_QUERY on a sockmap refused by this kernel: {e}")
        }
        Err(e) => panic!("{e}"),
    }
    before.assert_clean("fds and BPF mappings");
}
