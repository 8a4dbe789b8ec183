//! sockfilter: attach a socket filter to a UDP socket, send it datagrams, print what the filter
//! counted.

use clap::Parser;
use examples::skel::sockfilter::OpenSockfilterSkel;
use std::os::fd::AsFd;

/// Count a socket's packets with a BPF socket filter.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Datagrams to send.
    #[arg(long, default_value_t = 8)]
    count: usize,
}

fn main() {
    let args = Args::parse();
    let open = OpenSockfilterSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    let link = oxbpf::attach::socket::attach_socket_filter(
        skel.progs().count_packets.handle().expect("loaded").as_fd(),
        rx.as_fd(),
    )
    .unwrap_or_else(|e| examples::die("attach socket filter", &e));
    skel.skel_mut().keep_link("count_packets", link);
    examples::send_udp(port, args.count, 32).expect("send");
    let mut buf = [0u8; 64];
    for _ in 0..args.count {
        rx.recv(&mut buf).expect("recv");
    }
    let bss = skel.bss();
    println!(
        "socket 127.0.0.1:{port}: packets: {}  bytes: {}",
        bss.packets, bss.bytes
    );
}
