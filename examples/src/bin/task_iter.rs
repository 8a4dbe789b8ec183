//! task_iter: list every task of the system from a BPF task iterator (`ps`, the BPF way).

use clap::Parser;
use examples::skel::task_iter::OpenTaskIterSkel;

/// List tasks (tgid, pid, state, comm) with a task iterator.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Only print tasks whose comm contains this.
    #[arg(long)]
    comm: Option<String>,
}

fn main() {
    let args = Args::parse();
    let open = OpenTaskIterSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    skel.attach()
        .unwrap_or_else(|e| examples::die("attach", &e));
    let link = skel.links().dump_task.expect("attached above");
    let out = oxbpf::attach::iter::read_iter(link).unwrap_or_else(|e| examples::die("read", &e));
    println!("{:>8} {:>8} {:>8} COMM", "TGID", "PID", "STATE");
    for line in String::from_utf8_lossy(&out).lines() {
        if args.comm.as_deref().is_none_or(|c| line.contains(c)) {
            println!("{line}");
        }
    }
}
