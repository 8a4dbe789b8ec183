//! Development tasks: `cargo xtask <task>`.

mod helper_defs;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen-helper-defs") => helper_defs::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\ntasks:\n  gen-helper-defs [--uapi PATH] [--input-version TEXT] [--out PATH]\n      \
                 regenerate crates/oxbpf-gen/include/bpf/bpf_helper_defs.h from the kernel UAPI helper docs"
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}
