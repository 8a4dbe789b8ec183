//! kprobe: trace entry and return of `do_unlinkat` (file deletions). Kernels built without
//! `CONFIG_KPROBES` refuse the attachment: the example says so and exits with status 1.

use std::time::Duration;

use clap::Parser;
use examples::skel::kprobe::OpenKprobeSkel;

/// Trace do_unlinkat() with a kprobe and a kretprobe.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds to run.
    #[arg(long, default_value_t = 3)]
    duration: u64,
}

fn main() {
    let args = Args::parse();
    let open = OpenKprobeSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    if let Err(e) = skel.attach() {
        eprintln!("attach kprobe/do_unlinkat: {e}");
        eprintln!("this kernel has no kprobes (CONFIG_KPROBES off?): try the fentry or tracepoint examples");
        std::process::exit(1);
    }
    println!("Successfully started! Run `cat /sys/kernel/tracing/trace_pipe` and delete a file.");
    std::thread::sleep(Duration::from_secs(args.duration));
}
