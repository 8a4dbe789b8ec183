//! Development tasks: `cargo xtask <task>`.

mod vmtest;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or_default();
    let code = match task {
        "vmtest" => vmtest::main(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <task>\n\ntasks:\n  vmtest    run the kernel tests in QEMU VMs on Debian kernels (see `cargo xtask vmtest --help`)");
            2
        }
    };
    std::process::exit(code);
}
