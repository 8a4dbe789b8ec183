//! xdp: in a network namespace of its own, attach an XDP program to `lo`, send UDP datagrams to a
//! port and print what the program counted.

use clap::Parser;
use examples::skel::xdp::OpenXdpSkel;
use oxbpf::attach::xdp::{attach_xdp, XdpOpts};
use std::os::fd::AsFd;

/// Count packets with XDP on lo of a fresh network namespace.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// UDP port to count.
    #[arg(long, default_value_t = 9999)]
    port: u16,
    /// Datagrams to send.
    #[arg(long, default_value_t = 10)]
    count: usize,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = examples::enter_new_netns() {
        eprintln!("creating a network namespace: {e} (run as root)");
        std::process::exit(1);
    }
    let mut open = OpenXdpSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    open.rodata_mut().udp_port = args.port;
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    let ifindex = oxbpf::attach::ifindex("lo").unwrap_or_else(|e| examples::die("lo", &e));
    let link = attach_xdp(
        skel.progs().xdp_count.handle().expect("loaded").as_fd(),
        ifindex,
        &XdpOpts::default(),
    )
    .unwrap_or_else(|e| examples::die("attach xdp to lo", &e));
    skel.skel_mut().keep_link("xdp_count", link);
    println!("XDP program attached to lo (ifindex {ifindex}) in a new network namespace");
    let rx = std::net::UdpSocket::bind(("127.0.0.1", args.port)).expect("bind");
    examples::send_udp(args.port, args.count, 64).expect("send");
    let mut buf = [0u8; 128];
    for _ in 0..args.count {
        rx.recv(&mut buf).expect("recv");
    }
    let bss = skel.bss();
    println!(
        "packets: {}  udp packets to port {}: {}  udp payload bytes: {}",
        bss.packets, args.port, bss.udp_packets, bss.udp_bytes
    );
}
