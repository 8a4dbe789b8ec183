//! fentry: trace entry and exit of `vfs_unlink` (every file deletion) through BPF trampolines,
//! printing each deletion's file name and result. Where the kernel refuses trampolines (EPERM, e.g.
//! lockdown), the example says so and exits with status 1.

use std::time::Duration;

use clap::Parser;
use examples::skel::fentry::{types::event, OpenFentrySkel};

/// Trace vfs_unlink() with fentry/fexit programs.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds to run.
    #[arg(long, default_value_t = 3)]
    duration: u64,
}

/// Whether the running kernel's `vfs_unlink` takes the mount idmapping first (5.12 and later): its
/// prototype in the kernel BTF has four parameters instead of three.
fn vfs_unlink_has_idmap() -> bool {
    let Ok(btf) = oxbpf::kernel::vmlinux::vmlinux_btf() else {
        return true;
    };
    btf.find_by_name_kind("vfs_unlink", oxbpf::btf::Kind::Func)
        .and_then(|id| btf.func_proto(id).ok())
        .is_none_or(|p| p.params.len() >= 4)
}

fn main() {
    let args = Args::parse();
    let mut open = OpenFentrySkel::open().unwrap_or_else(|e| examples::die("open", &e));
    let new = vfs_unlink_has_idmap();
    for (prog, is_new) in [
        ("vfs_unlink_entry", true),
        ("vfs_unlink_exit", true),
        ("vfs_unlink_entry_old", false),
        ("vfs_unlink_exit_old", false),
    ] {
        open.object_mut()
            .set_autoload(prog, is_new == new)
            .unwrap_or_else(|e| examples::die("open", &e));
    }
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
    println!("Successfully started! Delete a file to see its vfs_unlink() entry and exit.");
    let rb = skel.maps().rb.handle().expect("created");
    examples::stream_events(rb, Duration::from_secs(args.duration), |data| {
        let Some(raw) = data.get(..std::mem::size_of::<event>()) else {
            return;
        };
        let e: event = oxbpf::skel::bytemuck::pod_read_unaligned(raw);
        let name = examples::text(&e.filename);
        if e.exit != 0 {
            println!("fexit: pid = {}, filename = {name}, ret = {}", e.pid, e.ret);
        } else {
            println!("fentry: pid = {}, filename = {name}", e.pid);
        }
    });
}
