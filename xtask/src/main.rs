//! Development tasks: `cargo xtask <task>`.

fn main() {
    let task = std::env::args().nth(1).unwrap_or_default();
    eprintln!("usage: cargo xtask <task>\n\ntasks: (none yet; got {task:?})");
    std::process::exit(2);
}
