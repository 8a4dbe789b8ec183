//! uprobe: probe a function of this very binary (`uprobed_add`) at entry and return, call it, and
//! print the arguments and results the programs recorded.

use clap::Parser;
use examples::skel::uprobe::OpenUprobeSkel;
use oxbpf::attach::uprobe::{attach_uprobe, UprobeOpts};
use std::os::fd::AsFd;

/// Trace calls of a user-space function with a uprobe and a uretprobe.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Calls to make.
    #[arg(long, default_value_t = 3)]
    calls: i32,
}

/// The probed function.
#[no_mangle]
#[inline(never)]
pub extern "C" fn uprobed_add(a: i32, b: i32) -> i32 {
    std::hint::black_box(a + b)
}

fn main() {
    let args = Args::parse();
    let open = OpenUprobeSkel::open().unwrap_or_else(|e| examples::die("open", &e));
    let mut skel = open.load().unwrap_or_else(|e| examples::die("load", &e));
    let exe = std::env::current_exe().expect("current_exe");
    let exe = exe.to_string_lossy().into_owned();
    for (prog, ret) in [("uprobe_add", false), ("uretprobe_add", true)] {
        let fd = skel
            .object()
            .program(prog)
            .and_then(|p| p.handle())
            .expect("loaded");
        let opts = UprobeOpts {
            retprobe: ret,
            pid: Some(std::process::id() as i32),
            func_name: Some("uprobed_add".into()),
            ..Default::default()
        };
        let link = attach_uprobe(fd.as_fd(), &exe, &opts)
            .unwrap_or_else(|e| examples::die("attach uprobe", &e));
        skel.skel_mut().keep_link(prog, link);
    }
    for i in 0..args.calls {
        let r = uprobed_add(i, 10 * i);
        println!("uprobed_add({i}, {}) = {r}", 10 * i);
    }
    let bss = skel.bss();
    println!(
        "uprobe saw {} calls; last: a = {}, b = {}, return = {}",
        bss.calls, bss.last_a, bss.last_b, bss.last_ret
    );
}
