//! `oxbpf`: check BPF objects, dump BTF, generate skeletons, list kernel BPF objects.

mod kernel_objects;

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
    /// BPF programs loaded in the running kernel.
    #[command(subcommand)]
    Prog(ListCmd),
    /// BPF maps in the running kernel.
    #[command(subcommand)]
    Map(ListCmd),
}

#[derive(Subcommand)]
enum ListCmd {
    /// List all of them.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one, by kernel id.
    Show {
        /// The kernel id.
        id: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

fn list(kind: kernel_objects::Kind, cmd: ListCmd) -> ExitCode {
    match cmd {
        ListCmd::List { json } => kernel_objects::run(kind, None, json),
        ListCmd::Show { id, json } => kernel_objects::run(kind, Some(id), json),
    }
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
        Command::Prog(cmd) => list(kernel_objects::Kind::Prog, cmd),
        Command::Map(cmd) => list(kernel_objects::Kind::Map, cmd),
    }
}
