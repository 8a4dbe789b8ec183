//! tc: in a network namespace of its own, attach a tc ingress program to `lo` (tcx, or cls_bpf
//! before 6.6), send a few UDP datagrams and print what the program saw.

use clap::Parser;
use examples::skel::tc::OpenTcSkel;
use oxbpf::attach::tc::{attach_tc_auto, TcDirection};
use std::os::fd::AsFd;

/// Count IPv4 packets with a tc (tcx) ingress program on lo of a fresh network namespace.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Datagrams to send.
    #[arg(long, default_value_t = 5)]
    count: usize,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = examples::enter_new_netns() {
        eprintln!("creating a network namespace: {e} (run as root)");
        std::process::exit(1);
    }
    let open = OpenTcSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    let ifindex = oxbpf::attach::ifindex("lo").unwrap_or_else(|e| examples::die("lo", &e));
    // A tcx link where the kernel has tcx (6.6+), else a clsact qdisc with a cls_bpf filter.
    let link = attach_tc_auto(
        skel.progs().tc_ingress.handle().expect("loaded").as_fd(),
        ifindex,
        TcDirection::Ingress,
        "tc_ingress",
    )
    .unwrap_or_else(|e| examples::die("attach tc ingress to lo", &e));
    skel.skel_mut().keep_link("tc_ingress", link);
    println!(
        "tc program attached to lo ingress; bpf_printk output is in /sys/kernel/tracing/trace_pipe"
    );
    examples::send_udp(9, args.count, 100).expect("send");
    let bss = skel.bss();
    println!(
        "IPv4 packets: {}  last: tot_len {} ttl {}",
        bss.ip_packets, bss.last_len, bss.last_ttl
    );
}
