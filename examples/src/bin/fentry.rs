//! fentry: trace entry and exit of `do_unlinkat` through BPF trampolines. Where the kernel refuses
//! trampolines (EPERM, e.g. lockdown), the example says so and exits with status 1.

use std::time::Duration;

use clap::Parser;
use examples::skel::fentry::OpenFentrySkel;

/// Trace do_unlinkat() with fentry/fexit programs.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds to run.
    #[arg(long, default_value_t = 3)]
    duration: u64,
}

fn main() {
    let args = Args::parse();
    let open = OpenFentrySkel::open().unwrap_or_else(|e| examples::die("open", &e));
    let mut skel = match open.load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("load fentry/fexit programs: {e}");
            if e.kind() == oxbpf::ErrorKind::PermissionDenied {
                eprintln!(
                    "this kernel refuses BPF trampolines (fentry/fexit get EPERM here, even as root): \
                     try the tracepoint-based minimal example"
                );
            }
            std::process::exit(1);
        }
    };
    skel.attach()
        .unwrap_or_else(|e| examples::die("attach", &e));
    println!("Successfully started! Run `cat /sys/kernel/tracing/trace_pipe` and delete a file.");
    std::thread::sleep(Duration::from_secs(args.duration));
}
