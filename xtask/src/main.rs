//! Development tasks: `cargo xtask <task>`.

mod helper_defs;
mod vmtest;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  gen-helper-defs [--uapi PATH] [--input-version TEXT] [--out PATH]
      regenerate crates/oxbpf-gen/include/bpf/bpf_helper_defs.h from the kernel UAPI helper docs
  vmtest [--kernel 5.10|6.1|6.12|7.2|all] [-- BINARY ARGS...]
      run the kernel tests in QEMU VMs on Debian kernels (see `cargo xtask vmtest --help`)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("gen-helper-defs") => match helper_defs::run(&args[1..]) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("xtask: {e}");
                1
            }
        },
        Some("vmtest") => vmtest::main(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    std::process::exit(code);
}
