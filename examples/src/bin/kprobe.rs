//! kprobe: trace entry and return of `vfs_unlink` (every file deletion), printing each deletion's
//! file name and result. Kernels built without `CONFIG_KPROBES` refuse the attachment: the example
//! says so and exits with status 1.

use std::time::Duration;

use clap::Parser;
use examples::skel::kprobe::{types::event, OpenKprobeSkel};

/// Trace vfs_unlink() with a kprobe and a kretprobe.
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
        eprintln!("attach kprobe/vfs_unlink: {e}");
        eprintln!("this kernel has no kprobes (CONFIG_KPROBES off?): try the fentry or tracepoint examples");
        std::process::exit(1);
    }
    println!("Successfully started! Delete a file to see its vfs_unlink() entry and return.");
    let rb = skel.maps().rb.handle().expect("created");
    examples::stream_events(rb, Duration::from_secs(args.duration), |data| {
        let Some(raw) = data.get(..std::mem::size_of::<event>()) else {
            return;
        };
        let e: event = oxbpf::skel::bytemuck::pod_read_unaligned(raw);
        if e.exit != 0 {
            println!("KPROBE EXIT: pid = {}, ret = {}", e.pid, e.ret);
        } else {
            println!(
                "KPROBE ENTRY pid = {}, filename = {}",
                e.pid,
                examples::text(&e.filename)
            );
        }
    });
}
