//! minimal: attach a tracepoint program to write(2) for this process, write a line each second and
//! print how often the program ran (the bpf_printk output is in /sys/kernel/tracing/trace_pipe).

use std::time::{Duration, Instant};

use clap::Parser;
use examples::skel::minimal::OpenMinimalSkel;

/// Count this process's write(2) calls with a tracepoint program.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds to run.
    #[arg(long, default_value_t = 3)]
    duration: u64,
}

fn main() {
    let args = Args::parse();
    let mut open = OpenMinimalSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    open.rodata_mut().my_pid = std::process::id() as i32;
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    skel.attach()
        .unwrap_or_else(|e| examples::die("attach", &e));
    println!(
        "Successfully started! Run `cat /sys/kernel/tracing/trace_pipe` to see the bpf_printk output."
    );
    let end = Instant::now() + Duration::from_secs(args.duration);
    while Instant::now() < end {
        // This line is a write(2): the program sees it.
        println!("tick");
        std::thread::sleep(
            Duration::from_millis(250).min(end.saturating_duration_since(Instant::now())),
        );
    }
    println!("BPF program triggered {} times", skel.bss().hits);
}
