//! `oxbpf`: check BPF objects, dump BTF, generate skeletons, list kernel BPF objects.

mod btf;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "oxbpf",
    version,
    about = "libbpf, rebuilt in pure Rust: inspect and load BPF objects"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with BPF object files (.bpf.o).
    #[command(subcommand)]
    Object(ObjectCmd),
    /// Inspect BTF: dump it as C (vmlinux.h) or as a raw listing.
    #[command(subcommand)]
    Btf(btf::BtfCmd),
}

#[derive(Subcommand)]
enum ObjectCmd {
    /// Open and load each object, report per program whether it loads and its tag.
    Check {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        /// The objects to check.
        #[arg(required = true)]
        objects: Vec<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Object(ObjectCmd::Check { .. }) => {
            eprintln!("oxbpf: object check: the object loader is not built yet (issue 6)");
            ExitCode::from(1)
        }
        Command::Btf(cmd) => match btf::run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("oxbpf: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}
